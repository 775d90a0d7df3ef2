package jobs_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/wardhq/ward/dkim"
	"github.com/wardhq/ward/internal/testdb"
	"github.com/wardhq/ward/internal/testmail"
	"github.com/wardhq/ward/internal/testsmtp"
	"github.com/wardhq/ward/jobs"
	"github.com/wardhq/ward/notify"
	"github.com/wardhq/ward/store"
	"github.com/wardhq/ward/store/postgres"
	"github.com/wardhq/ward/store/sqlite"
)

type rig struct {
	st    store.Store
	comp  *notify.Composer
	queue *jobs.Queue
	relay *testsmtp.Relay
}

// newRig runs the queue on a real store, delivering to a real SMTP relay.
func newRig(t testing.TB, driver string, algorithms []string, answers ...error) *rig {
	return newRigWith(t, driver, algorithms, func(*jobs.Options) {}, answers...)
}

func newRigWith(t testing.TB, driver string, algorithms []string, tune func(*jobs.Options), answers ...error) *rig {
	comp := testmail.Composer(t)
	relay := testsmtp.Start(t, answers...)
	dk, err := dkim.LoadOrCreate(t.TempDir(), "example.com")
	if err != nil {
		t.Fatal(err)
	}
	dk.Only(algorithms)
	sender := notify.NewSMTP(relay.Host, relay.Port, "", "", "none", dk)
	t.Cleanup(sender.Close)
	r := &rig{comp: comp, relay: relay, st: openStore(t, driver)}
	out := &notify.Outbox{Store: r.st, Composer: comp, Sender: sender, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: time.Now,
		Backoff: func(int) time.Duration { return 50 * time.Millisecond }}
	o := jobs.Options{Lease: 10 * time.Second, Poll: 50 * time.Millisecond, NewID: store.NewID, RetryAfter: out.RetryAfter, Deliver: out.DeliverOne}
	tune(&o)
	r.queue = jobs.New(r.st, o)
	comp.Jobs = r.queue
	return r
}

