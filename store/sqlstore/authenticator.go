package sqlstore

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/wardhq/ward/authenticator"
	"github.com/wardhq/ward/store"
)

func (s *DB) CreatePairing(ctx context.Context, p authenticator.Pairing) error {
	_, err := s.exec(ctx, `INSERT INTO authenticator_pairings (id, account_id, code_hash, name, created_at, expires_at) VALUES (?,?,?,?,?,?)`,
		p.ID, p.AccountID, p.CodeHash, p.Name, ts(p.CreatedAt), ts(p.ExpiresAt))
	if err != nil {
		return fmt.Errorf("keeping a pairing code: %w", err)
	}
	return nil
}

func (s *DB) TakePairing(ctx context.Context, codeHash string) (authenticator.Pairing, error) {
	var p authenticator.Pairing
	err := s.writeRow(ctx, `DELETE FROM authenticator_pairings WHERE code_hash = ? RETURNING id, account_id, code_hash, name, created_at, expires_at`,
		codeHash).Scan(&p.ID, &p.AccountID, &p.CodeHash, &p.Name, timeCol{&p.CreatedAt}, timeCol{&p.ExpiresAt})
	if err != nil {
		return p, notFound(err, "taking a pairing code")
	}
	return p, nil
}

const pairedCols = `id, account_id, name, public_key, token_hash, created_at, last_used_at, push_endpoint, push_p256dh, push_auth`

func scanAuthDevice(r interface{ Scan(...any) error }) (authenticator.Device, error) {
	var d authenticator.Device
	var key string
	err := r.Scan(&d.ID, &d.AccountID, &d.Name, &key, &d.TokenHash, timeCol{&d.CreatedAt}, nullTime{&d.LastUsedAt}, &d.Push.Endpoint, &d.Push.P256dh,
		&d.Push.Auth)
	if err != nil {
		return d, err
	}
	d.PublicKey, err = base64.StdEncoding.DecodeString(key)
	return d, err
}

func (s *DB) CreatePairedDevice(ctx context.Context, d authenticator.Device) error {
	_, err := s.exec(ctx, `INSERT INTO authenticator_devices (`+pairedCols+`) VALUES (?,?,?,?,?,?,?,?,?,?)`, d.ID, d.AccountID, d.Name,
		base64.StdEncoding.EncodeToString(d.PublicKey), d.TokenHash, ts(d.CreatedAt), tsPtr(d.LastUsedAt), d.Push.Endpoint, d.Push.P256dh, d.Push.Auth)
	if err != nil {
		return fmt.Errorf("pairing an authenticator: %w", err)
	}
	return nil
}

func (s *DB) PairedDeviceByToken(ctx context.Context, hash string) (authenticator.Device, error) {
	d, err := scanAuthDevice(s.row(ctx, `SELECT `+pairedCols+` FROM authenticator_devices WHERE token_hash = ?`, hash))
	if err != nil {
		return d, notFound(err, "reading an authenticator")
	}
	return d, nil
}

func (s *DB) PairedDeviceByID(ctx context.Context, id string) (authenticator.Device, error) {
	d, err := scanAuthDevice(s.row(ctx, `SELECT `+pairedCols+` FROM authenticator_devices WHERE id = ?`, id))
	if err != nil {
		return d, notFound(err, "reading an authenticator")
	}
	return d, nil
}

func (s *DB) SetDevicePush(ctx context.Context, id string, sub authenticator.Subscription) error {
	return s.execOne(ctx, "keeping an authenticator's push subscription", `UPDATE authenticator_devices SET push_endpoint = ?, push_p256dh = ?,
		push_auth = ? WHERE id = ?`, sub.Endpoint, sub.P256dh, sub.Auth, id)
}

