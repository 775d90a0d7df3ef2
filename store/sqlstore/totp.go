package sqlstore

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/wardhq/ward/store"
	"github.com/wardhq/ward/totp"
)

const totpCols = `id, account_id, name, secret, created_at, confirmed_at, last_step, last_used_at`

func (s *DB) CreateAuthenticator(ctx context.Context, a totp.Authenticator) error {
	_, err := s.exec(ctx, `INSERT INTO totp_authenticators (`+totpCols+`) VALUES (?,?,?,?,?,?,?,?)`,
		a.ID, a.AccountID, a.Name, base64.StdEncoding.EncodeToString(a.Secret), ts(a.CreatedAt), tsPtr(a.ConfirmedAt), a.LastStep, tsPtr(a.LastUsedAt))
	if err != nil {
		return fmt.Errorf("adding an authenticator: %w", err)
	}
	return nil
}

func (s *DB) AuthenticatorsByAccount(ctx context.Context, accountID string) ([]totp.Authenticator, error) {
	rows, err := s.query(ctx, `SELECT `+totpCols+` FROM totp_authenticators WHERE account_id = ? ORDER BY created_at, id`, accountID)
	if err != nil {
		return nil, fmt.Errorf("listing authenticators: %w", err)
	}
	defer rows.Close()
	var out []totp.Authenticator
	for rows.Next() {
		var a totp.Authenticator
		var secret string
		if err := rows.Scan(&a.ID, &a.AccountID, &a.Name, &secret, timeCol{&a.CreatedAt}, nullTime{&a.ConfirmedAt}, &a.LastStep,
			nullTime{&a.LastUsedAt}); err != nil {
			return nil, fmt.Errorf("reading an authenticator: %w", err)
		}
		if a.Secret, err = base64.StdEncoding.DecodeString(secret); err != nil {
			return nil, fmt.Errorf("reading an authenticator's secret: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

func (s *DB) ConfirmAuthenticator(ctx context.Context, id string, at time.Time) error {
	err := s.execOne(ctx, "confirming an authenticator", `UPDATE totp_authenticators SET confirmed_at = ? WHERE id = ? AND confirmed_at IS NULL`, ts(at), id)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("confirming an authenticator: %w", store.ErrConflict)
	}
	return err
}

func (s *DB) UseAuthenticatorStep(ctx context.Context, id string, step int64, at time.Time) error {
	err := s.execOne(ctx, "using an authenticator's code", `UPDATE totp_authenticators SET last_step = ?, last_used_at = ? WHERE id = ? AND last_step < ?`,
		step, ts(at), id, step)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("using an authenticator's code: %w", store.ErrConflict)
	}
	return err
}

func (s *DB) DeleteAuthenticator(ctx context.Context, accountID, id string) error {
	return s.execOne(ctx, "removing an authenticator", `DELETE FROM totp_authenticators WHERE id = ? AND account_id = ?`, id, accountID)
}
