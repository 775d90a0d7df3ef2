package web

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wardhq/ward/catalog"
	"github.com/wardhq/ward/flow"
	"github.com/wardhq/ward/keys"
	"github.com/wardhq/ward/notify"
	"github.com/wardhq/ward/session"
	"github.com/wardhq/ward/store"
)

//go:embed templates/*.html static/*
var assets embed.FS

// pages is every page's template in one set, parsed once: each page is a
// template the layout picks by the view's Page. (One set per page held
// the layout's trees twenty times over, 7 MB of an idle ward's 16.)
type pages struct {
	set *template.Template
}

var pageNames = []string{"sign_in", "code", "reset", "new_password", "account", "not_mine", "message", "dev_mail", "check_mail", "not_me", "secure", "confirm_contact",
	"second_step", "step_up", "totp_setup", "recovery_codes", "consent", "continue", "authenticator", "pairing"}

// deref reads an optional time for a template (nil: the zero time).
func deref(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

func newPages() (*pages, error) {
	t, err := template.New("").Funcs(template.FuncMap{"deref": deref}).ParseFS(assets, "templates/pages.html")
	if err != nil {
		return nil, fmt.Errorf("parsing page templates: %w", err)
	}
	// html/template takes no template name from data, so the body is a
	// choice among the known pages.
	var body strings.Builder
	for i, name := range pageNames {
		if i > 0 {
			body.WriteString("{{else ")
		} else {
			body.WriteString("{{")
		}
		fmt.Fprintf(&body, `if eq .Page %q}}{{template %q .}}`, name, name)
	}
	body.WriteString("{{end}}")
	if _, err := t.New("body").Parse(body.String()); err != nil {
		return nil, fmt.Errorf("parsing the pages' body: %w", err)
	}
	return &pages{set: t}, nil
}

// render writes page with v in the layout.
func (p *pages) render(w io.Writer, page string, v *view) error {
	if !slices.Contains(pageNames, page) {
		return fmt.Errorf("no page %q", page)
	}
	v.Page = page
	return p.set.ExecuteTemplate(w, "layout", v)
}

// view is what every page template gets.
type view struct {
	// Page is the page shown, set by render.
	Page            string
	Brand           brandView
	Lang, OtherLang string
	TitleKey        string
	T               func(string) string
	// F is a catalog sentence with its values inside, each in bold:
	// "We sent a code to <b>h***@example.jp</b>." reads naturally in
	// Japanese too, where the value comes first.
	F func(key string, args ...string) template.HTML
	// Reasons lists risk reasons as the language joins a list.
	Reasons       func([]string) string
	When          func(time.Time) string
	Error, Notice string
	Email         string
	Action        string
	Reset         bool
	Pending       *flow.Pending
	Account       store.Account
	Events        []store.Event
	NotMine       *flow.AddressRemoval
	Mail          []devMail
	Check         *checkResult
	NotMe         *flow.UnsolicitedReport
	Done          bool
	Reason        func(string) string
	Dash          *dashboard
	Delivery      *flow.Delivery
	Security      *securityJSON
	Enrolment     *enrolmentView
	// Codes are new recovery codes, shown once.
	Codes []string
	// Consent is an app asking for the person's permission.
	Consent *consentView
	// Continue goes on to an app after signing in for it.
	Continue *continueView
	// Push is an approval request the sign-in page waits on.
	Push *pushJSON
	// Manifest links the web app manifest (ward Authenticator).
	Manifest bool
	// Pairing pairs a new ward Authenticator.
	Pairing *pairingView
	// Pasted is the mail text the person pasted into the check, kept for
	// another look after the verdict.
	Pasted string
	// ResendLocked: the resend button cannot be used yet (its cooldown).
	ResendLocked bool
	// Loc is the viewer's time zone, found once per request.
	Loc *time.Location
}

type devMail struct {
	notify.Rendered
	Status string
}

// sentenceHTML is the catalog's sentence key in lang with args put in its
// places, each escaped and set in bold; the sentence itself is escaped.
func sentenceHTML(lang, key string, args ...string) template.HTML {
	vals := make([]any, len(args))
	for i, a := range args {
		vals[i] = "<strong>" + template.HTMLEscapeString(a) + "</strong>"
	}
	return template.HTML(fmt.Sprintf(template.HTMLEscapeString(catalog.Text(lang, key)), vals...))
}

// Wide pages hold tables (the dashboard, the mail check's verdict, the
// dev mailbox); the others are one narrow column of form.
func (v *view) Wide() bool {
	return v.Dash != nil || v.TitleKey == "check_mail" || v.TitleKey == "dev_mailbox"
}

func (s *Server) view(r *http.Request, title string) *view {
	lang := s.language(r, "")
	other := "ja"
	if lang == "ja" {
		other = "en"
	}
	loc := s.zone(r, lang)
	return &view{Brand: s.brandView(), Lang: lang, OtherLang: other, TitleKey: title, Loc: loc, T: func(k string) string { return tr(lang, k) },
		Reason: func(r string) string { return reasonText(lang, r) },
		F:      func(key string, args ...string) template.HTML { return sentenceHTML(lang, key, args...) },
		Reasons: func(rs []string) string {
			out := make([]string, len(rs))
			for i, r := range rs {
				out[i] = reasonText(lang, r)
			}
			return strings.Join(out, tr(lang, "list_sep"))
		},
		When: func(t time.Time) string { return viewerTime(lang, loc, t) }}
}

func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, page string, v *view) {
	if l := r.URL.Query().Get("lang"); l == "ja" || l == "en" {
		s.setCookie(w, "ward_lang", l, 365*24*time.Hour)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := s.pages.render(w, page, v); err != nil {
		s.Log.ErrorContext(r.Context(), "rendering page", "page", page, "err", err)
	}
}

// explain turns an error into a sentence in the page's language.
func (s *Server) explain(r *http.Request, v *view, err error) int {
	rf := s.refusalOf(r, err)
	v.Error = sentence(v.Lang, v.Loc, rf)
	return rf.status
}

func (s *Server) routePages(mux *http.ServeMux) {
	s.routeBrand(mux)
	static, _ := fs.Sub(assets, "static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		if _, err := s.currentSession(r); err == nil {
			http.Redirect(w, r, "/account", http.StatusSeeOther)
			return
		}
		http.Redirect(w, r, "/sign-in", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /sign-in", func(w http.ResponseWriter, r *http.Request) {
		v := s.view(r, "sign_in")
		// An app's login_hint comes through here.
		v.Email = r.URL.Query().Get("email")
		switch {
		case r.URL.Query().Get("reset") == "done":
			v.Notice = tr(v.Lang, "reset_done")
		case r.URL.Query().Get("signed_out") == "1":
			v.Notice = tr(v.Lang, "signed_out")
		}
		s.render(w, r, http.StatusOK, "sign_in", v)
	})
	mux.HandleFunc("POST /sign-in", s.pageSignIn)
	mux.HandleFunc("GET /sign-in/code", s.pageCode("/sign-in/code", false))
	mux.HandleFunc("POST /sign-in/code", s.pageCodePost("/sign-in/code", false))
	mux.HandleFunc("GET /reset", func(w http.ResponseWriter, r *http.Request) {
		s.render(w, r, http.StatusOK, "reset", s.view(r, "reset"))
	})
	mux.HandleFunc("POST /reset", s.pageReset)
	mux.HandleFunc("GET /reset/code", s.pageCode("/reset/code", true))
	mux.HandleFunc("POST /reset/code", s.pageCodePost("/reset/code", true))
	mux.HandleFunc("GET /reset/password", func(w http.ResponseWriter, r *http.Request) {
		s.render(w, r, http.StatusOK, "new_password", s.view(r, "new_password"))
	})
	mux.HandleFunc("POST /reset/password", s.pageNewPassword)
	mux.HandleFunc("GET /account", s.pageSignedIn(s.pageAccount))
	mux.HandleFunc("POST /account/sessions/{id}/end", s.pageSignedIn(func(w http.ResponseWriter, r *http.Request, sess store.Session) {
		s.afterAction(w, r, s.Flow.EndSession(r.Context(), s.client(r), sess, r.PathValue("id")))
	}))
	mux.HandleFunc("POST /account/sessions/end-others", s.pageSignedIn(func(w http.ResponseWriter, r *http.Request, sess store.Session) {
		_, err := s.Flow.EndOtherSessions(r.Context(), s.client(r), sess)
		s.afterAction(w, r, err)
	}))
	mux.HandleFunc("POST /account/password", s.pageSignedIn(func(w http.ResponseWriter, r *http.Request, sess store.Session) {
		err := s.Flow.ChangePassword(r.Context(), s.client(r), sess, r.PostFormValue("current_password"), r.PostFormValue("password"))
		if err != nil {
			s.accountError(w, r, sess, err)
			return
		}
		http.Redirect(w, r, "/account?changed=1", http.StatusSeeOther)
	}))
	mux.HandleFunc("POST /sign-out", s.pageSignedIn(func(w http.ResponseWriter, r *http.Request, sess store.Session) {
		if err := s.Flow.SignOut(r.Context(), s.client(r), sess); err != nil {
			s.afterAction(w, r, err)
			return
		}
		s.setCookie(w, "ward_session", "", -1)
		http.Redirect(w, r, "/sign-in?signed_out=1", http.StatusSeeOther)
	}))
	mux.HandleFunc("GET /not-my-account/{token}", s.limited("links", &s.LinkRate, s.pageNotMine))
	mux.HandleFunc("POST /not-my-account/{token}", s.limited("links", &s.LinkRate, s.pageNotMine))
	if s.DevMailbox {
		mux.HandleFunc("GET /dev/mail", s.pageDevMail)
		mux.HandleFunc("GET /dev/mail.json", s.apiDevMail)
		mux.HandleFunc("GET /dev/mail/{id}", s.devMailSource)
	}
}

