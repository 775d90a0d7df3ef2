package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/wardhq/ward/recovery"
)

func (s *DB) ReplaceRecoveryCodes(ctx context.Context, accountID string, codes []recovery.Code) error {
	if _, err := s.exec(ctx, `DELETE FROM recovery_codes WHERE account_id = ?`, accountID); err != nil {
		return fmt.Errorf("voiding recovery codes: %w", err)
	}
	for _, c := range codes {
		if _, err := s.exec(ctx, `INSERT INTO recovery_codes (id, account_id, digest, created_at, used_at) VALUES (?,?,?,?,?)`,
			c.ID, accountID, c.Digest, ts(c.CreatedAt), tsPtr(c.UsedAt)); err != nil {
			return fmt.Errorf("keeping a recovery code: %w", err)
		}
	}
	return nil
}

func (s *DB) UseRecoveryCode(ctx context.Context, accountID, digest string, at time.Time) error {
	return s.execOne(ctx, "using a recovery code", `UPDATE recovery_codes SET used_at = ? WHERE account_id = ? AND digest = ? AND used_at IS NULL`,
		ts(at), accountID, digest)
}

func (s *DB) RecoveryCodesLeft(ctx context.Context, accountID string) (int, error) {
	var n int
	if err := s.row(ctx, `SELECT COUNT(*) FROM recovery_codes WHERE account_id = ? AND used_at IS NULL`, accountID).Scan(&n); err != nil {
		return 0, fmt.Errorf("counting recovery codes: %w", err)
	}
	return n, nil
}
