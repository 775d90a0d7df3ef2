package web_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"golang.org/x/oauth2"

	"github.com/wardhq/ward/config"
	"github.com/wardhq/ward/keys"
	"github.com/wardhq/ward/openid"
	"github.com/wardhq/ward/openid/provider"
)

const appRedirect = "https://app.example/callback"

var refresh = regexp.MustCompile(`http-equiv="refresh" content="0;url=([^"]+)"`)

// onward is where an answer sends the browser: its redirect, or the page
// that goes on to the app by itself; nil for a page that stays.
func onward(res *http.Response) *url.URL {
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if loc, err := res.Location(); err == nil {
		return loc
	}
	if m := refresh.FindSubmatch(body); m != nil {
		u, _ := url.Parse(html.UnescapeString(string(m[1])))
		return u
	}
	return nil
}

// rp is an app signing people in with ward, as apps do: go-oidc for
// discovery and ID token verification, x/oauth2 for the code flow.
type rp struct {
	t        testing.TB
	w        *ward
	conf     oauth2.Config
	provider *gooidc.Provider
	verifier *gooidc.IDTokenVerifier
}

func newRP(t *testing.T, w *ward, public bool, scopes ...string) *rp {
	t.Helper()
	return registerRP(t, w, openid.Registration{Name: "Shop", RedirectURIs: []string{appRedirect}, Public: public}, scopes...)
}

