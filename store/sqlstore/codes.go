package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/wardhq/ward/store"
)

const codeCols = `id, flow_id, purpose, channel, recipient_key, hash, ip, failures, created_at, expires_at, used_at, replaced_at`

func (s *DB) CreateCode(ctx context.Context, c store.Code) error {
	return s.execUnread(ctx, "creating code", `INSERT INTO codes (`+codeCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)`,
		c.ID, c.FlowID, c.Purpose, c.Channel, c.RecipientKey, c.Hash, c.IP, c.Failures, ts(c.CreatedAt), ts(c.ExpiresAt), tsPtr(c.UsedAt), tsPtr(c.ReplacedAt))
}

func (s *DB) CurrentCode(ctx context.Context, flowID string) (store.Code, error) {
	var c store.Code
	err := s.row(ctx, `SELECT `+codeCols+` FROM codes WHERE flow_id = ? AND replaced_at IS NULL ORDER BY created_at DESC, id DESC LIMIT 1`, flowID).Scan(
		&c.ID, &c.FlowID, &c.Purpose, &c.Channel, &c.RecipientKey, &c.Hash, &c.IP, &c.Failures,
		timeCol{&c.CreatedAt}, timeCol{&c.ExpiresAt}, nullTime{&c.UsedAt}, nullTime{&c.ReplacedAt})
	if err != nil {
		return c, notFound(err, "reading current code")
	}
	return c, nil
}

func (s *DB) ReplaceCodes(ctx context.Context, flowID string, at time.Time) error {
	if _, err := s.exec(ctx, `UPDATE codes SET replaced_at = ? WHERE flow_id = ? AND replaced_at IS NULL`, ts(at), flowID); err != nil {
		return fmt.Errorf("replacing codes: %w", err)
	}
	return nil
}

func (s *DB) DispatchCode(ctx context.Context, codeID string, at time.Time) (store.Code, error) {
	var c store.Code
	err := s.writeRow(ctx, `UPDATE codes SET dispatched_at = ? WHERE id = ? AND dispatched_at IS NULL RETURNING `+codeCols, ts(at), codeID).Scan(
		&c.ID, &c.FlowID, &c.Purpose, &c.Channel, &c.RecipientKey, &c.Hash, &c.IP, &c.Failures,
		timeCol{&c.CreatedAt}, timeCol{&c.ExpiresAt}, nullTime{&c.UsedAt}, nullTime{&c.ReplacedAt})
	if errors.Is(err, sql.ErrNoRows) {
		return c, fmt.Errorf("claiming a code's mail: %w", store.ErrConflict)
	}
	if err != nil {
		return c, fmt.Errorf("claiming a code's mail: %w", err)
	}
	return c, nil
}

func (s *DB) AddCodeFailure(ctx context.Context, codeID string, maxFailures int) (int, error) {
	var n int
	err := s.writeRow(ctx, `UPDATE codes SET failures = failures + 1
		WHERE id = ? AND failures < ? AND used_at IS NULL AND replaced_at IS NULL RETURNING failures`, codeID, maxFailures).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("counting code failure: %w", store.ErrConflict)
	}
	if err != nil {
		return 0, fmt.Errorf("counting code failure: %w", err)
	}
	return n, nil
}

func (s *DB) UseCode(ctx context.Context, codeID string, at time.Time, maxFailures int) error {
	return s.execOneAhead(ctx, "using code", `UPDATE codes SET used_at = ? WHERE id = ? AND used_at IS NULL AND replaced_at IS NULL AND expires_at > ? AND failures < ?`,
		ts(at), codeID, ts(at), maxFailures)
}

func (s *DB) CountCodesToRecipient(ctx context.Context, recipientKey string, since time.Time) (int, error) {
	var n int
	err := s.row(ctx, `SELECT COUNT(*) FROM codes WHERE recipient_key = ? AND created_at >= ?`, recipientKey, ts(since)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("counting codes to recipient: %w", err)
	}
	return n, nil
}

func (s *DB) CountCodesFromIP(ctx context.Context, ip string, since time.Time) (int, error) {
	var n int
	err := s.row(ctx, `SELECT COUNT(*) FROM codes WHERE ip = ? AND created_at >= ?`, ip, ts(since)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("counting codes from IP: %w", err)
	}
	return n, nil
}
