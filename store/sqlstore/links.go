package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/wardhq/ward/store"
)

const linkCols = `id, token_hash, purpose, account_id, contact_id, flow_id, created_at, expires_at, used_at, detail`

func (s *DB) CreateLinkToken(ctx context.Context, t store.LinkToken) error {
	return s.execUnread(ctx, "creating link token", `INSERT INTO link_tokens (`+linkCols+`) VALUES (?,?,?,?,?,?,?,?,?,?)`,
		t.ID, t.TokenHash, t.Purpose, t.AccountID, t.ContactID, t.FlowID, ts(t.CreatedAt), ts(t.ExpiresAt), tsPtr(t.UsedAt), t.Detail)
}

func (s *DB) LinkTokenByHash(ctx context.Context, hash string) (store.LinkToken, error) {
	var t store.LinkToken
	err := s.row(ctx, `SELECT `+linkCols+` FROM link_tokens WHERE token_hash = ?`, hash).Scan(
		&t.ID, &t.TokenHash, &t.Purpose, &t.AccountID, &t.ContactID, &t.FlowID, timeCol{&t.CreatedAt}, timeCol{&t.ExpiresAt}, nullTime{&t.UsedAt}, &t.Detail)
	if err != nil {
		return t, notFound(err, "reading link token")
	}
	return t, nil
}

func (s *DB) UseLinkToken(ctx context.Context, id string, at time.Time) error {
	err := s.execOne(ctx, "using link token", `UPDATE link_tokens SET used_at = ? WHERE id = ? AND used_at IS NULL AND expires_at > ?`, ts(at), id, ts(at))
	if err != nil {
		return fmt.Errorf("%w: link already used or expired", store.ErrConflict)
	}
	return nil
}
