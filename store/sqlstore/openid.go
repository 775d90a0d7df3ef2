package sqlstore

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/wardhq/ward/openid"
	"github.com/wardhq/ward/store"
)

const clientCols = `id, name, secret_hash, redirect_uris, post_logout_uris, first_party, backchannel_uri, created_at`

func scanClient(r interface{ Scan(...any) error }) (openid.Client, error) {
	var c openid.Client
	err := r.Scan(&c.ID, &c.Name, &c.SecretHash, jsonStrings{&c.RedirectURIs}, jsonStrings{&c.PostLogoutURIs}, boolCol{&c.FirstParty},
		&c.BackchannelLogoutURI, timeCol{&c.CreatedAt})
	return c, err
}

func (s *DB) CreateClient(ctx context.Context, c openid.Client) error {
	_, err := s.exec(ctx, `INSERT INTO oidc_clients (`+clientCols+`) VALUES (?,?,?,?,?,?,?,?)`, c.ID, c.Name, c.SecretHash,
		listJSON(c.RedirectURIs), listJSON(c.PostLogoutURIs), b2i(c.FirstParty), c.BackchannelLogoutURI, ts(c.CreatedAt))
	if err != nil {
		return fmt.Errorf("registering an app: %w", err)
	}
	return nil
}

func (s *DB) PutClient(ctx context.Context, c openid.Client) error {
	_, err := s.exec(ctx, `INSERT INTO oidc_clients (`+clientCols+`) VALUES (?,?,?,?,?,?,?,?) ON CONFLICT (id) DO UPDATE SET
		name = excluded.name, secret_hash = excluded.secret_hash, redirect_uris = excluded.redirect_uris,
		post_logout_uris = excluded.post_logout_uris, first_party = excluded.first_party, backchannel_uri = excluded.backchannel_uri`,
		c.ID, c.Name, c.SecretHash, listJSON(c.RedirectURIs), listJSON(c.PostLogoutURIs), b2i(c.FirstParty), c.BackchannelLogoutURI, ts(c.CreatedAt))
	if err != nil {
		return fmt.Errorf("registering an app from the clients file: %w", err)
	}
	return nil
}

// tsOrZero stores the zero time as 0 (not yet known).
func tsOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return ts(t)
}

// listJSON writes a list as JSON, empty as [].
func listJSON(v []string) string {
	if len(v) == 0 {
		return "[]"
	}
	return stringsJSON(v)
}

func (s *DB) ClientByID(ctx context.Context, id string) (openid.Client, error) {
	c, err := scanClient(s.row(ctx, `SELECT `+clientCols+` FROM oidc_clients WHERE id = ?`, id))
	if err != nil {
		return c, notFound(err, "reading an app")
	}
	return c, nil
}

func (s *DB) Clients(ctx context.Context) ([]openid.Client, error) {
	return s.clients(ctx, `SELECT `+clientCols+` FROM oidc_clients ORDER BY created_at, id`)
}

