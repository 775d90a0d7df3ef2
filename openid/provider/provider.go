// Package provider adapts ward to zitadel/oidc's op package: the op
// package speaks OpenID Connect (discovery, authorization, tokens,
// userinfo, introspection, revocation, logout) and calls this Storage for
// everything it keeps, which ward keeps in its store (records in
// package openid).
package provider

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"

	"github.com/wardhq/ward/assurance"
	"github.com/wardhq/ward/keys"
	"github.com/wardhq/ward/openid"
	"github.com/wardhq/ward/store"
)

// Lifetimes of what the provider issues.
const (
	GrantTTL        = 10 * time.Minute
	AccessTokenTTL  = 15 * time.Minute
	IDTokenTTL      = time.Hour
	RefreshTokenTTL = 30 * 24 * time.Hour
	// KeysPublishedFor is how long a retired signing key stays in the key
	// set: longer than any token it signed lives.
	KeysPublishedFor = 24 * time.Hour
)

// LoginPath is where the provider sends the browser to sign in for an
// authorization request (?id=<grant>); ward's own pages do the signing in.
const LoginPath = "/oauth/login"

// Storage is the op package's storage over ward's store.
type Storage struct {
	Store store.Store
	Keys  *keys.Keys
	// DevMode allows http redirect URIs (on a developer's machine).
	DevMode bool
	// Issuer names ward in the logout tokens it signs; HTTP posts them.
	Issuer string
	HTTP   *http.Client
	Now    func() time.Time

	// parsed keeps opened signing keys by ID: opening and parsing an RSA
	// key costs more than the query that lists them.
	mu     sync.Mutex
	parsed map[string]*signingKey
}

var _ op.Storage = (*Storage)(nil)

// ACR is the acr claim for a NIST assurance level.
func ACR(level int) string { return fmt.Sprintf("aal%d", level) }

// levelOf reads an acr value ("aal2"); -1 when it is not one of ward's.
func levelOf(acr string) int {
	for l := assurance.AAL0; l <= assurance.AAL2; l++ {
		if acr == ACR(l) {
			return l
		}
	}
	return -1
}

// RequiredLevel is the highest level among an app's acr_values that ward
// knows (acr_values lists what the app accepts; ward asks for the
// strongest it names, so the app never gets less than it asked for).
func RequiredLevel(acrValues []string) int {
	need := -1
	for _, v := range acrValues {
		need = max(need, levelOf(v))
	}
	return need
}

// authRequest is a grant as the op package sees it.
type authRequest struct {
	g openid.Grant
	r oidc.AuthRequest
}

func decodeGrant(g openid.Grant) (*authRequest, error) {
	a := &authRequest{g: g}
	if err := json.Unmarshal(g.Request, &a.r); err != nil {
		return nil, fmt.Errorf("reading an authorization request: %w", err)
	}
	return a, nil
}

func (a *authRequest) GetID() string { return a.g.ID }
func (a *authRequest) GetACR() string {
	return ACR(assurance.Level(assurance.Factors(a.g.Method)))
}
func (a *authRequest) GetAMR() []string                   { return assurance.AMR(assurance.Factors(a.g.Method)) }
func (a *authRequest) GetAudience() []string              { return []string{a.r.ClientID} }
func (a *authRequest) GetAuthTime() time.Time             { return a.g.AuthTime }
func (a *authRequest) GetClientID() string                { return a.r.ClientID }
func (a *authRequest) GetNonce() string                   { return a.r.Nonce }
func (a *authRequest) GetRedirectURI() string             { return a.r.RedirectURI }
func (a *authRequest) GetResponseType() oidc.ResponseType { return a.r.ResponseType }
func (a *authRequest) GetResponseMode() oidc.ResponseMode { return a.r.ResponseMode }
func (a *authRequest) GetScopes() []string                { return a.r.Scopes }
func (a *authRequest) GetState() string                   { return a.r.State }
func (a *authRequest) GetSubject() string                 { return a.g.AccountID }
func (a *authRequest) Done() bool                         { return a.g.Done }
func (a *authRequest) GetCodeChallenge() *oidc.CodeChallenge {
	if a.r.CodeChallenge == "" {
		return nil
	}
	return &oidc.CodeChallenge{Challenge: a.r.CodeChallenge, Method: a.r.CodeChallengeMethod}
}

