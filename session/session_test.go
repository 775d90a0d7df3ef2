package session_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/wardhq/ward/internal/testdb"
	"github.com/wardhq/ward/keys"
	"github.com/wardhq/ward/session"
	"github.com/wardhq/ward/store"
)

func TestSessionLifetimes(t *testing.T) {
	ctx := context.Background()
	st := testdb.SQLite(t)
	now := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	m := &session.Manager{Store: st, Idle: time.Hour, Absolute: 24 * time.Hour, Now: func() time.Time { return now }}
	issue := func() session.Issued {
		var iss session.Issued
		err := st.InTx(ctx, func(q store.Queries) error {
			var err error
			iss, err = m.Issue(ctx, q, session.Start{AccountID: "a1", IP: "203.0.113.5", Method: "email_code"})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return iss
	}
	a, b := issue(), issue()
	if a.Token == b.Token || len(a.Token) < 43 {
		t.Fatal("tokens must be new 256-bit values at every sign-in")
	}
	stored, _ := st.SessionByTokenHash(ctx, keys.HashToken(a.Token))
	if stored.TokenHash == a.Token {
		t.Fatal("token stored in the clear")
	}
	// Used every 50 minutes, it lives until the absolute limit.
	for range 28 {
		now = now.Add(50 * time.Minute)
		_, err := m.Authenticate(ctx, a.Token, "203.0.113.5")
		if now.Sub(a.Session.CreatedAt) < 24*time.Hour && err != nil {
			t.Fatalf("active session ended early at %v: %v", now.Sub(a.Session.CreatedAt), err)
		}
		if now.Sub(a.Session.CreatedAt) >= 24*time.Hour && !errors.Is(err, session.ErrNoSession) {
			t.Fatalf("session outlived the absolute limit: %v", now.Sub(a.Session.CreatedAt))
		}
	}
	// Unused for an hour, b ended long ago.
	if _, err := m.Authenticate(ctx, b.Token, "203.0.113.5"); !errors.Is(err, session.ErrNoSession) {
		t.Fatal("idle session still valid")
	}
	if _, err := m.Authenticate(ctx, "forged", "203.0.113.5"); !errors.Is(err, session.ErrNoSession) {
		t.Fatal("forged token accepted")
	}
}

func TestDescribe(t *testing.T) {
	ua := "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
	if got := session.DeviceLabel(ua); got != "Safari 18 on iOS 18.1" {
		t.Fatalf("label %q", got)
	}
	if session.DeviceLabel("") != "" {
		t.Fatal("empty UA should have no label")
	}
}
