package web

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/wardhq/ward/flow"
	"github.com/wardhq/ward/store"
)

func (s *Server) routeUnsolicited(mux *http.ServeMux) {
	mux.HandleFunc("GET /not-me/{token}", s.limited("links", &s.LinkRate, s.pageNotMe))
	mux.HandleFunc("POST /not-me/{token}", s.limited("links", &s.LinkRate, s.pageNotMe))
	mux.HandleFunc("GET /api/v1/not-me/{token}", s.limited("links", &s.LinkRate, s.apiNotMe))
	mux.HandleFunc("POST /api/v1/not-me/{token}", s.limited("links", &s.LinkRate, s.apiNotMe))
	mux.HandleFunc("GET /api/v1/account/alias", s.signedIn(s.apiAlias))
	mux.HandleFunc("PUT /api/v1/account/alias", s.signedIn(s.apiAlias))
}

// notMe follows a "this wasn't me" link: GET tells who asked for the code
// and changes nothing (mail scanners fetch links); POST acts.
func (s *Server) notMe(r *http.Request, lang string) (flow.UnsolicitedReport, error) {
	if r.Method == http.MethodPost {
		return s.Flow.ReportUnsolicited(r.Context(), s.client(r), r.PathValue("token"), lang)
	}
	return s.Flow.DescribeUnsolicited(r.Context(), r.PathValue("token"), lang)
}

func (s *Server) pageNotMe(w http.ResponseWriter, r *http.Request) {
	v := s.view(r, "not_me")
	nm, err := s.notMe(r, v.Lang)
	if err != nil {
		s.render(w, r, s.explain(r, v, err), "message", v)
		return
	}
	v.NotMe, v.Done = &nm, r.Method == http.MethodPost
	s.render(w, r, http.StatusOK, "not_me", v)
}

func (s *Server) apiNotMe(w http.ResponseWriter, r *http.Request) {
	nm, err := s.notMe(r, s.language(r, ""))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toUnsolicitedJSON(nm))
}

func (s *Server) apiAlias(w http.ResponseWriter, r *http.Request, sess store.Session) {
	if r.Method == http.MethodGet {
		a, err := s.Flow.AliasOf(r.Context(), sess)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, toAliasJSON(a))
		return
	}
	var in struct {
		AliasOnly *bool `json:"alias_only"`
	}
	if err := readJSON(r, &in); err != nil || in.AliasOnly == nil {
		s.writeError(w, r, refuse(http.StatusBadRequest, flow.ErrInvalidInput, "alias_only", "send {\"alias_only\": true} or false"))
		return
	}
	a, err := s.Flow.SetAliasOnly(r.Context(), s.client(r), sess, *in.AliasOnly)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toAliasJSON(a))
}

// reasonText says a risk reason ("new_country:US") in lang.
func reasonText(lang, reason string) string {
	code, rest, _ := strings.Cut(reason, ":")
	format := tr(lang, "reason_"+code)
	if format == "reason_"+code {
		return reason
	}
	if rest == "" {
		return format
	}
	args := strings.Split(rest, ":")
	vals := make([]any, len(args))
	for i, a := range args {
		vals[i] = a
	}
	return fmt.Sprintf(format, vals...)
}
