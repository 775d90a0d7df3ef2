// Package jobs runs ward's background work on River: each queued message
// gets a River job, inserted in the same transaction as the message, and
// River's workers deliver it with retries, rescue it from a crashed
// instance, and share the work between instances.
package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"github.com/wardhq/ward/notify"
	"github.com/wardhq/ward/store"
)

// DeliverArgs asks for one outbox message to be delivered.
type DeliverArgs struct {
	MessageID string `json:"message_id"`
}

// Kind names the job for River.
func (DeliverArgs) Kind() string { return "ward_deliver_message" }

// LaterArgs carries work a request left for after its answer (sealed by
// whoever left it; the queue never reads it).
type LaterArgs struct {
	Payload []byte `json:"payload"`
}

// Kind names the job for River.
func (LaterArgs) Kind() string { return "ward_later" }

// laterQueue is the queue of work left by requests: a person waits for
// it (a code mail is written there), so it is polled more often than the
// deliveries' queue where SQLite has no notifications.
const laterQueue = "later"

// InsertOpts puts the job on its queue.
func (LaterArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: laterQueue} }

// MaxAttempts is how often a message is tried before it is failed: the
// outbox's own count, so both give up together.
const MaxAttempts = notify.MaxAttempts

// Options tune the queue.
type Options struct {
	// Workers deliver at once per instance.
	Workers int
	// StuckAfter is how long a delivery may run before River hands the
	// message to another worker (a crashed instance's messages wait this long).
	StuckAfter time.Duration
	// PollInterval is how often an idle worker looks for jobs.
	PollInterval time.Duration
	// FetchCooldown is the least time between two fetches of jobs. Each
	// fetch is a write: on SQLite it competes with sign-ins for the one
	// writer, so its default there is 100 ms; on PostgreSQL 10 ms.
	FetchCooldown time.Duration
	Log           *slog.Logger
	// Later does the work left by Queue.Defer (flow's Service.RunLater).
	Later func(ctx context.Context, payload []byte) error
	// LaterPoll is how often an idle worker looks for such work; on
	// SQLite each look is a small write. Default 25 ms.
	LaterPoll time.Duration
}

// Queue is River working the outbox.
type Queue struct {
	insert  func(ctx context.Context, tx any, args river.JobArgs) error
	pending func(ctx context.Context) (int, error)
	start   func(ctx context.Context) error
	stop    func(ctx context.Context) error
}

// Enqueue adds the delivery job for a message inside the transaction q
// runs in (q must come from store.Store.InTx).
func (qu *Queue) Enqueue(ctx context.Context, q store.Queries, messageID string) error {
	if err := qu.insertTx(ctx, q, DeliverArgs{MessageID: messageID}); err != nil {
		return fmt.Errorf("queueing a delivery job: %w", err)
	}
	return nil
}

// Defer leaves payload for Options.Later, inside the transaction q runs
// in: the work happens exactly when the request's changes are committed.
// Like every job it may run twice (after a crash); the work must allow it.
func (qu *Queue) Defer(ctx context.Context, q store.Queries, payload []byte) error {
	if err := qu.insertTx(ctx, q, LaterArgs{Payload: payload}); err != nil {
		return fmt.Errorf("queueing work for later: %w", err)
	}
	return nil
}

func (qu *Queue) insertTx(ctx context.Context, q store.Queries, args river.JobArgs) error {
	dt, ok := q.(interface{ DriverTx() any })
	if !ok || dt.DriverTx() == nil {
		return errors.New("not inside a transaction")
	}
	return qu.insert(ctx, dt.DriverTx(), args)
}

// Pending counts the jobs waiting or running (not those scheduled for a
// later retry).
func (qu *Queue) Pending(ctx context.Context) (int, error) { return qu.pending(ctx) }

// Start begins working jobs; Stop finishes the running ones and stops.
func (qu *Queue) Start(ctx context.Context) error { return qu.start(ctx) }

// Stop ends work, letting running deliveries finish.
func (qu *Queue) Stop(ctx context.Context) error { return qu.stop(ctx) }

// SQLite returns a queue on the SQLite store's writer handle.
func SQLite(ctx context.Context, writer *sql.DB, outbox *notify.Outbox, o Options) (*Queue, error) {
	if o.FetchCooldown == 0 {
		o.FetchCooldown = 100 * time.Millisecond
	}
	return newQueue(ctx, riversqlite.New(writer), outbox, o)
}