func (s *Server) pageSignIn(w http.ResponseWriter, r *http.Request) {
	v := s.view(r, "sign_in")
	v.Email = r.PostFormValue("email")
	c := s.client(r)
	var res *flow.Result
	var err error
	if r.PostFormValue("method") == "password" || (r.PostFormValue("method") == "" && r.PostFormValue("password") != "") {
		res, err = s.Flow.PasswordSignIn(r.Context(), c, v.Email, r.PostFormValue("password"))
	} else {
		var p *flow.Pending
		p, err = s.Flow.StartCodeSignIn(r.Context(), c, v.Email, v.Lang)
		res = &flow.Result{Pending: p}
	}
	if err != nil {
		s.render(w, r, s.explain(r, v, err), "sign_in", v)
		return
	}
	s.continueFlow(w, r, res, "/sign-in/code")
}

// continueFlow sends the browser on after a step: to its account when
// signed in, to the code page while a code is on its way.
func (s *Server) continueFlow(w http.ResponseWriter, r *http.Request, res *flow.Result, codePage string) {
	switch {
	case res.Session != nil:
		s.setCookie(w, "ward_flow", "", -1)
		s.setCookie(w, "ward_session", res.Session.Token, 0)
		if res.Review {
			// Signed in with a recovery code: straight to what may need
			// changing.
			http.Redirect(w, r, "/account?changed=recovery#security", http.StatusSeeOther)
			return
		}
		http.Redirect(w, r, "/account", http.StatusSeeOther)
	case res.Pending != nil && res.Pending.SecondStep:
		s.setCookie(w, "ward_flow", res.Pending.Token, 0)
		http.Redirect(w, r, "/sign-in/second-step", http.StatusSeeOther)
	case res.Pending != nil:
		s.setCookie(w, "ward_flow", res.Pending.Token, 0)
		s.setCookie(w, "ward_reasons", strings.Join(res.Pending.Reasons, "."), 0)
		http.Redirect(w, r, codePage, http.StatusSeeOther)
	default:
		http.Redirect(w, r, "/reset/password", http.StatusSeeOther)
	}
}

