package sqlstore

import (
	"context"
	"fmt"
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
	marks, vals := inList(sources)
	var n int
	q := `SELECT COUNT(*) FROM suppressions WHERE recipient_key = ? AND until_at > ? AND source IN (` + marks + `)`
	if err := s.row(ctx, q, append([]any{recipientKey, ts(now)}, vals...)...).Scan(&n); err != nil {
		return false, fmt.Errorf("reading suppressions: %w", err)
	}
	return n > 0, nil
}