// Request is what an app asked for, for ward's login pages.
type Request struct {
	GrantID   string
	ClientID  string
	Prompt    []string
	MaxAge    *uint
	UILocales []language.Tag
	LoginHint string
	ACRValues []string
	Scopes    []string
	CreatedAt time.Time
}

// RequestByID reads a grant waiting for its sign-in.
func (s *Storage) RequestByID(ctx context.Context, id string) (Request, error) {
	g, err := s.Store.GrantByID(ctx, id)
	if err != nil {
		return Request{}, err
	}
	a, err := decodeGrant(g)
	if err != nil {
		return Request{}, err
	}
	return Request{GrantID: g.ID, ClientID: g.ClientID, Prompt: a.r.Prompt, MaxAge: a.r.MaxAge, UILocales: a.r.UILocales,
		LoginHint: a.r.LoginHint, ACRValues: a.r.ACRValues, Scopes: a.r.Scopes, CreatedAt: g.CreatedAt}, nil
}

// Complete records that the person signed in for a grant, with the
// session they signed in with.
func (s *Storage) Complete(ctx context.Context, grantID string, sess store.Session) error {
	authTime := sess.CreatedAt
	if sess.StepUpAt != nil && sess.StepUpAt.After(authTime) {
		authTime = *sess.StepUpAt
	}
	return s.Store.CompleteGrant(ctx, grantID, sess.AccountID, sess.ID, sess.Method, authTime)
}

func (s *Storage) CreateAuthRequest(ctx context.Context, r *oidc.AuthRequest, _ string) (op.AuthRequest, error) {
	c, err := s.Store.ClientByID(ctx, r.ClientID)
	if err != nil {
		return nil, oidc.ErrInvalidClient().WithDescription("unknown client")
	}
	// RFC 9700: a public client proves with PKCE that the code it
	// exchanges is the one its own request got.
	if c.Public() && (r.CodeChallenge == "" || r.CodeChallengeMethod != oidc.CodeChallengeMethodS256) {
		return nil, oidc.ErrInvalidRequest().WithDescription("PKCE with S256 is required for this client")
	}
	if RequiredLevel(r.ACRValues) < 0 && len(r.ACRValues) > 0 {
		return nil, oidc.ErrInvalidRequest().WithDescription("acr_values: ward knows aal0, aal1 and aal2")
	}
	b, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	now := s.Now().UTC()
	g := openid.Grant{ID: store.NewID(), ClientID: r.ClientID, Request: b, CreatedAt: now, ExpiresAt: now.Add(GrantTTL)}
	if err := s.Store.CreateGrant(ctx, g); err != nil {
		return nil, err
	}
	return decodeGrant(g)
}

func (s *Storage) AuthRequestByID(ctx context.Context, id string) (op.AuthRequest, error) {
	g, err := s.Store.GrantByID(ctx, id)
	if err != nil {
		return nil, err
	}
	if !s.Now().Before(g.ExpiresAt) {
		return nil, oidc.ErrInvalidRequest().WithDescription("the authorization request expired")
	}
	return decodeGrant(g)
}

func (s *Storage) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	g, err := s.Store.GrantByCodeHash(ctx, keys.HashToken(code))
	if err != nil {
		return nil, oidc.ErrInvalidGrant().WithDescription("unknown or used code")
	}
	if !s.Now().Before(g.ExpiresAt) {
		return nil, oidc.ErrInvalidGrant().WithDescription("the code expired")
	}
	return decodeGrant(g)
}

func (s *Storage) SaveAuthCode(ctx context.Context, id, code string) error {
	return s.Store.SetGrantCode(ctx, id, keys.HashToken(code))
}

// DeleteAuthRequest ends a grant once its code is exchanged. Of two
// exchanges of one code racing, only the one that deletes it answers:
// the other gets an error, so a code gives tokens once.
func (s *Storage) DeleteAuthRequest(ctx context.Context, id string) error {
	if err := s.Store.DeleteGrant(ctx, id); err != nil {
		return oidc.ErrInvalidGrant().WithDescription("the code was already used")
	}
	return nil
}