func (s *Server) pageCode(action string, reset bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v := s.view(r, "enter_code")
		v.Action, v.Reset = action, reset
		p, err := s.Flow.Status(r.Context(), s.cookie(r, "ward_flow"))
		if err != nil {
			s.render(w, r, s.explain(r, v, err), "message", v)
			return
		}
		if reasons := s.cookie(r, "ward_reasons"); reasons != "" {
			for _, rs := range strings.Split(reasons, ".") {
				if reasonCookie.MatchString(rs) {
					p.Reasons = append(p.Reasons, rs)
				}
			}
		}
		v.Pending = p
		v.ResendLocked = s.Now().Before(p.ResendAfter)
		v.Delivery, _ = s.Flow.Delivery(r.Context(), s.cookie(r, "ward_flow"))
		s.render(w, r, http.StatusOK, "code", v)
	}
}

// reasonCookie is the shape of a risk reason carried to the code page.
var reasonCookie = regexp.MustCompile(`^[a-z_]+(:[\w .:-]{0,80})?$`)

func (s *Server) pageCodePost(action string, reset bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok, c := s.cookie(r, "ward_flow"), s.client(r)
		var res *flow.Result
		var err error
		switch r.PostFormValue("action") {
		case "resend":
			var p *flow.Pending
			p, err = s.Flow.Resend(r.Context(), c, tok)
			res = &flow.Result{Pending: p}
		case "contact":
			var p *flow.Pending
			p, err = s.Flow.ResetVia(r.Context(), c, tok, r.PostFormValue("contact"))
			res = &flow.Result{Pending: p}
		case "send-via":
			var p *flow.Pending
			p, err = s.Flow.SendVia(r.Context(), c, tok, r.PostFormValue("contact_id"))
			res = &flow.Result{Pending: p}
		default:
			res, err = s.Flow.Verify(r.Context(), c, tok, r.PostFormValue("code"))
		}
		if err != nil {
			v := s.view(r, "enter_code")
			v.Action, v.Reset = action, reset
			status := s.explain(r, v, err)
			if v.Pending, _ = s.Flow.Status(r.Context(), tok); v.Pending != nil {
				v.ResendLocked = s.Now().Before(v.Pending.ResendAfter)
			}
			s.render(w, r, status, "code", v)
			return
		}
		s.continueFlow(w, r, res, action)
	}
}

