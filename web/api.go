package web

import (
	"crypto/subtle"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/wardhq/ward/account"
	"github.com/wardhq/ward/audit"
	"github.com/wardhq/ward/flow"
	"github.com/wardhq/ward/session"
	"github.com/wardhq/ward/store"
)

func (s *Server) routeAPI(mux *http.ServeMux) {
	mux.HandleFunc("POST /api/v1/sign-in/code", jsonStep(s, s.apiStartCode))
	mux.HandleFunc("POST /api/v1/sign-in/password", jsonStep(s, s.apiPassword))
	mux.HandleFunc("POST /api/v1/flows/verify", jsonStep(s, s.apiVerify))
	mux.HandleFunc("POST /api/v1/flows/resend", jsonStep(s, s.apiResend))
	mux.HandleFunc("POST /api/v1/flows/send-via", jsonStep(s, s.apiSendVia))
	mux.HandleFunc("POST /api/v1/flows/delivery", s.limited("links", &s.LinkRate, s.apiDelivery))
	mux.HandleFunc("POST /api/v1/password-reset", jsonStep(s, s.apiStartReset))
	mux.HandleFunc("POST /api/v1/password-reset/contact", jsonStep(s, s.apiResetVia))
	mux.HandleFunc("POST /api/v1/password-reset/complete", jsonStep(s, s.apiCompleteReset))
	mux.HandleFunc("GET /api/v1/session", s.signedIn(s.apiSession))
	mux.HandleFunc("DELETE /api/v1/session", s.signedIn(s.apiSignOut))
	mux.HandleFunc("GET /api/v1/account/activity", s.signedIn(s.apiActivity))
	mux.HandleFunc("GET /api/v1/account/sessions", s.signedIn(s.apiSessions))
	mux.HandleFunc("DELETE /api/v1/account/sessions/{id}", s.signedIn(s.apiEndSession))
	mux.HandleFunc("POST /api/v1/account/sessions/sign-out-others", s.signedIn(s.apiEndOthers))
	mux.HandleFunc("POST /api/v1/account/password", s.signedIn(s.apiChangePassword))
	mux.HandleFunc("POST /api/v1/account/factors/{factor}/enable", s.signedIn(s.apiEnableFactor))
	mux.HandleFunc("POST /api/v1/admin/accounts", s.admin(s.apiCreateAccount))
	mux.HandleFunc("POST /api/v1/admin/accounts/{account}/sign-out", s.admin(s.apiAdminSignOut))
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, refuse(http.StatusNotFound, "not_found", "", "no such API endpoint"))
	})
}

type signedInHandler func(w http.ResponseWriter, r *http.Request, sess store.Session)

func (s *Server) signedIn(h signedInHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sess, err := s.currentSession(r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		h(w, r, sess)
	}
}

func (s *Server) admin(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		got := []byte(r.Header.Get("Authorization"))
		want := []byte("Bearer " + s.AdminToken)
		if s.AdminToken == "" || subtle.ConstantTimeCompare(got, want) != 1 {
			s.Audit.Record(r.Context(), audit.AdminTokenFailed, "refused", slog.String("path", r.URL.Path),
				slog.Bool("token_given", len(got) > 0))
			s.writeError(w, r, refuse(http.StatusUnauthorized, "unauthenticated", "", "admin token required"))
			return
		}
		h(w, r)
	}
}

type signedInJSON struct {
	State     string       `json:"state"`
	Token     string       `json:"token,omitempty"`
	ExpiresAt time.Time    `json:"expires_at"`
	Strength  strengthJSON `json:"strength"`
	// Review: signed in with a recovery code; show the security info.
	Review bool `json:"review,omitempty"`
}

// BearerHeader is what an API client sends (with the value "bearer") to
// get the session token in the answer's body. Browsers get the cookie
// only, out of reach of any script on the page.
const BearerHeader = "X-Ward-Session"

func (s *Server) writeResult(w http.ResponseWriter, r *http.Request, res *flow.Result) {
	switch {
	case res.Session != nil:
		s.setCookie(w, "ward_session", res.Session.Token, 0)
		out := signedInJSON{State: "signed_in", ExpiresAt: res.Session.Session.ExpiresAt, Strength: toStrengthJSON(res.Session.Session.Method),
			Review: res.Review}
		if res.State == flow.StateConfirmed {
			out.State = res.State // a step-up: the session was replaced by a fresh one
		}
		if strings.EqualFold(r.Header.Get(BearerHeader), "bearer") {
			out.Token = res.Session.Token
		}
		writeJSON(w, http.StatusOK, out)
	case res.Pending != nil:
		writeJSON(w, http.StatusOK, toPendingJSON(res.Pending))
	default:
		writeJSON(w, http.StatusOK, map[string]string{"state": res.State})
	}
}