// tokenInfo is what every token request carries about the sign-in.
func (s *Storage) tokenInfo(ctx context.Context, r op.TokenRequest) (openid.Token, error) {
	t := openid.Token{Scopes: r.GetScopes(), AccountID: r.GetSubject()}
	switch req := r.(type) {
	case *authRequest:
		t.ClientID, t.SessionID, t.Method, t.AuthTime = req.r.ClientID, req.g.SessionID, req.g.Method, req.g.AuthTime
	case *refreshRequest:
		t.ClientID, t.SessionID, t.Method, t.AuthTime, t.Family = req.t.ClientID, req.t.SessionID, req.t.Method, req.t.AuthTime, req.t.Family
	default:
		return t, oidc.ErrUnsupportedGrantType()
	}
	return t, nil
}

func (s *Storage) CreateAccessToken(ctx context.Context, r op.TokenRequest) (string, time.Time, error) {
	t, err := s.tokenInfo(ctx, r)
	if err != nil {
		return "", time.Time{}, err
	}
	now := s.Now().UTC()
	t.ID, t.Kind, t.CreatedAt, t.ExpiresAt = store.NewID(), openid.KindAccess, now, now.Add(AccessTokenTTL)
	return t.ID, t.ExpiresAt, s.Store.CreateToken(ctx, t)
}

// CreateAccessAndRefreshTokens issues an access token and a refresh
// token. Given the refresh token being exchanged, it rotates it: that
// one is used up in the same transaction, and if it was used already (a
// copy replayed, or two requests racing) the whole family is revoked.
func (s *Storage) CreateAccessAndRefreshTokens(ctx context.Context, r op.TokenRequest, current string) (string, string, time.Time, error) {
	t, err := s.tokenInfo(ctx, r)
	if err != nil {
		return "", "", time.Time{}, err
	}
	now := s.Now().UTC()
	access := t
	access.ID, access.Kind, access.CreatedAt, access.ExpiresAt = store.NewID(), openid.KindAccess, now, now.Add(AccessTokenTTL)
	secret := keys.Token()
	refresh := t
	refresh.ID, refresh.Kind, refresh.TokenHash, refresh.CreatedAt, refresh.ExpiresAt = store.NewID(), openid.KindRefresh, keys.HashToken(secret), now,
		now.Add(RefreshTokenTTL)
	if refresh.Family == "" {
		refresh.Family = refresh.ID
	}
	access.Family = refresh.Family
	reused := false
	err = s.Store.InTx(ctx, func(q store.Queries) error {
		if current != "" {
			old, err := q.TokenByHash(ctx, keys.HashToken(current))
			if err != nil {
				return oidc.ErrInvalidGrant().WithDescription("unknown refresh token")
			}
			if err := q.UseRefreshToken(ctx, old.ID, now); errors.Is(err, store.ErrConflict) {
				reused = true
				return err
			} else if err != nil {
				return err
			}
		}
		if err := q.CreateToken(ctx, access); err != nil {
			return err
		}
		return q.CreateToken(ctx, refresh)
	})
	if reused {
		// Revoked outside the failed transaction, so that it sticks.
		if err := s.Store.RevokeFamily(ctx, refresh.Family, now); err != nil {
			return "", "", time.Time{}, err
		}
		return "", "", time.Time{}, oidc.ErrInvalidGrant().WithDescription("refresh token reused: every token of this sign-in is revoked")
	}
	if err != nil {
		return "", "", time.Time{}, err
	}
	return access.ID, secret, access.ExpiresAt, nil
}

// refreshRequest is a refresh token as the op package sees it.
type refreshRequest struct {
	t openid.Token
}

func (r *refreshRequest) GetAMR() []string       { return assurance.AMR(assurance.Factors(r.t.Method)) }
func (r *refreshRequest) GetAudience() []string  { return []string{r.t.ClientID} }
func (r *refreshRequest) GetAuthTime() time.Time { return r.t.AuthTime }
func (r *refreshRequest) GetClientID() string    { return r.t.ClientID }
func (r *refreshRequest) GetScopes() []string    { return r.t.Scopes }
func (r *refreshRequest) GetSubject() string     { return r.t.AccountID }
func (r *refreshRequest) SetCurrentScopes(scopes []string) {
	r.t.Scopes = scopes
}

