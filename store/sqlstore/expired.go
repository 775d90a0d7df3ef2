package sqlstore

import (
	"context"
	"fmt"
	"time"
)

// sweepBatch is how many rows one statement of the sweep deletes. A
// statement holds SQLite's one writer while it runs, and a sweep after
// hours of traffic (or of downtime) has hundreds of thousands of rows to
// delete: one statement deleting 215,000 expired flows held it 1.2 s,
// with every sign-in waiting.
const sweepBatch = 1000

func (s *DB) DeleteExpired(ctx context.Context, t time.Time) (int, error) {
	total := 0
	// Codes outlive their flows by two days: the per-recipient and per-IP
	// daily limits count them.
	codesBefore := t.Add(-48 * time.Hour)
	// Each table's rows are found through an index on the time they are
	// kept to (migration 19 added those of the tables that grow with
	// sign-ins): without one, every sweep read every row, 200 ms of the
	// writer's time on a database of 215,000 sign-ins with nothing to
	// delete.
	for _, q := range []struct {
		table, key, col string
		at              time.Time
	}{
		{"codes", "id", "created_at", codesBefore},
		{"flows", "id", "expires_at", t},
		{"link_tokens", "id", "expires_at", t},
		{"suppressions", "recipient_key, source", "until_at", t},
		{"rate_hits", "key, window_start", "window_start", t.Add(-24 * time.Hour)},
		{"passkey_ceremonies", "id", "expires_at", t},
		{"oidc_grants", "id", "expires_at", t},
		{"oidc_tokens", "id", "expires_at", t},
		{"authenticator_pairings", "id", "expires_at", t},
		{"authenticator_prompts", "id", "expires_at", t.Add(-24 * time.Hour)},
	} {
		del := fmt.Sprintf(`DELETE FROM %s WHERE (%s) IN (SELECT %s FROM %s WHERE %s < ? LIMIT %d)`,
			q.table, q.key, q.key, q.table, q.col, sweepBatch)
		for {
			res, err := s.exec(ctx, del, ts(q.at))
			if err != nil {
				return total, fmt.Errorf("deleting expired records from %s: %w", q.table, err)
			}
			n, _ := res.RowsAffected()
			total += int(n)
			if n < sweepBatch {
				break
			}
		}
	}
	if s.d.AfterSweep != "" {
		if _, err := s.exec(ctx, s.d.AfterSweep); err != nil {
			return total, fmt.Errorf("after deleting expired records: %w", err)
		}
	}
	return total, nil
}