func (s *Server) pageReset(w http.ResponseWriter, r *http.Request) {
	v := s.view(r, "reset")
	v.Email = r.PostFormValue("email")
	p, err := s.Flow.StartReset(r.Context(), s.client(r), v.Email, v.Lang)
	if err != nil {
		s.render(w, r, s.explain(r, v, err), "reset", v)
		return
	}
	s.continueFlow(w, r, &flow.Result{Pending: p}, "/reset/code")
}

func (s *Server) pageNewPassword(w http.ResponseWriter, r *http.Request) {
	err := s.Flow.CompleteReset(r.Context(), s.client(r), s.cookie(r, "ward_flow"), r.PostFormValue("password"))
	if err != nil {
		v := s.view(r, "new_password")
		s.render(w, r, s.explain(r, v, err), "new_password", v)
		return
	}
	s.setCookie(w, "ward_flow", "", -1)
	http.Redirect(w, r, "/sign-in?reset=done", http.StatusSeeOther)
}

func (s *Server) pageSignedIn(h signedInHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sess, err := s.currentSession(r)
		if errors.Is(err, session.ErrNoSession) {
			http.Redirect(w, r, "/sign-in", http.StatusSeeOther)
			return
		}
		if err != nil {
			v := s.view(r, "title")
			s.render(w, r, s.explain(r, v, err), "message", v)
			return
		}
		a, err := s.Flow.Account(r.Context(), sess)
		if err != nil {
			s.afterAction(w, r, err)
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), accountLangKey, a.Language))
		h(w, r, sess)
	}
}

func (s *Server) afterAction(w http.ResponseWriter, r *http.Request, err error) {
	if err != nil {
		v := s.view(r, "title")
		s.render(w, r, s.explain(r, v, err), "message", v)
		return
	}
	http.Redirect(w, r, "/account", http.StatusSeeOther)
}

// pageNotMine shows what the link would do on GET and acts only on POST:
// mail scanners fetch links, and a fetch must change nothing.
func (s *Server) pageNotMine(w http.ResponseWriter, r *http.Request) {
	v := s.view(r, "not_mine")
	tok := r.PathValue("token")
	if r.Method == http.MethodPost {
		nm, err := s.Flow.RemoveAddress(r.Context(), s.client(r), tok)
		if err != nil {
			s.render(w, r, s.explain(r, v, err), "message", v)
			return
		}
		v.TitleKey = "not_mine_done"
		if nm.Primary {
			v.TitleKey = "not_mine_reported"
		}
		s.render(w, r, http.StatusOK, "message", v)
		return
	}
	nm, err := s.Flow.DescribeAddressRemoval(r.Context(), tok)
	if err != nil {
		s.render(w, r, s.explain(r, v, err), "message", v)
		return
	}
	v.NotMine = &nm
	s.render(w, r, http.StatusOK, "not_mine", v)
}

