// Package web serves ward's JSON API under /api/v1 and its HTML pages.
// Handlers translate HTTP to calls on the flow service and back; the rules
// live in flow and below.
package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/wardhq/ward/account"
	"github.com/wardhq/ward/audit"
	"github.com/wardhq/ward/flow"
	"github.com/wardhq/ward/keys"
	"github.com/wardhq/ward/mailcheck"
	"github.com/wardhq/ward/notify"
	"github.com/wardhq/ward/session"
	"github.com/wardhq/ward/store"
	"github.com/wardhq/ward/throttle"
)

// Mailbox is the outbox as the dev mailbox reads it.
type Mailbox interface {
	FlowByTokenHash(ctx context.Context, hash string) (store.Flow, error)
	MessagesByFlow(ctx context.Context, flowID string) ([]store.Message, error)
	MessagesTo(ctx context.Context, recipient string, limit int) ([]store.Message, error)
	RecentMessages(ctx context.Context, limit int) ([]store.Message, error)
	MessageByID(ctx context.Context, id string) (store.Message, error)
}

// Server holds what the handlers need.
type Server struct {
	Flow *flow.Service
	// OpenID is the OpenID Connect provider (nil: none).
	OpenID *OpenID
	// PublicURL is where people reach ward (links it hands out).
	PublicURL string
	// Brand is the name, logo and colour on every page.
	Brand Brand
	// PushPoll is how often a waiting sign-in page's stream looks for its
	// approval given through another instance (0: 200ms); answers given
	// here wake it at once.
	PushPoll time.Duration
	// answered wakes sign-in pages waiting for an answer; rung wakes open
	// authenticators waiting for a request.
	answered, rung broadcast
	// mailQueued wakes the dev mailbox's long polls, by flow.
	mailQueued bells
	Accounts   *account.Service
	Sessions   *session.Manager
	// Mailbox is read only by the dev mailbox pages.
	Mailbox  Mailbox
	Composer *notify.Composer
	// Places names where an IP is (nil: unknown).
	Places interface {
		Describe(ip, lang string) string
	}
	// MailCheck answers "is this mail really from us?" (nil: not offered).
	MailCheck *mailcheck.Checker
	// DevMailbox shows queued messages at /dev/mail (no relay configured).
	DevMailbox bool
	// RawMail writes a message as the relay would send it, signed (the
	// dev mailbox's .eml downloads); nil offers none.
	RawMail func(notify.Rendered) ([]byte, error)
	// SecureCookies is false only for plain-HTTP localhost development.
	SecureCookies  bool
	AdminToken     string
	TrustedProxies []netip.Prefix
	// Limiter applies the request rates per source (nil: none): mail
	// checks, and the links anyone holding a mail can follow.
	Limiter       *throttle.Limiter
	MailCheckRate throttle.Rate
	LinkRate      throttle.Rate
	// Audit is the security event log (nil: none).
	Audit *audit.Log
	Log   *slog.Logger
	// AccessLog, when set, gets one line per answered request: method,
	// route pattern (never the path, which may carry a token), status,
	// duration, client IP and request id.
	AccessLog *slog.Logger
	// Observe, when set, is told of every answered request (metrics).
	Observe func(route, method string, status int, took time.Duration)
	// streamsEnd is closed by EndStreams.
	streamsEnd chan struct{}
	endOnce    sync.Once
	Now        func() time.Time
	pages      *pages
}

type ctxKey int

const (
	deviceKey ctxKey = iota + 1
	// accountLangKey carries a signed-in account's language to the page.
	accountLangKey
)

const deviceCookieLife = 400 * 24 * time.Hour // the longest browsers keep