func openStore(t testing.TB, driver string) store.Store {
	ctx := context.Background()
	if driver == "sqlite" {
		s, err := sqlite.Open(ctx, t.TempDir()+"/ward.db", true)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	s, err := postgres.Open(ctx, testdb.PostgresDSN(t), true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s.DB
}

func (r *rig) queueMessages(t testing.TB, n int) []string {
	ctx := context.Background()
	var ids []string
	err := r.st.InTx(ctx, func(q store.Queries) error {
		for i := range n {
			m, err := r.comp.Queue(ctx, q, notify.Request{Kind: notify.KindCode, Channel: notify.Email, To: fmt.Sprintf("r%d@example.org", i),
				Language: "en", Purpose: "sign_in", Code: "123456", ExpiresAt: time.Now().Add(time.Hour), RequestedAt: time.Now()})
			if err != nil {
				return err
			}
			ids = append(ids, m.ID)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

func (r *rig) run(t testing.TB) func() {
	ctx, cancel := context.WithCancel(context.Background())
	if err := r.queue.Start(ctx); err != nil {
		t.Fatal(err)
	}
	return func() {
		sctx, c2 := context.WithTimeout(context.Background(), 10*time.Second)
		defer c2()
		r.queue.Stop(sctx)
		cancel()
	}
}

func (r *rig) waitStatus(t testing.TB, id, status string) store.Message {
	t.Helper()
	var m store.Message
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		m, _ = r.st.MessageByID(context.Background(), id)
		if m.Status == status {
			return m
		}
	}
	t.Fatalf("message %s is %q (%s), want %q", id, m.Status, m.LastError, status)
	return m
}

func bothStores(t *testing.T, fn func(t *testing.T, driver string)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, "sqlite") })
	t.Run("postgres", func(t *testing.T) {
		testdb.PostgresDSN(t) // skips, saying why, without PostgreSQL
		fn(t, "postgres")
	})
}

// The queue delivers what the transaction queued: a 451 is retried and
// the mail arrives once; a 550 fails and says why.
func TestQueueDelivers(t *testing.T) {
	bothStores(t, func(t *testing.T, driver string) {
		r := newRig(t, driver, []string{"ed25519"}, &smtp.SMTPError{Code: 451, Message: "later"}, nil, &smtp.SMTPError{Code: 550, Message: "no such user"})
		stop := r.run(t)
		defer stop()
		first := r.queueMessages(t, 1)[0]
		m := r.waitStatus(t, first, store.MessageSent)
		if m.Attempts != 2 || len(r.relay.Received()) != 1 {
			t.Fatalf("after 451 then 250: %d attempts, %d received", m.Attempts, len(r.relay.Received()))
		}
		second := r.queueMessages(t, 1)[0]
		m = r.waitStatus(t, second, store.MessageFailed)
		if m.Attempts != 1 {
			t.Fatalf("a 550 was retried: %d attempts", m.Attempts)
		}
		time.Sleep(300 * time.Millisecond)
		if n := len(r.relay.Received()); n != 1 {
			t.Fatalf("%d mails received, want 1", n)
		}
	})
}

// A message whose transaction rolled back is never sent: the job went
// with it.
func TestRolledBackMessagesAreNotSent(t *testing.T) {
	bothStores(t, func(t *testing.T, driver string) {
		r := newRig(t, driver, []string{"ed25519"})
		stop := r.run(t)
		defer stop()
		ctx := context.Background()
		r.st.InTx(ctx, func(q store.Queries) error {
			r.comp.Queue(ctx, q, notify.Request{Kind: notify.KindCode, Channel: notify.Email, To: "gone@example.org", Language: "en",
				Code: "111111", ExpiresAt: time.Now().Add(time.Hour), RequestedAt: time.Now()})
			return fmt.Errorf("crash before commit")
		})
		kept := r.queueMessages(t, 1)[0]
		r.waitStatus(t, kept, store.MessageSent)
		time.Sleep(300 * time.Millisecond)
		if n := len(r.relay.Received()); n != 1 {
			t.Fatalf("%d mails sent, want only the committed one", n)
		}
	})
}

// BenchmarkDelivery measures messages delivered per second from the
// outbox through the queue to a local SMTP server, DKIM-signed. msgs/s is the
// figure.
func BenchmarkDelivery(b *testing.B) {
	for _, algs := range [][]string{{"ed25519", "rsa"}, {"ed25519"}} {
		for _, driver := range []string{"sqlite", "postgres"} {
			b.Run(fmt.Sprintf("%s/%v", driver, algs), func(b *testing.B) {
				if driver == "postgres" {
					testdb.PostgresDSN(b)
				}
				r := newRig(b, driver, algs)
				ids := r.queueMessages(b, b.N)
				b.ResetTimer()
				start := time.Now()
				stop := r.run(b)
				for len(r.relay.Received()) < b.N {
					time.Sleep(5 * time.Millisecond)
					if time.Since(start) > 5*time.Minute {
						b.Fatalf("%d of %d delivered", len(r.relay.Received()), b.N)
					}
				}
				b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
				b.StopTimer()
				stop()
				r.waitStatus(b, ids[len(ids)-1], store.MessageSent)
			})
		}
	}
}

// Two ward instances on one PostgreSQL, both working the queue: every
// message is delivered, none twice.
func TestTwoInstancesShareTheWork(t *testing.T) {
	dsn := testdb.PostgresDSN(t)
	ctx := context.Background()
	relay := testsmtp.Start(t)
	var comps []*notify.Composer
	var first store.Store
	for range 2 {
		s, err := postgres.Open(ctx, dsn, true)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		comp := testmail.Composer(t) // the same secret in both instances, as in production
		sender := notify.NewSMTP(relay.Host, relay.Port, "", "", "none", nil)
		t.Cleanup(sender.Close)
		out := &notify.Outbox{Store: s.DB, Composer: comp, Sender: sender, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: time.Now}
		q := jobs.New(s.DB, jobs.Options{Workers: 4, Poll: 50 * time.Millisecond, NewID: store.NewID, Deliver: out.DeliverOne})
		comp.Jobs = q
		if err := q.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			sctx, c2 := context.WithTimeout(ctx, 10*time.Second)
			defer c2()
			q.Stop(sctx)
		})
		comps = append(comps, comp)
		if first == nil {
			first = s.DB
		}
	}
	r := &rig{st: first, comp: comps[0]}
	ids := r.queueMessages(t, 100)
	r2 := &rig{st: first, comp: comps[1]}
	ids = append(ids, r2.queueMessages(t, 100)...)
	for _, id := range ids {
		r.waitStatus(t, id, store.MessageSent)
	}
	time.Sleep(300 * time.Millisecond)
	got := relay.Received()
	seen := map[string]int{}
	for _, raw := range got {
		for _, line := range strings.Split(string(raw), "\r\n") {
			if strings.HasPrefix(line, "To: ") {
				seen[line]++
			}
		}
	}
	if len(got) != 200 || len(seen) != 100 {
		t.Fatalf("%d mails for %d recipients, want 200 for 100 (each recipient got one from each batch)", len(got), len(seen))
	}
	for to, n := range seen {
		if n != 2 {
			t.Fatalf("%s got %d mails, want 2", to, n)
		}
	}
}