func registerRP(t testing.TB, w *ward, reg openid.Registration, scopes ...string) *rp {
	t.Helper()
	ctx := context.Background()
	c, secret, err := openid.Register(ctx, w.in.Store, reg, false, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	p, err := gooidc.NewProvider(ctx, w.srv.URL)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	return &rp{t: t, w: w, provider: p, verifier: p.Verifier(&gooidc.Config{ClientID: c.ID}),
		conf: oauth2.Config{ClientID: c.ID, ClientSecret: secret, Endpoint: p.Endpoint(), RedirectURL: appRedirect,
			Scopes: append([]string{gooidc.ScopeOpenID}, scopes...)}}
}

// follow walks a browser's redirects until it leaves ward for the app
// (returning that URL) or stops at one of ward's pages (returning its path).
func (a *rp) follow(c *http.Client, start string) *url.URL {
	a.t.Helper()
	next := start
	for range 10 {
		res, err := c.Get(next)
		if err != nil {
			a.t.Fatal(err)
		}
		loc := onward(res)
		if loc == nil {
			u, _ := url.Parse(next)
			return u // a page, not a redirect
		}
		if !strings.HasPrefix(loc.String(), a.w.srv.URL) {
			return loc
		}
		next = loc.String()
	}
	a.t.Fatal("too many redirects")
	return nil
}

// signIn signs the browser in to ward with a code by mail.
func (a *rp) signIn(c *http.Client, email string) {
	a.t.Helper()
	r := a.w.do(c, "POST", "/api/v1/sign-in/code", map[string]string{"email": email})
	r = a.w.do(c, "POST", "/api/v1/flows/verify", map[string]string{"flow": r.body["flow"].(string), "code": a.w.code(email)})
	if r.status != 200 {
		a.t.Fatalf("sign-in: %d %s", r.status, r.raw)
	}
}

// authorize runs the code flow with PKCE in browser c (signing in when
// ward asks) and returns the code the app gets.
func (a *rp) authorize(c *http.Client, email string, opts ...oauth2.AuthCodeOption) (code, verifier string) {
	a.t.Helper()
	verifier = oauth2.GenerateVerifier()
	u := a.follow(c, a.conf.AuthCodeURL("st-1", append(opts, oauth2.S256ChallengeOption(verifier), gooidc.Nonce("n-1"))...))
	if strings.HasPrefix(u.String(), a.w.srv.URL) || u.Path == "/sign-in" {
		if u.Path != "/sign-in" {
			a.t.Fatalf("ward stopped at %s", u)
		}
		a.signIn(c, email)
		u = a.follow(c, a.w.srv.URL+"/account") // signed in: back to the app's request
	}
	if u.Query().Get("error") != "" || u.Query().Get("state") != "st-1" || u.Query().Get("code") == "" {
		a.t.Fatalf("redirect to the app: %s", u)
	}
	return u.Query().Get("code"), verifier
}

// The code flow with PKCE, as an app runs it: discovery, sign-in on
// ward's pages, code exchange, ID token verified by go-oidc (signature,
// issuer, audience, nonce), claims (amr, acr, email), userinfo; refresh
// rotation, and a reused refresh token revoking the family; a replayed
// code, a wrong secret and a missing verifier refused.
func TestOpenIDCodeFlow(t *testing.T) {
	for _, driver := range []string{"sqlite", "postgres"} {
		t.Run(driver, func(t *testing.T) { testCodeFlow(t, startAtLocalhost(t, driver)) })
	}
}

func testCodeFlow(t *testing.T, w *ward) {
	{
		ctx := context.Background()
		w.createAccount("aoi@example.jp", "")
		app := newRP(t, w, false, gooidc.ScopeEmail, gooidc.ScopeOfflineAccess)
		c := browserish()
		code, verifier := app.authorize(c, "aoi@example.jp")
		tok, err := app.conf.Exchange(ctx, code, oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatalf("exchange: %v", err)
		}
		raw, _ := tok.Extra("id_token").(string)
		idt, err := app.verifier.Verify(ctx, raw)
		if err != nil {
			t.Fatalf("ID token: %v", err)
		}
		var claims struct {
			Email         string   `json:"email"`
			EmailVerified bool     `json:"email_verified"`
			AMR           []string `json:"amr"`
			ACR           string   `json:"acr"`
			AuthTime      int64    `json:"auth_time"`
		}
		if err := idt.Claims(&claims); err != nil {
			t.Fatal(err)
		}
		if idt.Nonce != "n-1" || claims.Email != "aoi@example.jp" || !claims.EmailVerified || !slices.Equal(claims.AMR, []string{"email"}) ||
			claims.ACR != "aal0" || claims.AuthTime == 0 || idt.Subject == "" {
			t.Fatalf("claims: nonce %q sub %q %+v", idt.Nonce, idt.Subject, claims)
		}
		ui, err := app.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
		if err != nil || ui.Email != "aoi@example.jp" || ui.Subject != idt.Subject {
			t.Fatalf("userinfo: %+v %v", ui, err)
		}
		// The code is spent.
		if _, err := app.conf.Exchange(ctx, code, oauth2.VerifierOption(verifier)); !isOAuthError(err, "invalid_grant") {
			t.Fatalf("a replayed code: %v", err)
		}

		// Refresh: rotated each time; the old one presented again revokes
		// every token of the sign-in.
		refresh := func(rt string) (*oauth2.Token, error) {
			return app.conf.TokenSource(ctx, &oauth2.Token{RefreshToken: rt, Expiry: time.Now().Add(-time.Hour)}).Token()
		}
		next, err := refresh(tok.RefreshToken)
		if err != nil || next.RefreshToken == "" || next.RefreshToken == tok.RefreshToken {
			t.Fatalf("refresh: %+v %v", next, err)
		}
		if _, err := refresh(tok.RefreshToken); !isOAuthError(err, "invalid_grant") {
			t.Fatalf("a reused refresh token: %v", err)
		}
		if _, err := refresh(next.RefreshToken); !isOAuthError(err, "invalid_grant") {
			t.Fatalf("the family survived a reuse: %v", err)
		}
		if _, err := app.provider.UserInfo(ctx, oauth2.StaticTokenSource(next)); err == nil {
			t.Fatal("an access token of a revoked family still reads userinfo")
		}

		// A second sign-in needs no password: the session is there. A wrong
		// secret and a missing verifier are refused.
		code, verifier = app.authorize(c, "aoi@example.jp")
		bad := app.conf
		bad.ClientSecret = "not-the-secret"
		if _, err := bad.Exchange(ctx, code, oauth2.VerifierOption(verifier)); !isOAuthError(err, "invalid_client") {
			t.Fatalf("a wrong secret: %v", err)
		}
		if _, err := app.conf.Exchange(ctx, code); !isOAuthError(err, "invalid_request") {
			t.Fatalf("a missing verifier: %v", err)
		}
		// Signing out of ward ends what the app got through that sign-in.
		tok, err = app.conf.Exchange(ctx, code, oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatal(err)
		}
		if r := w.do(c, "DELETE", "/api/v1/session", nil); r.status != 200 {
			t.Fatalf("sign out: %d %s", r.status, r.raw)
		}
		if _, err := refresh(tok.RefreshToken); !isOAuthError(err, "invalid_grant") {
			t.Fatalf("a refresh token outlived the sign-out: %v", err)
		}
	}
}

// A public app must use PKCE; a redirect URI that is not registered
// exactly is never redirected to; an app asking for two factors from an
// account that has none gets access_denied, not a weaker token.
func TestOpenIDRefusals(t *testing.T) {
	w := startAtLocalhost(t, "sqlite")
	w.createAccount("ren@example.jp", "")
	app := newRP(t, w, true)
	c := browserish()
	app.signIn(c, "ren@example.jp")
	u := app.follow(c, app.conf.AuthCodeURL("st-1"))
	if u.Query().Get("error") != "invalid_request" || u.Query().Get("code") != "" {
		t.Fatalf("a public app without PKCE: %s", u)
	}
	wrong := app.conf
	wrong.RedirectURL = appRedirect + "/../evil"
	res, err := c.Get(wrong.AuthCodeURL("st-1", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if loc, _ := res.Location(); loc != nil && !strings.HasPrefix(loc.String(), w.srv.URL) {
		t.Fatalf("redirected to an unregistered URI: %s", loc)
	}
	u = app.follow(c, app.conf.AuthCodeURL("st-1", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()), oauth2.SetAuthURLParam("acr_values", "aal2")))
	if u.Query().Get("error") != "access_denied" {
		t.Fatalf("aal2 from an account without a second factor: %s", u)
	}
}

func isOAuthError(err error, code string) bool {
	var re *oauth2.RetrieveError
	return errors.As(err, &re) && re.ErrorCode == code
}

// An app asking for acr_values=aal2 (or max_age=0) gets the person asked
// for a stronger or fresh proof first, and the ID token says what was
// reached.
func TestOpenIDStepUpForTheLevelAsked(t *testing.T) {
	w := startAtLocalhost(t, "sqlite")
	const email, password = "sena@example.jp", "correct horse battery staple"
	w.createAccount(email, password)
	app := newRP(t, w, false)
	c := browserish()
	r := w.do(c, "POST", "/api/v1/sign-in/password", map[string]string{"email": email, "password": password})
	r = w.do(c, "POST", "/api/v1/flows/verify", map[string]string{"flow": r.body["flow"].(string), "code": w.code(email)})
	if r.status != 200 {
		t.Fatalf("sign-in: %d %s", r.status, r.raw)
	}
	r = w.do(c, "POST", "/api/v1/account/authenticators", map[string]string{"name": "phone"})
	key := r.body["key"].(string)
	if r = w.do(c, "POST", "/api/v1/account/authenticators/"+r.body["id"].(string)+"/confirm", map[string]string{"code": oathtool(t, key, 0)}); r.status != 200 {
		t.Fatalf("app: %d %s", r.status, r.raw)
	}
	verifier := oauth2.GenerateVerifier()
	u := app.follow(c, app.conf.AuthCodeURL("st-2", oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("acr_values", "aal2")))
	if u.Path != "/account/step-up" {
		t.Fatalf("an AAL1 session asked for aal2 went to %s", u)
	}
	form := url.Values{"password": {password}, "code": {oathtool(t, key, 30*time.Second)}}
	res, err := c.PostForm(w.srv.URL+"/account/step-up", form)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	loc, _ := res.Location()
	u = app.follow(c, loc.String())
	code := u.Query().Get("code")
	if code == "" {
		t.Fatalf("after the step-up: %s", u)
	}
	tok, err := app.conf.Exchange(context.Background(), code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	idt, err := app.verifier.Verify(context.Background(), tok.Extra("id_token").(string))
	if err != nil {
		t.Fatal(err)
	}
	var claims struct {
		ACR string   `json:"acr"`
		AMR []string `json:"amr"`
	}
	idt.Claims(&claims)
	if claims.ACR != "aal2" || !slices.Contains(claims.AMR, "otp") || !slices.Contains(claims.AMR, "mfa") {
		t.Fatalf("claims after the step-up: %+v", claims)
	}
	// The dashboard lists the app; removing its access ends its token.
	r = w.do(c, "GET", "/api/v1/account/apps", nil)
	if !strings.Contains(r.raw, `"name":"Shop"`) {
		t.Fatalf("apps: %s", r.raw)
	}
	if r = w.do(c, "DELETE", "/api/v1/account/apps/"+app.conf.ClientID, nil); r.status != 200 {
		t.Fatalf("revoke: %d %s", r.status, r.raw)
	}
	if _, err := app.provider.UserInfo(context.Background(), oauth2.StaticTokenSource(tok)); err == nil {
		t.Fatal("a revoked app still reads userinfo")
	}
	if r = w.do(c, "GET", "/api/v1/account/activity", nil); !strings.Contains(r.raw, `"kind":"app_revoked"`) || !strings.Contains(r.raw, `"kind":"app_sign_in"`) {
		t.Fatalf("activity: %s", r.raw)
	}
	// max_age=0: a fresh sign-in, whatever the session.
	u = app.follow(c, app.conf.AuthCodeURL("st-3", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()), oauth2.SetAuthURLParam("max_age", "0")))
	if u.Path != "/sign-in" {
		t.Fatalf("max_age=0 went to %s", u)
	}
}

// A third-party app shows the consent screen with its name and what it
// asks; once allowed it is not asked again (unless prompt=consent); "don't
// allow" gives the app access_denied.
func TestOpenIDConsentForThirdPartyApps(t *testing.T) {
	w := startAtLocalhost(t, "sqlite")
	w.createAccount("yui@example.jp", "")
	app := registerRP(t, w, openid.Registration{Name: "Partner Game", RedirectURIs: []string{appRedirect}, ThirdParty: true}, gooidc.ScopeEmail)
	c := browserish()
	app.signIn(c, "yui@example.jp")
	ask := func(opts ...oauth2.AuthCodeOption) (*url.URL, string) {
		t.Helper()
		u := app.follow(c, app.conf.AuthCodeURL("st-c", append(opts, oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))...))
		if u.Path != "/oauth/login" {
			return u, ""
		}
		res, err := c.Get(u.String())
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return u, string(body)
	}
	u, page := ask()
	if !strings.Contains(page, "Partner Game") || !strings.Contains(page, "see your email address") {
		t.Fatalf("no consent screen at %s:\n%s", u, page)
	}
	decide := func(decision string) *url.URL {
		t.Helper()
		res, err := c.PostForm(w.srv.URL+"/oauth/consent", url.Values{"id": {u.Query().Get("id")}, "decision": {decision}})
		if err != nil {
			t.Fatal(err)
		}
		loc := onward(res)
		if !strings.HasPrefix(loc.String(), w.srv.URL) {
			return loc
		}
		return app.follow(c, loc.String())
	}
	if back := decide("deny"); back.Query().Get("error") != "access_denied" {
		t.Fatalf("don't allow: %s", back)
	}
	u, _ = ask()
	if back := decide("allow"); back.Query().Get("code") == "" {
		t.Fatalf("allow: %s", back)
	}
	if again, _ := ask(); again.Query().Get("code") == "" {
		t.Fatalf("asked again after allowing: %s", again)
	}
	if _, page = ask(oauth2.SetAuthURLParam("prompt", "consent")); !strings.Contains(page, "Partner Game") {
		t.Fatal("prompt=consent did not ask")
	}
}

// When the person signs out of ward, an app with a back-channel logout
// URI receives a logout token, signed like ID tokens, naming them.
func TestOpenIDBackChannelLogout(t *testing.T) {
	w := startAtLocalhost(t, "sqlite")
	w.createAccount("nao@example.jp", "")
	got := make(chan string, 4)
	appSrv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		got <- r.PostFormValue("logout_token")
		rw.WriteHeader(http.StatusOK)
	}))
	defer appSrv.Close()
	app := registerRP(t, w, openid.Registration{Name: "Shop", RedirectURIs: []string{appRedirect}, BackchannelLogoutURI: appSrv.URL + "/logout"},
		gooidc.ScopeOfflineAccess)
	c := browserish()
	code, verifier := app.authorize(c, "nao@example.jp")
	tok, err := app.conf.Exchange(context.Background(), code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	idt, _ := app.verifier.Verify(context.Background(), tok.Extra("id_token").(string))
	if r := w.do(c, "DELETE", "/api/v1/session", nil); r.status != 200 {
		t.Fatalf("sign out: %d %s", r.status, r.raw)
	}
	w.drain()
	var raw string
	select {
	case raw = <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("no logout token arrived")
	}
	lt, err := app.verifier.Verify(context.Background(), raw)
	if err != nil {
		t.Fatalf("logout token: %v", err)
	}
	var claims struct {
		Events map[string]any `json:"events"`
		Nonce  string         `json:"nonce"`
		JTI    string         `json:"jti"`
	}
	lt.Claims(&claims)
	if lt.Subject != idt.Subject || claims.Events["http://schemas.openid.net/event/backchannel-logout"] == nil || claims.Nonce != "" || claims.JTI == "" {
		t.Fatalf("logout token: sub %q %+v", lt.Subject, claims)
	}
}

