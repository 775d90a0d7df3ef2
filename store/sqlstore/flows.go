package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/wardhq/ward/store"
)

const flowCols = `id, token_hash, kind, state, account_id, subject, recipient, channel, ip, device_id, session_id, created_at, expires_at, updated_at`

func (s *DB) CreateFlow(ctx context.Context, f store.Flow) error {
	return s.execUnread(ctx, "creating flow", `INSERT INTO flows (`+flowCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		f.ID, f.TokenHash, f.Kind, f.State, f.AccountID, f.Subject, f.Recipient, f.Channel, f.IP, f.DeviceID, f.SessionID,
		ts(f.CreatedAt), ts(f.ExpiresAt), ts(f.UpdatedAt))
}

func scanFlow(r rowScanner) (store.Flow, error) {
	var f store.Flow
	err := r.Scan(&f.ID, &f.TokenHash, &f.Kind, &f.State, &f.AccountID, &f.Subject, &f.Recipient, &f.Channel, &f.IP, &f.DeviceID, &f.SessionID,
		timeCol{&f.CreatedAt}, timeCol{&f.ExpiresAt}, timeCol{&f.UpdatedAt})
	return f, err
}

func (s *DB) FlowByTokenHash(ctx context.Context, hash string) (store.Flow, error) {
	f, err := scanFlow(s.row(ctx, `SELECT `+flowCols+` FROM flows WHERE token_hash = ?`, hash))
	if err != nil {
		return f, notFound(err, "reading flow")
	}
	return f, nil
}

func (s *DB) FlowByTokenHashOn(ctx context.Context, hash, deviceHash string) (store.Flow, bool, error) {
	return withKnownDevice(scanFlow, s.row(ctx, `SELECT `+flowCols+`, `+knownDeviceOf("flows.account_id")+` FROM flows WHERE token_hash = ?`,
		deviceHash, hash), "reading flow")
}

func (s *DB) AdvanceFlow(ctx context.Context, id, from, to string, at time.Time) error {
	// No row in that state: someone moved the flow first (or it is gone).
	return s.execOneAhead(ctx, "advancing flow from "+from, `UPDATE flows SET state = ?, updated_at = ? WHERE id = ? AND state = ?`, to, ts(at), id, from)
}

func (s *DB) EndFlow(ctx context.Context, id string, from []string, to string, at time.Time) (bool, error) {
	if len(from) == 0 {
		return false, nil
	}
	marks, states := inList(from)
	res, err := s.exec(ctx, `UPDATE flows SET state = ?, updated_at = ? WHERE id = ? AND state IN (`+marks+`)`, append([]any{to, ts(at), id}, states...)...)
	if err != nil {
		return false, fmt.Errorf("ending flow: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("ending flow: %w", err)
	}
	return n > 0, nil
}

func (s *DB) SetFlowRecipient(ctx context.Context, id, channel, recipient string) error {
	return s.execOne(ctx, "setting flow recipient", `UPDATE flows SET channel = ?, recipient = ? WHERE id = ?`, channel, recipient, id)
}