// A committed task is started at once, not at the next look: with the
// queue looking only once an hour, the mail still goes.
func TestCommitWakesTheQueue(t *testing.T) {
	bothStores(t, func(t *testing.T, driver string) {
		r := newRigWith(t, driver, []string{"ed25519"}, func(o *jobs.Options) { o.Poll = time.Hour })
		stop := r.run(t)
		defer stop()
		for _, id := range r.queueMessages(t, 3) {
			r.waitStatus(t, id, store.MessageSent)
		}
	})
}

// A task claimed by an instance that died is run by another once the
// claim's lease ends, and only once.
func TestOrphanedTaskRunsAfterItsLease(t *testing.T) {
	bothStores(t, func(t *testing.T, driver string) {
		r := newRigWith(t, driver, []string{"ed25519"}, func(o *jobs.Options) { o.Poll = 20 * time.Millisecond })
		id := r.queueMessages(t, 1)[0]
		now := time.Now().UTC()
		// The dead instance: it claimed the delivery for 300 ms and vanished.
		got, err := r.st.ClaimTasks(context.Background(), now, now.Add(300*time.Millisecond), 10)
		if err != nil || len(got) != 1 || got[0].Kind != jobs.Deliver || string(got[0].Payload) != id || got[0].Attempts != 1 {
			t.Fatalf("claim: %v %+v", err, got)
		}
		stop := r.run(t)
		defer stop()
		m := r.waitStatus(t, id, store.MessageSent)
		if m.Attempts != 2 {
			t.Fatalf("the orphan was delivered as attempt %d, want 2", m.Attempts)
		}
		time.Sleep(100 * time.Millisecond)
		if n := len(r.relay.Received()); n != 1 {
			t.Fatalf("%d mails, want 1", n)
		}
		if n, err := r.queue.Pending(context.Background()); err != nil || n != 0 {
			t.Fatalf("%d tasks left (%v)", n, err)
		}
	})
}

// Stopping waits for a delivery in progress: it is delivered once and
// recorded, and nothing is left to run again.
func TestStopFinishesRunningDeliveries(t *testing.T) {
	bothStores(t, func(t *testing.T, driver string) {
		r := newRig(t, driver, []string{"ed25519"})
		held := r.relay.Slow()
		stop := r.run(t)
		id := r.queueMessages(t, 1)[0]
		<-held
		stopped := make(chan struct{})
		go func() { stop(); close(stopped) }()
		time.Sleep(50 * time.Millisecond)
		select {
		case <-stopped:
			t.Fatal("Stop returned while a delivery was running")
		default:
		}
		r.relay.Release()
		<-stopped
		m, _ := r.st.MessageByID(context.Background(), id)
		if m.Status != store.MessageSent || len(r.relay.Received()) != 1 {
			t.Fatalf("after stopping: %s, %d mails", m.Status, len(r.relay.Received()))
		}
		if n, _ := r.queue.Pending(context.Background()); n != 0 {
			t.Fatalf("%d tasks left after a finished delivery", n)
		}
	})
}

