package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/wardhq/ward/store"
)

const accountCols = `id, email, phone, password_hash, language, created_at, disabled_at, alias, alias_only, email_skeleton`

func scanAccount(r interface{ Scan(...any) error }) (store.Account, error) {
	var a store.Account
	err := r.Scan(&a.ID, &a.Email, &a.Phone, &a.PasswordHash, &a.Language, timeCol{&a.CreatedAt}, nullTime{&a.DisabledAt}, &a.Alias, boolCol{&a.AliasOnly},
		&a.Skeleton)
	return a, err
}

func (s *DB) CreateAccount(ctx context.Context, a store.Account) error {
	_, err := s.exec(ctx, `INSERT INTO accounts (`+accountCols+`) VALUES (?,?,?,?,?,?,?,?,?,?)`,
		a.ID, a.Email, a.Phone, a.PasswordHash, a.Language, ts(a.CreatedAt), tsPtr(a.DisabledAt), a.Alias, b2i(a.AliasOnly), a.Skeleton)
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

func (s *DB) Suppress(ctx context.Context, recipientKey, source string, until, now time.Time) error {
	_, err := s.exec(ctx, `INSERT INTO suppressions (recipient_key, source, until_at, created_at) VALUES (?,?,?,?)
		ON CONFLICT (recipient_key, source) DO UPDATE SET until_at = excluded.until_at`, recipientKey, source, ts(until), ts(now))
	if err != nil {
		return fmt.Errorf("suppressing codes: %w", err)
	}
	return nil
}

func (s *DB) Suppressed(ctx context.Context, recipientKey string, sources []string, now time.Time) (bool, error) {
	if len(sources) == 0 {
		return false, nil
	}
	// One statement per list length keeps the prepared-statement cache small.
	args := []any{recipientKey, ts(now)}
	for _, src := range sources {
		args = append(args, src)
	}
	var n int
	q := `SELECT COUNT(*) FROM suppressions WHERE recipient_key = ? AND until_at > ? AND source IN (?` + strings.Repeat(",?", len(sources)-1) + `)`
	if err := s.row(ctx, q, args...).Scan(&n); err != nil {
		return false, fmt.Errorf("reading suppressions: %w", err)
	}
	return n > 0, nil
}

func (s *DB) CountMessagesTo(ctx context.Context, recipient, kind string, since time.Time) (int, error) {
	var n int
	if err := s.row(ctx, `SELECT COUNT(*) FROM messages WHERE recipient = ? AND kind = ? AND created_at >= ?`, recipient, kind, ts(since)).Scan(&n); err != nil {
		return 0, fmt.Errorf("counting messages: %w", err)
	}
	return n, nil
}

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

func (s *DB) IPActivity(ctx context.Context, ip, exceptAccount string, since time.Time) (store.IPActivity, error) {
	var a store.IPActivity
	err := s.row(ctx, `SELECT COUNT(*), COUNT(DISTINCT CASE WHEN account_id <> ? AND account_id <> '' THEN account_id END),
		COALESCE(SUM(CASE WHEN result IN ('wrong_password', 'wrong_code', 'blocked') THEN 1 ELSE 0 END), 0)
		FROM events WHERE ip = ? AND ip <> '' AND at >= ? AND kind = 'sign_in'`, exceptAccount, ip, ts(since)).Scan(&a.Attempts, &a.Accounts, &a.Failures)
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

func (s *DB) UpdateAccountPassword(ctx context.Context, id, hash string, at time.Time) error {
	return s.execOne(ctx, "updating password", `UPDATE accounts SET password_hash = ? WHERE id = ?`, hash, id)
}

func (s *DB) SetAccountDisabled(ctx context.Context, id string, at *time.Time) error {
	return s.execOne(ctx, "setting account state", `UPDATE accounts SET disabled_at = ? WHERE id = ?`, tsPtr(at), id)
}

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

func (s *DB) NotificationPrefs(ctx context.Context, accountID string) (map[string]bool, error) {
	rows, err := s.query(ctx, `SELECT event, channel, enabled FROM notification_prefs WHERE account_id = ?`, accountID)
	if err != nil {
		return nil, fmt.Errorf("reading notification settings: %w", err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var event, channel string
		var on bool
		if err := rows.Scan(&event, &channel, boolCol{&on}); err != nil {
			return nil, fmt.Errorf("reading notification setting: %w", err)
		}
		out[event+"/"+channel] = on
	}
	return out, rows.Err()
}

func (s *DB) SetNotificationPref(ctx context.Context, accountID, event, channel string, on bool) error {
	_, err := s.exec(ctx, `INSERT INTO notification_prefs (account_id, event, channel, enabled) VALUES (?,?,?,?)
		ON CONFLICT (account_id, event, channel) DO UPDATE SET enabled = excluded.enabled`, accountID, event, channel, b2i(on))
	if err != nil {
		return fmt.Errorf("saving notification setting: %w", err)
	}
	return nil
}

func (s *DB) DeleteContact(ctx context.Context, id string) error {
	return s.execOne(ctx, "deleting contact", `DELETE FROM contacts WHERE id = ?`, id)
}

const flowCols = `id, token_hash, kind, state, account_id, subject, recipient, channel, ip, device_id, session_id, created_at, expires_at, updated_at`

func (s *DB) CreateFlow(ctx context.Context, f store.Flow) error {
	_, err := s.exec(ctx, `INSERT INTO flows (`+flowCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		f.ID, f.TokenHash, f.Kind, f.State, f.AccountID, f.Subject, f.Recipient, f.Channel, f.IP, f.DeviceID, f.SessionID,
		ts(f.CreatedAt), ts(f.ExpiresAt), ts(f.UpdatedAt))
	if err != nil {
		return fmt.Errorf("creating flow: %w", err)
	}
	return nil
}

func (s *DB) FlowByTokenHash(ctx context.Context, hash string) (store.Flow, error) {
	var f store.Flow
	err := s.row(ctx, `SELECT `+flowCols+` FROM flows WHERE token_hash = ?`, hash).Scan(
		&f.ID, &f.TokenHash, &f.Kind, &f.State, &f.AccountID, &f.Subject, &f.Recipient, &f.Channel, &f.IP, &f.DeviceID, &f.SessionID,
		timeCol{&f.CreatedAt}, timeCol{&f.ExpiresAt}, timeCol{&f.UpdatedAt})
	if err != nil {
		return f, notFound(err, "reading flow")
	}
	return f, nil
}

func (s *DB) AdvanceFlow(ctx context.Context, id, from, to string, at time.Time) error {
	err := s.execOne(ctx, "advancing flow", `UPDATE flows SET state = ?, updated_at = ? WHERE id = ? AND state = ?`, to, ts(at), id, from)
	if err != nil {
		return fmt.Errorf("%w: flow is no longer %s", store.ErrConflict, from)
	}
	return nil
}

func (s *DB) SetFlowRecipient(ctx context.Context, id, channel, recipient string) error {
	return s.execOne(ctx, "setting flow recipient", `UPDATE flows SET channel = ?, recipient = ? WHERE id = ?`, channel, recipient, id)
}

const codeCols = `id, flow_id, purpose, channel, recipient_key, hash, ip, failures, created_at, expires_at, used_at, replaced_at`

func (s *DB) CreateCode(ctx context.Context, c store.Code) error {
	_, err := s.exec(ctx, `INSERT INTO codes (`+codeCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)`,
		c.ID, c.FlowID, c.Purpose, c.Channel, c.RecipientKey, c.Hash, c.IP, c.Failures, ts(c.CreatedAt), ts(c.ExpiresAt), tsPtr(c.UsedAt), tsPtr(c.ReplacedAt))
	if err != nil {
		return fmt.Errorf("creating code: %w", err)
	}
	return nil
}

func (s *DB) CurrentCode(ctx context.Context, flowID string) (store.Code, error) {
	var c store.Code
	err := s.row(ctx, `SELECT `+codeCols+` FROM codes WHERE flow_id = ? AND replaced_at IS NULL ORDER BY created_at DESC, id DESC LIMIT 1`, flowID).Scan(
		&c.ID, &c.FlowID, &c.Purpose, &c.Channel, &c.RecipientKey, &c.Hash, &c.IP, &c.Failures,
		timeCol{&c.CreatedAt}, timeCol{&c.ExpiresAt}, nullTime{&c.UsedAt}, nullTime{&c.ReplacedAt})
	if err != nil {
		return c, notFound(err, "reading current code")
	}
	return c, nil
}

func (s *DB) ReplaceCodes(ctx context.Context, flowID string, at time.Time) error {
	if _, err := s.exec(ctx, `UPDATE codes SET replaced_at = ? WHERE flow_id = ? AND replaced_at IS NULL`, ts(at), flowID); err != nil {
		return fmt.Errorf("replacing codes: %w", err)
	}
	return nil
}

func (s *DB) DispatchCode(ctx context.Context, codeID string, at time.Time) error {
	res, err := s.exec(ctx, `UPDATE codes SET dispatched_at = ? WHERE id = ? AND dispatched_at IS NULL`, ts(at), codeID)
	if err != nil {
		return fmt.Errorf("claiming a code's mail: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return fmt.Errorf("claiming a code's mail: %w", store.ErrConflict)
	}
	return nil
}

func (s *DB) AddCodeFailure(ctx context.Context, codeID string, maxFailures int) (int, error) {
	var n int
	err := s.writeRow(ctx, `UPDATE codes SET failures = failures + 1
		WHERE id = ? AND failures < ? AND used_at IS NULL AND replaced_at IS NULL RETURNING failures`, codeID, maxFailures).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("counting code failure: %w", store.ErrConflict)
	}
	if err != nil {
		return 0, fmt.Errorf("counting code failure: %w", err)
	}
	return n, nil
}

func (s *DB) UseCode(ctx context.Context, codeID string, at time.Time, maxFailures int) error {
	res, err := s.exec(ctx, `UPDATE codes SET used_at = ? WHERE id = ? AND used_at IS NULL AND replaced_at IS NULL AND expires_at > ? AND failures < ?`,
		ts(at), codeID, ts(at), maxFailures)
	if err != nil {
		return fmt.Errorf("using code: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return fmt.Errorf("using code: %w", store.ErrConflict)
	}
	return nil
}

func (s *DB) CountCodesToRecipient(ctx context.Context, recipientKey string, since time.Time) (int, error) {
	var n int
	err := s.row(ctx, `SELECT COUNT(*) FROM codes WHERE recipient_key = ? AND created_at >= ?`, recipientKey, ts(since)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("counting codes to recipient: %w", err)
	}
	return n, nil
}

func (s *DB) CountCodesFromIP(ctx context.Context, ip string, since time.Time) (int, error) {
	var n int
	err := s.row(ctx, `SELECT COUNT(*) FROM codes WHERE ip = ? AND created_at >= ?`, ip, ts(since)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("counting codes from IP: %w", err)
	}
	return n, nil
}

func (s *DB) FailureCounter(ctx context.Context, subject, factor string) (store.FailureCounter, error) {
	c := store.FailureCounter{Subject: subject, Factor: factor}
	err := s.row(ctx, `SELECT consecutive, last_at, locked_until, disabled_at FROM failure_counters WHERE subject = ? AND factor = ?`, subject, factor).Scan(
		&c.Consecutive, timeCol{&c.LastAt}, nullTime{&c.LockedUntil}, nullTime{&c.DisabledAt})
	if err != nil {
		return c, notFound(err, "reading failure counter")
	}
	return c, nil
}

func (s *DB) AddFailure(ctx context.Context, subject, factor string, at time.Time, lock func(int) (*time.Time, *time.Time)) (store.FailureCounter, error) {
	c := store.FailureCounter{Subject: subject, Factor: factor, LastAt: at}
	err := s.writeRow(ctx, `INSERT INTO failure_counters (subject, factor, consecutive, last_at) VALUES (?, ?, 1, ?)
		ON CONFLICT (subject, factor) DO UPDATE SET consecutive = failure_counters.consecutive + 1, last_at = excluded.last_at
		RETURNING consecutive, disabled_at`, subject, factor, ts(at)).Scan(&c.Consecutive, nullTime{&c.DisabledAt})
	if err != nil {
		return c, fmt.Errorf("counting failure: %w", err)
	}
	lockedUntil, disabledAt := lock(c.Consecutive)
	if c.DisabledAt != nil {
		disabledAt = c.DisabledAt // once disabled, only ResetFailures enables it again
	}
	c.LockedUntil, c.DisabledAt = lockedUntil, disabledAt
	_, err = s.exec(ctx, `UPDATE failure_counters SET locked_until = ?, disabled_at = ? WHERE subject = ? AND factor = ?`,
		tsPtr(lockedUntil), tsPtr(disabledAt), subject, factor)
	if err != nil {
		return c, fmt.Errorf("locking factor: %w", err)
	}
	return c, nil
}

func (s *DB) ResetFailures(ctx context.Context, subject, factor string) error {
	if _, err := s.exec(ctx, `DELETE FROM failure_counters WHERE subject = ? AND factor = ?`, subject, factor); err != nil {
		return fmt.Errorf("resetting failures: %w", err)
	}
	return nil
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
	_, err := s.exec(ctx, `INSERT INTO messages (`+messageCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		m.ID, m.Kind, m.Channel, m.Recipient, m.Language, m.AccountID, m.FlowID, string(m.Data), string(m.Secret), m.Status, m.Attempts,
		m.LastError, m.Relay, ts(m.CreatedAt), ts(m.NextAt), tsPtr(m.SentAt), tsPtr(m.ExpiresAt), m.Ref, m.Digest)
	if err != nil {
		return fmt.Errorf("queueing message: %w", err)
	}
	return nil
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
	return s.execOne(ctx, "updating message", `UPDATE messages SET status = ?, attempts = ?, last_error = ?, relay = ?, next_at = ?, sent_at = ?,
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

const sessionCols = `id, token_hash, account_id, device_id, ip, user_agent, method, created_at, last_seen_at, expires_at, step_up_at, revoked_at`

func scanSession(r interface{ Scan(...any) error }) (store.Session, error) {
	var x store.Session
	err := r.Scan(&x.ID, &x.TokenHash, &x.AccountID, &x.DeviceID, &x.IP, &x.UserAgent, &x.Method,
		timeCol{&x.CreatedAt}, timeCol{&x.LastSeenAt}, timeCol{&x.ExpiresAt}, nullTime{&x.StepUpAt}, nullTime{&x.RevokedAt})
	return x, err
}

func (s *DB) CreateSession(ctx context.Context, x store.Session) error {
	_, err := s.exec(ctx, `INSERT INTO sessions (`+sessionCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)`,
		x.ID, x.TokenHash, x.AccountID, x.DeviceID, x.IP, x.UserAgent, x.Method, ts(x.CreatedAt), ts(x.LastSeenAt), ts(x.ExpiresAt), tsPtr(x.StepUpAt), tsPtr(x.RevokedAt))
	if err != nil {
		return fmt.Errorf("creating session: %w", err)
	}
	return nil
}

func (s *DB) SessionByTokenHash(ctx context.Context, hash string) (store.Session, error) {
	x, err := scanSession(s.row(ctx, `SELECT `+sessionCols+` FROM sessions WHERE token_hash = ?`, hash))
	if err != nil {
		return x, notFound(err, "reading session")
	}
	return x, nil
}

func (s *DB) TouchSession(ctx context.Context, id string, at time.Time, ip string) error {
	return s.execOne(ctx, "touching session", `UPDATE sessions SET last_seen_at = ?, ip = ? WHERE id = ?`, ts(at), ip, id)
}

func (s *DB) RevokeSession(ctx context.Context, id string, at time.Time) error {
	return s.execOne(ctx, "revoking session", `UPDATE sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`, ts(at), id)
}

func (s *DB) RevokeOtherSessions(ctx context.Context, accountID, keepID string, at time.Time) (int, error) {
	res, err := s.exec(ctx, `UPDATE sessions SET revoked_at = ? WHERE account_id = ? AND id <> ? AND revoked_at IS NULL`, ts(at), accountID, keepID)
	if err != nil {
		return 0, fmt.Errorf("revoking sessions: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

func (s *DB) SessionsByAccount(ctx context.Context, accountID string, now time.Time) ([]store.Session, error) {
	rows, err := s.query(ctx, `SELECT `+sessionCols+` FROM sessions WHERE account_id = ? AND revoked_at IS NULL AND expires_at > ?
		ORDER BY last_seen_at DESC, id`, accountID, ts(now))
	if err != nil {
		return nil, fmt.Errorf("listing sessions: %w", err)
	}
	defer rows.Close()
	var out []store.Session
	for rows.Next() {
		x, err := scanSession(rows)
		if err != nil {
			return nil, fmt.Errorf("reading session: %w", err)
		}
		out = append(out, x)
	}
	return out, rows.Err()
}

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

const eventCols = `id, account_id, at, kind, result, method, ip, device_id, device, flow_id, reasons`

func (s *DB) AppendEvent(ctx context.Context, e store.Event) error {
	_, err := s.exec(ctx, `INSERT INTO events (`+eventCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?)`,
		e.ID, e.AccountID, ts(e.At), e.Kind, e.Result, e.Method, e.IP, e.DeviceID, e.Device, e.FlowID, stringsJSON(e.Reasons))
	if err != nil {
		return fmt.Errorf("appending event: %w", err)
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

func (s *DB) listEvents(ctx context.Context, q string, args ...any) ([]store.Event, error) {
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("listing events: %w", err)
	}
	defer rows.Close()
	var out []store.Event
	for rows.Next() {
		var e store.Event
		if err := rows.Scan(&e.ID, &e.AccountID, timeCol{&e.At}, &e.Kind, &e.Result, &e.Method, &e.IP, &e.DeviceID, &e.Device, &e.FlowID, jsonStrings{&e.Reasons}); err != nil {
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

const linkCols = `id, token_hash, purpose, account_id, contact_id, flow_id, created_at, expires_at, used_at, detail`

func (s *DB) CreateLinkToken(ctx context.Context, t store.LinkToken) error {
	_, err := s.exec(ctx, `INSERT INTO link_tokens (`+linkCols+`) VALUES (?,?,?,?,?,?,?,?,?,?)`,
		t.ID, t.TokenHash, t.Purpose, t.AccountID, t.ContactID, t.FlowID, ts(t.CreatedAt), ts(t.ExpiresAt), tsPtr(t.UsedAt), t.Detail)
	if err != nil {
		return fmt.Errorf("creating link token: %w", err)
	}
	return nil
}

func (s *DB) LinkTokenByHash(ctx context.Context, hash string) (store.LinkToken, error) {
	var t store.LinkToken
	err := s.row(ctx, `SELECT `+linkCols+` FROM link_tokens WHERE token_hash = ?`, hash).Scan(
		&t.ID, &t.TokenHash, &t.Purpose, &t.AccountID, &t.ContactID, &t.FlowID, timeCol{&t.CreatedAt}, timeCol{&t.ExpiresAt}, nullTime{&t.UsedAt}, &t.Detail)
	if err != nil {
		return t, notFound(err, "reading link token")
	}
	return t, nil
}

func (s *DB) UseLinkToken(ctx context.Context, id string, at time.Time) error {
	err := s.execOne(ctx, "using link token", `UPDATE link_tokens SET used_at = ? WHERE id = ? AND used_at IS NULL AND expires_at > ?`, ts(at), id, ts(at))
	if err != nil {
		return fmt.Errorf("%w: link already used or expired", store.ErrConflict)
	}
	return nil
}

func (s *DB) Hit(ctx context.Context, key string, window time.Time) (int, error) {
	var n int
	err := s.writeRow(ctx, `INSERT INTO rate_hits (key, window_start, n) VALUES (?, ?, 1)
		ON CONFLICT (key, window_start) DO UPDATE SET n = rate_hits.n + 1 RETURNING n`, key, ts(window)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("counting a request: %w", err)
	}
	return n, nil
}

func (s *DB) DeleteExpired(ctx context.Context, t time.Time) (int, error) {
	total := 0
	// Codes outlive their flows by two days: the per-recipient and per-IP
	// daily limits count them.
	codesBefore := t.Add(-48 * time.Hour)
	for _, q := range []struct {
		sql string
		at  time.Time
	}{
		{`DELETE FROM codes WHERE created_at < ?`, codesBefore},
		{`DELETE FROM flows WHERE expires_at < ?`, t},
		{`DELETE FROM link_tokens WHERE expires_at < ?`, t},
		{`DELETE FROM suppressions WHERE until_at < ?`, t},
		{`DELETE FROM rate_hits WHERE window_start < ?`, t.Add(-24 * time.Hour)},
	} {
		res, err := s.exec(ctx, q.sql, ts(q.at))
		if err != nil {
			return total, fmt.Errorf("deleting expired records: %w", err)
		}
		n, _ := res.RowsAffected()
		total += int(n)
	}
	return total, nil
}
