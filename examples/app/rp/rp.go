// Package rp is the example app's relying party: it signs people in with
// ward (OpenID Connect, code flow with PKCE), shows what ward says of the
// sign-in, and asks for two factors (acr_values=aal2) before "something
// sensitive". Its sessions are in memory: enough for an example.
package rp

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"sync"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// App is the example app.
type App struct {
	conf     oauth2.Config
	verifier *oidc.IDTokenVerifier
	endURL   string
	self     string
	mux      *http.ServeMux

	// The app's own sessions, in memory: enough for an example.
	mu       sync.Mutex
	pending  map[string]pending // by state
	sessions map[string]*signedIn
}

type pending struct{ verifier, nonce string }

type signedIn struct {
	Subject, Email, ACR string
	AMR                 []string
	AuthTime            int64
	IDToken             string
	Claims              string
}

// New discovers ward at issuer and makes the app, which lives at self.
func New(ctx context.Context, issuer, clientID, secret, self string) (*App, error) {
	p, err := oidc.NewProvider(ctx, issuer)
	if err != nil {
		return nil, fmt.Errorf("discovering %s: %w", issuer, err)
	}
	var meta struct {
		EndSession string `json:"end_session_endpoint"`
	}
	p.Claims(&meta)
	a := &App{conf: oauth2.Config{ClientID: clientID, ClientSecret: secret, Endpoint: p.Endpoint(), RedirectURL: self + "/callback",
		Scopes: []string{oidc.ScopeOpenID, "email", "profile"}}, verifier: p.Verifier(&oidc.Config{ClientID: clientID}),
		endURL: meta.EndSession, self: self, mux: http.NewServeMux(), pending: map[string]pending{}, sessions: map[string]*signedIn{}}
	a.mux.HandleFunc("GET /{$}", a.home)
	a.mux.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) { a.login(w, r) })
	a.mux.HandleFunc("GET /sensitive", func(w http.ResponseWriter, r *http.Request) {
		// Something sensitive: two factors, whatever the sign-in was.
		a.login(w, r, oauth2.SetAuthURLParam("acr_values", "aal2"))
	})
	a.mux.HandleFunc("GET /callback", a.callback)
	a.mux.HandleFunc("POST /logout", a.logout)
	a.mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	return a, nil
}

func (a *App) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.mux.ServeHTTP(w, r) }

func random() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func (a *App) login(w http.ResponseWriter, r *http.Request, opts ...oauth2.AuthCodeOption) {
	state, nonce, verifier := random(), random(), oauth2.GenerateVerifier()
	a.mu.Lock()
	a.pending[state] = pending{verifier: verifier, nonce: nonce}
	a.mu.Unlock()
	opts = append(opts, oauth2.S256ChallengeOption(verifier), oidc.Nonce(nonce))
	http.Redirect(w, r, a.conf.AuthCodeURL(state, opts...), http.StatusFound)
}

func (a *App) callback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	a.mu.Lock()
	p, ok := a.pending[q.Get("state")]
	delete(a.pending, q.Get("state"))
	a.mu.Unlock()
	if e := q.Get("error"); e != "" || !ok {
		a.render(w, nil, fmt.Sprintf("ward said: %s %s", e, q.Get("error_description")))
		return
	}
	tok, err := a.conf.Exchange(r.Context(), q.Get("code"), oauth2.VerifierOption(p.verifier))
	if err != nil {
		a.render(w, nil, "exchange: "+err.Error())
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := a.verifier.Verify(r.Context(), raw)
	if err != nil || idt.Nonce != p.nonce {
		a.render(w, nil, fmt.Sprintf("the ID token did not verify: %v", err))
		return
	}
	s := &signedIn{Subject: idt.Subject, IDToken: raw}
	var all map[string]any
	idt.Claims(&all)
	idt.Claims(&struct {
		Email    *string   `json:"email"`
		ACR      *string   `json:"acr"`
		AMR      *[]string `json:"amr"`
		AuthTime *int64    `json:"auth_time"`
	}{&s.Email, &s.ACR, &s.AMR, &s.AuthTime})
	b, _ := json.MarshalIndent(all, "", "  ")
	s.Claims = string(b)
	id := random()
	a.mu.Lock()
	a.sessions[id] = s
	a.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: "example_session", Value: id, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, "/", http.StatusFound)
}

func (a *App) session(r *http.Request) *signedIn {
	c, err := r.Cookie("example_session")
	if err != nil {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.sessions[c.Value]
}

// logout ends the app's session and ward's (RP-initiated logout).
func (a *App) logout(w http.ResponseWriter, r *http.Request) {
	s := a.session(r)
	if c, err := r.Cookie("example_session"); err == nil {
		a.mu.Lock()
		delete(a.sessions, c.Value)
		a.mu.Unlock()
	}
	http.SetCookie(w, &http.Cookie{Name: "example_session", Path: "/", MaxAge: -1})
	if s == nil || a.endURL == "" {
		http.Redirect(w, r, "/", http.StatusFound)
		return
	}
	q := url.Values{"id_token_hint": {s.IDToken}, "client_id": {a.conf.ClientID}, "post_logout_redirect_uri": {a.self + "/"}}
	http.Redirect(w, r, a.endURL+"?"+q.Encode(), http.StatusFound)
}

func (a *App) home(w http.ResponseWriter, r *http.Request) { a.render(w, a.session(r), "") }

var page = template.Must(template.New("").Parse(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Example app</title></head>
<body><h1>Example app</h1>
{{if .Err}}<p id="error">{{.Err}}</p>{{end}}
{{with .S}}<p id="who">Signed in as <strong>{{.Email}}</strong> (sub {{.Subject}})</p>
<p id="strength">acr <strong id="acr">{{.ACR}}</strong>, amr <strong id="amr">{{range $i, $m := .AMR}}{{if $i}} {{end}}{{$m}}{{end}}</strong></p>
<pre id="claims">{{.Claims}}</pre>
<p><a id="sensitive" href="/sensitive">Do something sensitive (needs two factors)</a></p>
<form method="post" action="/logout"><button id="logout" type="submit">Sign out</button></form>
{{else}}<p><a id="login" href="/login">Sign in with ward</a></p>{{end}}
</body></html>`))

func (a *App) render(w http.ResponseWriter, s *signedIn, errText string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	page.Execute(w, struct {
		S   *signedIn
		Err string
	}{s, errText})
}
