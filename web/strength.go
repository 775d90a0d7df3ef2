package web

import (
	"encoding/base64"
	"errors"
	"html/template"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/wardhq/ward/assurance"
	"github.com/wardhq/ward/catalog"
	"github.com/wardhq/ward/flow"
	"github.com/wardhq/ward/notify"
	"github.com/wardhq/ward/store"
)

// The strong factors' API and pages: authenticator apps, recovery codes,
// two-step verification, step-up and the second step of a sign-in. The
// rules are flow's; this file only reads requests and writes answers.

func (s *Server) routeStrength(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/v1/account/security", s.signedIn(s.apiSecurity))
	mux.HandleFunc("POST /api/v1/account/authenticators", s.signedIn(s.apiStartTOTP))
	mux.HandleFunc("POST /api/v1/account/authenticators/{id}/confirm", s.signedIn(s.apiConfirmTOTP))
	mux.HandleFunc("DELETE /api/v1/account/authenticators/{id}", s.signedIn(s.apiRemoveTOTP))
	mux.HandleFunc("POST /api/v1/account/recovery-codes", s.signedIn(s.apiRecoveryCodes))
	mux.HandleFunc("PUT /api/v1/account/two-step", s.signedIn(s.apiTwoStep))
	mux.HandleFunc("POST /api/v1/account/step-up", s.signedIn(s.apiStepUp))
	mux.HandleFunc("POST /api/v1/flows/second-step", jsonStep(s, s.apiSecondStep))
	mux.HandleFunc("POST /api/v1/flows/second-step/sms", jsonStep(s, func(r *http.Request, c flow.Client, in flowIn) (*flow.Result, error) {
		return pending(s.Flow.SendSecondStepSMS(r.Context(), c, in.Flow))
	}))

	mux.HandleFunc("GET /sign-in/second-step", s.pageSecondStep)
	mux.HandleFunc("POST /sign-in/second-step", s.pageSecondStep)
	mux.HandleFunc("GET /account/step-up", s.pageSignedIn(s.pageStepUp))
	mux.HandleFunc("POST /account/step-up", s.pageSignedIn(s.pageStepUp))
	mux.HandleFunc("POST /account/authenticators", s.pageSignedIn(s.pageStartTOTP))
	mux.HandleFunc("GET /account/authenticators/{id}", s.pageSignedIn(s.pageConfirmTOTP))
	mux.HandleFunc("POST /account/authenticators/{id}", s.pageSignedIn(s.pageConfirmTOTP))
	mux.HandleFunc("POST /account/authenticators/{id}/remove", s.pageSignedIn(func(w http.ResponseWriter, r *http.Request, sess store.Session) {
		s.securityChanged(w, r, sess, s.Flow.RemoveTOTP(r.Context(), s.client(r), sess, r.PathValue("id")))
	}))
	mux.HandleFunc("POST /account/recovery-codes", s.pageSignedIn(func(w http.ResponseWriter, r *http.Request, sess store.Session) {
		codes, err := s.Flow.NewRecoveryCodes(r.Context(), s.client(r), sess)
		s.showCodes(w, r, sess, codes, err)
	}))
	mux.HandleFunc("POST /account/two-step", s.pageSignedIn(func(w http.ResponseWriter, r *http.Request, sess store.Session) {
		codes, err := s.Flow.SetTwoStep(r.Context(), s.client(r), sess, r.PostFormValue("on") == "1")
		s.showCodes(w, r, sess, codes, err)
	}))
}

// securityJSON is the account's sign-in methods and the current session's
// strength.
type securityJSON struct {
	TwoStep        bool                `json:"two_step"`
	TwoStepSince   *time.Time          `json:"two_step_since,omitempty"`
	Authenticators []authenticatorJSON `json:"authenticators"`
	Passkeys       []passkeyJSON       `json:"passkeys"`
	// Paired are ward Authenticators (push approval).
	Paired            []pairedJSON `json:"paired_authenticators"`
	RecoveryCodesLeft int          `json:"recovery_codes_left"`
	Session           strengthJSON `json:"session"`
	// Words say the session's strength in the reader's language.
	Words string `json:"-"`
}

