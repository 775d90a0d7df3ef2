package sqlstore

import (
	"context"
	"fmt"

	"github.com/wardhq/ward/store"
)

const deviceCols = `id, account_id, token_hash, user_agent, browser, os, last_ip, first_seen, last_seen`

func (s *DB) UpsertDevice(ctx context.Context, d store.Device) (store.Device, error) {
	var out store.Device
	err := s.writeRow(ctx, `INSERT INTO devices (`+deviceCols+`) VALUES (?,?,?,?,?,?,?,?,?)
		ON CONFLICT (account_id, token_hash) DO UPDATE SET user_agent = excluded.user_agent, browser = excluded.browser, os = excluded.os,
			last_ip = excluded.last_ip, last_seen = excluded.last_seen
		RETURNING `+deviceCols,
		d.ID, d.AccountID, d.TokenHash, d.UserAgent, d.Browser, d.OS, d.LastIP, ts(d.FirstSeen), ts(d.LastSeen)).Scan(
		&out.ID, &out.AccountID, &out.TokenHash, &out.UserAgent, &out.Browser, &out.OS, &out.LastIP, timeCol{&out.FirstSeen}, timeCol{&out.LastSeen})
	if err != nil {
		return out, fmt.Errorf("recording device: %w", err)
	}
	return out, nil
}

func (s *DB) DeviceByTokenHash(ctx context.Context, accountID, hash string) (store.Device, error) {
	var d store.Device
	err := s.row(ctx, `SELECT `+deviceCols+` FROM devices WHERE account_id = ? AND token_hash = ?`, accountID, hash).Scan(
		&d.ID, &d.AccountID, &d.TokenHash, &d.UserAgent, &d.Browser, &d.OS, &d.LastIP, timeCol{&d.FirstSeen}, timeCol{&d.LastSeen})
	if err != nil {
		return d, notFound(err, "reading device")
	}
	return d, nil
}

func (s *DB) DevicesByAccount(ctx context.Context, accountID string) ([]store.Device, error) {
	rows, err := s.query(ctx, `SELECT `+deviceCols+` FROM devices WHERE account_id = ? ORDER BY last_seen DESC`, accountID)
	if err != nil {
		return nil, fmt.Errorf("listing devices: %w", err)
	}
	defer rows.Close()
	var out []store.Device
	for rows.Next() {
		var d store.Device
		if err := rows.Scan(&d.ID, &d.AccountID, &d.TokenHash, &d.UserAgent, &d.Browser, &d.OS, &d.LastIP, timeCol{&d.FirstSeen}, timeCol{&d.LastSeen}); err != nil {
			return nil, fmt.Errorf("reading device: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// knownDeviceOf is a column counting the devices of the account whose id
// is the column account with the token hash bound first: read beside the
// row it belongs to, it saves a statement (and on PostgreSQL a round
// trip) where a sign-in needs both. No account, no device: 0.
func knownDeviceOf(account string) string {
	return `(SELECT COUNT(*) FROM devices d WHERE d.account_id = ` + account + ` AND d.token_hash = ?)`
}

// withKnownDevice scans r with scan, and its last column, a
// knownDeviceOf, after the columns scan reads.
func withKnownDevice[T any](scan func(rowScanner) (T, error), r rowScanner, what string) (T, bool, error) {
	var n int
	v, err := scan(alsoScan{r, &n})
	if err != nil {
		return v, false, notFound(err, what)
	}
	return v, n > 0, nil
}

// alsoScan scans one more column, after those its row's scanner reads.
type alsoScan struct {
	r    rowScanner
	last any
}

func (a alsoScan) Scan(dest ...any) error { return a.r.Scan(append(dest, a.last)...) }
