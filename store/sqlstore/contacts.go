package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/wardhq/ward/store"
)

const contactCols = `id, account_id, kind, value, is_primary, verified_at, created_at, recovery_after`

func scanContact(r interface{ Scan(...any) error }) (store.Contact, error) {
	var c store.Contact
	err := r.Scan(&c.ID, &c.AccountID, &c.Kind, &c.Value, boolCol{&c.Primary}, nullTime{&c.VerifiedAt}, timeCol{&c.CreatedAt}, nullTime{&c.RecoveryAfter})
	return c, err
}

func (s *DB) CreateContact(ctx context.Context, c store.Contact) error {
	_, err := s.exec(ctx, `INSERT INTO contacts (`+contactCols+`) VALUES (?,?,?,?,?,?,?,?)`,
		c.ID, c.AccountID, c.Kind, c.Value, b2i(c.Primary), tsPtr(c.VerifiedAt), ts(c.CreatedAt), tsPtr(c.RecoveryAfter))
	if err != nil {
		return fmt.Errorf("creating contact: %w", err)
	}
	return nil
}

func (s *DB) ContactsByAccount(ctx context.Context, accountID string) ([]store.Contact, error) {
	rows, err := s.query(ctx, `SELECT `+contactCols+` FROM contacts WHERE account_id = ? ORDER BY is_primary DESC, created_at, id`, accountID)
	if err != nil {
		return nil, fmt.Errorf("listing contacts: %w", err)
	}
	defer rows.Close()
	var out []store.Contact
	for rows.Next() {
		c, err := scanContact(rows)
		if err != nil {
			return nil, fmt.Errorf("reading contact: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

func (s *DB) ContactByID(ctx context.Context, id string) (store.Contact, error) {
	c, err := scanContact(s.row(ctx, `SELECT `+contactCols+` FROM contacts WHERE id = ?`, id))
	if err != nil {
		return c, notFound(err, "reading contact")
	}
	return c, nil
}

func (s *DB) SetContactRecoveryAfter(ctx context.Context, id string, at *time.Time) error {
	return s.execOne(ctx, "updating contact", `UPDATE contacts SET recovery_after = ? WHERE id = ?`, tsPtr(at), id)
}

func (s *DB) DeleteContact(ctx context.Context, id string) error {
	return s.execOne(ctx, "deleting contact", `DELETE FROM contacts WHERE id = ?`, id)
}