// jsonStep decodes the request body into In, runs one flow step and
// writes where it left the flow.
func jsonStep[In any](s *Server, step func(r *http.Request, c flow.Client, in In) (*flow.Result, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var in In
		if err := readJSON(r, &in); err != nil {
			s.writeError(w, r, err)
			return
		}
		res, err := step(r, s.client(r), in)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		s.writeResult(w, r, res)
	}
}

func pending(p *flow.Pending, err error) (*flow.Result, error) {
	if err != nil {
		return nil, err
	}
	return &flow.Result{Pending: p}, nil
}

type emailIn struct {
	Email    string `json:"email"`
	Language string `json:"language"`
}

type flowIn struct {
	Flow      string `json:"flow"`
	Code      string `json:"code"`
	Contact   string `json:"contact"`
	ContactID string `json:"contact_id"`
	Password  string `json:"password"`
}

func (s *Server) apiStartCode(r *http.Request, c flow.Client, in emailIn) (*flow.Result, error) {
	return pending(s.Flow.StartCodeSignIn(r.Context(), c, in.Email, s.language(r, in.Language)))
}

func (s *Server) apiStartReset(r *http.Request, c flow.Client, in emailIn) (*flow.Result, error) {
	return pending(s.Flow.StartReset(r.Context(), c, in.Email, s.language(r, in.Language)))
}

func (s *Server) apiPassword(r *http.Request, c flow.Client, in struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}) (*flow.Result, error) {
	return s.Flow.PasswordSignIn(r.Context(), c, in.Email, in.Password)
}

func (s *Server) apiVerify(r *http.Request, c flow.Client, in flowIn) (*flow.Result, error) {
	return s.Flow.Verify(r.Context(), c, in.Flow, in.Code)
}

func (s *Server) apiResend(r *http.Request, c flow.Client, in flowIn) (*flow.Result, error) {
	return pending(s.Flow.Resend(r.Context(), c, in.Flow))
}

func (s *Server) apiSendVia(r *http.Request, c flow.Client, in flowIn) (*flow.Result, error) {
	return pending(s.Flow.SendVia(r.Context(), c, in.Flow, in.ContactID))
}

// apiDelivery tells where the flow's code went (a read, but the flow
// token belongs in a body, not in a URL that logs keep).
func (s *Server) apiDelivery(w http.ResponseWriter, r *http.Request) {
	var in flowIn
	if err := readJSON(r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	d, err := s.Flow.Delivery(r.Context(), in.Flow)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toDeliveryJSON(d))
}

func (s *Server) apiResetVia(r *http.Request, c flow.Client, in flowIn) (*flow.Result, error) {
	return pending(s.Flow.ResetVia(r.Context(), c, in.Flow, in.Contact))
}

func (s *Server) apiCompleteReset(r *http.Request, c flow.Client, in flowIn) (*flow.Result, error) {
	if err := s.Flow.CompleteReset(r.Context(), c, in.Flow, in.Password); err != nil {
		return nil, err
	}
	return &flow.Result{State: "password_changed"}, nil
}

type accountJSON struct {
	ID        string    `json:"id"`
	Email     string    `json:"email"`
	Language  string    `json:"language"`
	CreatedAt time.Time `json:"created_at"`
}

type sessionJSON struct {
	ID         string       `json:"id"`
	Current    bool         `json:"current"`
	Device     string       `json:"device"`
	IP         string       `json:"ip"`
	Method     string       `json:"method"`
	Strength   strengthJSON `json:"strength"`
	CreatedAt  time.Time    `json:"created_at"`
	LastSeenAt time.Time    `json:"last_seen_at"`
	ExpiresAt  time.Time    `json:"expires_at"`
}

func toSessionJSON(x store.Session, current string) sessionJSON {
	return sessionJSON{ID: x.ID, Current: x.ID == current, Device: session.DeviceLabel(x.UserAgent), IP: x.IP, Method: x.Method,
		Strength: toStrengthJSON(x.Method), CreatedAt: x.CreatedAt, LastSeenAt: x.LastSeenAt, ExpiresAt: x.ExpiresAt}
}

func (s *Server) apiSession(w http.ResponseWriter, r *http.Request, sess store.Session) {
	a, err := s.Flow.Account(r.Context(), sess)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"account": accountJSON{ID: a.ID, Email: a.Email, Language: a.Language, CreatedAt: a.CreatedAt},
		"session": toSessionJSON(sess, sess.ID),
	})
}

