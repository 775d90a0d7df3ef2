// Package openid is ward as an OpenID Connect provider: apps registered
// by the operator sign people in through ward's own pages and learn how
// strongly each sign-in was proven (amr, acr). This package holds the
// provider's records and the storage they need; openid/provider adapts
// them to zitadel/oidc's certified op package.
package openid

import (
	"context"
	"time"
)

// Client is an app registered by the operator.
type Client struct {
	ID   string
	Name string
	// SecretHash is the hash of a confidential client's secret (shown
	// once, at registration); empty for a public client, which must use
	// PKCE instead.
	SecretHash     string
	RedirectURIs   []string
	PostLogoutURIs []string
	// FirstParty clients (the operator's own apps) skip the consent screen.
	FirstParty bool
	// BackchannelLogoutURI receives a logout token when a session the app
	// signed in with ends.
	BackchannelLogoutURI string
	CreatedAt            time.Time
}

// Public reports whether the client has no secret.
func (c Client) Public() bool { return c.SecretHash == "" }

// Grant is one authorization request, from /authorize until its code is
// exchanged: what the app asked for and, once the person signed in, who
// and how.
type Grant struct {
	ID       string
	ClientID string
	// Request is the app's request as zitadel/oidc parsed it (JSON).
	Request []byte
	// Filled when the person has signed in for it.
	AccountID string
	SessionID string
	AuthTime  time.Time
	// Method is the session's factors ("password+totp").
	Method string
	Done   bool
	// CodeHash is the hash of the authorization code issued for it.
	CodeHash  string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Token is an access token or a refresh token ward issued to an app.
type Token struct {
	ID string
	// Kind is KindAccess or KindRefresh.
	Kind string
	// TokenHash is set for refresh tokens, whose value is secret; access
	// tokens are sealed by the op package and found by ID.
	TokenHash string
	// Family ties a refresh token to the ones rotated from it: a used one
	// presented again revokes the whole family.
	Family    string
	ClientID  string
	AccountID string
	SessionID string
	Scopes    []string
	Method    string
	AuthTime  time.Time
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    *time.Time
	RevokedAt *time.Time
}

// Token kinds.
const (
	KindAccess  = "access"
	KindRefresh = "refresh"
)

// Key is a signing key: private part sealed, published until RetiredAt
// plus the longest token lifetime.
type Key struct {
	ID        string
	Alg       string
	Private   []byte
	CreatedAt time.Time
	RetiredAt *time.Time
}

// Store keeps the provider's records; every backend implements it.
type Store interface {
	// CreateClient adds a client; store.ErrConflict when its ID is taken.
	CreateClient(ctx context.Context, c Client) error
	// PutClient adds a client or replaces the one with its ID (the
	// operator's clients file is the truth for the apps it lists).
	PutClient(ctx context.Context, c Client) error
	ClientByID(ctx context.Context, id string) (Client, error)
	Clients(ctx context.Context) ([]Client, error)

	CreateGrant(ctx context.Context, g Grant) error
	GrantByID(ctx context.Context, id string) (Grant, error)
	// CompleteGrant records who signed in for a grant and how, once:
	// store.ErrConflict when it was already done.
	CompleteGrant(ctx context.Context, id, accountID, sessionID, method string, authTime time.Time) error
	// SetGrantCode keeps the hash of the grant's authorization code.
	SetGrantCode(ctx context.Context, id, codeHash string) error
	GrantByCodeHash(ctx context.Context, codeHash string) (Grant, error)
	// DeleteGrant removes a grant (its code is exchanged, or it failed):
	// store.ErrNotFound when it is gone already, so a code is exchanged
	// at most once.
	DeleteGrant(ctx context.Context, id string) error

	CreateToken(ctx context.Context, t Token) error
	TokenByID(ctx context.Context, id string) (Token, error)
	TokenByHash(ctx context.Context, hash string) (Token, error)
	// UseRefreshToken marks a refresh token used (rotated), once:
	// store.ErrConflict when it was used or revoked already.
	UseRefreshToken(ctx context.Context, id string, at time.Time) error
	// RevokeFamily revokes every token of a family (a refresh token's
	// rotations and their access tokens).
	RevokeFamily(ctx context.Context, family string, at time.Time) error
	RevokeToken(ctx context.Context, id string, at time.Time) error
	// RevokeAccountClientTokens revokes an account's tokens for a client
	// ("" for every client): the person revoked the app, or signed out
	// everywhere.
	RevokeAccountClientTokens(ctx context.Context, accountID, clientID string, at time.Time) (int, error)
	// AccountClients lists the apps holding live tokens of the account.
	AccountClients(ctx context.Context, accountID string, now time.Time) ([]Client, error)
	// RevokeSessionTokens revokes the tokens apps got through ward
	// sessions that end: the session sessionID, or (sessionID "") every
	// session of the account but except. It returns the apps that held
	// live ones, to be told (back-channel logout).
	RevokeSessionTokens(ctx context.Context, accountID, sessionID, except string, at time.Time) ([]string, error)
	// MoveSessionTokens hands the tokens of a session replaced by a fresh
	// one (a step-up) to the new session, so that its end ends them.
	MoveSessionTokens(ctx context.Context, from, to string) error

	// Consent is what the account allowed the client (store.ErrNotFound:
	// nothing yet); GrantConsent records it, RevokeConsent forgets it.
	Consent(ctx context.Context, accountID, clientID string) ([]string, error)
	GrantConsent(ctx context.Context, accountID, clientID string, scopes []string, at time.Time) error
	RevokeConsent(ctx context.Context, accountID, clientID string) error

	CreateKey(ctx context.Context, k Key) error
	// Keys lists every key, newest first.
	Keys(ctx context.Context) ([]Key, error)
	RetireKeys(ctx context.Context, before time.Time, at time.Time) error
}