// clients reads the apps a query lists.
func (s *DB) clients(ctx context.Context, q string, args ...any) ([]openid.Client, error) {
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("listing apps: %w", err)
	}
	defer rows.Close()
	var out []openid.Client
	for rows.Next() {
		c, err := scanClient(rows)
		if err != nil {
			return nil, fmt.Errorf("reading an app: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

const grantCols = `id, client_id, request, account_id, session_id, auth_time, method, done, code_hash, created_at, expires_at`

func scanGrant(r interface{ Scan(...any) error }) (openid.Grant, error) {
	var g openid.Grant
	var req string
	var authTime int64
	err := r.Scan(&g.ID, &g.ClientID, &req, &g.AccountID, &g.SessionID, &authTime, &g.Method, boolCol{&g.Done}, &g.CodeHash,
		timeCol{&g.CreatedAt}, timeCol{&g.ExpiresAt})
	if authTime != 0 {
		g.AuthTime = fromTS(authTime)
	}
	g.Request = []byte(req)
	return g, err
}

func (s *DB) CreateGrant(ctx context.Context, g openid.Grant) error {
	_, err := s.exec(ctx, `INSERT INTO oidc_grants (`+grantCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?)`, g.ID, g.ClientID, string(g.Request),
		g.AccountID, g.SessionID, tsOrZero(g.AuthTime), g.Method, b2i(g.Done), g.CodeHash, ts(g.CreatedAt), ts(g.ExpiresAt))
	if err != nil {
		return fmt.Errorf("keeping an authorization request: %w", err)
	}
	return nil
}

func (s *DB) GrantByID(ctx context.Context, id string) (openid.Grant, error) {
	g, err := scanGrant(s.row(ctx, `SELECT `+grantCols+` FROM oidc_grants WHERE id = ?`, id))
	if err != nil {
		return g, notFound(err, "reading an authorization request")
	}
	return g, nil
}

func (s *DB) CompleteGrant(ctx context.Context, id, accountID, sessionID, method string, authTime time.Time) error {
	err := s.execOne(ctx, "completing an authorization request", `UPDATE oidc_grants SET account_id = ?, session_id = ?, method = ?, auth_time = ?,
		done = 1 WHERE id = ? AND done = 0`, accountID, sessionID, method, ts(authTime), id)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("completing an authorization request: %w", store.ErrConflict)
	}
	return err
}

func (s *DB) SetGrantCode(ctx context.Context, id, codeHash string) error {
	return s.execOne(ctx, "keeping an authorization code", `UPDATE oidc_grants SET code_hash = ? WHERE id = ? AND code_hash = ''`, codeHash, id)
}

func (s *DB) GrantByCodeHash(ctx context.Context, codeHash string) (openid.Grant, error) {
	if codeHash == "" {
		return openid.Grant{}, store.ErrNotFound
	}
	g, err := scanGrant(s.row(ctx, `SELECT `+grantCols+` FROM oidc_grants WHERE code_hash = ?`, codeHash))
	if err != nil {
		return g, notFound(err, "reading an authorization code")
	}
	return g, nil
}

func (s *DB) DeleteGrant(ctx context.Context, id string) error {
	return s.execOne(ctx, "removing an authorization request", `DELETE FROM oidc_grants WHERE id = ?`, id)
}

const tokenCols = `id, kind, token_hash, family, client_id, account_id, session_id, scopes, method, auth_time, created_at, expires_at, used_at, revoked_at`

func scanToken(r interface{ Scan(...any) error }) (openid.Token, error) {
	var t openid.Token
	err := r.Scan(&t.ID, &t.Kind, &t.TokenHash, &t.Family, &t.ClientID, &t.AccountID, &t.SessionID, jsonStrings{&t.Scopes}, &t.Method,
		timeCol{&t.AuthTime}, timeCol{&t.CreatedAt}, timeCol{&t.ExpiresAt}, nullTime{&t.UsedAt}, nullTime{&t.RevokedAt})
	return t, err
}

func (s *DB) CreateToken(ctx context.Context, t openid.Token) error {
	_, err := s.exec(ctx, `INSERT INTO oidc_tokens (`+tokenCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)`, t.ID, t.Kind, t.TokenHash, t.Family,
		t.ClientID, t.AccountID, t.SessionID, listJSON(t.Scopes), t.Method, ts(t.AuthTime), ts(t.CreatedAt), ts(t.ExpiresAt), tsPtr(t.UsedAt),
		tsPtr(t.RevokedAt))
	if err != nil {
		return fmt.Errorf("keeping a token: %w", err)
	}
	return nil
}

func (s *DB) TokenByID(ctx context.Context, id string) (openid.Token, error) {
	t, err := scanToken(s.row(ctx, `SELECT `+tokenCols+` FROM oidc_tokens WHERE id = ?`, id))
	if err != nil {
		return t, notFound(err, "reading a token")
	}
	return t, nil
}

func (s *DB) TokenByHash(ctx context.Context, hash string) (openid.Token, error) {
	if hash == "" {
		return openid.Token{}, store.ErrNotFound
	}
	t, err := scanToken(s.row(ctx, `SELECT `+tokenCols+` FROM oidc_tokens WHERE token_hash = ?`, hash))
	if err != nil {
		return t, notFound(err, "reading a token")
	}
	return t, nil
}

func (s *DB) UseRefreshToken(ctx context.Context, id string, at time.Time) error {
	err := s.execOne(ctx, "rotating a refresh token", `UPDATE oidc_tokens SET used_at = ? WHERE id = ? AND used_at IS NULL AND revoked_at IS NULL`,
		ts(at), id)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("rotating a refresh token: %w", store.ErrConflict)
	}
	return err
}

func (s *DB) RevokeFamily(ctx context.Context, family string, at time.Time) error {
	if _, err := s.exec(ctx, `UPDATE oidc_tokens SET revoked_at = ? WHERE family = ? AND revoked_at IS NULL`, ts(at), family); err != nil {
		return fmt.Errorf("revoking a token family: %w", err)
	}
	return nil
}

func (s *DB) RevokeToken(ctx context.Context, id string, at time.Time) error {
	if _, err := s.exec(ctx, `UPDATE oidc_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`, ts(at), id); err != nil {
		return fmt.Errorf("revoking a token: %w", err)
	}
	return nil
}

func (s *DB) RevokeAccountClientTokens(ctx context.Context, accountID, clientID string, at time.Time) (int, error) {
	res, err := s.exec(ctx, `UPDATE oidc_tokens SET revoked_at = ? WHERE account_id = ? AND (client_id = ? OR ? = '') AND revoked_at IS NULL`,
		ts(at), accountID, clientID, clientID)
	if err != nil {
		return 0, fmt.Errorf("revoking an app's tokens: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

func (s *DB) AccountClients(ctx context.Context, accountID string, now time.Time) ([]openid.Client, error) {
	return s.clients(ctx, `SELECT `+clientCols+` FROM oidc_clients WHERE id IN (SELECT client_id FROM oidc_tokens
		WHERE account_id = ? AND revoked_at IS NULL AND expires_at > ?) ORDER BY name, id`, accountID, ts(now))
}

func (s *DB) RevokeSessionTokens(ctx context.Context, accountID, sessionID, except string, at time.Time) ([]string, error) {
	const which = `account_id = ? AND (session_id = ? OR ? = '') AND session_id <> ? AND revoked_at IS NULL`
	rows, err := s.query(ctx, `SELECT DISTINCT client_id FROM oidc_tokens WHERE `+which+` AND expires_at > ? ORDER BY client_id`,
		accountID, sessionID, sessionID, except, ts(at))
	if err != nil {
		return nil, fmt.Errorf("finding the apps of ended sessions: %w", err)
	}
	var apps []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, fmt.Errorf("finding the apps of ended sessions: %w", err)
		}
		apps = append(apps, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if _, err := s.exec(ctx, `UPDATE oidc_tokens SET revoked_at = ? WHERE `+which, ts(at), accountID, sessionID, sessionID, except); err != nil {
		return nil, fmt.Errorf("revoking the tokens of ended sessions: %w", err)
	}
	return apps, nil
}

func (s *DB) MoveSessionTokens(ctx context.Context, from, to string) error {
	if _, err := s.exec(ctx, `UPDATE oidc_tokens SET session_id = ? WHERE session_id = ?`, to, from); err != nil {
		return fmt.Errorf("moving tokens to a new session: %w", err)
	}
	return nil
}

func (s *DB) Consent(ctx context.Context, accountID, clientID string) ([]string, error) {
	var scopes []string
	if err := s.row(ctx, `SELECT scopes FROM oidc_consents WHERE account_id = ? AND client_id = ?`, accountID, clientID).
		Scan(jsonStrings{&scopes}); err != nil {
		return nil, notFound(err, "reading a consent")
	}
	return scopes, nil
}

func (s *DB) GrantConsent(ctx context.Context, accountID, clientID string, scopes []string, at time.Time) error {
	_, err := s.exec(ctx, `INSERT INTO oidc_consents (account_id, client_id, scopes, granted_at) VALUES (?,?,?,?)
		ON CONFLICT (account_id, client_id) DO UPDATE SET scopes = excluded.scopes, granted_at = excluded.granted_at`,
		accountID, clientID, listJSON(scopes), ts(at))
	if err != nil {
		return fmt.Errorf("recording a consent: %w", err)
	}
	return nil
}

func (s *DB) RevokeConsent(ctx context.Context, accountID, clientID string) error {
	if _, err := s.exec(ctx, `DELETE FROM oidc_consents WHERE account_id = ? AND client_id = ?`, accountID, clientID); err != nil {
		return fmt.Errorf("forgetting a consent: %w", err)
	}
	return nil
}

func (s *DB) CreateKey(ctx context.Context, k openid.Key) error {
	_, err := s.exec(ctx, `INSERT INTO oidc_keys (id, alg, private, created_at, retired_at) VALUES (?,?,?,?,?)`, k.ID, k.Alg,
		base64.StdEncoding.EncodeToString(k.Private), ts(k.CreatedAt), tsPtr(k.RetiredAt))
	if err != nil {
		return fmt.Errorf("keeping a signing key: %w", err)
	}
	return nil
}

func (s *DB) Keys(ctx context.Context) ([]openid.Key, error) {
	rows, err := s.query(ctx, `SELECT id, alg, private, created_at, retired_at FROM oidc_keys ORDER BY created_at DESC, id`)
	if err != nil {
		return nil, fmt.Errorf("listing signing keys: %w", err)
	}
	defer rows.Close()
	var out []openid.Key
	for rows.Next() {
		var k openid.Key
		var priv string
		if err := rows.Scan(&k.ID, &k.Alg, &priv, timeCol{&k.CreatedAt}, nullTime{&k.RetiredAt}); err != nil {
			return nil, fmt.Errorf("reading a signing key: %w", err)
		}
		if k.Private, err = base64.StdEncoding.DecodeString(priv); err != nil {
			return nil, fmt.Errorf("reading a signing key: %w", err)
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

func (s *DB) RetireKeys(ctx context.Context, before, at time.Time) error {
	if _, err := s.exec(ctx, `UPDATE oidc_keys SET retired_at = ? WHERE created_at < ? AND retired_at IS NULL`, ts(at), ts(before)); err != nil {
		return fmt.Errorf("retiring signing keys: %w", err)
	}
	return nil
}