// TokenRequestByRefreshToken finds a live refresh token. One presented
// after it was rotated is a copy in someone else's hands, or a replay:
// the family is revoked at once.
func (s *Storage) TokenRequestByRefreshToken(ctx context.Context, token string) (op.RefreshTokenRequest, error) {
	t, err := s.Store.TokenByHash(ctx, keys.HashToken(token))
	if err != nil || t.Kind != openid.KindRefresh {
		return nil, oidc.ErrInvalidGrant().WithDescription("unknown refresh token")
	}
	now := s.Now().UTC()
	switch {
	case t.UsedAt != nil:
		if err := s.Store.RevokeFamily(ctx, t.Family, now); err != nil {
			return nil, err
		}
		return nil, oidc.ErrInvalidGrant().WithDescription("refresh token reused: every token of this sign-in is revoked")
	case t.RevokedAt != nil:
		return nil, oidc.ErrInvalidGrant().WithDescription("the refresh token was revoked")
	case !now.Before(t.ExpiresAt):
		return nil, oidc.ErrInvalidGrant().WithDescription("the refresh token expired")
	}
	return &refreshRequest{t: t}, nil
}

// TerminateSession revokes the account's tokens for the app (the app
// signed the person out).
func (s *Storage) TerminateSession(ctx context.Context, accountID, clientID string) error {
	_, err := s.Store.RevokeAccountClientTokens(ctx, accountID, clientID, s.Now().UTC())
	return err
}

func (s *Storage) GetRefreshTokenInfo(ctx context.Context, clientID, token string) (string, string, error) {
	t, err := s.Store.TokenByHash(ctx, keys.HashToken(token))
	if err != nil || t.Kind != openid.KindRefresh || t.ClientID != clientID {
		return "", "", op.ErrInvalidRefreshToken
	}
	return t.AccountID, t.ID, nil
}

// RevokeToken revokes an access token (by ID) or a refresh token (by
// value, with its family) of the client (RFC 7009).
func (s *Storage) RevokeToken(ctx context.Context, tokenOrID, accountID, clientID string) *oidc.Error {
	now := s.Now().UTC()
	if accountID != "" {
		t, err := s.Store.TokenByID(ctx, tokenOrID)
		if err != nil {
			return nil // unknown tokens are answered as revoked (RFC 7009 §2.2)
		}
		if t.ClientID != clientID {
			return oidc.ErrInvalidClient().WithDescription("the token belongs to another client")
		}
		if err := s.Store.RevokeToken(ctx, t.ID, now); err != nil {
			return oidc.ErrServerError()
		}
		return nil
	}
	t, err := s.Store.TokenByHash(ctx, keys.HashToken(tokenOrID))
	if err != nil {
		return nil
	}
	if t.ClientID != clientID {
		return oidc.ErrInvalidClient().WithDescription("the token belongs to another client")
	}
	if err := s.Store.RevokeFamily(ctx, t.Family, now); err != nil {
		return oidc.ErrServerError()
	}
	return nil
}

func (s *Storage) GetClientByClientID(ctx context.Context, id string) (op.Client, error) {
	c, err := s.Store.ClientByID(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errors.New("unknown client")
	}
	if err != nil {
		return nil, oidc.ErrServerError()
	}
	return &client{c: c, dev: s.DevMode}, nil
}

func (s *Storage) AuthorizeClientIDSecret(ctx context.Context, id, secret string) error {
	c, err := s.Store.ClientByID(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		// The same work as for a known client: no hint which IDs exist.
		keys.HashToken(secret)
		return errors.New("invalid client")
	}
	if err != nil {
		return oidc.ErrServerError()
	}
	if c.Public() || subtle.ConstantTimeCompare([]byte(keys.HashToken(secret)), []byte(c.SecretHash)) != 1 {
		return errors.New("invalid client")
	}
	return nil
}

func (s *Storage) SetUserinfoFromScopes(context.Context, *oidc.UserInfo, string, string, []string) error {
	return nil
}

