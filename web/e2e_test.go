package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wardhq/ward/config"
	"github.com/wardhq/ward/instance"
	"github.com/wardhq/ward/internal/testdb"
)

type ward struct {
	t     testing.TB
	in    *instance.Instance
	srv   *httptest.Server
	admin string
	// audit holds the security event log.
	audit *lockedBuffer
}

// lockedBuffer is a buffer that handlers write while a test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// start runs a whole ward (dev mailbox, real HTTP) on the given database;
// tune changes its configuration first.
func start(t testing.TB, driver string, tune ...func(*config.Config)) *ward {
	return startOn(t, driver, nil, tune...)
}

// startAtLocalhost runs a ward whose public URL is http://localhost:<port>,
// as WebAuthn needs (an RP ID is a domain, never an IP address).
func startAtLocalhost(t testing.TB, driver string, tune ...func(*config.Config)) *ward {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return startOn(t, driver, ln, tune...)
}

// startOn runs ward on ln (nil: any local port, at its IP address).
func startOn(t testing.TB, driver string, ln net.Listener, tune ...func(*config.Config)) *ward {
	c := config.Default()
	if ln != nil {
		c.PublicURL = fmt.Sprintf("http://localhost:%d", ln.Addr().(*net.TCPAddr).Port)
	}
	c.DataDir = t.TempDir()
	c.AdminToken = "admin-token-for-tests-0123456789"
	c.LogLevel = "error"
	if driver == "postgres" {
		c.Database.Driver, c.Database.DSN = "postgres", testdb.PostgresDSN(t)
	}
	for _, f := range tune {
		f(&c)
	}
	sec := &lockedBuffer{}
	in, err := instance.New(context.Background(), c, slog.New(slog.NewTextHandler(io.Discard, nil)), instance.Options{Audit: sec})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Store.Close() })
	// Codes are mailed by the queue after the answer, as in production.
	if err := in.Jobs.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Jobs.Stop(context.Background()) })
	srv := httptest.NewUnstartedServer(in.Handler)
	if ln != nil {
		srv.Listener.Close()
		srv.Listener = ln
	}
	srv.Start()
	if ln != nil {
		srv.URL = c.PublicURL
	}
	t.Cleanup(srv.Close)
	return &ward{t: t, in: in, srv: srv, admin: c.AdminToken, audit: sec}
}

func bothStores(t *testing.T, fn func(t *testing.T, w *ward), tune ...func(*config.Config)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, start(t, "sqlite", tune...)) })
	t.Run("postgres", func(t *testing.T) { fn(t, start(t, "postgres", tune...)) })
}

type resp struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

// browserish is an HTTP client with a cookie jar, like one browser.
func browserish() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func (w *ward) do(c *http.Client, method, path string, body any, hdr ...string) resp {
	w.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte: // sent as it is
		rd = bytes.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	if strings.HasPrefix(path, "/dev/mail") {
		// Mail is written by the queue after the request's answer.
		w.drain()
	}
	req, _ := http.NewRequest(method, w.srv.URL+path, rd)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	if c == nil {
		c = http.DefaultClient
	}
	res, err := c.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var m map[string]any
	json.Unmarshal(raw, &m)
	return resp{status: res.StatusCode, header: res.Header, body: m, raw: string(raw)}
}