// Handler returns the whole HTTP surface.
func (s *Server) Handler() (http.Handler, error) {
	p, err := newPages()
	if err != nil {
		return nil, err
	}
	s.pages = p
	if s.PushPoll <= 0 {
		s.PushPoll = 200 * time.Millisecond
	}
	s.streamsEnd = make(chan struct{})
	mux := http.NewServeMux()
	s.routeAPI(mux)
	if s.MailCheck != nil {
		s.routeMailCheck(mux)
	}
	s.routeUnsolicited(mux)
	s.routeDashboard(mux)
	s.routeContacts(mux)
	s.routeStrength(mux)
	s.routePasskeys(mux)
	s.routeAuthenticator(mux)
	if s.OpenID != nil {
		s.routeOpenID(mux)
	}
	s.routePages(mux)
	// Browsers send Sec-Fetch-Site or Origin on every state-changing
	// request; a cross-origin one is refused before any handler runs.
	csrf := http.NewCrossOriginProtection()
	csrf.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.Audit.Record(r.Context(), audit.CrossOrigin, "refused", slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.String("origin", truncate(r.Header.Get("Origin"), 200)))
		s.writeError(w, r, refuse(http.StatusForbidden, "cross_origin", "", "cross-origin request refused"))
	}))
	return s.headers(s.requests(s.device(csrf.Handler(routed(mux))))), nil
}

type routeKey struct{}

// routed tells requests which pattern of mux answered: the mux names it
// on the request it is given (Request.Pattern), which middleware outside
// does not see, as each of them hands on a copy.
func routed(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mux.ServeHTTP(w, r)
		if p, ok := r.Context().Value(routeKey{}).(*string); ok {
			*p = r.Pattern
		}
	})
}

// recorder keeps the status a handler answered with.
type recorder struct {
	http.ResponseWriter
	status int
}

func (rw *recorder) WriteHeader(code int) {
	if rw.status == 0 {
		rw.status = code
	}
	rw.ResponseWriter.WriteHeader(code)
}

func (rw *recorder) Write(b []byte) (int, error) {
	if rw.status == 0 {
		rw.status = http.StatusOK
	}
	return rw.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (the live
// streams flush and extend their deadlines through it).
func (rw *recorder) Unwrap() http.ResponseWriter { return rw.ResponseWriter }

// requests gives every request an id, answered in X-Request-Id, and puts
// who sent it in the context for the security events it causes.
func (s *Server) requests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := keys.Token()[:16]
		w.Header().Set("X-Request-Id", id)
		// The device is named only if an event is written: most requests
		// cause none.
		ip := s.clientIP(r)
		ctx := audit.WithRequest(r.Context(), audit.Request{ID: id, IP: ip, UserAgent: truncate(r.UserAgent(), 512)})
		if s.AccessLog == nil && s.Observe == nil {
			next.ServeHTTP(w, r.WithContext(ctx))
			return
		}
		route := new(string)
		rec := &recorder{ResponseWriter: w}
		next.ServeHTTP(rec, r.WithContext(context.WithValue(ctx, routeKey{}, route)))
		took := time.Since(start)
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		if s.Observe != nil {
			s.Observe(*route, r.Method, rec.status, took)
		}
		if s.AccessLog != nil {
			s.AccessLog.LogAttrs(ctx, slog.LevelInfo, "request", slog.String("method", r.Method), slog.String("route", *route),
				slog.Int("status", rec.status), slog.Float64("duration_ms", float64(took.Microseconds())/1000), slog.String("ip", ip))
		}
	})
}

// contentPolicy is the Content-Security-Policy with images from imgSrc.
func contentPolicy(imgSrc string) string {
	return "default-src 'none'; style-src 'self'; script-src 'self'; connect-src 'self'; manifest-src 'self'; worker-src 'self'; img-src " + imgSrc +
		"; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
}

// headers sets the security headers every response carries.
func (s *Server) headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Content-Security-Policy", contentPolicy("'self'"))
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		if s.SecureCookies {
			h.Set("Strict-Transport-Security", "max-age=63072000")
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) cookieName(base string) string {
	if s.SecureCookies {
		return "__Host-" + base
	}
	return base
}

func (s *Server) setCookie(w http.ResponseWriter, name, value string, maxAge time.Duration) {
	c := &http.Cookie{Name: s.cookieName(name), Value: value, Path: "/", HttpOnly: true, Secure: s.SecureCookies, SameSite: http.SameSiteLaxMode}
	if maxAge > 0 {
		c.MaxAge = int(maxAge.Seconds())
	} else if maxAge < 0 {
		c.MaxAge = -1
	}
	http.SetCookie(w, c)
}

