// Package jobs runs ward's background work: the delivery of each queued
// message, and the work a request leaves for after its answer. A task is
// written in the same transaction as what it acts on, so it exists exactly
// when that change is committed; once committed, this instance is woken
// and starts it at once (no polling on the path a person waits on). A
// task is claimed with a lease: if its instance dies, any instance takes
// it over once the lease ends, so nothing committed is lost. Tasks that
// are done are deleted, with whatever secret they carried.
//
// ward ran this on River before; see docs/ARCHITECTURE.md for why it
// keeps its own (what River cost per message on SQLite).
package jobs

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// Kinds of task.
const (
	// Deliver delivers one outbox message; the payload is its id.
	Deliver = "deliver"
	// Later is work a request left for after its answer (sealed by
	// whoever left it; the queue never reads it).
	Later = "later"
)

// Task is one piece of committed background work.
type Task struct {
	ID      string
	Kind    string
	Payload []byte
	// RunAt is when it may start (a retry waits).
	RunAt time.Time
	// LeaseUntil, when set on a new task, writes it already claimed (as
	// attempt 1) by the instance that wrote it, which starts it itself
	// once the transaction commits: no claim is needed.
	LeaseUntil time.Time
	// Attempts counts the times it was claimed, this one included.
	Attempts  int
	LastError string
	CreatedAt time.Time
	// hint is what the writer handed along in memory (see Hint); a task
	// read from the store has none.
	hint any
}

// Store keeps tasks; every store backend implements it.
type Store interface {
	// AddTask writes a new task (inside the transaction of the change it
	// belongs to).
	AddTask(ctx context.Context, t Task) error
	// ClaimTasks takes up to limit tasks due at now whose lease (if any)
	// ended, in one atomic step: each gets leased until `until` and its
	// Attempts counted. No task is claimed by two callers at once.
	ClaimTasks(ctx context.Context, now, until time.Time, limit int) ([]Task, error)
	// FinishTask deletes the task claimed as attempt; store.ErrConflict
	// when another claim took it over.
	FinishTask(ctx context.Context, id string, attempt int) error
	// DropTask deletes the task claimed as attempt if that claim still
	// holds it, and does nothing (no error) if another claim took it over.
	DropTask(ctx context.Context, id string, attempt int) error
	// RetryTask releases the task claimed as attempt to run again at at.
	RetryTask(ctx context.Context, id string, attempt int, at time.Time, lastErr string) error
	// ReplaceTask writes t over the task claimed as attempt, keeping its
	// id (t.ID is ignored); store.ErrConflict when another claim took it
	// over.
	ReplaceTask(ctx context.Context, id string, attempt int, t Task) error
	// TaskBacklog describes the tasks due at now.
	TaskBacklog(ctx context.Context, now time.Time) (Backlog, error)
}

// Backlog is what is due at one moment.
type Backlog struct {
	// Due counts the tasks due, running or waiting for a worker.
	Due int
	// Oldest is when the oldest of them was written (zero: none): a
	// message being retried for an hour is an hour old.
	Oldest time.Time
	// Unclaimed is since when the longest-waiting task that is due has
	// waited with no worker holding it (zero: none). Workers claim due
	// tasks within a second, so a long wait means nobody is working the
	// queue.
	Unclaimed time.Time
}

// Tx is the transaction a task is written in: it adds the task, runs a
// function once the transaction has committed (never if it rolls back),
// or once it has rolled back.
type Tx interface {
	AddTask(ctx context.Context, t Task) error
	FinishTask(ctx context.Context, id string, attempt int) error
	DropTask(ctx context.Context, id string, attempt int) error
	ReplaceTask(ctx context.Context, id string, attempt int, t Task) error
	AfterCommit(fn func())
	AfterRollback(fn func())
}

