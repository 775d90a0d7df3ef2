package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/wardhq/ward/jobs"
	"github.com/wardhq/ward/store"
)

func (s *DB) AddTask(ctx context.Context, t jobs.Task) error {
	return s.execUnread(ctx, "adding a task", `INSERT INTO tasks (id, kind, payload, run_at, lease_until, attempts, last_error, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		t.ID, t.Kind, string(t.Payload), ts(t.RunAt), tsOrZero(t.LeaseUntil), t.Attempts, t.LastError, ts(t.CreatedAt))
}

func (s *DB) ClaimTasks(ctx context.Context, now, until time.Time, limit int) ([]jobs.Task, error) {
	if s.tx != nil || s.native != nil {
		return s.claimTasks(ctx, now, until, limit)
	}
	// An UPDATE … RETURNING of many rows: run as a transaction, so that
	// it goes to the writer and its rows are read before the writer is
	// let go.
	var out []jobs.Task
	err := s.InTx(ctx, func(q store.Queries) error {
		var err error
		out, err = q.(*DB).claimTasks(ctx, now, until, limit)
		return err
	})
	return out, err
}

func (s *DB) claimTasks(ctx context.Context, now, until time.Time, limit int) ([]jobs.Task, error) {
	// Several instances claim at once on PostgreSQL: each skips the rows
	// another is claiming. SQLite has one writer, which already
	// serialises claims.
	skip := ""
	if s.d.AdvisoryLocks {
		skip = " FOR UPDATE SKIP LOCKED"
	}
	rows, err := s.query(ctx, `UPDATE tasks SET lease_until = ?, attempts = attempts + 1
		WHERE id IN (SELECT id FROM tasks WHERE run_at <= ? AND lease_until <= ? ORDER BY run_at LIMIT ?`+skip+`)
		RETURNING id, kind, payload, run_at, attempts, last_error, created_at`, ts(until), ts(now), ts(now), limit)
	if err != nil {
		return nil, fmt.Errorf("claiming tasks: %w", err)
	}
	defer rows.Close()
	var out []jobs.Task
	for rows.Next() {
		var t jobs.Task
		var payload string
		var runAt, created int64
		if err := rows.Scan(&t.ID, &t.Kind, &payload, &runAt, &t.Attempts, &t.LastError, &created); err != nil {
			return nil, fmt.Errorf("claiming tasks: %w", err)
		}
		t.Payload, t.RunAt, t.CreatedAt = []byte(payload), fromTS(runAt), fromTS(created)
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("claiming tasks: %w", err)
	}
	return out, nil
}

// FinishTask and RetryTask change a task only for the claim that holds
// it: any other (one whose lease ended and was taken over) gets
// store.ErrConflict.
func (s *DB) FinishTask(ctx context.Context, id string, attempt int) error {
	return claimed(s.execOne(ctx, "finishing a task", `DELETE FROM tasks WHERE id = ? AND attempts = ?`, id, attempt))
}

// DropTask deletes the task if the claim attempt still holds it. Nothing
// reads the outcome, so on PostgreSQL it goes with the commit.
func (s *DB) DropTask(ctx context.Context, id string, attempt int) error {
	return s.execUnread(ctx, "ending a task", `DELETE FROM tasks WHERE id = ? AND attempts = ?`, id, attempt)
}

func (s *DB) RetryTask(ctx context.Context, id string, attempt int, at time.Time, lastErr string) error {
	return claimed(s.execOne(ctx, "rescheduling a task", `UPDATE tasks SET run_at = ?, lease_until = 0, last_error = ? WHERE id = ? AND attempts = ?`,
		ts(at), lastErr, id, attempt))
}

// ReplaceTask is one UPDATE that must find the claim: inside a
// PostgreSQL transaction it goes ahead of the next statement, which
// reports a lost claim in its place.
func (s *DB) ReplaceTask(ctx context.Context, id string, attempt int, t jobs.Task) error {
	return claimed(s.execOneAhead(ctx, "handing a task on", `UPDATE tasks SET kind = ?, payload = ?, run_at = ?, lease_until = ?, attempts = ?,
		last_error = ?, created_at = ? WHERE id = ? AND attempts = ?`,
		t.Kind, string(t.Payload), ts(t.RunAt), tsOrZero(t.LeaseUntil), t.Attempts, t.LastError, ts(t.CreatedAt), id, attempt))
}

func claimed(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w: the task is no longer this claim's", store.ErrConflict)
	}
	return err
}

func (s *DB) TaskBacklog(ctx context.Context, now time.Time) (jobs.Backlog, error) {
	var b jobs.Backlog
	var oldest, unclaimed sql.NullInt64
	// A task waiting unclaimed since: its run_at, or the end of a lease
	// nobody renewed.
	err := s.row(ctx, `SELECT COUNT(*), MIN(created_at), MIN(CASE WHEN lease_until <= ? THEN (CASE WHEN lease_until > run_at THEN lease_until ELSE run_at END) END) FROM tasks WHERE run_at <= ?`,
		ts(now), ts(now)).Scan(&b.Due, &oldest, &unclaimed)
	if err != nil {
		return b, fmt.Errorf("counting tasks: %w", err)
	}
	if oldest.Valid {
		b.Oldest = fromTS(oldest.Int64)
	}
	if unclaimed.Valid {
		b.Unclaimed = fromTS(unclaimed.Int64)
	}
	return b, nil
}

// importRiverJobs (migration 16) moves the work River still held when
// ward stopped using it into tasks, so that an upgrade loses nothing.
func (s *DB) importRiverJobs(ctx context.Context, tx *sql.Tx) error {
	var exists int
	q := `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'river_job'`
	if !s.d.SQLiteOnly {
		q = `SELECT COUNT(*) FROM information_schema.tables WHERE table_name = 'river_job' AND table_schema = current_schema()`
	}
	if err := tx.QueryRowContext(ctx, q).Scan(&exists); err != nil || exists == 0 {
		return err
	}
	rows, err := tx.QueryContext(ctx, `SELECT kind, CAST(args AS TEXT) FROM river_job
		WHERE state IN ('available', 'pending', 'retryable', 'running', 'scheduled') AND kind IN ('ward_deliver_message', 'ward_later')`)
	if err != nil {
		return err
	}
	var tasks []jobs.Task
	now := time.Now().UTC()
	for rows.Next() {
		var kind, args string
		if err := rows.Scan(&kind, &args); err != nil {
			rows.Close()
			return err
		}
		var a struct {
			MessageID string `json:"message_id"`
			Payload   []byte `json:"payload"`
		}
		if err := json.Unmarshal([]byte(args), &a); err != nil {
			rows.Close()
			return fmt.Errorf("reading River job %s: %w", kind, err)
		}
		t := jobs.Task{ID: store.NewID(), Kind: jobs.Later, Payload: a.Payload, RunAt: now, CreatedAt: now}
		if kind == "ward_deliver_message" {
			t.Kind, t.Payload = jobs.Deliver, []byte(a.MessageID)
		}
		tasks = append(tasks, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, t := range tasks {
		if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO tasks (id, kind, payload, run_at, created_at) VALUES (?, ?, ?, ?, ?)`),
			t.ID, t.Kind, string(t.Payload), ts(t.RunAt), ts(t.CreatedAt)); err != nil {
			return err
		}
	}
	if len(tasks) > 0 {
		if _, err := tx.ExecContext(ctx, `DELETE FROM river_job WHERE kind IN ('ward_deliver_message', 'ward_later')`); err != nil {
			return errors.Join(err, errors.New("removing imported River jobs"))
		}
	}
	return nil
}