// SetUserinfoFromRequest fills the ID token's claims for the scopes.
func (s *Storage) SetUserinfoFromRequest(ctx context.Context, u *oidc.UserInfo, r op.IDTokenRequest, scopes []string) error {
	return s.userinfo(ctx, u, r.GetSubject(), scopes)
}

// SetUserinfoFromToken answers /userinfo for a live access token.
func (s *Storage) SetUserinfoFromToken(ctx context.Context, u *oidc.UserInfo, tokenID, subject, _ string) error {
	t, err := s.liveToken(ctx, tokenID)
	if err != nil {
		return err
	}
	return s.userinfo(ctx, u, t.AccountID, t.Scopes)
}

func (s *Storage) liveToken(ctx context.Context, id string) (openid.Token, error) {
	t, err := s.Store.TokenByID(ctx, id)
	if err != nil || t.Kind != openid.KindAccess || t.RevokedAt != nil || !s.Now().Before(t.ExpiresAt) {
		return t, errors.New("the access token is not valid")
	}
	return t, nil
}

// userinfo sets the claims the scopes allow: email with email, phone
// with phone, locale with profile.
func (s *Storage) userinfo(ctx context.Context, u *oidc.UserInfo, accountID string, scopes []string) error {
	a, err := s.Store.AccountByID(ctx, accountID)
	if err != nil {
		return err
	}
	u.Subject = a.ID
	if slices.Contains(scopes, oidc.ScopeEmail) {
		u.Email, u.EmailVerified = a.Email, true
	}
	if slices.Contains(scopes, oidc.ScopePhone) && a.Phone != "" {
		u.PhoneNumber, u.PhoneNumberVerified = a.Phone, true
	}
	if slices.Contains(scopes, oidc.ScopeProfile) {
		u.Locale = oidc.NewLocale(language.Make(a.Language))
	}
	return nil
}

func (s *Storage) SetIntrospectionFromToken(ctx context.Context, r *oidc.IntrospectionResponse, tokenID, subject, clientID string) error {
	t, err := s.liveToken(ctx, tokenID)
	if err != nil {
		return err
	}
	u := new(oidc.UserInfo)
	if err := s.userinfo(ctx, u, t.AccountID, t.Scopes); err != nil {
		return err
	}
	r.SetUserInfo(u)
	r.Scope, r.ClientID, r.Audience = t.Scopes, t.ClientID, []string{t.ClientID}
	r.Expiration, r.IssuedAt, r.AuthTime = oidc.FromTime(t.ExpiresAt), oidc.FromTime(t.CreatedAt), oidc.FromTime(t.AuthTime)
	r.AuthenticationMethodsReferences = assurance.AMR(assurance.Factors(t.Method))
	r.Active = true
	return nil
}

// GetPrivateClaimsFromScopes adds nothing to access tokens: they are
// opaque, read through introspection.
func (s *Storage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

func (s *Storage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, errors.New("JWT profile grants are not supported")
}

func (s *Storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, errors.New("JWT profile grants are not supported")
}

func (s *Storage) Health(ctx context.Context) error { return nil }

// Signing keys: an RS256 key signs (what every relying party accepts);
// an ES256 key is published beside it. Both are made on first use.

type signingKey struct {
	id  string
	alg jose.SignatureAlgorithm
	key any
}

func (k *signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return k.alg }
func (k *signingKey) Key() any                                    { return k.key }
func (k *signingKey) ID() string                                  { return k.id }

type publicKey struct{ signingKey }

func (k *publicKey) Algorithm() jose.SignatureAlgorithm { return k.alg }
func (k *publicKey) Use() string                        { return "sig" }
func (k *publicKey) Key() any {
	switch p := k.key.(type) {
	case *rsa.PrivateKey:
		return &p.PublicKey
	case *ecdsa.PrivateKey:
		return &p.PublicKey
	}
	return nil
}

func keyAD(id string) []byte { return []byte("oidc-key:" + id) }

// MakeKeys adds a new RS256 and ES256 key and retires the older ones,
// which stay published for KeysPublishedFor.
func (s *Storage) MakeKeys(ctx context.Context) error {
	now := s.Now().UTC()
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	ek, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	return s.Store.InTx(ctx, func(q store.Queries) error {
		if err := q.RetireKeys(ctx, now.Add(time.Microsecond), now); err != nil {
			return err
		}
		for _, k := range []struct {
			alg jose.SignatureAlgorithm
			key any
		}{{jose.RS256, rk}, {jose.ES256, ek}} {
			der, err := x509.MarshalPKCS8PrivateKey(k.key)
			if err != nil {
				return err
			}
			id := store.NewID()
			if err := q.CreateKey(ctx, openid.Key{ID: id, Alg: string(k.alg), Private: s.Keys.Seal(der, keyAD(id)), CreatedAt: now}); err != nil {
				return err
			}
		}
		return nil
	})
}

// keys reads the published keys, making the first ones if there are none.
func (s *Storage) keys(ctx context.Context) ([]*signingKey, error) {
	list, err := s.Store.Keys(ctx)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		// Several instances starting at once may each make a pair; every
		// pair is published, and the newest signs.
		if err := s.MakeKeys(ctx); err != nil {
			return nil, fmt.Errorf("making signing keys: %w", err)
		}
		if list, err = s.Store.Keys(ctx); err != nil {
			return nil, err
		}
	}
	now := s.Now()
	var out []*signingKey
	for _, k := range list {
		if k.RetiredAt != nil && now.Sub(*k.RetiredAt) > KeysPublishedFor {
			continue
		}
		sk, err := s.open(k)
		if err != nil {
			return nil, err
		}
		out = append(out, sk)
	}
	return out, nil
}

