package web

import (
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/wardhq/ward/assurance"
	"github.com/wardhq/ward/openid"
	"github.com/wardhq/ward/openid/provider"
	"github.com/wardhq/ward/store"
)

// OpenID is the OpenID Connect provider web serves: the op package's
// endpoints, and the bridge from an authorization request to ward's own
// sign-in pages.
type OpenID struct {
	Provider *op.Provider
	Storage  *provider.Storage
	// Issuer is public_url: where the browser comes back after signing in.
	Issuer string
}

// oidcCookie carries an authorization request through ward's sign-in
// pages, which send the browser back to it when they are done.
const oidcCookie = "ward_oidc"

func (s *Server) routeOpenID(mux *http.ServeMux) {
	for _, p := range provider.Paths {
		if p == "/end_session" {
			continue
		}
		mux.Handle(p, s.OpenID.Provider)
	}
	// An app's sign-out signs the person out of ward in this browser too,
	// then the op package answers (id_token_hint, post-logout redirect).
	mux.HandleFunc("/end_session", func(w http.ResponseWriter, r *http.Request) {
		if sess, err := s.currentSession(r); err == nil {
			if err := s.Flow.SignOut(r.Context(), s.client(r), sess); err != nil {
				s.afterAction(w, r, err)
				return
			}
			s.setCookie(w, "ward_session", "", -1)
		}
		s.OpenID.Provider.ServeHTTP(w, r)
	})
	mux.HandleFunc("GET "+provider.LoginPath, s.pageOpenIDLogin)
	mux.HandleFunc("POST /oauth/consent", s.pageSignedIn(s.pageConsent))
	mux.HandleFunc("GET /api/v1/account/apps", s.signedIn(func(w http.ResponseWriter, r *http.Request, sess store.Session) {
		apps, err := s.apps(r, sess)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"apps": apps})
	}))
	mux.HandleFunc("DELETE /api/v1/account/apps/{id}", s.signedIn(func(w http.ResponseWriter, r *http.Request, sess store.Session) {
		if err := s.Flow.RevokeApp(r.Context(), s.client(r), sess, r.PathValue("id")); err != nil {
			s.writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"state": "revoked"})
	}))
	mux.HandleFunc("POST /account/apps/{id}/revoke", s.pageSignedIn(func(w http.ResponseWriter, r *http.Request, sess store.Session) {
		if err := s.Flow.RevokeApp(r.Context(), s.client(r), sess, r.PathValue("id")); err != nil {
			s.afterAction(w, r, err)
			return
		}
		http.Redirect(w, r, "/account?changed=app#apps", http.StatusSeeOther)
	}))
}

// appJSON is an app holding access to the account.
type appJSON struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

func (s *Server) apps(r *http.Request, sess store.Session) ([]appJSON, error) {
	list, err := s.Flow.Apps(r.Context(), sess)
	out := make([]appJSON, 0, len(list))
	for _, c := range list {
		out = append(out, appJSON{ID: c.ID, Name: c.Name})
	}
	return out, err
}

// pageOpenIDLogin is where an app's authorization request meets ward's
// sign-in: with a session that satisfies the request (fresh enough for
// prompt=login and max_age, strong enough for acr_values), the request is
// completed and the browser goes back to the app; otherwise the person
// signs in (or steps up) first and comes back here.
func (s *Server) pageOpenIDLogin(w http.ResponseWriter, r *http.Request) {
	ctx, id := r.Context(), r.URL.Query().Get("id")
	req, err := s.OpenID.Storage.RequestByID(ctx, id)
	if err != nil {
		v := s.view(r, "title")
		v.Error = tr(v.Lang, "err_flow_invalid")
		s.render(w, r, http.StatusBadRequest, "message", v)
		return
	}
	s.setCookie(w, oidcCookie, "", -1)
	sess, serr := s.currentSession(r)
	signedIn := serr == nil
	need := provider.RequiredLevel(req.ACRValues)
	fresh := signedIn && freshFor(sess, req, s.Now())
	strong := signedIn && assurance.Level(assurance.Factors(sess.Method)) >= need
	switch {
	case fresh && strong:
		app, err := s.OpenID.Storage.Store.ClientByID(ctx, req.ClientID)
		if err != nil {
			s.afterAction(w, r, err)
			return
		}
		ask, err := s.Flow.NeedsConsent(ctx, sess, app, req.Scopes, slices.Contains(req.Prompt, oidc.PromptConsent))
		if err != nil {
			s.afterAction(w, r, err)
			return
		}
		if ask {
			s.consentPage(w, r, id, app, req.Scopes)
			return
		}
		s.completeOpenID(w, r, id, sess, app)
	case slices.Contains(req.Prompt, oidc.PromptNone):
		provider.Fail(w, r, s.OpenID.Provider, s.OpenID.Storage, id, oidc.ErrLoginRequired().WithDescription("the person must sign in"))
	case fresh && !strong:
		// A stronger proof: the step-up page, then back here. An account
		// with nothing stronger cannot reach the level.
		sec, err := s.security(r, sess)
		if err != nil {
			s.afterAction(w, r, err)
			return
		}
		if len(sec.Authenticators) == 0 && len(sec.Passkeys) == 0 {
			provider.Fail(w, r, s.OpenID.Provider, s.OpenID.Storage, id,
				oidc.ErrAccessDenied().WithDescription("this account has no second factor, so the sign-in cannot reach the level asked for"))
			return
		}
		s.setCookie(w, oidcCookie, id, 0)
		http.Redirect(w, r, "/account/step-up", http.StatusSeeOther)
	default:
		s.setCookie(w, oidcCookie, id, 0)
		q := url.Values{}
		for _, t := range req.UILocales {
			if b, _ := t.Base(); b.String() == "ja" || b.String() == "en" {
				q.Set("lang", b.String())
				break
			}
		}
		if req.LoginHint != "" {
			q.Set("email", req.LoginHint)
		}
		http.Redirect(w, r, "/sign-in?"+q.Encode(), http.StatusSeeOther)
	}
}

