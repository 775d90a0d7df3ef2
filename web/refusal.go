package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/wardhq/ward/account"
	"github.com/wardhq/ward/catalog"
	"github.com/wardhq/ward/flow"
	"github.com/wardhq/ward/session"
)

// refusal is every error answer as web gives it: the API's JSON shape,
// the HTTP status, and the sentence in the person's language. flow's
// refusals and web's own (a body it cannot read, a cross-site request, a
// missing admin token) become one.
type refusal struct {
	Code         string    `json:"error"`
	Message      string    `json:"message"`
	Field        string    `json:"field,omitempty"`
	AttemptsLeft *int      `json:"attempts_left,omitempty"`
	RetryAt      time.Time `json:"retry_at,omitzero"`
	status       int
	// key and args say a bad input's detail in any language ward speaks.
	key  string
	args []any
}

func (e *refusal) Error() string { return e.Code + ": " + e.Message }

// statusClientClosed is nginx's status for a request its client
// abandoned; HTTP has none.
const statusClientClosed = 499

// refuse is a refusal of web's own.
func refuse(status int, code, field, message string) *refusal {
	return &refusal{Code: code, Field: field, Message: message, status: status}
}

// refusalOf turns any error into what may be shown: refusals as they
// are, bad input with its message, everything else as a bare 500 (logged).
func (s *Server) refusalOf(r *http.Request, err error) *refusal {
	var rf *refusal
	if errors.As(err, &rf) {
		return rf
	}
	var fe *flow.Error
	if errors.As(err, &fe) {
		return &refusal{Code: fe.Code, Message: fe.Message, Field: fe.Field, AttemptsLeft: fe.AttemptsLeft, RetryAt: fe.RetryAt, status: statusOf(fe.Code), key: fe.Key, args: fe.Args}
	}
	var ie *account.InputError
	if errors.As(err, &ie) {
		rf := refuse(http.StatusBadRequest, flow.ErrInvalidInput, ie.Field, ie.Msg)
		rf.key, rf.args = ie.Key, ie.Args
		return rf
	}
	if errors.Is(err, session.ErrNoSession) {
		return refuse(http.StatusUnauthorized, "unauthenticated", "", "sign in first")
	}
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		// The client hung up before the answer: nothing failed on our
		// side, and counting it as a 500 would wake whoever watches them.
		// Nobody reads the answer; 499 is the status proxies log for it.
		s.Log.InfoContext(r.Context(), "request abandoned by the client", "method", r.Method, "route", r.Pattern)
		return refuse(statusClientClosed, "client_closed", "", "the request was abandoned before its answer")
	}
	s.Log.ErrorContext(r.Context(), "request failed", "method", r.Method, "route", r.Pattern, "err", err)
	return refuse(http.StatusInternalServerError, "internal", "", "something went wrong on our side; try again")
}

// statusOf maps flow's refusals to HTTP statuses.
func statusOf(code string) int {
	switch code {
	case flow.ErrInvalidInput:
		return http.StatusBadRequest
	case flow.ErrWrongCode, flow.ErrWrongCredentials, flow.ErrPasskeyRefused, flow.ErrAnswerRefused:
		return http.StatusUnauthorized
	case flow.ErrTooManyAttempts, flow.ErrFactorLocked, flow.ErrRateLimited:
		return http.StatusTooManyRequests
	case flow.ErrFactorDisabled, flow.ErrAccountDisabled, flow.ErrBlocked, flow.ErrStrongerProof:
		return http.StatusForbidden
	case flow.ErrFlowInvalid, flow.ErrNotReady:
		return http.StatusConflict
	case flow.ErrFlowExpired, flow.ErrCodeExpired, flow.ErrLinkInvalid:
		return http.StatusGone
	}
	return http.StatusBadRequest
}

// sentence says a refusal in lang: what exactly was wrong with the input
// when the catalog has it, else the catalog's words for its code, with the
// tries left and the time to come back.
func sentence(lang string, loc *time.Location, rf *refusal) string {
	msg := tr(lang, "err_"+rf.Code)
	switch {
	case rf.key != "":
		msg = catalog.Format(lang, rf.key, rf.args...)
	case msg == "err_"+rf.Code || rf.Code == flow.ErrInvalidInput && lang == "en":
		// web's own refusals of a malformed API request are for the
		// developer, in English.
		msg = rf.Message
	}
	if rf.AttemptsLeft != nil {
		msg += fmt.Sprintf(" %s %d", tr(lang, "err_attempts_left"), *rf.AttemptsLeft)
	}
	if !rf.RetryAt.IsZero() && (rf.Code == flow.ErrFactorLocked || rf.Code == flow.ErrRateLimited) {
		msg += " " + viewerTime(lang, loc, rf.RetryAt)
	}
	return msg
}

// writeError answers an API request with the refusal err stands for, its
// message in the client's language.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	rf := *s.refusalOf(r, err)
	s.setRetryAfter(w, &rf)
	lang := s.language(r, "")
	rf.Message = sentence(lang, s.zone(r, lang), &rf)
	writeJSON(w, rf.status, rf)
}

// setRetryAfter tells a client refused for now when to come back.
func (s *Server) setRetryAfter(w http.ResponseWriter, rf *refusal) {
	if !rf.RetryAt.IsZero() {
		secs := int(rf.RetryAt.Sub(s.Now()).Seconds()) + 1
		w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
	}
}
