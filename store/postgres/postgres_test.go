package postgres_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/wardhq/ward/internal/testdb"
	"github.com/wardhq/ward/store"
	"github.com/wardhq/ward/store/conformance"
	"github.com/wardhq/ward/store/postgres"
)

func TestConformance(t *testing.T) {
	conformance.Run(t, func(t *testing.T) store.Store { return testdb.Postgres(t) })
}

var t0 = time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)

func code(id string) store.Code {
	return store.Code{ID: id, FlowID: "f-" + id, Purpose: "sign_in", Channel: "email", RecipientKey: "rk", Hash: "h-" + id,
		IP: "203.0.113.5", CreatedAt: t0, ExpiresAt: t0.Add(10 * time.Minute)}
}

func open(t *testing.T, params string) *postgres.Store {
	t.Helper()
	dsn := testdb.PostgresDSN(t)
	if strings.Contains(dsn, "://") {
		dsn += "&" + params
	} else {
		dsn += " " + strings.ReplaceAll(params, "&", " ")
	}
	s, err := postgres.Open(context.Background(), dsn, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// A transaction's "begin" and locks travel with its next statement. A
// lock that cannot be had fails that statement, named as the lock, and
// nothing of the transaction stays; the connection goes back usable.
func TestLockThatTimesOutFailsTheNextStatement(t *testing.T) {
	ctx := context.Background()
	s := open(t, "lock_timeout=200ms")
	held, release := make(chan struct{}), make(chan struct{})
	done := make(chan error)
	go func() {
		done <- s.InTx(ctx, func(q store.Queries) error {
			if err := q.Lock(ctx, "recipient:rk"); err != nil {
				return err
			}
			// The lock is taken once a statement carries it to the server.
			if _, err := q.CountCodesToRecipient(ctx, "rk", t0.Add(-time.Hour)); err != nil {
				return err
			}
			close(held)
			<-release
			return nil
		})
	}()
	<-held
	err := s.InTx(ctx, func(q store.Queries) error {
		if err := q.Lock(ctx, "recipient:rk"); err != nil {
			return err
		}
		return q.CreateCode(ctx, code("c1"))
	})
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err == nil || !strings.Contains(err.Error(), `taking lock "recipient:rk"`) {
		t.Fatalf("a lock held elsewhere past lock_timeout: got %v, want the lock's error", err)
	}
	if _, err := s.CurrentCode(ctx, "f-c1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the statement behind the failed lock left a code: %v", err)
	}
	for range 40 { // more than the pool holds: no connection was lost
		if err := s.InTx(ctx, func(q store.Queries) error {
			if err := q.Lock(ctx, "recipient:rk"); err != nil {
				return err
			}
			_, err := q.CountCodesToRecipient(ctx, "rk", t0.Add(-time.Hour))
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
}

// The first statement of a transaction fails in the same round trip as
// its "begin": the caller sees the statement's own error (a conflict), the
// transaction rolls back, and later ones run.
func TestFirstStatementFailingRollsBack(t *testing.T) {
	ctx := context.Background()
	s := open(t, "application_name=ward_test")
	alice := store.Account{ID: "a1", Email: "alice@example.com", Language: "ja", CreatedAt: t0}
	if err := s.CreateAccount(ctx, alice); err != nil {
		t.Fatal(err)
	}
	err := s.InTx(ctx, func(q store.Queries) error {
		if err := q.CreateAccount(ctx, store.Account{ID: "a2", Email: alice.Email, Language: "ja", CreatedAt: t0}); err != nil {
			return err
		}
		return q.CreateCode(ctx, code("c2"))
	})
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("a taken address as the first statement: %v, want ErrConflict", err)
	}
	if err := s.InTx(ctx, func(q store.Queries) error { return q.CreateCode(ctx, code("c3")) }); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CurrentCode(ctx, "f-c2"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the rolled-back transaction left a code: %v", err)
	}
	if _, err := s.CurrentCode(ctx, "f-c3"); err != nil {
		t.Fatalf("the next transaction: %v", err)
	}
	// A transaction that ran nothing commits without a word to the server.
	for range 40 {
		if err := s.InTx(ctx, func(q store.Queries) error { return q.Lock(ctx, "x") }); err != nil {
			t.Fatal(err)
		}
	}
}

// A write nobody reads goes with the next statement or the commit. When
// it fails there, the whole transaction fails with its error, which is not
// taken for that statement's own: a duplicate row here is not the conflict
// a later update reports.
func TestUnreadWriteFailingFailsTheTransaction(t *testing.T) {
	ctx := context.Background()
	s := open(t, "application_name=ward_test")
	if err := s.CreateCode(ctx, code("c1")); err != nil {
		t.Fatal(err)
	}
	for _, last := range []string{"commit", "statement"} {
		err := s.InTx(ctx, func(q store.Queries) error {
			if err := q.CreateCode(ctx, code("c2")); err != nil {
				return err
			}
			if err := q.CreateCode(ctx, code("c1")); err != nil { // taken
				return err
			}
			if last == "statement" {
				_, err := q.CountCodesToRecipient(ctx, "rk", t0.Add(-time.Hour))
				return err
			}
			return nil
		})
		if err == nil || !strings.Contains(err.Error(), "creating code") || !strings.Contains(err.Error(), "23505") {
			t.Fatalf("%s after a duplicate insert: %v, want the insert's error", last, err)
		}
		if errors.Is(err, store.ErrConflict) {
			t.Fatalf("%s after a duplicate insert: %v passes for the statement's own conflict", last, err)
		}
		if _, err := s.CurrentCode(ctx, "f-c2"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("%s: the failed transaction left a code: %v", last, err)
		}
	}
	if err := s.InTx(ctx, func(q store.Queries) error { return q.CreateCode(ctx, code("c3")) }); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CurrentCode(ctx, "f-c3"); err != nil {
		t.Fatalf("the next transaction: %v", err)
	}
}

// The pool holds 32 connections unless the DSN says otherwise, in either
// of its forms.
func TestPoolSizeFromTheDSN(t *testing.T) {
	if got := open(t, "application_name=ward").Pool.Config().MaxConns; got != 32 {
		t.Errorf("default pool: %d connections, want 32", got)
	}
	if got := open(t, "pool_max_conns=3").Pool.Config().MaxConns; got != 3 {
		t.Errorf("pool_max_conns=3: %d connections", got)
	}
}

// Whether a DSN sets the pool's size is read from either of its forms.
func TestDSNSetsThePoolSize(t *testing.T) {
	for dsn, want := range map[string]bool{
		"postgres://h/db?pool_max_conns=2": true, "postgresql://h/db?sslmode=disable&pool_max_conns=2": true,
		"host=h pool_max_conns=2": true, "host=h pool_max_conns = 2": true, "pool_max_conns=2 host=h": true,
		"postgres://h/db?sslmode=disable": false, "host=h application_name=pool_max_conns": false, "host=h xpool_max_conns=2": false,
	} {
		if got := postgres.DSNSets(dsn, "pool_max_conns"); got != want {
			t.Errorf("%q sets pool_max_conns: %v, want %v", dsn, got, want)
		}
	}
}

// Reads named ahead go to the server together, behind what was queued
// before them: the second is answered from that one round trip, so it
// shows the row as it was then, not a change committed elsewhere after
// the first was asked for (a read sent on its own would see that change,
// as every statement does under PostgreSQL's read committed).
func TestReadsAheadTravelTogether(t *testing.T) {
	ctx := context.Background()
	s := open(t, "")
	for _, id := range []string{"a1", "a2"} {
		if err := s.CreateAccount(ctx, store.Account{ID: id, Email: id + "@example.jp", Language: "ja", CreatedAt: t0}); err != nil {
			t.Fatal(err)
		}
	}
	err := s.InTx(ctx, func(q store.Queries) error {
		q.ReadAhead(ctx, func(q store.Queries) {
			q.AccountByID(ctx, "a1")
			q.AccountByID(ctx, "a2")
		})
		if _, err := q.AccountByID(ctx, "a1"); err != nil {
			return err
		}
		if err := s.SetAccountTwoStep(ctx, "a2", &t0); err != nil { // another connection, committed at once
			return err
		}
		if a2, err := q.AccountByID(ctx, "a2"); err != nil || a2.TwoStepAt != nil {
			t.Errorf("the second read ahead: %+v, %v; want the row as it was with the first", a2, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A read ahead by a function that writes is a mistake in the code, found
// at once: nothing it tried is sent.
func TestReadAheadThatWritesPanics(t *testing.T) {
	ctx := context.Background()
	s := open(t, "")
	defer func() {
		if recover() == nil {
			t.Fatal("a write inside ReadAhead was let through")
		}
	}()
	s.InTx(ctx, func(q store.Queries) error {
		q.ReadAhead(ctx, func(q store.Queries) { q.CreateCode(ctx, code("c9")) })
		return nil
	})
}