func (s *Server) apiSignOut(w http.ResponseWriter, r *http.Request, sess store.Session) {
	if err := s.Flow.SignOut(r.Context(), s.client(r), sess); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.setCookie(w, "ward_session", "", -1)
	writeJSON(w, http.StatusOK, map[string]string{"state": "signed_out"})
}

type eventJSON struct {
	At      time.Time `json:"at"`
	Kind    string    `json:"kind"`
	Result  string    `json:"result"`
	Method  string    `json:"method,omitempty"`
	IP      string    `json:"ip,omitempty"`
	Device  string    `json:"device,omitempty"`
	Reasons []string  `json:"reasons,omitempty"`
}

func (s *Server) apiActivity(w http.ResponseWriter, r *http.Request, sess store.Session) {
	limit := 50
	if v, err := strconv.Atoi(r.URL.Query().Get("limit")); err == nil && v > 0 && v <= 500 {
		limit = v
	}
	var before time.Time
	if v := r.URL.Query().Get("before"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			s.writeError(w, r, refuse(http.StatusBadRequest, flow.ErrInvalidInput, "before", "before must be an RFC 3339 time"))
			return
		}
		before = t
	}
	evs, err := s.Flow.Activity(r.Context(), sess, "", before, limit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]eventJSON, 0, len(evs))
	for _, e := range evs {
		out = append(out, eventJSON{At: e.At, Kind: e.Kind, Result: e.Result, Method: e.Method, IP: e.IP, Device: e.Device, Reasons: e.Reasons})
	}
	resp := map[string]any{"events": out}
	if len(evs) == limit {
		resp["next_before"] = evs[len(evs)-1].At.Format(time.RFC3339Nano)
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) apiSessions(w http.ResponseWriter, r *http.Request, sess store.Session) {
	list, err := s.Flow.LiveSessions(r.Context(), sess)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]sessionJSON, 0, len(list))
	for _, x := range list {
		out = append(out, toSessionJSON(x, sess.ID))
	}
	writeJSON(w, http.StatusOK, map[string]any{"sessions": out})
}

func (s *Server) apiEndSession(w http.ResponseWriter, r *http.Request, sess store.Session) {
	if err := s.Flow.EndSession(r.Context(), s.client(r), sess, r.PathValue("id")); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"state": "signed_out"})
}

func (s *Server) apiEndOthers(w http.ResponseWriter, r *http.Request, sess store.Session) {
	n, err := s.Flow.EndOtherSessions(r.Context(), s.client(r), sess)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"state": "signed_out", "sessions_ended": n})
}

func (s *Server) apiChangePassword(w http.ResponseWriter, r *http.Request, sess store.Session) {
	var in struct {
		Current  string `json:"current_password"`
		Password string `json:"password"`
	}
	if err := readJSON(r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.Flow.ChangePassword(r.Context(), s.client(r), sess, in.Current, in.Password); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"state": "password_changed"})
}

func (s *Server) apiEnableFactor(w http.ResponseWriter, r *http.Request, sess store.Session) {
	if err := s.Flow.EnableFactor(r.Context(), s.client(r), sess, r.PathValue("factor")); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"state": "enabled"})
}

// apiAdminSignOut ends every session of one account, without disabling it
// (a lost phone, a shared computer).
func (s *Server) apiAdminSignOut(w http.ResponseWriter, r *http.Request) {
	a, err := s.Accounts.Find(r.Context(), r.PathValue("account"))
	if errors.Is(err, store.ErrNotFound) {
		s.writeError(w, r, refuse(http.StatusNotFound, "not_found", "account", "no such account"))
		return
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	n, err := s.Flow.SignOutAccount(r.Context(), a.ID, s.clientIP(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"account": a.ID, "sessions_ended": n})
}

func (s *Server) apiCreateAccount(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Email    string `json:"email"`
		Phone    string `json:"phone"`
		Password string `json:"password"`
		Language string `json:"language"`
	}
	if err := readJSON(r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	a, err := s.Accounts.Create(r.Context(), account.NewAccount{Email: in.Email, Phone: in.Phone, Password: in.Password, Language: in.Language})
	if errors.Is(err, account.ErrExists) {
		s.writeError(w, r, refuse(http.StatusConflict, "exists", "email", err.Error()))
		return
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, accountJSON{ID: a.ID, Email: a.Email, Language: a.Language, CreatedAt: a.CreatedAt})
}
