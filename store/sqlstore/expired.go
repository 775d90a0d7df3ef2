package sqlstore

import (
	"context"
	"fmt"
	"time"
)

func (s *DB) DeleteExpired(ctx context.Context, t time.Time) (int, error) {
	total := 0
	// Codes outlive their flows by two days: the per-recipient and per-IP
	// daily limits count them.
	codesBefore := t.Add(-48 * time.Hour)
	for _, q := range []struct {
		sql string
		at  time.Time
	}{
		{`DELETE FROM codes WHERE created_at < ?`, codesBefore},
		{`DELETE FROM flows WHERE expires_at < ?`, t},
		{`DELETE FROM link_tokens WHERE expires_at < ?`, t},
		{`DELETE FROM suppressions WHERE until_at < ?`, t},
		{`DELETE FROM rate_hits WHERE window_start < ?`, t.Add(-24 * time.Hour)},
		{`DELETE FROM passkey_ceremonies WHERE expires_at < ?`, t},
		{`DELETE FROM oidc_grants WHERE expires_at < ?`, t},
		{`DELETE FROM oidc_tokens WHERE expires_at < ?`, t},
		{`DELETE FROM authenticator_pairings WHERE expires_at < ?`, t},
		{`DELETE FROM authenticator_prompts WHERE expires_at < ?`, t.Add(-24 * time.Hour)},
	} {
		res, err := s.exec(ctx, q.sql, ts(q.at))
		if err != nil {
			return total, fmt.Errorf("deleting expired records: %w", err)
		}
		n, _ := res.RowsAffected()
		total += int(n)
	}
	if s.d.AfterSweep != "" {
		if _, err := s.exec(ctx, s.d.AfterSweep); err != nil {
			return total, fmt.Errorf("after deleting expired records: %w", err)
		}
	}
	return total, nil
}