// Work that finishes its task in its own transaction commits together
// with the task's end; when another instance took the task over
// meanwhile (the lease ended), neither is committed.
func TestWorkAndItsTaskCommitTogether(t *testing.T) {
	bothStores(t, func(t *testing.T, driver string) {
		runs, due := ownAndStolen(t, driver, jobs.Finish)
		if own := runs[0]; own.err != nil || own.done != 1 {
			t.Fatalf("own claim: %v, work done %d times", own.err, own.done)
		}
		if lost := runs[1]; !errors.Is(lost.err, store.ErrConflict) || lost.done != 0 {
			t.Fatalf("lost claim: %v, work done %d times", lost.err, lost.done)
		}
		if due != 1 {
			t.Fatalf("%d tasks left, want the stolen one", due)
		}
	})
}

// Work whose outcome stands whoever holds its task (a relay's answer)
// ends its task with FinishIfHeld: with its own claim the work and the
// task's end commit together; when another instance took the task over
// meanwhile, the work is committed all the same and the task is left to
// that instance.
func TestFinishIfHeldCommitsTheWorkWhoeverHoldsTheTask(t *testing.T) {
	bothStores(t, func(t *testing.T, driver string) {
		runs, due := ownAndStolen(t, driver, jobs.FinishIfHeld)
		for i, r := range runs {
			if r.err != nil || r.done != 1 {
				t.Fatalf("claim stolen %v: %v, work done %d times, want once", i == 1, r.err, r.done)
			}
		}
		if due != 1 {
			t.Fatalf("%d tasks left, want the stolen one, left to its new claim", due)
		}
	})
}

type workRun struct {
	err  error
	done int // how often the work was committed
}

