package sqlstore

import (
	"context"
	"fmt"
	"strings"
	"time"
)

func (s *DB) Suppress(ctx context.Context, recipientKey, source string, until, now time.Time) error {
	_, err := s.exec(ctx, `INSERT INTO suppressions (recipient_key, source, until_at, created_at) VALUES (?,?,?,?)
		ON CONFLICT (recipient_key, source) DO UPDATE SET until_at = excluded.until_at`, recipientKey, source, ts(until), ts(now))
	if err != nil {
		return fmt.Errorf("suppressing codes: %w", err)
	}
	return nil
}

func (s *DB) Suppressed(ctx context.Context, recipientKey string, sources []string, now time.Time) (bool, error) {
	if len(sources) == 0 {
		return false, nil
	}
	// One statement per list length keeps the prepared-statement cache small.
	args := []any{recipientKey, ts(now)}
	for _, src := range sources {
		args = append(args, src)
	}
	var n int
	q := `SELECT COUNT(*) FROM suppressions WHERE recipient_key = ? AND until_at > ? AND source IN (?` + strings.Repeat(",?", len(sources)-1) + `)`
	if err := s.row(ctx, q, args...).Scan(&n); err != nil {
		return false, fmt.Errorf("reading suppressions: %w", err)
	}
	return n > 0, nil
}
