package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/wardhq/ward/store"
)

const countMessagesQuery = `SELECT COUNT(*) FROM messages WHERE recipient = ? AND kind = ? AND created_at >= ?`

func (s *DB) CountMessagesTo(ctx context.Context, recipient, kind string, since time.Time) (int, error) {
	var n int
	if err := s.row(ctx, countMessagesQuery, recipient, kind, ts(since)).Scan(&n); err != nil {
		return 0, fmt.Errorf("counting messages: %w", err)
	}
	return n, nil
}

const messageCols = `id, kind, channel, recipient, language, account_id, flow_id, data, secret, status, attempts, last_error, relay, created_at, next_at, sent_at, expires_at, ref, digest`

func scanMessage(r interface{ Scan(...any) error }) (store.Message, error) {
	var m store.Message
	var data, secret string
	err := r.Scan(&m.ID, &m.Kind, &m.Channel, &m.Recipient, &m.Language, &m.AccountID, &m.FlowID, &data, &secret, &m.Status, &m.Attempts,
		&m.LastError, &m.Relay, timeCol{&m.CreatedAt}, timeCol{&m.NextAt}, nullTime{&m.SentAt}, nullTime{&m.ExpiresAt}, &m.Ref, &m.Digest)
	m.Data = []byte(data)
	if secret != "" {
		m.Secret = []byte(secret)
	}
	return m, err
}

func (s *DB) EnqueueMessage(ctx context.Context, m store.Message) error {
	return s.execUnread(ctx, "queueing message", `INSERT INTO messages (`+messageCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		m.ID, m.Kind, m.Channel, m.Recipient, m.Language, m.AccountID, m.FlowID, string(m.Data), string(m.Secret), m.Status, m.Attempts,
		m.LastError, m.Relay, ts(m.CreatedAt), ts(m.NextAt), tsPtr(m.SentAt), tsPtr(m.ExpiresAt), m.Ref, m.Digest)
}

func (s *DB) MessageByID(ctx context.Context, id string) (store.Message, error) {
	m, err := scanMessage(s.row(ctx, `SELECT `+messageCols+` FROM messages WHERE id = ?`, id))
	if err != nil {
		return m, notFound(err, "reading message")
	}
	return m, nil
}

func (s *DB) MessageByRef(ctx context.Context, ref string) (store.Message, error) {
	if ref == "" {
		return store.Message{}, store.ErrNotFound
	}
	m, err := scanMessage(s.row(ctx, `SELECT `+messageCols+` FROM messages WHERE ref = ? AND ref <> '' ORDER BY created_at DESC LIMIT 1`, ref))
	if err != nil {
		return m, notFound(err, "reading message by reference")
	}
	return m, nil
}

func (s *DB) listMessages(ctx context.Context, q string, args ...any) ([]store.Message, error) {
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("listing messages: %w", err)
	}
	defer rows.Close()
	var out []store.Message
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, fmt.Errorf("reading message: %w", err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

func (s *DB) UpdateMessage(ctx context.Context, m store.Message) error {
	return s.execUnread(ctx, "updating message", `UPDATE messages SET status = ?, attempts = ?, last_error = ?, relay = ?, next_at = ?, sent_at = ?,
		secret = ?, data = ? WHERE id = ?`,
		m.Status, m.Attempts, m.LastError, m.Relay, ts(m.NextAt), tsPtr(m.SentAt), string(m.Secret), string(m.Data), m.ID)
}

func (s *DB) MessagesTo(ctx context.Context, recipient string, limit int) ([]store.Message, error) {
	return s.listMessages(ctx, `SELECT `+messageCols+` FROM messages WHERE recipient = ? ORDER BY created_at DESC, id DESC LIMIT ?`, recipient, limit)
}

func (s *DB) MessagesByFlow(ctx context.Context, flowID string) ([]store.Message, error) {
	// "flow_id <> ''" lets both engines use the partial index, which they
	// cannot prove applies to a bound parameter alone.
	return s.listMessages(ctx, `SELECT `+messageCols+` FROM messages WHERE flow_id = ? AND flow_id <> '' ORDER BY created_at DESC, id DESC LIMIT 20`, flowID)
}

func (s *DB) RecentMessages(ctx context.Context, limit int) ([]store.Message, error) {
	return s.listMessages(ctx, `SELECT `+messageCols+` FROM messages ORDER BY created_at DESC, id DESC LIMIT ?`, limit)
}