func (s *Server) devMessages(r *http.Request) ([]devMail, error) {
	limit := 20
	if n, err := strconv.Atoi(r.URL.Query().Get("limit")); err == nil && n > 0 && n <= 200 {
		limit = n
	}
	if tok := r.URL.Query().Get("flow"); tok != "" {
		// The messages of one flow, named by its client token: what a test
		// or the load driver waits for after starting a sign-in.
		f, err := s.Mailbox.FlowByTokenHash(r.Context(), keys.HashToken(tok))
		if errors.Is(err, store.ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		return s.flowMail(r, f.ID)
	}
	if to := r.URL.Query().Get("to"); to != "" {
		return s.rendered(s.Mailbox.MessagesTo(r.Context(), strings.ToLower(strings.TrimSpace(to)), limit))
	}
	return s.rendered(s.Mailbox.RecentMessages(r.Context(), 50))
}

// rendered renders messages as the dev mailbox's page and API show them
// (as text).
func (s *Server) rendered(ms []store.Message, err error) ([]devMail, error) {
	if err != nil {
		return nil, err
	}
	out := make([]devMail, 0, len(ms))
	for _, m := range ms {
		rd, err := s.Composer.RenderText(m)
		if err != nil {
			continue // sent or expired: its code is erased
		}
		out = append(out, devMail{Rendered: rd, Status: m.Status})
	}
	return out, nil
}

// maxMailWait bounds a long poll of the dev mailbox.
const maxMailWait = 10 * time.Second

// flowMail reads a flow's mail. With wait (a duration up to 10 s) and
// none there yet, it answers when the flow's first message is queued
// here, or when wait ends: one request instead of a poll every few
// milliseconds. A message the dev mailbox took comes with its bell,
// rendered, and is the answer as it is; one queued for a real channel is
// read again. (A message queued by another instance is seen when the
// wait ends.)
func (s *Server) flowMail(r *http.Request, flowID string) ([]devMail, error) {
	wait, _ := time.ParseDuration(r.URL.Query().Get("wait"))
	if wait <= 0 {
		return s.rendered(s.Mailbox.MessagesByFlow(r.Context(), flowID))
	}
	// Listening before the first look: a message queued between the two
	// still rings.
	b, done := s.mailQueued.wait(flowID)
	defer done()
	ms, err := s.Mailbox.MessagesByFlow(r.Context(), flowID)
	if err != nil || len(ms) > 0 {
		return s.rendered(ms, err)
	}
	t := time.NewTimer(min(wait, maxMailWait))
	defer t.Stop()
	select {
	case <-b.ch:
		if d, ok := b.v.(devMail); ok {
			return []devMail{d}, nil
		}
	case <-t.C:
	case <-r.Context().Done():
		return nil, r.Context().Err()
	}
	return s.rendered(s.Mailbox.MessagesByFlow(r.Context(), flowID))
}

// MailQueued is told, after its commit, of each message queued for a flow.
func (s *Server) MailQueued(flowID string) { s.mailQueued.ring(flowID, nil) }

// MailStored is told, after its commit, of each message of a flow that
// the dev mailbox took, rendered as its page shows it.
func (s *Server) MailStored(flowID string, r notify.Rendered, status string) {
	s.mailQueued.ring(flowID, devMail{Rendered: r, Status: status})
}

func (s *Server) pageDevMail(w http.ResponseWriter, r *http.Request) {
	v := s.view(r, "dev_mailbox")
	mail, err := s.devMessages(r)
	if err != nil {
		s.render(w, r, s.explain(r, v, err), "message", v)
		return
	}
	v.Mail = mail
	s.render(w, r, http.StatusOK, "dev_mail", v)
}

// devMailSource downloads one message's source as ward's relay would
// send it (/dev/mail/{id}.eml), so ward's own mail can be tried in the
// mail check.
func (s *Server) devMailSource(w http.ResponseWriter, r *http.Request) {
	id, ok := strings.CutSuffix(r.PathValue("id"), ".eml")
	if !ok || s.RawMail == nil {
		http.NotFound(w, r)
		return
	}
	m, err := s.Mailbox.MessageByID(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) || err == nil && m.Channel != notify.Email {
		http.NotFound(w, r)
		return
	}
	var raw []byte
	if err == nil {
		var rd notify.Rendered
		if rd, err = s.Composer.Render(m); err == nil {
			raw, err = s.RawMail(rd)
		}
	}
	if err != nil {
		s.Log.ErrorContext(r.Context(), "writing a message's source", "message", id, "err", err)
		http.Error(w, "the message could not be written", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "message/rfc822")
	w.Header().Set("Content-Disposition", `attachment; filename="ward-`+notify.Ref(m.ID)+`.eml"`)
	w.Write(raw)
}

func (s *Server) apiDevMail(w http.ResponseWriter, r *http.Request) {
	mail, err := s.devMessages(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	type item struct {
		ID        string    `json:"id"`
		To        string    `json:"to"`
		Subject   string    `json:"subject"`
		Text      string    `json:"text"`
		Code      string    `json:"code,omitempty"`
		Status    string    `json:"status"`
		CreatedAt time.Time `json:"created_at"`
	}
	out := make([]item, 0, len(mail))
	for _, m := range mail {
		out = append(out, item{ID: m.ID, To: m.To, Subject: m.Subject, Text: m.Text, Code: m.Code, Status: m.Status, CreatedAt: m.CreatedAt})
	}
	writeJSON(w, http.StatusOK, map[string]any{"messages": out})
}
