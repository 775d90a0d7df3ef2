package sqlstore

import (
	"context"
	"fmt"
	"time"
)

func (s *DB) Hit(ctx context.Context, key string, window time.Time) (int, error) {
	var n int
	err := s.writeRow(ctx, `INSERT INTO rate_hits (key, window_start, n) VALUES (?, ?, 1)
		ON CONFLICT (key, window_start) DO UPDATE SET n = rate_hits.n + 1 RETURNING n`, key, ts(window)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("counting a request: %w", err)
	}
	return n, nil
}