// open unseals and parses a stored key, once per key.
func (s *Storage) open(k openid.Key) (*signingKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sk, ok := s.parsed[k.ID]; ok {
		return sk, nil
	}
	der, err := s.Keys.Open(k.Private, keyAD(k.ID))
	if err != nil {
		return nil, fmt.Errorf("opening signing key %s: %w", k.ID, err)
	}
	priv, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("reading signing key %s: %w", k.ID, err)
	}
	if s.parsed == nil {
		s.parsed = map[string]*signingKey{}
	}
	sk := &signingKey{id: k.ID, alg: jose.SignatureAlgorithm(k.Alg), key: priv}
	s.parsed[k.ID] = sk
	return sk, nil
}

// SigningKey is the newest RS256 key.
func (s *Storage) SigningKey(ctx context.Context) (op.SigningKey, error) {
	list, err := s.keys(ctx)
	if err != nil {
		return nil, err
	}
	for _, k := range list {
		if k.alg == jose.RS256 {
			return k, nil
		}
	}
	return nil, errors.New("no RS256 signing key")
}

func (s *Storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.RS256}, nil
}

func (s *Storage) KeySet(ctx context.Context) ([]op.Key, error) {
	list, err := s.keys(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]op.Key, len(list))
	for i, k := range list {
		out[i] = &publicKey{*k}
	}
	return out, nil
}

// client is a registered app as the op package sees it.
type client struct {
	c   openid.Client
	dev bool
}

func (c *client) GetID() string                    { return c.c.ID }
func (c *client) RedirectURIs() []string           { return c.c.RedirectURIs }
func (c *client) PostLogoutRedirectURIs() []string { return c.c.PostLogoutURIs }
func (c *client) ApplicationType() op.ApplicationType {
	if c.c.Public() {
		return op.ApplicationTypeNative
	}
	return op.ApplicationTypeWeb
}
func (c *client) AuthMethod() oidc.AuthMethod {
	if c.c.Public() {
		return oidc.AuthMethodNone
	}
	return oidc.AuthMethodBasic
}
func (c *client) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}
func (c *client) GrantTypes() []oidc.GrantType {
	return []oidc.GrantType{oidc.GrantTypeCode, oidc.GrantTypeRefreshToken}
}
func (c *client) LoginURL(id string) string            { return LoginPath + "?id=" + id }
func (c *client) AccessTokenType() op.AccessTokenType  { return op.AccessTokenTypeBearer }
func (c *client) IDTokenLifetime() time.Duration       { return IDTokenTTL }
func (c *client) DevMode() bool                        { return c.dev }
func (c *client) IsScopeAllowed(string) bool           { return false }
func (c *client) IDTokenUserinfoClaimsAssertion() bool { return true }
func (c *client) ClockSkew() time.Duration             { return 0 }
func (c *client) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (c *client) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}

