package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/wardhq/ward/store"
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
	q, args := suppressedQuery(recipientKey, sources, now)
	var n int
	if err := s.row(ctx, q, args...).Scan(&n); err != nil {
		return false, fmt.Errorf("reading suppressions: %w", err)
	}
	return n > 0, nil
}

// suppressedQuery counts the live suppressions of sources (at least one)
// for recipientKey.
func suppressedQuery(recipientKey string, sources []string, now time.Time) (string, []any) {
	marks, vals := inList(sources)
	return `SELECT COUNT(*) FROM suppressions WHERE recipient_key = ? AND until_at > ? AND source IN (` + marks + `)`,
		append([]any{recipientKey, ts(now)}, vals...)
}

func (s *DB) RecipientState(ctx context.Context, recipientKey string, sources []string, recipient, kind string, since, now time.Time) (store.RecipientState, error) {
	var st store.RecipientState
	suppressed, args := "0", []any{}
	if len(sources) > 0 {
		suppressed, args = suppressedQuery(recipientKey, sources, now)
		suppressed = "(" + suppressed + ")"
	}
	var n int
	err := s.row(ctx, `SELECT `+suppressed+`, (`+countMessagesQuery+`)`, append(args, recipient, kind, ts(since))...).Scan(&n, &st.Sent)
	if err != nil {
		return st, fmt.Errorf("reading what holds mail to a recipient back: %w", err)
	}
	st.Suppressed = n > 0
	return st, nil
}