// prompt=none answers login_required without a session and a code with
// one; a resource server introspects an access token (active), and after
// the app revokes it (RFC 7009) it is inactive; new signing keys sign new
// ID tokens while tokens signed by the old keys still verify.
func TestOpenIDPromptNoneIntrospectionRevocationRotation(t *testing.T) {
	w := startAtLocalhost(t, "sqlite")
	w.createAccount("kou@example.jp", "")
	app := newRP(t, w, false, gooidc.ScopeEmail)
	c := browserish()
	none := oauth2.SetAuthURLParam("prompt", "none")
	if u := app.follow(c, app.conf.AuthCodeURL("st-n", none, oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))); u.Query().Get("error") != "login_required" {
		t.Fatalf("prompt=none without a session: %s", u)
	}
	app.signIn(c, "kou@example.jp")
	verifier := oauth2.GenerateVerifier()
	u := app.follow(c, app.conf.AuthCodeURL("st-n", none, oauth2.S256ChallengeOption(verifier)))
	if u.Query().Get("code") == "" {
		t.Fatalf("prompt=none with a session: %s", u)
	}
	ctx := context.Background()
	tok, err := app.conf.Exchange(ctx, u.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	oldID := tok.Extra("id_token").(string)

	post := func(path string, form url.Values) resp {
		t.Helper()
		req, _ := http.NewRequest("POST", w.srv.URL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(app.conf.ClientID, app.conf.ClientSecret)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		var m map[string]any
		json.Unmarshal(raw, &m)
		return resp{status: res.StatusCode, body: m, raw: string(raw)}
	}
	r := post("/oauth/introspect", url.Values{"token": {tok.AccessToken}})
	if r.body["active"] != true || r.body["client_id"] != app.conf.ClientID || r.body["email"] != "kou@example.jp" {
		t.Fatalf("introspection: %s", r.raw)
	}
	if r = post("/revoke", url.Values{"token": {tok.AccessToken}, "token_type_hint": {"access_token"}}); r.status != 200 {
		t.Fatalf("revocation: %d %s", r.status, r.raw)
	}
	if r = post("/oauth/introspect", url.Values{"token": {tok.AccessToken}}); r.body["active"] == true {
		t.Fatalf("a revoked token is still active: %s", r.raw)
	}

	// Rotation: the old ID token still verifies; new ones carry a new kid.
	st := &provider.Storage{Store: w.in.Store, Keys: w.in.Keys, Now: time.Now}
	if err := st.MakeKeys(ctx); err != nil {
		t.Fatal(err)
	}
	fresh := newRP(t, w, false) // a new relying party: keys fetched anew
	verifier = oauth2.GenerateVerifier()
	u = fresh.follow(c, fresh.conf.AuthCodeURL("st-r", oauth2.S256ChallengeOption(verifier)))
	tok2, err := fresh.conf.Exchange(ctx, u.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fresh.verifier.Verify(ctx, tok2.Extra("id_token").(string)); err != nil {
		t.Fatalf("an ID token signed by the new key: %v", err)
	}
	oldRP := gooidc.NewVerifier(w.srv.URL, gooidc.NewRemoteKeySet(ctx, w.srv.URL+"/keys"), &gooidc.Config{ClientID: app.conf.ClientID})
	if _, err := oldRP.Verify(ctx, oldID); err != nil {
		t.Fatalf("an ID token signed before the rotation: %v", err)
	}
	if kid(t, oldID) == kid(t, tok2.Extra("id_token").(string)) {
		t.Fatal("the rotation did not change the signing key")
	}
}

// kid reads the key ID of a signed token's header.
func kid(t *testing.T, jwt string) string {
	t.Helper()
	head, _, _ := strings.Cut(jwt, ".")
	b, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		t.Fatal(err)
	}
	var h struct {
		Kid string `json:"kid"`
	}
	json.Unmarshal(b, &h)
	return h.Kid
}

// Two instances on one PostgreSQL database are one provider: a code
// issued by one is exchanged at the other, which signs with the same keys;
// a refresh token rotated at one is known as used at the other.
func TestOpenIDInstancesShareKeysCodesAndTokens(t *testing.T) {
	secret := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	var dsn string
	a := startAtLocalhost(t, "postgres", func(c *config.Config) { c.SecretKey, dsn = secret, c.Database.DSN })
	b := startOn(t, "postgres", nil, func(c *config.Config) { c.SecretKey, c.Database.DSN, c.PublicURL = secret, dsn, a.srv.URL })
	a.createAccount("mao@example.jp", "")
	app := newRP(t, a, false, gooidc.ScopeOfflineAccess)
	code, verifier := app.authorize(browserish(), "mao@example.jp")
	atB := app.conf
	atB.Endpoint.TokenURL = b.srv.URL + "/oauth/token"
	ctx := context.Background()
	tok, err := atB.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("a code from one instance at the other: %v", err)
	}
	if _, err := app.verifier.Verify(ctx, tok.Extra("id_token").(string)); err != nil {
		t.Fatalf("the other instance's ID token: %v", err)
	}
	if _, err := atB.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken, Expiry: time.Now().Add(-time.Hour)}).Token(); err != nil {
		t.Fatalf("refresh at the other instance: %v", err)
	}
	_, err = app.conf.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken, Expiry: time.Now().Add(-time.Hour)}).Token()
	if !isOAuthError(err, "invalid_grant") {
		t.Fatalf("a refresh token used at one instance, reused at the other: %v", err)
	}
}

