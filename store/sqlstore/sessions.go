package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/wardhq/ward/store"
)

const sessionCols = `id, token_hash, account_id, device_id, ip, user_agent, method, created_at, last_seen_at, expires_at, step_up_at, revoked_at`

func scanSession(r interface{ Scan(...any) error }) (store.Session, error) {
	var x store.Session
	err := r.Scan(&x.ID, &x.TokenHash, &x.AccountID, &x.DeviceID, &x.IP, &x.UserAgent, &x.Method,
		timeCol{&x.CreatedAt}, timeCol{&x.LastSeenAt}, timeCol{&x.ExpiresAt}, nullTime{&x.StepUpAt}, nullTime{&x.RevokedAt})
	return x, err
}

func (s *DB) CreateSession(ctx context.Context, x store.Session) error {
	return s.execUnread(ctx, "creating session", `INSERT INTO sessions (`+sessionCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)`,
		x.ID, x.TokenHash, x.AccountID, x.DeviceID, x.IP, x.UserAgent, x.Method, ts(x.CreatedAt), ts(x.LastSeenAt), ts(x.ExpiresAt), tsPtr(x.StepUpAt), tsPtr(x.RevokedAt))
}

func (s *DB) SessionByTokenHash(ctx context.Context, hash string) (store.Session, error) {
	x, err := scanSession(s.row(ctx, `SELECT `+sessionCols+` FROM sessions WHERE token_hash = ?`, hash))
	if err != nil {
		return x, notFound(err, "reading session")
	}
	return x, nil
}

func (s *DB) TouchSession(ctx context.Context, id string, at time.Time, ip string) error {
	return s.execOne(ctx, "touching session", `UPDATE sessions SET last_seen_at = ?, ip = ? WHERE id = ?`, ts(at), ip, id)
}

func (s *DB) RevokeSession(ctx context.Context, id string, at time.Time) error {
	return s.execOne(ctx, "revoking session", `UPDATE sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`, ts(at), id)
}

func (s *DB) RevokeOtherSessions(ctx context.Context, accountID, keepID string, at time.Time) (int, error) {
	res, err := s.exec(ctx, `UPDATE sessions SET revoked_at = ? WHERE account_id = ? AND id <> ? AND revoked_at IS NULL`, ts(at), accountID, keepID)
	if err != nil {
		return 0, fmt.Errorf("revoking sessions: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

func (s *DB) SessionsByAccount(ctx context.Context, accountID string, now time.Time) ([]store.Session, error) {
	rows, err := s.query(ctx, `SELECT `+sessionCols+` FROM sessions WHERE account_id = ? AND revoked_at IS NULL AND expires_at > ?
		ORDER BY last_seen_at DESC, id`, accountID, ts(now))
	if err != nil {
		return nil, fmt.Errorf("listing sessions: %w", err)
	}
	defer rows.Close()
	var out []store.Session
	for rows.Next() {
		x, err := scanSession(rows)
		if err != nil {
			return nil, fmt.Errorf("reading session: %w", err)
		}
		out = append(out, x)
	}
	return out, rows.Err()
}