func (s *Server) cookie(r *http.Request, name string) string {
	c, err := r.Cookie(s.cookieName(name))
	if err != nil {
		return ""
	}
	return c.Value
}

// device gives every browser a long-lived device cookie, so that a later
// sign-in can tell a device ward has seen from a new one.
func (s *Server) device(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok := s.cookie(r, "ward_device")
		if tok == "" {
			tok = r.Header.Get("X-Ward-Device")
		}
		if len(tok) < 32 || len(tok) > 64 {
			tok = keys.Token()
			s.setCookie(w, "ward_device", tok, deviceCookieLife)
			w.Header().Set("X-Ward-Device", tok)
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), deviceKey, tok)))
	})
}

// client describes who sent r.
func (s *Server) client(r *http.Request) flow.Client {
	tok, _ := r.Context().Value(deviceKey).(string)
	return flow.Client{IP: s.clientIP(r), UserAgent: truncate(r.UserAgent(), 512), DeviceToken: tok, Session: s.sessionToken(r)}
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// clientIP is the peer's address, or, behind a trusted proxy, the nearest
// address in X-Forwarded-For that is not a trusted proxy.
func (s *Server) clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	addr = addr.Unmap()
	if !s.trusted(addr) {
		return addr.String()
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		a = a.Unmap()
		if !s.trusted(a) {
			return a.String()
		}
		addr = a
	}
	return addr.String()
}

func (s *Server) trusted(a netip.Addr) bool {
	for _, p := range s.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// limited answers 429 with Retry-After, before h runs, to a source that
// has sent more than rate requests of this name.
func (s *Server) limited(name string, rate *throttle.Rate, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ok, at, err := s.Limiter.Allow(r.Context(), name, s.clientIP(r), *rate)
		if err == nil && !ok {
			s.Audit.Record(r.Context(), audit.RateLimited, "refused", slog.String("limit", name+"_per_ip"), slog.String("path", r.URL.Path))
			rf := refuse(http.StatusTooManyRequests, flow.ErrRateLimited, "", "too many requests from your network; try again later")
			rf.RetryAt = at
			err = rf
		}
		if err == nil {
			h(w, r)
			return
		}
		rf := s.refusalOf(r, err)
		if strings.HasPrefix(r.URL.Path, "/api/") {
			s.writeError(w, r, rf)
			return
		}
		s.setRetryAfter(w, rf)
		s.afterAction(w, r, rf)
	}
}

// currentSession returns the session named by a bearer token or cookie.
func (s *Server) currentSession(r *http.Request) (store.Session, error) {
	return s.Sessions.Authenticate(r.Context(), s.sessionToken(r), s.clientIP(r))
}

// sessionToken is the session token a request carries: a bearer token,
// else the session cookie.
func (s *Server) sessionToken(r *http.Request) string {
	if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "Bearer ") {
		return strings.TrimPrefix(h, "Bearer ")
	}
	return s.cookie(r, "ward_session")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// readJSON decodes a small JSON body strictly.
func readJSON(r *http.Request, v any) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10+1))
	if err != nil {
		return refuse(http.StatusBadRequest, flow.ErrInvalidInput, "", "the request body could not be read")
	}
	if len(body) > 64<<10 {
		return refuse(http.StatusBadRequest, flow.ErrInvalidInput, "", "the request body is larger than 64 KiB")
	}
	if err := decodeJSON(body, v); err != nil {
		return refuse(http.StatusBadRequest, flow.ErrInvalidInput, "", err.Error())
	}
	return nil
}

// decodeJSON decodes exactly one JSON value with only the known fields.
// Invalid UTF-8 is refused rather than silently turned into U+FFFD (an
// address would otherwise be accepted as something nobody typed), and so
// is anything after the value.
func decodeJSON(body []byte, v any) error {
	if !utf8.Valid(body) {
		return errors.New("the request body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("the request body is not the expected JSON: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("the request body has more after its JSON value")
	}
	return nil
}

// EndStreams ends the live streams (server-sent events) this server holds
// open, as it shuts down: they would otherwise keep it waiting, and
// their browsers reconnect, to another instance.
func (s *Server) EndStreams() { s.endOnce.Do(func() { close(s.streamsEnd) }) }
