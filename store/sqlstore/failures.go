package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/wardhq/ward/store"
)

func (s *DB) FailureCounter(ctx context.Context, subject, factor string) (store.FailureCounter, error) {
	c := store.FailureCounter{Subject: subject, Factor: factor}
	err := s.row(ctx, `SELECT consecutive, last_at, locked_until, disabled_at FROM failure_counters WHERE subject = ? AND factor = ?`, subject, factor).Scan(
		&c.Consecutive, timeCol{&c.LastAt}, nullTime{&c.LockedUntil}, nullTime{&c.DisabledAt})
	if err != nil {
		return c, notFound(err, "reading failure counter")
	}
	return c, nil
}

func (s *DB) AddFailure(ctx context.Context, subject, factor string, at time.Time, lock func(int) (*time.Time, *time.Time)) (store.FailureCounter, error) {
	c := store.FailureCounter{Subject: subject, Factor: factor, LastAt: at}
	err := s.writeRow(ctx, `INSERT INTO failure_counters (subject, factor, consecutive, last_at) VALUES (?, ?, 1, ?)
		ON CONFLICT (subject, factor) DO UPDATE SET consecutive = failure_counters.consecutive + 1, last_at = excluded.last_at
		RETURNING consecutive, disabled_at`, subject, factor, ts(at)).Scan(&c.Consecutive, nullTime{&c.DisabledAt})
	if err != nil {
		return c, fmt.Errorf("counting failure: %w", err)
	}
	lockedUntil, disabledAt := lock(c.Consecutive)
	if c.DisabledAt != nil {
		disabledAt = c.DisabledAt // once disabled, only ResetFailures enables it again
	}
	c.LockedUntil, c.DisabledAt = lockedUntil, disabledAt
	_, err = s.exec(ctx, `UPDATE failure_counters SET locked_until = ?, disabled_at = ? WHERE subject = ? AND factor = ?`,
		tsPtr(lockedUntil), tsPtr(disabledAt), subject, factor)
	if err != nil {
		return c, fmt.Errorf("locking factor: %w", err)
	}
	return c, nil
}

func (s *DB) ResetFailures(ctx context.Context, subject, factor string) error {
	return s.execUnread(ctx, "resetting failures", `DELETE FROM failure_counters WHERE subject = ? AND factor = ?`, subject, factor)
}