// completeOpenID completes the app's request with the session, records the
// sign-in, and sends the browser back to the app.
func (s *Server) completeOpenID(w http.ResponseWriter, r *http.Request, id string, sess store.Session, app openid.Client) {
	ctx := r.Context()
	if err := s.OpenID.Storage.Complete(ctx, id, sess); err != nil {
		s.afterAction(w, r, err)
		return
	}
	if err := s.Flow.AppSignIn(ctx, s.client(r), sess, app.ID, app.Name); err != nil {
		s.afterAction(w, r, err)
		return
	}
	// A page that moves on by itself, not a redirect: the browser often
	// arrives here from a form (sign-in, step-up, consent), and ward's
	// form-action policy rightly keeps a form's redirects on ward. Going
	// on from a page of its own is a plain navigation to the app.
	v := s.view(r, "continue_to_app")
	v.Continue = &continueView{App: app.Name, URL: s.OpenID.Issuer + "/authorize/callback?id=" + url.QueryEscape(id)}
	s.render(w, r, http.StatusOK, "continue", v)
}

// continueView is the page that goes on to an app.
type continueView struct {
	App string
	URL string
}

// consentView is the consent screen: which app, asking what.
type consentView struct {
	ID, App string
	Scopes  []string
}

func (s *Server) consentPage(w http.ResponseWriter, r *http.Request, id string, app openid.Client, scopes []string) {
	v := s.view(r, "consent")
	v.Consent = &consentView{ID: id, App: app.Name, Scopes: scopes}
	s.render(w, r, http.StatusOK, "consent", v)
}

// pageConsent takes the person's answer on the consent screen.
func (s *Server) pageConsent(w http.ResponseWriter, r *http.Request, sess store.Session) {
	ctx, id := r.Context(), r.PostFormValue("id")
	req, err := s.OpenID.Storage.RequestByID(ctx, id)
	if err != nil {
		s.afterAction(w, r, err)
		return
	}
	app, err := s.OpenID.Storage.Store.ClientByID(ctx, req.ClientID)
	if err != nil {
		s.afterAction(w, r, err)
		return
	}
	if r.PostFormValue("decision") != "allow" {
		provider.Fail(w, r, s.OpenID.Provider, s.OpenID.Storage, id, oidc.ErrAccessDenied().WithDescription("the person did not allow it"))
		return
	}
	if err := s.Flow.Consent(ctx, s.client(r), sess, app, req.Scopes); err != nil {
		s.afterAction(w, r, err)
		return
	}
	s.completeOpenID(w, r, id, sess, app)
}

// freshFor reports whether the session's last proof is recent enough for
// the request: after the request itself for prompt=login, and within
// max_age seconds.
func freshFor(sess store.Session, req provider.Request, now time.Time) bool {
	auth := sess.CreatedAt
	if sess.StepUpAt != nil && sess.StepUpAt.After(auth) {
		auth = *sess.StepUpAt
	}
	if slices.Contains(req.Prompt, oidc.PromptLogin) && auth.Before(req.CreatedAt) {
		return false
	}
	if req.MaxAge != nil && now.Sub(auth) > time.Duration(*req.MaxAge)*time.Second {
		return false
	}
	return true
}

// backToApp sends a browser that signed in for an app's request back to
// it, and reports whether it did.
func (s *Server) backToApp(w http.ResponseWriter, r *http.Request) bool {
	id := s.cookie(r, oidcCookie)
	if s.OpenID == nil || id == "" {
		return false
	}
	s.setCookie(w, oidcCookie, "", -1)
	http.Redirect(w, r, provider.LoginPath+"?id="+url.QueryEscape(id), http.StatusSeeOther)
	return true
}