func (s *DB) PairedDevices(ctx context.Context, accountID string) ([]authenticator.Device, error) {
	rows, err := s.query(ctx, `SELECT `+pairedCols+` FROM authenticator_devices WHERE account_id = ? ORDER BY created_at, id`, accountID)
	if err != nil {
		return nil, fmt.Errorf("listing authenticators: %w", err)
	}
	defer rows.Close()
	var out []authenticator.Device
	for rows.Next() {
		d, err := scanAuthDevice(rows)
		if err != nil {
			return nil, fmt.Errorf("reading an authenticator: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

func (s *DB) DeletePairedDevice(ctx context.Context, accountID, id string) error {
	return s.execOne(ctx, "removing an authenticator", `DELETE FROM authenticator_devices WHERE id = ? AND account_id = ?`, id, accountID)
}

func (s *DB) TouchPairedDevice(ctx context.Context, id string, at time.Time) error {
	return s.execOne(ctx, "noting an authenticator's use", `UPDATE authenticator_devices SET last_used_at = ? WHERE id = ?`, ts(at), id)
}

const promptCols = `id, account_id, flow_id, number, nonce, context, state, device_id, created_at, expires_at, answered_at`

func scanPrompt(r interface{ Scan(...any) error }) (authenticator.Prompt, error) {
	var p authenticator.Prompt
	var ctxJSON string
	err := r.Scan(&p.ID, &p.AccountID, &p.FlowID, &p.Number, &p.Nonce, &ctxJSON, &p.State, &p.DeviceID, timeCol{&p.CreatedAt},
		timeCol{&p.ExpiresAt}, nullTime{&p.AnsweredAt})
	p.Context = []byte(ctxJSON)
	return p, err
}

func (s *DB) CreatePrompt(ctx context.Context, p authenticator.Prompt) error {
	_, err := s.exec(ctx, `INSERT INTO authenticator_prompts (`+promptCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?)`, p.ID, p.AccountID, p.FlowID,
		p.Number, p.Nonce, string(p.Context), p.State, p.DeviceID, ts(p.CreatedAt), ts(p.ExpiresAt), tsPtr(p.AnsweredAt))
	if err != nil {
		return fmt.Errorf("keeping a prompt: %w", err)
	}
	return nil
}

func (s *DB) PromptByID(ctx context.Context, id string) (authenticator.Prompt, error) {
	p, err := scanPrompt(s.row(ctx, `SELECT `+promptCols+` FROM authenticator_prompts WHERE id = ?`, id))
	if err != nil {
		return p, notFound(err, "reading a prompt")
	}
	return p, nil
}

func (s *DB) LatestPrompt(ctx context.Context, flowID string) (authenticator.Prompt, error) {
	p, err := scanPrompt(s.row(ctx, `SELECT `+promptCols+` FROM authenticator_prompts WHERE flow_id = ? ORDER BY created_at DESC, id DESC LIMIT 1`,
		flowID))
	if err != nil {
		return p, notFound(err, "reading a prompt")
	}
	return p, nil
}

func (s *DB) PendingPrompts(ctx context.Context, accountID string, now time.Time) ([]authenticator.Prompt, error) {
	return s.prompts(ctx, `SELECT `+promptCols+` FROM authenticator_prompts WHERE account_id = ? AND state = ? AND expires_at > ?
		ORDER BY created_at, id`, accountID, authenticator.Pending, ts(now))
}

func (s *DB) PromptsSince(ctx context.Context, accountID string, since time.Time, limit int) ([]authenticator.Prompt, error) {
	return s.prompts(ctx, `SELECT `+promptCols+` FROM authenticator_prompts WHERE account_id = ? AND created_at >= ?
		ORDER BY created_at DESC, id DESC LIMIT ?`, accountID, ts(since), limit)
}

// prompts reads the prompts a query lists.
func (s *DB) prompts(ctx context.Context, q string, args ...any) ([]authenticator.Prompt, error) {
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("listing prompts: %w", err)
	}
	defer rows.Close()
	var out []authenticator.Prompt
	for rows.Next() {
		p, err := scanPrompt(rows)
		if err != nil {
			return nil, fmt.Errorf("reading a prompt: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

func (s *DB) SetPromptState(ctx context.Context, id, from, to, deviceID string, at time.Time) error {
	err := s.execOne(ctx, "answering a prompt", `UPDATE authenticator_prompts SET state = ?, device_id = CASE WHEN ? = '' THEN device_id ELSE ? END,
		answered_at = ? WHERE id = ? AND state = ? AND (state <> 'pending' OR expires_at > ?)`, to, deviceID, deviceID, ts(at), id, from, ts(at))
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("answering a prompt: %w", store.ErrConflict)
	}
	return err
}

func (s *DB) CountPrompts(ctx context.Context, accountID string, since time.Time) (int, error) {
	var n int
	if err := s.row(ctx, `SELECT COUNT(*) FROM authenticator_prompts WHERE account_id = ? AND created_at >= ?`, accountID, ts(since)).Scan(&n); err != nil {
		return 0, fmt.Errorf("counting prompts: %w", err)
	}
	return n, nil
}
