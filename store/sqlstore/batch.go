package sqlstore

import (
	"context"
	"fmt"
	"sync"

	"github.com/wardhq/ward/store"
)

// batcher is group commit for an engine with one writer (SQLite). While a
// transaction runs, the ones that arrive wait; when it ends, the first of
// them runs all that are waiting in one transaction, each inside a
// savepoint of its own, and commits them together. A commit writes every
// page the transactions changed to the log; pages they share (index
// roots, the tasks table) are written once per batch instead of once per
// transaction, and the commit's fixed cost is paid once. Nothing waits
// longer than before: a batch holds only transactions that were already
// waiting for the writer.
//
// Each transaction keeps its own outcome: one that fails is rolled back to
// its savepoint and the others commit. Should the batch itself fail (a
// rollback to a savepoint or the commit refused), every transaction in it
// that had succeeded is run again in a transaction of its own.
type batcher struct {
	mu      sync.Mutex
	waiting []*txJob
	busy    bool
}

type txJob struct {
	ctx context.Context
	fn  func(store.Queries) error
	out chan txResult
}

type txResult struct {
	lead      bool // not a result: the job leads the next batch
	err       error
	after     []func()
	undo      []func()
	panicked  any
	committed bool
	runAlone  bool // the batch failed: run again in a transaction of its own
}

func (b *batcher) do(ctx context.Context, s *DB, fn func(store.Queries) error) error {
	j := &txJob{ctx: ctx, fn: fn, out: make(chan txResult, 1)}
	b.mu.Lock()
	b.waiting = append(b.waiting, j)
	lead := !b.busy
	b.busy = true
	b.mu.Unlock()
	if !lead {
		if r := <-j.out; !r.lead {
			return j.finish(ctx, s, r)
		}
	}
	b.mu.Lock()
	batch := b.waiting
	b.waiting = nil
	b.mu.Unlock()
	s.runBatch(batch)
	b.mu.Lock()
	if len(b.waiting) > 0 {
		b.waiting[0].out <- txResult{lead: true}
	} else {
		b.busy = false
	}
	b.mu.Unlock()
	return j.finish(ctx, s, <-j.out)
}

// finish ends a job in its own goroutine: its hooks run there before its
// InTx returns, and a panic in its fn is raised there again.
func (j *txJob) finish(ctx context.Context, s *DB, r txResult) error {
	if r.panicked != nil {
		ended(false, r.after, r.undo)
		panic(r.panicked)
	}
	if r.runAlone {
		return s.alone(ctx, j.fn)
	}
	ended(r.committed, r.after, r.undo)
	return r.err
}

// runBatch runs the jobs and sends each its result.
func (s *DB) runBatch(batch []*txJob) {
	if len(batch) == 1 {
		// Alone (the leader's own): as without batching, while those
		// that arrive meanwhile wait to form the next batch.
		batch[0].out <- s.single(batch[0])
		return
	}
	// The transaction outlives any one caller's cancellation; each
	// caller's statements still use its own context.
	ctx := context.WithoutCancel(batch[0].ctx)
	results := make([]txResult, len(batch))
	failed := func(err error) {
		for i := range results {
			if results[i].err == nil && results[i].panicked == nil {
				ended(false, nil, results[i].undo) // this attempt's undo
				results[i] = txResult{runAlone: true}
			}
		}
	}
	func() {
		if err := s.w.enter(ctx); err != nil {
			failed(err)
			return
		}
		defer s.w.leave()
		if s.w.cache != nil {
			defer s.w.warm(ctx)
		}
		tx, err := s.w.db.BeginTx(ctx, nil)
		if err != nil {
			failed(err)
			return
		}
		for i, j := range batch {
			if _, err := tx.ExecContext(ctx, `SAVEPOINT batch`); err != nil {
				tx.Rollback()
				failed(err)
				return
			}
			r := &results[i]
			func() {
				defer func() { r.panicked = recover() }()
				r.err = s.runIn(tx, &r.after, &r.undo, j.fn)
			}()
			if r.err != nil || r.panicked != nil {
				if _, err := tx.ExecContext(ctx, `ROLLBACK TO batch`); err != nil {
					tx.Rollback()
					failed(fmt.Errorf("rolling back to a savepoint: %w", err))
					return
				}
			}
			if _, err := tx.ExecContext(ctx, `RELEASE batch`); err != nil {
				tx.Rollback()
				failed(err)
				return
			}
		}
		if err := tx.Commit(); err != nil {
			failed(err)
			return
		}
		for i := range results {
			results[i].committed = results[i].err == nil && results[i].panicked == nil
		}
	}()
	for i, j := range batch {
		j.out <- results[i]
	}
}

// single runs one job in a transaction of its own and returns its
// result. A panic in fn is caught so that the transaction is rolled back
// (left open, it would hold the one writer connection for good); finish
// raises it again in the caller.
func (s *DB) single(j *txJob) (r txResult) {
	if err := s.w.enter(j.ctx); err != nil {
		return txResult{err: fmt.Errorf("waiting to write: %w", err)}
	}
	defer s.w.leave()
	if s.w.cache != nil {
		defer s.w.warm(j.ctx)
	}
	// Not watched by database/sql (a goroutine per transaction): each
	// statement checks the caller's context (txCtx), and a transaction
	// whose fn ended well commits even if its caller has gone since.
	tx, err := s.w.db.BeginTx(context.WithoutCancel(j.ctx), nil)
	if err != nil {
		return txResult{err: fmt.Errorf("beginning transaction: %w", err)}
	}
	func() {
		defer func() { r.panicked = recover() }()
		r.err = s.runIn(tx, &r.after, &r.undo, j.fn)
	}()
	if r.err != nil || r.panicked != nil {
		tx.Rollback()
		return r
	}
	if err := tx.Commit(); err != nil {
		r.err = fmt.Errorf("committing transaction: %w", err)
		return r
	}
	r.committed = true
	return r
}
