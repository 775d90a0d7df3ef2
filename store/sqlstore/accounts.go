package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/wardhq/ward/store"
)

const accountCols = `id, email, phone, password_hash, language, created_at, disabled_at, alias, alias_only, email_skeleton, two_step_at`

func scanAccount(r rowScanner) (store.Account, error) {
	var a store.Account
	err := r.Scan(&a.ID, &a.Email, &a.Phone, &a.PasswordHash, &a.Language, timeCol{&a.CreatedAt}, nullTime{&a.DisabledAt}, &a.Alias, boolCol{&a.AliasOnly},
		&a.Skeleton, nullTime{&a.TwoStepAt})
	return a, err
}

func (s *DB) CreateAccount(ctx context.Context, a store.Account) error {
	_, err := s.exec(ctx, `INSERT INTO accounts (`+accountCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?)`,
		a.ID, a.Email, a.Phone, a.PasswordHash, a.Language, ts(a.CreatedAt), tsPtr(a.DisabledAt), a.Alias, b2i(a.AliasOnly), a.Skeleton, tsPtr(a.TwoStepAt))
	if err != nil {
		return fmt.Errorf("creating account: %w", err)
	}
	return nil
}

func (s *DB) AccountBySkeleton(ctx context.Context, skeleton string) (store.Account, error) {
	a, err := scanAccount(s.row(ctx, `SELECT `+accountCols+` FROM accounts WHERE email_skeleton = ? LIMIT 1`, skeleton))
	if err != nil {
		return a, notFound(err, "reading account")
	}
	return a, nil
}

func (s *DB) AccountByID(ctx context.Context, id string) (store.Account, error) {
	a, err := scanAccount(s.row(ctx, `SELECT `+accountCols+` FROM accounts WHERE id = ?`, id))
	if err != nil {
		return a, notFound(err, "reading account")
	}
	return a, nil
}

func (s *DB) AccountByEmail(ctx context.Context, email string) (store.Account, error) {
	a, err := scanAccount(s.row(ctx, `SELECT `+accountCols+` FROM accounts WHERE email = ?`, email))
	if err != nil {
		return a, notFound(err, "reading account by email")
	}
	return a, nil
}

func (s *DB) AccountByEmailOn(ctx context.Context, email, deviceHash string) (store.Account, bool, error) {
	return withKnownDevice(scanAccount, s.row(ctx, `SELECT `+accountCols+`, `+knownDeviceOf("accounts.id")+` FROM accounts WHERE email = ?`,
		deviceHash, email), "reading account by email")
}

func (s *DB) AccountByAlias(ctx context.Context, alias string) (store.Account, error) {
	if alias == "" {
		return store.Account{}, store.ErrNotFound
	}
	a, err := scanAccount(s.row(ctx, `SELECT `+accountCols+` FROM accounts WHERE alias = ?`, alias))
	if err != nil {
		return a, notFound(err, "reading account by alias")
	}
	return a, nil
}

func (s *DB) SetAccountAlias(ctx context.Context, id, alias string, only bool) error {
	return s.execOne(ctx, "setting sign-in alias", `UPDATE accounts SET alias = ?, alias_only = ? WHERE id = ?`, alias, b2i(only), id)
}

func (s *DB) SetAccountTwoStep(ctx context.Context, id string, at *time.Time) error {
	return s.execOne(ctx, "setting two-step verification", `UPDATE accounts SET two_step_at = ? WHERE id = ?`, tsPtr(at), id)
}

func (s *DB) UpdateAccountPassword(ctx context.Context, id, hash string, at time.Time) error {
	return s.execOne(ctx, "updating password", `UPDATE accounts SET password_hash = ? WHERE id = ?`, hash, id)
}

func (s *DB) SetAccountDisabled(ctx context.Context, id string, at *time.Time) error {
	return s.execOne(ctx, "setting account state", `UPDATE accounts SET disabled_at = ? WHERE id = ?`, tsPtr(at), id)
}
