package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/wardhq/ward/store"
)

func (s *DB) SignIns(ctx context.Context, accountID string, limit int) ([]store.Event, error) {
	rows, err := s.query(ctx, `SELECT ip, at FROM events WHERE account_id = ? AND kind = 'sign_in' AND result = 'success' ORDER BY at DESC LIMIT ?`,
		accountID, limit)
	if err != nil {
		return nil, fmt.Errorf("listing sign-ins: %w", err)
	}
	defer rows.Close()
	var out []store.Event
	for rows.Next() {
		e := store.Event{AccountID: accountID, Kind: "sign_in", Result: "success"}
		if err := rows.Scan(&e.IP, timeCol{&e.At}); err != nil {
			return nil, fmt.Errorf("reading sign-in: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// IPActivity reads the IP's newest events only, from an index that holds
// all it needs (events_ip, migration 18): counting all of a busy
// network's events made every password sign-in from it cost as many
// steps as that network had sign-ins in the window.
func (s *DB) IPActivity(ctx context.Context, ip, exceptAccount string, since time.Time, last int) (store.IPActivity, error) {
	var a store.IPActivity
	err := s.row(ctx, `SELECT COUNT(DISTINCT CASE WHEN account_id <> ? AND account_id <> '' THEN account_id END),
		COALESCE(SUM(CASE WHEN result IN ('wrong_password', 'wrong_code', 'blocked') THEN 1 ELSE 0 END), 0)
		FROM (SELECT account_id, result FROM events WHERE ip = ? AND ip <> '' AND kind = 'sign_in' AND at >= ?
			ORDER BY at DESC LIMIT ?) newest`, exceptAccount, ip, ts(since), last).Scan(&a.Accounts, &a.Failures)
	if err != nil {
		return a, fmt.Errorf("reading activity of an IP: %w", err)
	}
	return a, nil
}

func (s *DB) AccountFailures(ctx context.Context, accountID string, since time.Time) (int, error) {
	var n int
	err := s.row(ctx, `SELECT COUNT(*) FROM events WHERE account_id = ? AND at >= ? AND result IN ('wrong_password', 'wrong_code')`,
		accountID, ts(since)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("counting failures: %w", err)
	}
	return n, nil
}

const eventCols = `id, account_id, at, kind, result, method, ip, device_id, device, flow_id, reasons, ref`

func (s *DB) AppendEvent(ctx context.Context, e store.Event) error {
	if err := s.execUnread(ctx, "appending event", `INSERT INTO events (`+eventCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)`,
		e.ID, e.AccountID, ts(e.At), e.Kind, e.Result, e.Method, e.IP, e.DeviceID, e.Device, e.FlowID, stringsJSON(e.Reasons), e.Ref); err != nil {
		return err
	}
	if fn := s.hooks.event; fn != nil {
		s.AfterCommit(func() { fn(e) })
	}
	return nil
}

func (s *DB) Events(ctx context.Context, accountID string, before time.Time, limit int) ([]store.Event, error) {
	if before.IsZero() {
		before = time.Unix(1<<40, 0)
	}
	return s.listEvents(ctx, `SELECT `+eventCols+` FROM events WHERE account_id = ? AND at < ? ORDER BY at DESC, id DESC LIMIT ?`,
		accountID, ts(before), limit)
}

func (s *DB) EventsWithResult(ctx context.Context, accountID, result string, before time.Time, limit int) ([]store.Event, error) {
	if before.IsZero() {
		before = time.Unix(1<<40, 0)
	}
	return s.listEvents(ctx, `SELECT `+eventCols+` FROM events WHERE account_id = ? AND result = ? AND at < ? ORDER BY at DESC, id DESC LIMIT ?`,
		accountID, result, ts(before), limit)
}

func (s *DB) listEvents(ctx context.Context, q string, args ...any) ([]store.Event, error) {
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("listing events: %w", err)
	}
	defer rows.Close()
	var out []store.Event
	for rows.Next() {
		var e store.Event
		if err := rows.Scan(&e.ID, &e.AccountID, timeCol{&e.At}, &e.Kind, &e.Result, &e.Method, &e.IP, &e.DeviceID, &e.Device, &e.FlowID, jsonStrings{&e.Reasons}, &e.Ref); err != nil {
			return nil, fmt.Errorf("reading event: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

func (s *DB) SignedInFromIP(ctx context.Context, accountID, ip string) (bool, error) {
	var n int
	err := s.row(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM events WHERE account_id = ? AND ip = ? AND kind = 'sign_in' AND result = 'success' LIMIT 1) x`,
		accountID, ip).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("looking up sign-ins from IP: %w", err)
	}
	return n > 0, nil
}