// Paths the op package serves, besides LoginPath (ward's) and what the
// discovery document names.
var Paths = []string{"/.well-known/openid-configuration", "/authorize", "/authorize/callback", "/oauth/token", "/oauth/introspect",
	"/userinfo", "/revoke", "/end_session", "/keys"}

// New makes the provider for issuer (public_url). Access tokens are
// opaque, sealed under a key derived from ward's root secret.
func New(issuer string, st *Storage, insecure bool) (*op.Provider, error) {
	cfg := &op.Config{
		CryptoKey:             sha256.Sum256([]byte(st.Keys.Identifier("oidc", "access-token-seal"))),
		CodeMethodS256:        true,
		AuthMethodPost:        true,
		GrantTypeRefreshToken: true,
		// Apps with a back-channel logout URI hear when a sign-in ends.
		BackChannelLogoutSupported: true,
		SupportedUILocales:         []language.Tag{language.Japanese, language.English},
		SupportedScopes:            []string{oidc.ScopeOpenID, oidc.ScopeProfile, oidc.ScopeEmail, oidc.ScopePhone, oidc.ScopeOfflineAccess},
		SupportedClaims: []string{"sub", "aud", "exp", "iat", "iss", "auth_time", "nonce", "acr", "amr", "c_hash", "at_hash", "azp",
			"email", "email_verified", "phone_number", "phone_number_verified", "locale"},
	}
	// The op package logs its refusals through slog's default logger
	// (its WithLogger option does nothing in this version).
	var opts []op.Option
	if insecure {
		opts = append(opts, op.WithAllowInsecure())
	}
	p, err := op.NewProvider(cfg, st, op.StaticIssuer(issuer), opts...)
	if err != nil {
		return nil, fmt.Errorf("starting the OpenID provider: %w", err)
	}
	return p, nil
}

// Fail answers an authorization request with an OpenID error, at the
// app's redirect URI (login_required, access_denied, …).
func Fail(w http.ResponseWriter, r *http.Request, p *op.Provider, st *Storage, grantID string, err error) {
	ar, lerr := st.AuthRequestByID(r.Context(), grantID)
	if lerr != nil {
		http.Error(w, "this sign-in request has ended; start again from the app", http.StatusBadRequest)
		return
	}
	op.AuthRequestError(w, r, ar, err, p)
}

// backchannelEvent is the event a logout token carries.
const backchannelEvent = "http://schemas.openid.net/event/backchannel-logout"

// Logout tells an app that the person's sign-in ended: a logout token
// (OpenID Connect Back-Channel Logout 1.0, §2.4) signed like ID tokens,
// posted to the app's back-channel logout URI. An answer other than 200
// or 204 is an error, and the job that called it tries again later.
func (s *Storage) Logout(ctx context.Context, app openid.Client, accountID string) error {
	key, err := s.SigningKey(ctx)
	if err != nil {
		return err
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: key.SignatureAlgorithm(), Key: jose.JSONWebKey{Key: key.Key(), KeyID: key.ID()}},
		(&jose.SignerOptions{}).WithType("logout+jwt"))
	if err != nil {
		return err
	}
	now := s.Now().UTC()
	claims, err := json.Marshal(map[string]any{"iss": s.Issuer, "aud": app.ID, "sub": accountID, "iat": now.Unix(),
		"exp": now.Add(2 * time.Minute).Unix(), "jti": keys.Token(), "events": map[string]any{backchannelEvent: map[string]any{}}})
	if err != nil {
		return err
	}
	jws, err := signer.Sign(claims)
	if err != nil {
		return fmt.Errorf("signing a logout token: %w", err)
	}
	tok, err := jws.CompactSerialize()
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, app.BackchannelLogoutURI, strings.NewReader(url.Values{"logout_token": {tok}}.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	client := s.HTTP
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	res, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("telling %s of a logout: %w", app.ID, err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK && res.StatusCode != http.StatusNoContent {
		return fmt.Errorf("telling %s of a logout: it answered %s", app.ID, res.Status)
	}
	return nil
}