// Postgres returns a queue on the PostgreSQL store's pool.
func Postgres(ctx context.Context, pool *pgxpool.Pool, outbox *notify.Outbox, o Options) (*Queue, error) {
	if o.FetchCooldown == 0 {
		o.FetchCooldown = 10 * time.Millisecond
	}
	return newQueue[pgx.Tx](ctx, riverpgxv5.New(pool), outbox, o)
}

func newQueue[TTx any](ctx context.Context, driver riverdriver.Driver[TTx], outbox *notify.Outbox, o Options) (*Queue, error) {
	m, err := rivermigrate.New(driver, nil)
	if err != nil {
		return nil, fmt.Errorf("preparing River migrations: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return nil, fmt.Errorf("applying River migrations: %w", err)
	}
	if o.Workers == 0 {
		o.Workers = 64
	}
	if o.LaterPoll == 0 {
		// SQLite has no notifications, and on PostgreSQL River passes on a
		// notice of new jobs only once per cooldown and queue: a poll
		// catches the rest on both.
		o.LaterPoll = 25 * time.Millisecond
	}
	if o.StuckAfter == 0 {
		o.StuckAfter = time.Minute
	}
	if o.PollInterval == 0 {
		o.PollInterval = 200 * time.Millisecond
	}
	workers := river.NewWorkers()
	river.AddWorker(workers, &deliverWorker{outbox: outbox})
	river.AddWorker(workers, &laterWorker{do: o.Later})
	client, err := river.NewClient(driver, &river.Config{
		Queues: map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: o.Workers},
			laterQueue: {MaxWorkers: o.Workers, FetchPollInterval: o.LaterPoll, FetchCooldown: min(o.LaterPoll, o.FetchCooldown)}},
		Workers:           workers,
		MaxAttempts:       MaxAttempts,
		FetchPollInterval: o.PollInterval,
		FetchCooldown:     min(o.PollInterval, o.FetchCooldown),
		// A delivery that outlives JobTimeout is cancelled; one whose
		// instance died is handed on after RescueStuckJobsAfter.
		JobTimeout:           o.StuckAfter / 2,
		RescueStuckJobsAfter: o.StuckAfter,
		Logger:               quiet(o.Log),
	})
	if err != nil {
		return nil, fmt.Errorf("starting River: %w", err)
	}
	return &Queue{
		insert: func(ctx context.Context, tx any, args river.JobArgs) error {
			t, ok := tx.(TTx)
			if !ok {
				return fmt.Errorf("transaction of type %T is not this store's", tx)
			}
			_, err := client.InsertTx(ctx, t, args, nil)
			return err
		},
		pending: func(ctx context.Context) (int, error) {
			res, err := client.JobList(ctx, river.NewJobListParams().First(1000).
				States(rivertype.JobStateAvailable, rivertype.JobStateRunning, rivertype.JobStatePending))
			if err != nil {
				return 0, fmt.Errorf("listing pending jobs: %w", err)
			}
			return len(res.Jobs), nil
		},
		start: client.Start,
		stop:  client.Stop,
	}, nil
}

type deliverWorker struct {
	river.WorkerDefaults[DeliverArgs]
	outbox *notify.Outbox
}

func (w *deliverWorker) Work(ctx context.Context, job *river.Job[DeliverArgs]) error {
	return w.outbox.DeliverOne(ctx, job.Args.MessageID, job.Attempt, job.Attempt >= MaxAttempts)
}

type laterWorker struct {
	river.WorkerDefaults[LaterArgs]
	do func(ctx context.Context, payload []byte) error
}

func (w *laterWorker) Work(ctx context.Context, job *river.Job[LaterArgs]) error {
	if w.do == nil {
		return errors.New("no worker for deferred work is configured")
	}
	return w.do(ctx, job.Args.Payload)
}

func (w *deliverWorker) NextRetry(job *river.Job[DeliverArgs]) time.Time {
	return time.Now().Add(w.outbox.RetryAfter(job.Attempt))
}

// quiet passes on only River's warnings and errors: its routine reports
// would drown ward's own log.
func quiet(l *slog.Logger) *slog.Logger {
	if l == nil {
		return nil
	}
	return slog.New(minLevel{l.Handler(), slog.LevelWarn})
}

type minLevel struct {
	slog.Handler
	min slog.Level
}

func (m minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= m.min && m.Handler.Enabled(ctx, l)
}

func (m minLevel) WithAttrs(a []slog.Attr) slog.Handler {
	return minLevel{m.Handler.WithAttrs(a), m.min}
}
func (m minLevel) WithGroup(g string) slog.Handler { return minLevel{m.Handler.WithGroup(g), m.min} }