// Options tune the queue.
type Options struct {
	// Workers run tasks at once per instance (default 64: deliveries
	// mostly wait on the mail relay).
	Workers int
	// Lease is how long a claimed task is this instance's; one whose
	// instance died runs again after it. A task is cancelled at half of it.
	Lease time.Duration
	// Poll is how often the queue looks for tasks it was not woken for:
	// retries coming due, other instances' orphans (default 1 s; a look
	// is one read).
	Poll        time.Duration
	MaxAttempts int
	// RetryAfter is the wait after failed delivery attempt n (default: 5 s
	// doubling, at most 10 min).
	RetryAfter func(n int) time.Duration
	// LaterRetryAfter is the wait after failed attempt n of work left for
	// later (default: 1 s doubling, at most 10 min: someone may be
	// waiting for it, like a push to their phone).
	LaterRetryAfter func(n int) time.Duration
	// Deliver delivers the message with id; final means no attempt follows.
	Deliver func(ctx context.Context, id string, attempt int, final bool) error
	// Later does the work left by Queue.Defer.
	Later func(ctx context.Context, payload []byte) error
	// Done, when set, is told of every attempt: its kind, how long it
	// waited since it was written, how long it ran, and its outcome.
	Done func(kind string, waited, ran time.Duration, err error)
	Now  func() time.Time
	Log  *slog.Logger
	// NewID names tasks.
	NewID func() string
}

// Queue runs the tasks of one store.
type Queue struct {
	st   Store
	o    Options
	wake chan struct{}

	mu      sync.Mutex
	stop    context.CancelFunc
	runCtx  context.Context // the context tasks run in, while started
	quit    chan struct{}   // closed by Stop: claim nothing more
	running sync.WaitGroup  // the loop and every running task
	slots   chan struct{}
}

