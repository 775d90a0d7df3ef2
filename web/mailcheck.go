package web

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/wardhq/ward/catalog"
	"github.com/wardhq/ward/flow"
	"github.com/wardhq/ward/mailcheck"
)

// maxCheckedMail is the largest message the check reads: real security
// mail is a few tens of kilobytes; 10 MB leaves room for attachments.
const maxCheckedMail = 10 << 20

// checkResult is the answer of the API and what the page shows.
type checkResult struct {
	Verdict  mailcheck.Verdict  `json:"verdict"`
	Headline string             `json:"headline"`
	Brand    string             `json:"brand,omitempty"`
	Sent     *checkSent         `json:"sent,omitempty"`
	Reasons  []mailcheck.Reason `json:"reasons"`
}

type checkSent struct {
	mailcheck.Sent
	Summary string `json:"summary"`
}

func (s *Server) routeMailCheck(mux *http.ServeMux) {
	mux.HandleFunc("POST /api/v1/mail-check", s.limited("mail_check", &s.MailCheckRate, s.apiMailCheck))
	mux.HandleFunc("GET /check-mail", func(w http.ResponseWriter, r *http.Request) {
		s.render(w, r, http.StatusOK, "check_mail", s.view(r, "check_mail"))
	})
	mux.HandleFunc("POST /check-mail", s.limited("mail_check", &s.MailCheckRate, s.pageMailCheck))
}

func (s *Server) checkMail(r *http.Request, raw []byte, lang string) (checkResult, error) {
	rep, err := s.MailCheck.Check(r.Context(), raw)
	if err != nil {
		return checkResult{}, err
	}
	rep = rep.Localize(lang)
	out := checkResult{Verdict: rep.Verdict, Headline: rep.Verdict.Headline(lang), Brand: rep.Brand, Reasons: rep.Reasons}
	if rep.Sent != nil {
		out.Sent = &checkSent{Sent: *rep.Sent, Summary: sentSummary(lang, s.zone(r, lang), rep.Brand, *rep.Sent)}
	}
	return out, nil
}

// sentSummary: "Sent by ward to j***@gmail.com on 22 Nov 2026 19:02 JST
// for a password reset.", in the viewer's time zone.
func sentSummary(lang string, loc *time.Location, brand string, s mailcheck.Sent) string {
	purpose := tr(lang, "purpose_"+s.Purpose)
	if purpose == "purpose_"+s.Purpose {
		purpose = tr(lang, "purpose_other")
	}
	return catalog.Format(lang, "mailcheck_sent_summary", brand, s.To, catalog.Time(lang, loc, s.At), purpose)
}

// apiMailCheck takes the message source as the body (message/rfc822,
// text/plain) or as JSON {"message": "…"}.
func (s *Server) apiMailCheck(w http.ResponseWriter, r *http.Request) {
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxCheckedMail))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		s.writeError(w, r, refuse(http.StatusRequestEntityTooLarge, "too_large", "", "messages up to 10 MB can be checked"))
		return
	}
	if err != nil {
		s.writeError(w, r, refuse(http.StatusBadRequest, flow.ErrInvalidInput, "", "could not read the message"))
		return
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "application/json" {
		var in struct {
			Message string `json:"message"`
		}
		if err := decodeJSON(raw, &in); err != nil {
			s.writeError(w, r, refuse(http.StatusBadRequest, flow.ErrInvalidInput, "message", "send {\"message\": \"<the whole message source>\"}"))
			return
		}
		raw = []byte(in.Message)
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		s.writeError(w, r, refuse(http.StatusBadRequest, flow.ErrInvalidInput, "message", "paste the whole message source, or at least its text"))
		return
	}
	res, err := s.checkMail(r, raw, s.language(r, ""))
	if err != nil {
		s.Log.ErrorContext(r.Context(), "checking a mail", "err", err)
		s.writeError(w, r, refuse(http.StatusInternalServerError, "internal", "", "the check failed; try again"))
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (s *Server) pageMailCheck(w http.ResponseWriter, r *http.Request) {
	v := s.view(r, "check_mail")
	r.Body = http.MaxBytesReader(w, r.Body, maxCheckedMail+64<<10)
	var raw []byte
	if err := r.ParseMultipartForm(1 << 20); err != nil && !errors.Is(err, http.ErrNotMultipart) {
		v.Error = tr(v.Lang, "check_mail_too_large")
		s.render(w, r, http.StatusRequestEntityTooLarge, "check_mail", v)
		return
	}
	if f, _, err := r.FormFile("file"); err == nil {
		raw, _ = io.ReadAll(io.LimitReader(f, maxCheckedMail))
		f.Close()
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		v.Pasted = r.FormValue("message")
		raw = []byte(strings.ReplaceAll(v.Pasted, "\r\n", "\n"))
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		v.Error = tr(v.Lang, "check_mail_empty")
		s.render(w, r, http.StatusBadRequest, "check_mail", v)
		return
	}
	res, err := s.checkMail(r, raw, v.Lang)
	if err != nil {
		s.Log.ErrorContext(r.Context(), "checking a mail", "err", err)
		v.Error = tr(v.Lang, "err_internal")
		s.render(w, r, http.StatusInternalServerError, "check_mail", v)
		return
	}
	v.Check = &res
	s.render(w, r, http.StatusOK, "check_mail", v)
}
