package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/wardhq/ward/flow"
	"github.com/wardhq/ward/store"
)

// Security info: the account's emails and phones. Every change needs a
// fresh proof; when the session is not fresh, a code to the account's
// email comes first and the change goes on after it (the "ward_next"
// cookie remembers which change).

func (s *Server) routeContacts(mux *http.ServeMux) {
	mux.HandleFunc("POST /account/contacts", s.pageSignedIn(func(w http.ResponseWriter, r *http.Request, sess store.Session) {
		s.change(w, r, sess, "add:"+strings.TrimSpace(r.PostFormValue("contact")))
	}))
	mux.HandleFunc("POST /account/contacts/{id}/remove", s.pageSignedIn(func(w http.ResponseWriter, r *http.Request, sess store.Session) {
		s.change(w, r, sess, "remove:"+r.PathValue("id"))
	}))
	mux.HandleFunc("POST /account/code", s.pageSignedIn(s.pageAccountCode))
	mux.HandleFunc("GET /confirm-contact/{token}", func(w http.ResponseWriter, r *http.Request) {
		v := s.view(r, "confirm_contact")
		s.render(w, r, http.StatusOK, "confirm_contact", v)
	})
	mux.HandleFunc("POST /confirm-contact/{token}", func(w http.ResponseWriter, r *http.Request) {
		v := s.view(r, "confirm_contact")
		masked, err := s.Flow.ConfirmContact(r.Context(), s.client(r), r.PathValue("token"))
		if err != nil {
			s.render(w, r, s.explain(r, v, err), "message", v)
			return
		}
		v.Notice = tr(v.Lang, "confirm_contact_done") + " " + masked
		v.Done = true
		s.render(w, r, http.StatusOK, "confirm_contact", v)
	})
}

// change carries out "add:<contact>" or "remove:<id>", asking for a code
// to the account's email first when the session is not fresh.
func (s *Server) change(w http.ResponseWriter, r *http.Request, sess store.Session, what string) {
	ctx, c := r.Context(), s.client(r)
	op, arg, _ := strings.Cut(what, ":")
	var p *flow.Pending
	var err error
	switch op {
	case "add":
		p, err = s.Flow.StartAddContact(ctx, c, sess, arg)
	case "remove":
		err = s.Flow.RemoveContact(ctx, c, sess, arg)
	}
	var fe *flow.Error
	if errors.As(err, &fe) && fe.Code == flow.ErrStepUpRequired {
		if p, err = s.Flow.StartReauth(ctx, c, sess); err == nil {
			s.setCookie(w, "ward_next", what, 0)
			s.accountCode(w, r, p, "confirm_its_you")
			return
		}
	}
	if err != nil {
		s.accountError(w, r, sess, err)
		return
	}
	s.setCookie(w, "ward_next", "", -1)
	if p != nil {
		s.accountCode(w, r, p, "verify_new_contact")
		return
	}
	http.Redirect(w, r, "/account?changed=contact#security", http.StatusSeeOther)
}

// accountCode shows the code page of a signed-in flow.
func (s *Server) accountCode(w http.ResponseWriter, r *http.Request, p *flow.Pending, title string) {
	s.setCookie(w, "ward_acct_flow", p.Token, 0)
	v := s.view(r, title)
	v.Action, v.Pending = "/account/code", p
	s.render(w, r, http.StatusOK, "code", v)
}

func (s *Server) pageAccountCode(w http.ResponseWriter, r *http.Request, sess store.Session) {
	ctx, c, tok := r.Context(), s.client(r), s.cookie(r, "ward_acct_flow")
	var res *flow.Result
	var err error
	if r.PostFormValue("action") == "resend" {
		var p *flow.Pending
		if p, err = s.Flow.Resend(ctx, c, tok); err == nil {
			s.accountCode(w, r, p, "enter_code")
			return
		}
	} else {
		res, err = s.Flow.Verify(ctx, c, tok, r.PostFormValue("code"))
	}
	if err != nil {
		v := s.view(r, "enter_code")
		v.Action = "/account/code"
		status := s.explain(r, v, err)
		v.Pending, _ = s.Flow.Status(ctx, tok)
		s.render(w, r, status, "code", v)
		return
	}
	s.setCookie(w, "ward_acct_flow", "", -1)
	if res.Session != nil {
		// A step-up replaces the session with a fresh one.
		s.setCookie(w, "ward_session", res.Session.Token, 0)
	}
	if res.State == flow.StateConfirmed && res.Session != nil {
		if next := s.cookie(r, "ward_next"); next != "" {
			// The session is fresh now: carry on with the change asked for.
			s.change(w, r, res.Session.Session, next)
			return
		}
		http.Redirect(w, r, "/account?changed=confirmed#security", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/account?changed=contact#security", http.StatusSeeOther)
}