// New makes a queue on st; Start it to run tasks.
func New(st Store, o Options) *Queue {
	if o.Workers == 0 {
		o.Workers = 64
	}
	if o.Lease == 0 {
		o.Lease = time.Minute
	}
	if o.Poll == 0 {
		o.Poll = time.Second
	}
	if o.MaxAttempts == 0 {
		o.MaxAttempts = 12
	}
	if o.RetryAfter == nil {
		o.RetryAfter = backoff(5 * time.Second)
	}
	if o.LaterRetryAfter == nil {
		o.LaterRetryAfter = backoff(time.Second)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.NewID == nil {
		o.NewID = rand.Text
	}
	return &Queue{st: st, o: o, wake: make(chan struct{}, 1), slots: make(chan struct{}, o.Workers)}
}

// backoff waits first after the first failure, doubling, at most 10 min.
func backoff(first time.Duration) func(n int) time.Duration {
	return func(n int) time.Duration {
		d := first
		for i := 1; i < n && d < 10*time.Minute; i++ {
			d *= 2
		}
		return min(d, 10*time.Minute)
	}
}

// Enqueue adds the delivery of a message inside the transaction tx. hint,
// when not nil, is the message as written: the delivery gets it (Hint)
// when this instance runs it, and need not read it back.
func (qu *Queue) Enqueue(ctx context.Context, tx Tx, messageID string, hint any) error {
	return qu.add(ctx, tx, Deliver, []byte(messageID), hint)
}

// Defer leaves payload for Options.Later inside the transaction tx: the
// work happens exactly when the request's changes are committed. Like
// every task it may run twice (after a crash); the work must allow it.
func (qu *Queue) Defer(ctx context.Context, tx Tx, payload []byte) error {
	return qu.add(ctx, tx, Later, payload, nil)
}

// add writes a task. When this instance runs tasks and has a free worker,
// the task is written already claimed and that worker starts it as soon
// as the transaction commits: the wait and the write of a claim are
// saved on the path a person waits on. Otherwise the commit wakes the
// queue, which claims it like any other. Under Continue, the first task
// added takes the place of the running one instead (see Continue).
func (qu *Queue) add(ctx context.Context, tx Tx, kind string, payload []byte, hint any) error {
	now := qu.o.Now().UTC()
	t := Task{Kind: kind, Payload: payload, RunAt: now, CreatedAt: now, hint: hint}
	if r, ok := ctx.Value(continueKey{}).(*running); ok && r.next == nil && r.then.Load() == nil {
		return qu.replace(ctx, tx, r, t)
	}
	t.ID = qu.o.NewID()
	runCtx := qu.reserve()
	if runCtx != nil {
		t.Attempts, t.LeaseUntil = 1, now.Add(qu.o.Lease)
	}
	if err := tx.AddTask(ctx, t); err != nil {
		if runCtx != nil {
			qu.unreserve()
		}
		return fmt.Errorf("queueing a %s task: %w", kind, err)
	}
	if runCtx == nil {
		tx.AfterCommit(qu.Wake)
		return nil
	}
	tx.AfterRollback(qu.unreserve)
	tx.AfterCommit(func() {
		start := func() {
			defer qu.unreserve()
			qu.run(runCtx, t)
		}
		if kind != Later {
			go start()
			return
		}
		// Work left for later differs with what the request found (an
		// account or none): started at once, it would slow the answer or
		// the next request only when there is an account. A short random
		// wait lets the answer go first and spreads the work over the
		// requests that follow, whoever they are about.
		time.AfterFunc(laterSpread(), start)
	})
	return nil
}

// replace writes t over the task r runs, as attempt 1 with a new lease:
// once the transaction commits, r's task has ended and r's worker runs t
// next (no claim, no new worker, no read of what it acts on). It keeps
// r's due time, which has passed as t's has: with its indexed columns
// unchanged, PostgreSQL rewrites the row in place (a HOT update) instead
// of adding an entry to each of the table's indexes.
func (qu *Queue) replace(ctx context.Context, tx Tx, r *running, t Task) error {
	t.ID, t.Attempts, t.LeaseUntil, t.RunAt = r.id, 1, t.CreatedAt.Add(qu.o.Lease), r.runAt
	if err := tx.ReplaceTask(ctx, r.id, r.attempt, t); err != nil {
		return fmt.Errorf("handing a %s task on: %w", t.Kind, err)
	}
	r.next = &t
	tx.AfterRollback(func() { r.next = nil })
	tx.AfterCommit(func() {
		r.then.Store(r.next)
		r.finished.Store(true)
	})
	return nil
}

// Continue marks ctx, inside a task's handler, so that the first task
// added under it (Enqueue, Defer) takes the running task's place: one
// write instead of a new task and the old one's deletion, and this worker
// runs it as soon as the transaction commits. That transaction must be
// the one that ends the running task (Finish, which then writes nothing):
// once it commits, the running task is the new one, and nothing the
// handler does afterwards can be retried. Outside a task, ctx is returned
// as it is.
func Continue(ctx context.Context) context.Context {
	r, ok := ctx.Value(runningKey{}).(*running)
	if !ok {
		return ctx
	}
	return context.WithValue(ctx, continueKey{}, r)
}

type continueKey struct{}

// Hint is what the writer of the task ctx runs handed along with it in
// memory (Enqueue's hint), or nil: a task claimed from the store, after a
// restart or by another instance, has none.
func Hint(ctx context.Context) any {
	if r, ok := ctx.Value(runningKey{}).(*running); ok {
		return r.hint
	}
	return nil
}

// laterSpread is 1 to 8 ms, at random.
func laterSpread() time.Duration {
	return time.Millisecond + mrand.N(7*time.Millisecond)
}

// reserve takes a free worker for a task about to be written, if the
// queue runs and one is free, and returns the context to run it in.
func (qu *Queue) reserve() context.Context {
	qu.mu.Lock()
	defer qu.mu.Unlock()
	if qu.runCtx == nil {
		return nil
	}
	select {
	case qu.slots <- struct{}{}:
		qu.running.Add(1)
		return qu.runCtx
	default:
		return nil
	}
}

func (qu *Queue) unreserve() {
	<-qu.slots
	qu.running.Done()
}

// Wake makes the queue look for due tasks now.
func (qu *Queue) Wake() {
	select {
	case qu.wake <- struct{}{}:
	default: // already woken: that look will see this task too
	}
}

// Pending counts the tasks due or running (not those waiting for a later
// retry).
func (qu *Queue) Pending(ctx context.Context) (int, error) {
	b, err := qu.st.TaskBacklog(ctx, qu.o.Now().UTC())
	return b.Due, err
}

// Start begins running tasks until Stop.
func (qu *Queue) Start(ctx context.Context) error {
	qu.mu.Lock()
	defer qu.mu.Unlock()
	if qu.stop != nil {
		return errors.New("the queue is already running")
	}
	ctx, qu.stop = context.WithCancel(context.WithoutCancel(ctx))
	qu.runCtx = ctx
	qu.quit = make(chan struct{})
	quit := qu.quit
	qu.running.Add(1)
	go func() {
		defer qu.running.Done()
		qu.loop(ctx, quit)
	}()
	qu.Wake() // what was left from before this start
	return nil
}

// Stop takes no new tasks and waits for the running ones until ctx ends;
// those still running then are cancelled, and run again after their lease.
func (qu *Queue) Stop(ctx context.Context) error {
	qu.mu.Lock()
	stop, quit := qu.stop, qu.quit
	qu.stop, qu.quit, qu.runCtx = nil, nil, nil
	qu.mu.Unlock()
	if stop == nil {
		return nil
	}
	close(quit)
	done := make(chan struct{})
	go func() { qu.running.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		stop()
		<-done
		return fmt.Errorf("stopping background work: %w", ctx.Err())
	}
}

// loop claims due tasks whenever it is woken or polls, as many as there
// are free workers, and starts each.
func (qu *Queue) loop(ctx context.Context, quit chan struct{}) {
	t := time.NewTicker(qu.o.Poll)
	defer t.Stop()
	for {
		select {
		case <-qu.wake:
		case <-t.C:
		case <-quit:
			return
		}
		for qu.claim(ctx, quit) {
		}
	}
}

// claim takes a batch of tasks and starts them; it reports whether there
// may be more due (the batch was full).
func (qu *Queue) claim(ctx context.Context, quit chan struct{}) bool {
	// Wait for one free worker, then take as many as are free.
	select {
	case qu.slots <- struct{}{}:
	case <-quit:
		return false
	}
	free := 1
	for free < cap(qu.slots) {
		select {
		case qu.slots <- struct{}{}:
			free++
			continue
		default:
		}
		break
	}
	now := qu.o.Now().UTC()
	tasks, err := qu.st.ClaimTasks(ctx, now, now.Add(qu.o.Lease), free)
	if err != nil {
		if ctx.Err() == nil {
			qu.o.Log.Warn("claiming background tasks", "err", err)
		}
		tasks = nil
	}
	for range free - len(tasks) {
		<-qu.slots
	}
	for _, t := range tasks {
		qu.running.Add(1)
		go func() {
			defer qu.running.Done()
			defer func() { <-qu.slots }()
			qu.run(ctx, t)
		}()
	}
	return err == nil && len(tasks) == free
}

// running is the task a handler runs, in its context, so that the
// handler can finish it inside its own transaction (Finish).
type running struct {
	id       string
	attempt  int
	runAt    time.Time
	hint     any
	finished atomic.Bool
	// next is the task written over this one (Continue) in a transaction
	// not yet ended; then is that task once it has committed.
	next *Task
	then atomic.Pointer[Task]
}

type runningKey struct{}

// Finish deletes the task that ctx runs, inside the handler's own
// transaction tx, so that the work and the end of its task are committed
// together (and a claim that lost its lease to another instance commits
// neither: store.ErrConflict). Outside a task it does nothing.
func Finish(ctx context.Context, tx Tx) error { return finish(ctx, tx, tx.FinishTask) }

// FinishIfHeld is Finish for work whose outcome stands whoever holds its
// task now (a relay's answer to a delivery): the task is deleted if this
// claim still holds it, and a claim another instance took over meanwhile
// is left to it without an error (its run finds the work done).
func FinishIfHeld(ctx context.Context, tx Tx) error { return finish(ctx, tx, tx.DropTask) }

// finish ends the task ctx runs with end, inside tx, and marks it
// finished once tx commits.
func finish(ctx context.Context, tx Tx, end func(ctx context.Context, id string, attempt int) error) error {
	r, ok := ctx.Value(runningKey{}).(*running)
	if !ok {
		return nil
	}
	if r.next != nil {
		return nil // replaced in this transaction: that ends it
	}
	if err := end(ctx, r.id, r.attempt); err != nil {
		return fmt.Errorf("finishing the task: %w", err)
	}
	tx.AfterCommit(func() { r.finished.Store(true) })
	return nil
}

// run does one task, records the outcome, and then does the task that
// took its place (Continue), if any.
func (qu *Queue) run(ctx context.Context, t Task) {
	for next := &t; next != nil; {
		next = qu.runOne(ctx, *next)
	}
}

// runOne does one task and records the outcome; it returns the task
// written in its place, for this worker to run next.
func (qu *Queue) runOne(ctx context.Context, t Task) *Task {
	ctx, cancel := context.WithTimeout(ctx, qu.o.Lease/2)
	defer cancel()
	ref := &running{id: t.ID, attempt: t.Attempts, runAt: t.RunAt, hint: t.hint}
	ctx = context.WithValue(ctx, runningKey{}, ref)
	start := qu.o.Now()
	final := t.Attempts >= qu.o.MaxAttempts
	var err error
	switch t.Kind {
	case Deliver:
		if qu.o.Deliver == nil {
			err = errors.New("no delivery is configured")
			break
		}
		err = qu.o.Deliver(ctx, string(t.Payload), t.Attempts, final)
	case Later:
		if qu.o.Later == nil {
			err = errors.New("no worker for deferred work is configured")
			break
		}
		err = qu.o.Later(ctx, t.Payload)
	default:
		err = fmt.Errorf("unknown kind of task %q", t.Kind)
	}
	if qu.o.Done != nil {
		qu.o.Done(t.Kind, start.Sub(t.CreatedAt), qu.o.Now().Sub(start), err)
	}
	// The outcome is recorded even when the run was cut off: the store
	// still answers, and the task must not wait for its whole lease.
	rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer rcancel()
	next := ref.then.Load()
	switch {
	case next != nil:
		// Its row is the next task's now: an outcome recorded here would
		// be that task's.
		if err != nil {
			qu.o.Log.Error("background task failed after handing on its task", "kind", t.Kind, "task", t.ID, "err", err)
		}
		return next
	case err == nil && ref.finished.Load():
		// Finished in the handler's own transaction.
	case err == nil || final:
		if err != nil {
			qu.o.Log.Error("background task failed for good", "kind", t.Kind, "task", t.ID, "attempts", t.Attempts, "err", err)
		}
		err = qu.st.FinishTask(rctx, t.ID, t.Attempts)
	default:
		wait := qu.o.RetryAfter
		if t.Kind == Later {
			wait = qu.o.LaterRetryAfter
		}
		err = qu.st.RetryTask(rctx, t.ID, t.Attempts, qu.o.Now().UTC().Add(wait(t.Attempts)), err.Error())
	}
	if err != nil {
		// Left leased: it runs again when the lease ends.
		qu.o.Log.Warn("recording a background task's outcome", "kind", t.Kind, "task", t.ID, "err", err)
	}
	return nil
}
