// Package audit writes ward's security event log: one JSON line for each
// event that someone investigating an attack needs (OWASP ASVS V16),
// beside the activity rows an account's owner sees. It never writes a
// secret: no code, password, token or cookie, and identifiers that name
// no account only masked and as a keyed digest. docs/SECURITY-EVENTS.md
// lists every event and where it is written.
package audit

import (
	"context"
	"io"
	"log/slog"
)

// Events.
const (
	// UnknownIdentifier: a sign-in, code or reset asked for an identifier
	// that names no account (or one that only signs in by its alias).
	UnknownIdentifier = "unknown_identifier"
	// FactorRefused: a code or password refused, unchecked, because the
	// factor rests after failures or is off.
	FactorRefused = "factor_refused"
	// RateLimited: a request over a limit (codes to an address or from a
	// network, password tries, mail checks, links).
	RateLimited = "rate_limited"
	// CrossOrigin: a state-changing request from another site refused.
	CrossOrigin = "cross_origin_refused"
	// CodeReplay: a code (or flow) used again after it was used.
	CodeReplay = "code_replay"
	// AdminTokenFailed: an admin API call without the right token.
	AdminTokenFailed = "admin_token_failed"
	// ForeignID: a signed-in request naming a session or contact of
	// another account.
	ForeignID = "foreign_id"
	// PasskeyRefused: a passkey answer that proved nothing (wrong origin
	// or RP ID, bad signature, unknown or removed passkey, a copied one).
	PasskeyRefused = "passkey_refused"
	// AnswerRefused: an authenticator answer that proves nothing (not
	// signed by the device, another prompt's, replayed).
	AnswerRefused = "answer_refused"
)

// Log writes security events. A nil *Log writes nothing.
type Log struct {
	l *slog.Logger
	// Observe, when set, is told of every event (metrics count them).
	Observe func(event, outcome string)
	// device names a User-Agent for people ("Firefox 128 on Linux").
	device func(userAgent string) string
}

// New writes events to w as JSON lines; device names the requester's
// device from its User-Agent, read only when an event is written.
func New(w io.Writer, device func(userAgent string) string) *Log {
	return &Log{l: slog.New(slog.NewJSONHandler(w, nil)).With("log", "security"), device: device}
}

// Request is who a request came from, for every event it causes.
type Request struct {
	ID        string
	IP        string
	UserAgent string
}

type requestKey struct{}

// WithRequest carries r in ctx for the events recorded under it.
func WithRequest(ctx context.Context, r Request) context.Context {
	return context.WithValue(ctx, requestKey{}, r)
}

// Record writes one event with its outcome and the request it came from.
func (l *Log) Record(ctx context.Context, event, outcome string, attrs ...slog.Attr) {
	if l == nil {
		return
	}
	if l.Observe != nil {
		l.Observe(event, outcome)
	}
	r, _ := ctx.Value(requestKey{}).(Request)
	device := ""
	if l.device != nil && r.UserAgent != "" {
		device = l.device(r.UserAgent)
	}
	all := append([]slog.Attr{slog.String("event", event), slog.String("outcome", outcome), slog.String("request_id", r.ID),
		slog.String("ip", r.IP), slog.String("device", device)}, attrs...)
	l.l.LogAttrs(ctx, slog.LevelWarn, "security event", all...)
}

// RequestIDs wraps a log handler so that every line logged with a
// request's context names that request (request_id): the access log line,
// the security events and any error it caused can be put together.
func RequestIDs(h slog.Handler) slog.Handler { return requestIDs{h} }

type requestIDs struct{ slog.Handler }

func (h requestIDs) Handle(ctx context.Context, r slog.Record) error {
	if req, ok := ctx.Value(requestKey{}).(Request); ok && req.ID != "" {
		r = r.Clone()
		r.AddAttrs(slog.String("request_id", req.ID))
	}
	return h.Handler.Handle(ctx, r)
}

func (h requestIDs) WithAttrs(a []slog.Attr) slog.Handler { return requestIDs{h.Handler.WithAttrs(a)} }
func (h requestIDs) WithGroup(g string) slog.Handler      { return requestIDs{h.Handler.WithGroup(g)} }