// ui_locales and login_hint reach ward's sign-in page: in Japanese, with
// the address filled in.
func TestOpenIDUILocalesAndLoginHint(t *testing.T) {
	w := startAtLocalhost(t, "sqlite")
	app := newRP(t, w, false)
	c := browserish()
	u := app.follow(c, app.conf.AuthCodeURL("st-l", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()),
		oauth2.SetAuthURLParam("ui_locales", "ja-JP en"), oauth2.SetAuthURLParam("login_hint", "yuka@example.jp")))
	if u.Path != "/sign-in" {
		t.Fatalf("went to %s", u)
	}
	res, err := c.Get(u.String())
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(body), `<html lang="ja">`) || !strings.Contains(string(body), `value="yuka@example.jp"`) {
		t.Fatalf("the sign-in page:\n%s", body)
	}
}

// A code presented after its request expired is refused.
func TestOpenIDExpiredCode(t *testing.T) {
	w := startAtLocalhost(t, "sqlite")
	w.createAccount("sae@example.jp", "")
	a, err := w.in.Accounts.Find(context.Background(), "sae@example.jp")
	if err != nil {
		t.Fatal(err)
	}
	app := newRP(t, w, false)
	ctx := context.Background()
	// A request made eleven minutes ago, signed in for, its code issued.
	past := &provider.Storage{Store: w.in.Store, Keys: w.in.Keys, Now: func() time.Time { return time.Now().Add(-provider.GrantTTL - time.Minute) }}
	verifier := oauth2.GenerateVerifier()
	ar, err := past.CreateAuthRequest(ctx, &zoidc.AuthRequest{Scopes: []string{"openid"}, ResponseType: zoidc.ResponseTypeCode, ClientID: app.conf.ClientID,
		RedirectURI: appRedirect, CodeChallenge: oauth2.S256ChallengeFromVerifier(verifier), CodeChallengeMethod: zoidc.CodeChallengeMethodS256}, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := w.in.Store.CompleteGrant(ctx, ar.GetID(), a.ID, "", "email_code", time.Now().Add(-11*time.Minute)); err != nil {
		t.Fatal(err)
	}
	code := keys.Token()
	if err := past.SaveAuthCode(ctx, ar.GetID(), code); err != nil {
		t.Fatal(err)
	}
	if _, err := app.conf.Exchange(ctx, code, oauth2.VerifierOption(verifier)); !isOAuthError(err, "invalid_grant") {
		t.Fatalf("an expired code: %v", err)
	}
}