type authenticatorJSON struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	CreatedAt  time.Time  `json:"created_at"`
	Confirmed  bool       `json:"confirmed"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
}

// strengthJSON says how a session was proven.
type strengthJSON struct {
	Factors []string `json:"factors"`
	AMR     []string `json:"amr"`
	AAL     int      `json:"aal"`
}

func toStrengthJSON(method string) strengthJSON {
	f := assurance.Factors(method)
	return strengthJSON{Factors: f, AMR: assurance.AMR(f), AAL: assurance.Level(f)}
}

// pairedJSON is a paired ward Authenticator.
type pairedJSON struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
}

type enrolmentJSON struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Key  string `json:"key"`
	URI  string `json:"uri"`
	// QR is a data: URI of a PNG, for an <img>.
	QR string `json:"qr"`
}

func qrDataURI(png []byte) string {
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(png)
}

// security reads what the dashboard and the API show of the sign-in methods.
func (s *Server) security(r *http.Request, sess store.Session) (securityJSON, error) {
	ctx := r.Context()
	out := securityJSON{Session: toStrengthJSON(sess.Method), Authenticators: []authenticatorJSON{}, Passkeys: []passkeyJSON{}, Paired: []pairedJSON{},
		Words: strengthWords(s.language(r, ""), sess.Method)}
	a, err := s.Flow.Account(ctx, sess)
	if err != nil {
		return out, err
	}
	out.TwoStep, out.TwoStepSince = a.TwoStepAt != nil, a.TwoStepAt
	list, err := s.Flow.Authenticators(ctx, sess)
	if err != nil {
		return out, err
	}
	for _, au := range list {
		out.Authenticators = append(out.Authenticators, authenticatorJSON{ID: au.ID, Name: au.Name, CreatedAt: au.CreatedAt,
			Confirmed: au.ConfirmedAt != nil, LastUsedAt: au.LastUsedAt})
	}
	keys, err := s.Flow.Passkeys(ctx, sess)
	if err != nil {
		return out, err
	}
	for _, p := range keys {
		out.Passkeys = append(out.Passkeys, toPasskeyJSON(p))
	}
	paired, err := s.Flow.PairedDevices(ctx, sess)
	if err != nil {
		return out, err
	}
	for _, d := range paired {
		out.Paired = append(out.Paired, pairedJSON{ID: d.ID, Name: d.Name, CreatedAt: d.CreatedAt, LastUsedAt: d.LastUsedAt})
	}
	out.RecoveryCodesLeft, err = s.Flow.RecoveryCodesLeft(ctx, sess)
	return out, err
}

func (s *Server) apiSecurity(w http.ResponseWriter, r *http.Request, sess store.Session) {
	out, err := s.security(r, sess)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

type factorIn struct {
	Name     string `json:"name"`
	Code     string `json:"code"`
	Password string `json:"password"`
	On       *bool  `json:"on"`
}

// decode reads a request's JSON body into in, answering when it cannot.
func decode[T any](s *Server, w http.ResponseWriter, r *http.Request, in *T) bool {
	if err := readJSON(r, in); err != nil {
		s.writeError(w, r, err)
		return false
	}
	return true
}

func (s *Server) apiStartTOTP(w http.ResponseWriter, r *http.Request, sess store.Session) {
	var in factorIn
	if !decode(s, w, r, &in) {
		return
	}
	en, err := s.Flow.StartTOTP(r.Context(), s.client(r), sess, in.Name)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, enrolmentJSON{ID: en.ID, Name: en.Name, Key: en.Key, URI: en.URI, QR: qrDataURI(en.QR)})
}

func (s *Server) apiConfirmTOTP(w http.ResponseWriter, r *http.Request, sess store.Session) {
	var in factorIn
	if !decode(s, w, r, &in) {
		return
	}
	s.answerChange(w, r, sess, s.Flow.ConfirmTOTP(r.Context(), s.client(r), sess, r.PathValue("id"), in.Code))
}

func (s *Server) apiRemoveTOTP(w http.ResponseWriter, r *http.Request, sess store.Session) {
	s.answerChange(w, r, sess, s.Flow.RemoveTOTP(r.Context(), s.client(r), sess, r.PathValue("id")))
}

// answerChange answers a change to the sign-in methods with the methods
// as they now are.
func (s *Server) answerChange(w http.ResponseWriter, r *http.Request, sess store.Session, err error) {
	if err == nil {
		var out securityJSON
		if out, err = s.security(r, sess); err == nil {
			writeJSON(w, http.StatusOK, out)
			return
		}
	}
	s.writeError(w, r, err)
}

func (s *Server) apiRecoveryCodes(w http.ResponseWriter, r *http.Request, sess store.Session) {
	codes, err := s.Flow.NewRecoveryCodes(r.Context(), s.client(r), sess)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"recovery_codes": codes})
}

func (s *Server) apiTwoStep(w http.ResponseWriter, r *http.Request, sess store.Session) {
	var in factorIn
	if !decode(s, w, r, &in) {
		return
	}
	if in.On == nil {
		s.writeError(w, r, refuse(http.StatusBadRequest, flow.ErrInvalidInput, "on", `say "on": true or false`))
		return
	}
	codes, err := s.Flow.SetTwoStep(r.Context(), s.client(r), sess, *in.On)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"two_step": *in.On, "recovery_codes": codes})
}

func (s *Server) apiStepUp(w http.ResponseWriter, r *http.Request, sess store.Session) {
	var in factorIn
	if !decode(s, w, r, &in) {
		return
	}
	iss, err := s.Flow.StepUp(r.Context(), s.client(r), sess, in.Password, in.Code)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeResult(w, r, &flow.Result{Session: iss, State: flow.StateConfirmed})
}

func (s *Server) apiSecondStep(r *http.Request, c flow.Client, in struct {
	Flow   string `json:"flow"`
	Method string `json:"method"`
	Code   string `json:"code"`
}) (*flow.Result, error) {
	return s.Flow.SecondStep(r.Context(), c, in.Flow, in.Method, in.Code)
}

// pageSecondStep asks for the second proof of a sign-in two-step
// verification holds.
func (s *Server) pageSecondStep(w http.ResponseWriter, r *http.Request) {
	v := s.view(r, "second_step")
	tok := s.cookie(r, "ward_flow")
	status := http.StatusOK
	switch {
	case r.Method != http.MethodPost:
	case r.PostFormValue("action") == "sms":
		if p, err := s.Flow.SendSecondStepSMS(r.Context(), s.client(r), tok); err != nil {
			status = s.explain(r, v, err)
		} else {
			v.Notice = tr(v.Lang, "code_sent_to") + " " + p.Destination
		}
	case r.PostFormValue("action") == "push":
		if p, err := s.Flow.BeginPush(r.Context(), s.appClient(r), tok); err != nil {
			status = s.explain(r, v, err)
		} else {
			s.rung.signal()
			v.Push = &pushJSON{State: p.State, Number: p.Number, ExpiresAt: p.ExpiresAt}
		}
	case r.PostFormValue("action") == "push-status":
		// Without JavaScript, the person asks whether the phone answered.
		res, err := s.Flow.PushStatus(r.Context(), s.client(r), tok)
		switch {
		case err != nil:
			status = s.explain(r, v, err)
		case res.Session != nil:
			s.continueFlow(w, r, res, "/sign-in/code")
			return
		default:
			v.Notice = tr(v.Lang, "push_waiting")
			if p, err := s.Flow.BeginPush(r.Context(), s.client(r), tok); err == nil {
				v.Push = &pushJSON{State: p.State, Number: p.Number, ExpiresAt: p.ExpiresAt}
			}
		}
	default:
		res, err := s.Flow.SecondStep(r.Context(), s.client(r), tok, r.PostFormValue("method"), r.PostFormValue("code"))
		if err == nil {
			s.continueFlow(w, r, res, "/sign-in/code")
			return
		}
		status = s.explain(r, v, err)
	}
	p, err := s.Flow.Methods(r.Context(), tok)
	if err != nil {
		s.render(w, r, s.explain(r, v, err), "message", v)
		return
	}
	v.Pending = p
	s.render(w, r, status, "second_step", v)
}

// pageStepUp proves the signed-in person again: the password, and the
// authenticator app's code when the account has one.
func (s *Server) pageStepUp(w http.ResponseWriter, r *http.Request, sess store.Session) {
	v := s.view(r, "step_up")
	sec, err := s.security(r, sess)
	if err != nil {
		s.afterAction(w, r, err)
		return
	}
	v.Security = &sec
	status := http.StatusOK
	if r.Method == http.MethodPost {
		iss, err := s.Flow.StepUp(r.Context(), s.client(r), sess, r.PostFormValue("password"), r.PostFormValue("code"))
		if err == nil {
			s.setCookie(w, "ward_session", iss.Token, 0)
			http.Redirect(w, r, "/account?changed=confirmed#security", http.StatusSeeOther)
			return
		}
		status = s.explain(r, v, err)
	}
	if a, err := s.Flow.Account(r.Context(), sess); err == nil {
		v.Account = a
	}
	s.render(w, r, status, "step_up", v)
}

func (s *Server) pageStartTOTP(w http.ResponseWriter, r *http.Request, sess store.Session) {
	en, err := s.Flow.StartTOTP(r.Context(), s.client(r), sess, r.PostFormValue("name"))
	if s.needsStepUp(w, r, sess, err) {
		return
	}
	if err != nil {
		s.accountError(w, r, sess, err)
		return
	}
	http.Redirect(w, r, "/account/authenticators/"+en.ID, http.StatusSeeOther)
}

// pageConfirmTOTP shows an authenticator app waiting for its first code
// (QR code and key) and takes that code.
func (s *Server) pageConfirmTOTP(w http.ResponseWriter, r *http.Request, sess store.Session) {
	v := s.view(r, "totp_setup")
	id := r.PathValue("id")
	status := http.StatusOK
	if r.Method == http.MethodPost {
		err := s.Flow.ConfirmTOTP(r.Context(), s.client(r), sess, id, r.PostFormValue("code"))
		if err == nil {
			http.Redirect(w, r, "/account?changed=method#security", http.StatusSeeOther)
			return
		}
		if s.needsStepUp(w, r, sess, err) {
			return
		}
		status = s.explain(r, v, err)
	}
	en, err := s.Flow.PendingTOTP(r.Context(), sess, id)
	if s.needsStepUp(w, r, sess, err) {
		return
	}
	if err != nil {
		s.afterAction(w, r, err)
		return
	}
	v.Enrolment = &enrolmentView{TOTPEnrolment: *en, QRURI: template.URL(qrDataURI(en.QR))}
	// The QR code is drawn inline, so that its secret never sits at a
	// URL of its own: this page alone lets a data: image in.
	w.Header().Set("Content-Security-Policy", contentPolicy("'self' data:"))
	s.render(w, r, status, "totp_setup", v)
}

// enrolmentView is an authenticator app's setup as its page shows it.
type enrolmentView struct {
	flow.TOTPEnrolment
	// QRURI is a data: URI made here from PNG bytes, safe for <img src>.
	QRURI template.URL
}

// needsStepUp asks a person whose session is not proven well enough to
// prove it is them, and reports whether it did: with two factors on the
// step-up page once the account has a second factor, else with a code to
// the account's email (an account may have no password).
func (s *Server) needsStepUp(w http.ResponseWriter, r *http.Request, sess store.Session, err error) bool {
	var fe *flow.Error
	if !errors.As(err, &fe) {
		return false
	}
	switch fe.Code {
	case flow.ErrStrongerProof:
		http.Redirect(w, r, "/account/step-up", http.StatusSeeOther)
		return true
	case flow.ErrStepUpRequired:
		p, err := s.Flow.StartReauth(r.Context(), s.client(r), sess)
		if err != nil {
			s.afterAction(w, r, err)
			return true
		}
		s.setCookie(w, "ward_next", "", -1)
		s.accountCode(w, r, p, "confirm_its_you")
		return true
	}
	return false
}

// securityChanged ends a change made from the dashboard.
func (s *Server) securityChanged(w http.ResponseWriter, r *http.Request, sess store.Session, err error) {
	if s.needsStepUp(w, r, sess, err) {
		return
	}
	if err != nil {
		s.afterAction(w, r, err)
		return
	}
	http.Redirect(w, r, "/account?changed=method#security", http.StatusSeeOther)
}

// showCodes shows new recovery codes, once; with none, the change is done.
func (s *Server) showCodes(w http.ResponseWriter, r *http.Request, sess store.Session, codes []string, err error) {
	if err != nil || len(codes) == 0 {
		s.securityChanged(w, r, sess, err)
		return
	}
	v := s.view(r, "recovery_codes")
	v.Codes = codes
	// Shown once: no cache may keep them.
	w.Header().Set("Cache-Control", "no-store")
	s.render(w, r, http.StatusOK, "recovery_codes", v)
}

// has reports whether the account still has the sign-in method of kind
// (notify.ChangeTOTP, notify.ChangePasskey) with id.
func (sec securityJSON) has(kind, id string) bool {
	switch kind {
	case notify.ChangeTOTP:
		return slices.ContainsFunc(sec.Authenticators, func(a authenticatorJSON) bool { return a.ID == id })
	case notify.ChangePasskey:
		return slices.ContainsFunc(sec.Passkeys, func(p passkeyJSON) bool { return p.ID == id })
	}
	return false
}

// methodPath is the page path of a sign-in method.
func methodPath(kind, id string) string {
	if kind == notify.ChangePasskey {
		return "/account/passkeys/" + id
	}
	return "/account/authenticators/" + id
}

// strengthWords says in words how a session was proven ("password and
// authenticator app"); the catalog's own words for a method win.
func strengthWords(lang, method string) string {
	if catalog.Has("method_" + method) {
		return tr(lang, "method_"+method)
	}
	var words []string
	for _, f := range assurance.Factors(method) {
		words = append(words, tr(lang, "factor_"+f))
	}
	return strings.Join(words, tr(lang, "factor_and"))
}