// ownAndStolen runs a task's work twice, first with the task's own claim,
// then with the claim taken over by another instance meanwhile (as if the
// lease had ended). The work appends an event and ends its task with
// finish, in one transaction. It returns both runs and the tasks left due.
func ownAndStolen(t *testing.T, driver string, finish func(context.Context, jobs.Tx) error) (runs [2]workRun, due int) {
	st := openStore(t, driver)
	ctx := context.Background()
	steal := make(chan bool, 2)
	results := make(chan error, 2)
	q := jobs.New(st, jobs.Options{Lease: time.Minute, Poll: 20 * time.Millisecond, NewID: store.NewID,
		Later: func(ctx context.Context, payload []byte) error {
			if <-steal {
				st.ClaimTasks(ctx, time.Now().Add(2*time.Minute), time.Now().Add(3*time.Minute), 10)
			}
			err := st.InTx(ctx, func(q store.Queries) error {
				if err := q.AppendEvent(ctx, store.Event{ID: store.NewID(), AccountID: "a", At: time.Now(), Kind: string(payload), Result: "r"}); err != nil {
					return err
				}
				return finish(ctx, q)
			})
			results <- err
			return err
		}})
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer q.Stop(ctx)
	for i, stolen := range []bool{false, true} {
		steal <- stolen
		kind := fmt.Sprintf("work-stolen-%v", stolen)
		if err := st.InTx(ctx, func(tx store.Queries) error { return q.Defer(ctx, tx, []byte(kind)) }); err != nil {
			t.Fatal(err)
		}
		runs[i].err = <-results
		evs, _ := st.Events(ctx, "a", time.Time{}, 10)
		for _, e := range evs {
			if e.Kind == kind {
				runs[i].done++
			}
		}
	}
	b, err := st.TaskBacklog(ctx, time.Now().Add(10*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	return runs, b.Due
}

// continuing is a rig whose deferred work queues one code mail under
// Continue, the way the work after a sign-in's answer does, and records
// what each delivery found when it started.
type continuing struct {
	*rig
	mu     sync.Mutex
	starts []deliveryStart
	kinds  []string
	fail   atomic.Int32 // the work fails this many more times after queueing its mail
	queued chan string  // the id of each mail the work committed
	named  atomic.Int32 // tasks written as new rows
}

type deliveryStart struct {
	id      string
	attempt int
	hinted  bool // handed the message in memory
	tasks   int  // tasks due at that moment, this one included
}

func newContinuing(t *testing.T, driver string) *continuing {
	c := &continuing{queued: make(chan string, 10)}
	c.rig = newRigWith(t, driver, []string{"ed25519"}, func(o *jobs.Options) {
		deliver := o.Deliver
		o.Deliver = func(ctx context.Context, id string, attempt int, final bool) error {
			m, hinted := jobs.Hint(ctx).(store.Message)
			b, err := c.st.TaskBacklog(ctx, time.Now().Add(time.Hour))
			if err != nil {
				return err
			}
			c.mu.Lock()
			c.starts = append(c.starts, deliveryStart{id: id, attempt: attempt, hinted: hinted && m.ID == id, tasks: b.Due})
			c.mu.Unlock()
			return deliver(ctx, id, attempt, final)
		}
		o.LaterRetryAfter = func(int) time.Duration { return 50 * time.Millisecond }
		o.NewID = func() string { c.named.Add(1); return store.NewID() }
		o.Later = func(ctx context.Context, payload []byte) error {
			var id string
			err := c.st.InTx(ctx, func(q store.Queries) error {
				ctx := jobs.Continue(ctx)
				m, err := c.comp.Queue(ctx, q, notify.Request{Kind: notify.KindCode, Channel: notify.Email, To: string(payload), Language: "en",
					Purpose: "sign_in", Code: "123456", ExpiresAt: time.Now().Add(time.Hour), RequestedAt: time.Now()})
				if err != nil {
					return err
				}
				if c.fail.Add(-1) >= 0 {
					return errors.New("the work failed after queueing its mail")
				}
				id = m.ID
				return jobs.Finish(ctx, q)
			})
			if err == nil {
				c.queued <- id
			}
			return err
		}
		o.Done = func(kind string, _, _ time.Duration, _ error) {
			c.mu.Lock()
			c.kinds = append(c.kinds, kind)
			c.mu.Unlock()
		}
	})
	return c
}

// ranOnOneTask checks that the attempts run were kinds (in order), all on
// the one task row the work was deferred as, and that none is left. An
// attempt's outcome is told (Done) after its transaction commits, so the
// last one may come a moment after the message shows it sent: it is
// waited for, up to ten seconds.
func (c *continuing) ranOnOneTask(t *testing.T, kinds string) {
	t.Helper()
	var ran string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		c.mu.Lock()
		ran = fmt.Sprint(c.kinds)
		c.mu.Unlock()
		if ran == kinds || time.Now().After(deadline) {
			break
		}
	}
	if ran != kinds {
		t.Fatalf("ran %v, want %v", ran, kinds)
	}
	if n := c.named.Load(); n != 1 {
		t.Fatalf("%d tasks written as rows of their own, want 1: the delivery is the work's task, rewritten", n)
	}
	if n, err := c.queue.Pending(context.Background()); err != nil || n != 0 {
		t.Fatalf("%d tasks left (%v)", n, err)
	}
}

func (c *continuing) deferWork(t *testing.T, to string) {
	ctx := context.Background()
	if err := c.st.InTx(ctx, func(q store.Queries) error { return c.queue.Defer(ctx, q, []byte(to)) }); err != nil {
		t.Fatal(err)
	}
}

// Work that queues a mail under Continue hands its task on: the mail's
// delivery is written over the work's task in the work's transaction, and
// the same worker delivers it at once, with the message in hand. There
// is never a second task, and the mail arrives once.
func TestContinueHandsTheTaskOnToTheDelivery(t *testing.T) {
	bothStores(t, func(t *testing.T, driver string) {
		c := newContinuing(t, driver)
		stop := c.run(t)
		defer stop()
		c.deferWork(t, "someone@example.org")
		id := <-c.queued
		m := c.waitStatus(t, id, store.MessageSent)
		if m.Attempts != 1 || len(c.relay.Received()) != 1 {
			t.Fatalf("%d attempts, %d mails; want 1 and 1", m.Attempts, len(c.relay.Received()))
		}
		c.mu.Lock()
		starts := slices.Clone(c.starts)
		c.mu.Unlock()
		if len(starts) != 1 {
			t.Fatalf("%d deliveries started, want 1", len(starts))
		}
		if s := starts[0]; s.id != id || s.attempt != 1 || !s.hinted || s.tasks != 1 {
			t.Fatalf("the delivery started as %+v; want attempt 1 of %s, handed the message, with its task the only one", s, id)
		}
		c.ranOnOneTask(t, "[later deliver]")
	})
}

// Work that fails after queueing its mail under Continue commits neither
// the mail nor the hand-over: the work's task is retried as itself, and
// the mail of the run that succeeds is delivered once.
func TestContinueRolledBackLeavesTheWorkToRetry(t *testing.T) {
	bothStores(t, func(t *testing.T, driver string) {
		c := newContinuing(t, driver)
		c.fail.Store(1)
		stop := c.run(t)
		defer stop()
		c.deferWork(t, "someone@example.org")
		id := <-c.queued
		c.waitStatus(t, id, store.MessageSent)
		time.Sleep(100 * time.Millisecond) // a wrongly left second task would have run by now
		if n := len(c.relay.Received()); n != 1 {
			t.Fatalf("%d mails, want 1", n)
		}
		ms, err := c.st.MessagesTo(context.Background(), "someone@example.org", 10)
		if err != nil || len(ms) != 1 {
			t.Fatalf("%d messages stored (%v); the failed run's must not be", len(ms), err)
		}
		c.ranOnOneTask(t, "[later later deliver]")
	})
}

// When another instance took the work's task over meanwhile (its lease
// ended), the hand-over conflicts: the mail is not committed by the run
// that lost its claim.
func TestContinueLosesToATakeover(t *testing.T) {
	bothStores(t, func(t *testing.T, driver string) {
		st := openStore(t, driver)
		ctx := context.Background()
		comp := testmail.Composer(t)
		results := make(chan error, 1)
		var q *jobs.Queue
		q = jobs.New(st, jobs.Options{Lease: time.Minute, Poll: time.Hour, NewID: store.NewID,
			Deliver: func(context.Context, string, int, bool) error { return errors.New("must not run") },
			Later: func(ctx context.Context, payload []byte) error {
				// Another instance, a lease later.
				if got, err := st.ClaimTasks(ctx, time.Now().Add(2*time.Minute), time.Now().Add(3*time.Minute), 10); err != nil || len(got) != 1 {
					t.Errorf("the takeover claimed %d tasks (%v)", len(got), err)
				}
				err := st.InTx(ctx, func(tx store.Queries) error {
					ctx := jobs.Continue(ctx)
					if _, err := comp.Queue(ctx, tx, notify.Request{Kind: notify.KindCode, Channel: notify.Email, To: "lost@example.org",
						Language: "en", Purpose: "sign_in", Code: "123456", ExpiresAt: time.Now().Add(time.Hour), RequestedAt: time.Now()}); err != nil {
						return err
					}
					return jobs.Finish(ctx, tx)
				})
				results <- err
				return err
			}})
		comp.Jobs = q
		if err := q.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer q.Stop(ctx)
		if err := st.InTx(ctx, func(tx store.Queries) error { return q.Defer(ctx, tx, nil) }); err != nil {
			t.Fatal(err)
		}
		if err := <-results; !errors.Is(err, store.ErrConflict) {
			t.Fatalf("the run that lost its claim: %v, want a conflict", err)
		}
		if ms, err := st.MessagesTo(ctx, "lost@example.org", 10); err != nil || len(ms) != 0 {
			t.Fatalf("the run that lost its claim committed %d messages (%v)", len(ms), err)
		}
		if b, err := st.TaskBacklog(ctx, time.Now().Add(10*time.Minute)); err != nil || b.Due != 1 {
			t.Fatalf("%d tasks due, want the taken-over one (%v)", b.Due, err)
		}
	})
}