// drain waits until the queue has done all the work it was given.
func (w *ward) drain() {
	w.t.Helper()
	for i := 0; ; i++ {
		n, err := w.in.Jobs.Pending(context.Background())
		if err != nil {
			w.t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if i == 2000 {
			w.t.Fatalf("the queue still has %d jobs after 20 s", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (w *ward) createAccount(email, password string) {
	w.t.Helper()
	r := w.do(nil, "POST", "/api/v1/admin/accounts", map[string]string{"email": email, "password": password, "language": "ja"},
		"Authorization", "Bearer "+w.admin)
	if r.status != http.StatusCreated {
		w.t.Fatalf("creating account: %d %s", r.status, r.raw)
	}
}

// code reads the newest code mailed to addr from the dev mailbox.
func (w *ward) code(addr string) string {
	w.t.Helper()
	r := w.do(nil, "GET", "/dev/mail.json?limit=1&to="+url.QueryEscape(addr), nil)
	msgs, _ := r.body["messages"].([]any)
	if len(msgs) == 0 {
		w.t.Fatalf("no mail for %s: %s", addr, r.raw)
	}
	code, _ := msgs[0].(map[string]any)["code"].(string)
	return code
}

func TestPasswordlessSignInOverHTTP(t *testing.T) {
	bothStores(t, func(t *testing.T, w *ward) {
		w.createAccount("taro@example.jp", "")
		c := browserish()
		r := w.do(c, "POST", "/api/v1/sign-in/code", map[string]string{"email": "Taro@Example.JP"})
		if r.status != 200 || r.body["state"] != "code_sent" || r.body["destination"] != "t***@example.jp" {
			t.Fatalf("start: %d %s", r.status, r.raw)
		}
		flowTok := r.body["flow"].(string)
		code := w.code("taro@example.jp")
		// Pasted from a Japanese IME with a full-width space.
		typed := strings.Map(func(r rune) rune { return r - '0' + '０' }, code[:3]) + "　" + code[3:]
		r = w.do(c, "POST", "/api/v1/flows/verify", map[string]string{"flow": flowTok, "code": typed}, "X-Ward-Session", "bearer")
		if r.status != 200 || r.body["state"] != "signed_in" {
			t.Fatalf("verify: %d %s", r.status, r.raw)
		}
		tok := r.body["token"].(string)
		r = w.do(nil, "GET", "/api/v1/session", nil, "Authorization", "Bearer "+tok)
		if r.status != 200 || r.body["account"].(map[string]any)["email"] != "taro@example.jp" {
			t.Fatalf("session: %d %s", r.status, r.raw)
		}
		// The cookie set at sign-in works too, and is safe.
		r = w.do(c, "GET", "/api/v1/account/activity", nil)
		evs, _ := r.body["events"].([]any)
		if r.status != 200 || len(evs) != 2 {
			t.Fatalf("activity: %d %s", r.status, r.raw)
		}
		r = w.do(nil, "DELETE", "/api/v1/session", nil, "Authorization", "Bearer "+tok)
		if r.status != 200 {
			t.Fatalf("sign out: %d %s", r.status, r.raw)
		}
		if r = w.do(nil, "GET", "/api/v1/session", nil, "Authorization", "Bearer "+tok); r.status != http.StatusUnauthorized {
			t.Fatalf("signed-out token still works: %d", r.status)
		}
	})
}

var volatile = regexp.MustCompile(`"(flow|expires_at|resend_after|at)":"[^"]*"`)

// Known and unknown identifiers get the same status and the same body
// (apart from the random flow token and the clock).
func TestNoUserEnumeration(t *testing.T) {
	bothStores(t, func(t *testing.T, w *ward) {
		w.createAccount("known@example.com", "a perfectly fine passphrase")
		for _, path := range []string{"/api/v1/sign-in/code", "/api/v1/password-reset"} {
			k := w.do(nil, "POST", path, map[string]string{"email": "known@example.com"})
			u := w.do(nil, "POST", path, map[string]string{"email": "kxxxx@example.com"})
			if k.status != u.status || volatile.ReplaceAllString(k.raw, "") != volatile.ReplaceAllString(u.raw, "") {
				t.Errorf("%s: known %d %s, unknown %d %s", path, k.status, k.raw, u.status, u.raw)
			}
			// Nor does asking where the code went.
			dk := w.do(nil, "POST", "/api/v1/flows/delivery", map[string]string{"flow": k.body["flow"].(string)})
			du := w.do(nil, "POST", "/api/v1/flows/delivery", map[string]string{"flow": u.body["flow"].(string)})
			if dk.status != 200 || dk.status != du.status || volatile.ReplaceAllString(dk.raw, "") != volatile.ReplaceAllString(du.raw, "") {
				t.Errorf("%s delivery: known %d %s, unknown %d %s", path, dk.status, dk.raw, du.status, du.raw)
			}
		}
		k := w.do(nil, "POST", "/api/v1/sign-in/password", map[string]string{"email": "known@example.com", "password": "wrong wrong wrong"})
		u := w.do(nil, "POST", "/api/v1/sign-in/password", map[string]string{"email": "nobody@example.com", "password": "wrong wrong wrong"})
		if k.status != 401 || k.status != u.status || k.raw != u.raw {
			t.Errorf("password: known %d %s, unknown %d %s", k.status, k.raw, u.status, u.raw)
		}
	})
}

func TestBadInputIsRefusedAndChangesNothing(t *testing.T) {
	w := start(t, "sqlite")
	for _, tc := range []struct {
		path, body, field string
	}{
		{"/api/v1/sign-in/code", `{"email":"not an address"}`, "email"},
		{"/api/v1/sign-in/code", `{"email":"a@b.c", "extra": 1}`, ""},
		{"/api/v1/sign-in/code", `{"email":`, ""},
		{"/api/v1/password-reset", `{"email":"@example.com"}`, "email"},
	} {
		req, _ := http.NewRequest("POST", w.srv.URL+tc.path, strings.NewReader(tc.body))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		json.NewDecoder(res.Body).Decode(&m)
		res.Body.Close()
		if res.StatusCode != 400 || m["error"] != "invalid_input" || m["message"] == "" || (tc.field != "" && m["field"] != tc.field) {
			t.Errorf("%s %s: %d %v", tc.path, tc.body, res.StatusCode, m)
		}
	}
	if ms, _ := w.in.Store.RecentMessages(context.Background(), 10); len(ms) != 0 {
		t.Fatalf("bad input queued %d messages", len(ms))
	}
	r := w.do(nil, "POST", "/api/v1/admin/accounts", map[string]string{"email": "x@example.com", "phone": "090-1234-5678"}, "Authorization", "Bearer "+w.admin)
	if r.status != 400 || r.body["field"] != "phone" || !strings.Contains(r.body["message"].(string), "country code") {
		t.Fatalf("bad phone: %d %s", r.status, r.raw)
	}
	r = w.do(nil, "POST", "/api/v1/admin/accounts", map[string]string{"email": "x@example.com", "password": "password1"}, "Authorization", "Bearer "+w.admin)
	if r.status != 400 || r.body["field"] != "password" {
		t.Fatalf("common password: %d %s", r.status, r.raw)
	}
	if _, err := w.in.Accounts.Find(context.Background(), "x@example.com"); err == nil {
		t.Fatal("an account was stored from bad input")
	}
	if r := w.do(nil, "POST", "/api/v1/admin/accounts", map[string]string{"email": "y@example.com"}, "Authorization", "Bearer wrong"); r.status != 401 {
		t.Fatalf("admin API with a wrong token: %d", r.status)
	}
}

func TestCrossOriginRequestsAreRefused(t *testing.T) {
	w := start(t, "sqlite")
	w.createAccount("csrf@example.com", "")
	r := w.do(nil, "POST", "/api/v1/sign-in/code", map[string]string{"email": "csrf@example.com"}, "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site")
	if r.status != http.StatusForbidden {
		t.Fatalf("cross-site POST: %d %s", r.status, r.raw)
	}
	if ms, _ := w.in.Store.MessagesTo(context.Background(), "csrf@example.com", 10); len(ms) != 0 {
		t.Fatal("a cross-site request sent a code")
	}
	if r := w.do(nil, "POST", "/api/v1/sign-in/code", map[string]string{"email": "csrf@example.com"}, "Sec-Fetch-Site", "same-origin"); r.status != 200 {
		t.Fatalf("same-origin POST: %d %s", r.status, r.raw)
	}
}

func TestCookiesAreSafe(t *testing.T) {
	c := config.Default()
	c.DataDir, c.PublicURL, c.LogLevel = t.TempDir(), "https://id.example.com", "error"
	in, err := instance.New(context.Background(), c, slog.New(slog.NewTextHandler(io.Discard, nil)), instance.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Store.Close()
	in.Accounts.Create(context.Background(), accountFor("cookie@example.com"))
	req := httptest.NewRequest("POST", "https://id.example.com/sign-in", strings.NewReader("email=cookie%40example.com&method=code"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	in.Handler.ServeHTTP(rec, req)
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("sign-in form: %d %s", rec.Code, rec.Body)
	}
	names := map[string]*http.Cookie{}
	for _, ck := range rec.Result().Cookies() {
		names[ck.Name] = ck
	}
	for _, n := range []string{"__Host-ward_device", "__Host-ward_flow"} {
		ck := names[n]
		if ck == nil || !ck.Secure || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" || ck.Domain != "" {
			t.Errorf("cookie %s: %+v", n, ck)
		}
	}
	h := rec.Result().Header
	if !strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") || h.Get("X-Content-Type-Options") != "nosniff" ||
		h.Get("Referrer-Policy") != "no-referrer" || h.Get("Strict-Transport-Security") == "" {
		t.Errorf("security headers: %v", h)
	}
}

func TestResetAndNotMyAccountOverHTTP(t *testing.T) {
	bothStores(t, func(t *testing.T, w *ward) {
		w.createAccount("hiro@example.jp", "the first decent passphrase")
		a, _ := w.in.Accounts.Find(context.Background(), "hiro@example.jp")
		if _, err := w.in.Accounts.AddContact(context.Background(), a.ID, "email", "someone.else@example.org", true); err != nil {
			t.Fatal(err)
		}
		r := w.do(nil, "POST", "/api/v1/password-reset", map[string]string{"email": "hiro@example.jp"})
		flowTok := r.body["flow"].(string)
		// The reset mail carries a not-my-account link.
		mail := w.do(nil, "GET", "/dev/mail.json?limit=1&to=hiro@example.jp", nil)
		text := mail.body["messages"].([]any)[0].(map[string]any)["text"].(string)
		if !strings.Contains(text, "/not-my-account/") || !strings.Contains(text, "パスワード") {
			t.Fatalf("reset mail (ja):\n%s", text)
		}
		r = w.do(nil, "POST", "/api/v1/flows/verify", map[string]string{"flow": flowTok, "code": w.code("hiro@example.jp")})
		if r.status != 200 || r.body["state"] != "code_verified" {
			t.Fatalf("verify: %d %s", r.status, r.raw)
		}
		r = w.do(nil, "POST", "/api/v1/password-reset/complete", map[string]string{"flow": flowTok, "password": "qwerty123"})
		if r.status != 400 || r.body["field"] != "password" {
			t.Fatalf("weak password: %d %s", r.status, r.raw)
		}
		r = w.do(nil, "POST", "/api/v1/password-reset/complete", map[string]string{"flow": flowTok, "password": "a second, longer passphrase"})
		if r.status != 200 {
			t.Fatalf("complete: %d %s", r.status, r.raw)
		}

		// Someone else's address on the account: they remove it by the link.
		r = w.do(nil, "POST", "/api/v1/password-reset", map[string]string{"email": "hiro@example.jp"})
		flowTok = r.body["flow"].(string)
		w.in.Store.SQL().Exec("UPDATE codes SET created_at = created_at - 120000000") // past the resend cooldown
		r = w.do(nil, "POST", "/api/v1/password-reset/contact", map[string]string{"flow": flowTok, "contact": "someone.else@example.org"})
		if r.status != 200 || r.body["destination"] != "s***@example.org" {
			t.Fatalf("other contact: %d %s", r.status, r.raw)
		}
		mail = w.do(nil, "GET", "/dev/mail.json?limit=1&to=someone.else@example.org", nil)
		text = mail.body["messages"].([]any)[0].(map[string]any)["text"].(string)
		link := regexp.MustCompile(`/not-my-account/[A-Za-z0-9_-]+`).FindString(text)
		for range 2 { // a mail scanner prefetching the link changes nothing
			g := w.do(nil, "GET", link, nil)
			if g.status != 200 || !strings.Contains(g.raw, "s***@example.org") {
				t.Fatalf("GET link: %d", g.status)
			}
		}
		if cs, _ := w.in.Store.ContactsByAccount(context.Background(), a.ID); len(cs) != 2 {
			t.Fatal("GET changed the account")
		}
		req, _ := http.NewRequest("POST", w.srv.URL+link, nil)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		res, err := http.DefaultClient.Do(req)
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("POST link: %v %v", res.StatusCode, err)
		}
		res.Body.Close()
		if cs, _ := w.in.Store.ContactsByAccount(context.Background(), a.ID); len(cs) != 1 {
			t.Fatalf("contact not removed: %+v", cs)
		}
	})
}

func TestHTMLCodeSignInAndSignOut(t *testing.T) {
	w := start(t, "sqlite")
	w.createAccount("page@example.com", "")
	v := w.visitor()
	if st, loc, _ := v.post("/sign-in", url.Values{"email": {"page@example.com"}, "method": {"code"}}); st != 303 || loc != "/sign-in/code" {
		t.Fatalf("sign-in: %d %s", st, loc)
	}
	status, page := v.get("/sign-in/code?lang=ja")
	if status != 200 || !strings.Contains(page, `lang="ja"`) || !strings.Contains(page, "p***@example.com") || !strings.Contains(page, `autocomplete="one-time-code"`) {
		t.Fatalf("code page: %d\n%s", status, page)
	}
	if st, _, _ := v.post("/sign-in/code", url.Values{"action": {"verify"}, "code": {"12"}}); st != 400 {
		t.Fatalf("short code: %d", st)
	}
	if st, loc, _ := v.post("/sign-in/code", url.Values{"action": {"verify"}, "code": {w.code("page@example.com")}}); st != 303 || loc != "/account" {
		t.Fatalf("verify: %d %s", st, loc)
	}
	status, page = v.get("/account")
	if status != 200 || !strings.Contains(page, "page@example.com") || !strings.Contains(page, "サインイン") {
		t.Fatalf("account page: %d\n%s", status, page)
	}
	v.post("/sign-out", nil)
	if status, _ = v.get("/account"); status != 303 {
		t.Fatalf("account page after sign-out: %d", status)
	}
}
