package sqlstore

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/wardhq/ward/passkey"
	"github.com/wardhq/ward/store"
)

const passkeyCols = `id, account_id, name, credential_id, credential, backup_eligible, backed_up, sign_count, created_at, last_used_at`

// Credential ids are bytes; they are kept as unpadded base64url, the way
// WebAuthn writes them.
var credID = base64.RawURLEncoding

func scanPasskey(r interface{ Scan(...any) error }) (passkey.Passkey, error) {
	var p passkey.Passkey
	var id, cred string
	var count int64
	err := r.Scan(&p.ID, &p.AccountID, &p.Name, &id, &cred, boolCol{&p.BackupEligible}, boolCol{&p.BackedUp}, &count,
		timeCol{&p.CreatedAt}, nullTime{&p.LastUsedAt})
	if err != nil {
		return p, err
	}
	if p.CredentialID, err = credID.DecodeString(id); err != nil {
		return p, fmt.Errorf("reading a passkey's id: %w", err)
	}
	p.Credential, p.SignCount = []byte(cred), uint32(count)
	return p, nil
}

func (s *DB) CreatePasskey(ctx context.Context, p passkey.Passkey) error {
	_, err := s.exec(ctx, `INSERT INTO passkeys (`+passkeyCols+`) VALUES (?,?,?,?,?,?,?,?,?,?)`, p.ID, p.AccountID, p.Name,
		credID.EncodeToString(p.CredentialID), string(p.Credential), b2i(p.BackupEligible), b2i(p.BackedUp), int64(p.SignCount),
		ts(p.CreatedAt), tsPtr(p.LastUsedAt))
	if err != nil {
		return fmt.Errorf("adding a passkey: %w", err)
	}
	return nil
}

func (s *DB) PasskeysByAccount(ctx context.Context, accountID string) ([]passkey.Passkey, error) {
	rows, err := s.query(ctx, `SELECT `+passkeyCols+` FROM passkeys WHERE account_id = ? ORDER BY created_at, id`, accountID)
	if err != nil {
		return nil, fmt.Errorf("listing passkeys: %w", err)
	}
	defer rows.Close()
	var out []passkey.Passkey
	for rows.Next() {
		p, err := scanPasskey(rows)
		if err != nil {
			return nil, fmt.Errorf("reading a passkey: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

func (s *DB) PasskeyByCredentialID(ctx context.Context, id []byte) (passkey.Passkey, error) {
	p, err := scanPasskey(s.row(ctx, `SELECT `+passkeyCols+` FROM passkeys WHERE credential_id = ?`, credID.EncodeToString(id)))
	if err != nil {
		return p, notFound(err, "reading a passkey")
	}
	return p, nil
}

func (s *DB) UsePasskey(ctx context.Context, id string, prevCount uint32, p passkey.Passkey, at time.Time) error {
	err := s.execOne(ctx, "recording a passkey's use", `UPDATE passkeys SET credential = ?, backed_up = ?, sign_count = ?, last_used_at = ?
		WHERE id = ? AND sign_count = ?`, string(p.Credential), b2i(p.BackedUp), int64(p.SignCount), ts(at), id, int64(prevCount))
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("recording a passkey's use: %w", store.ErrConflict)
	}
	return err
}

func (s *DB) RenamePasskey(ctx context.Context, accountID, id, name string) error {
	return s.execOne(ctx, "renaming a passkey", `UPDATE passkeys SET name = ? WHERE id = ? AND account_id = ?`, name, id, accountID)
}

func (s *DB) DeletePasskey(ctx context.Context, accountID, id string) error {
	return s.execOne(ctx, "removing a passkey", `DELETE FROM passkeys WHERE id = ? AND account_id = ?`, id, accountID)
}

func (s *DB) CreateCeremony(ctx context.Context, c passkey.Ceremony) error {
	_, err := s.exec(ctx, `INSERT INTO passkey_ceremonies (id, token_hash, kind, account_id, ref, data, expires_at) VALUES (?,?,?,?,?,?,?)`,
		c.ID, c.TokenHash, c.Kind, c.AccountID, c.Ref, base64.StdEncoding.EncodeToString(c.Data), ts(c.ExpiresAt))
	if err != nil {
		return fmt.Errorf("keeping a passkey ceremony: %w", err)
	}
	return nil
}

func (s *DB) TakeCeremony(ctx context.Context, tokenHash string) (passkey.Ceremony, error) {
	var c passkey.Ceremony
	var data string
	err := s.writeRow(ctx, `DELETE FROM passkey_ceremonies WHERE token_hash = ? RETURNING id, token_hash, kind, account_id, ref, data, expires_at`,
		tokenHash).Scan(&c.ID, &c.TokenHash, &c.Kind, &c.AccountID, &c.Ref, &data, timeCol{&c.ExpiresAt})
	if err != nil {
		return c, notFound(err, "taking a passkey ceremony")
	}
	if c.Data, err = base64.StdEncoding.DecodeString(data); err != nil {
		return c, fmt.Errorf("reading a passkey ceremony: %w", err)
	}
	return c, nil
}
