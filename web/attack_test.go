package web_test

// Attacks of issue 10 on the HTTP API, on both stores.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/wardhq/ward/config"
)

// D9: a body ward cannot read exactly as sent is refused, and nothing
// happens: invalid UTF-8 (the decoder would turn it into U+FFFD and accept
// an address nobody typed) and a second JSON value after the first.
func TestBodiesThatAreNotExactlyOneJSONValueAreRefused(t *testing.T) {
	bothStores(t, func(t *testing.T, w *ward) {
		w.createAccount("taro@example.jp", "")
		for name, body := range map[string][]byte{
			"invalid UTF-8":    []byte("{\"email\": \"ta\xffro@example.jp\"}"),
			"two values":       []byte(`{"email": "taro@example.jp"} {"email": "jiro@example.jp"}`),
			"trailing garbage": []byte(`{"email": "taro@example.jp"} x`),
			"unknown field":    []byte(`{"email": "taro@example.jp", "admin": true}`),
			"not JSON at all":  []byte(`email=taro@example.jp`),
		} {
			for _, path := range []string{"/api/v1/sign-in/code", "/api/v1/password-reset"} {
				r := w.do(nil, "POST", path, body)
				if r.status != 400 || r.body["error"] != "invalid_input" {
					t.Errorf("%s to %s: %d %s", name, path, r.status, r.raw)
				}
			}
		}
		r := w.do(nil, "POST", "/api/v1/mail-check", []byte("{\"message\": \"Subject: hi\\n\\nhello\"} {}"))
		if r.status != 400 || r.body["error"] != "invalid_input" {
			t.Errorf("mail check with two values: %d %s", r.status, r.raw)
		}
		if r := w.do(nil, "GET", "/dev/mail.json?limit=10", nil); len(r.body["messages"].([]any)) != 0 {
			t.Fatalf("a refused request queued mail: %s", r.raw)
		}
	})
}

// signInCode signs email in through the JSON API in browser c and returns
// the answer to the verification.
func (w *ward) signInCode(c *http.Client, email string, hdr ...string) resp {
	w.t.Helper()
	r := w.do(c, "POST", "/api/v1/sign-in/code", map[string]string{"email": email})
	if r.status != 200 {
		w.t.Fatalf("start: %d %s", r.status, r.raw)
	}
	return w.do(c, "POST", "/api/v1/flows/verify", map[string]string{"flow": r.body["flow"].(string), "code": w.code(email)}, hdr...)
}

// D12: a browser gets its session as a cookie only, out of reach of page
// scripts; an API client asks for the token in the body. A new sign-in in
// a browser ends the session it held.
func TestSessionTokenReachesOnlyWhoAsksForIt(t *testing.T) {
	bothStores(t, func(t *testing.T, w *ward) {
		w.createAccount("aoi@example.jp", "")
		browser := browserish()
		r := w.signInCode(browser, "aoi@example.jp")
		if r.status != 200 || r.body["state"] != "signed_in" || r.body["token"] != nil {
			t.Fatalf("browser sign-in answered %d %s; want no token in the body", r.status, r.raw)
		}
		first := w.do(browser, "GET", "/api/v1/session", nil)
		if first.status != 200 {
			t.Fatalf("the cookie does not sign in: %d", first.status)
		}
		var old string
		for _, ck := range browser.Jar.Cookies(mustURL(t, w.srv.URL)) {
			if ck.Name == "ward_session" {
				old = ck.Value
			}
		}
		// Signing in again in the same browser replaces the session.
		if r := w.signInCode(browser, "aoi@example.jp"); r.status != 200 {
			t.Fatalf("second sign-in: %d %s", r.status, r.raw)
		}
		if r := w.do(nil, "GET", "/api/v1/session", nil, "Authorization", "Bearer "+old); r.status != 401 {
			t.Fatalf("the browser's earlier session still works after a new sign-in: %d", r.status)
		}
		api := w.signInCode(nil, "aoi@example.jp", "X-Ward-Session", "bearer")
		tok, _ := api.body["token"].(string)
		if r := w.do(nil, "GET", "/api/v1/session", nil, "Authorization", "Bearer "+tok); tok == "" || r.status != 200 {
			t.Fatalf("an API client that asked got no working token: %s", api.raw)
		}
	})
}

// D12: an operator signs one person out everywhere without disabling the
// account; a wrong admin token changes nothing.
func TestOperatorSignsOnePersonOut(t *testing.T) {
	bothStores(t, func(t *testing.T, w *ward) {
		w.createAccount("kei@example.jp", "")
		w.createAccount("other@example.jp", "")
		tok := w.signInCode(nil, "kei@example.jp", "X-Ward-Session", "bearer").body["token"].(string)
		keep := w.signInCode(nil, "other@example.jp", "X-Ward-Session", "bearer").body["token"].(string)
		if r := w.do(nil, "POST", "/api/v1/admin/accounts/kei@example.jp/sign-out", nil, "Authorization", "Bearer not-the-admin-token-at-all-0000"); r.status != 401 {
			t.Fatalf("a wrong admin token: %d", r.status)
		}
		if r := w.do(nil, "GET", "/api/v1/session", nil, "Authorization", "Bearer "+tok); r.status != 200 {
			t.Fatalf("refused admin call ended the session: %d", r.status)
		}
		r := w.do(nil, "POST", "/api/v1/admin/accounts/kei@example.jp/sign-out", nil, "Authorization", "Bearer "+w.admin)
		if r.status != 200 || r.body["sessions_ended"] != float64(1) {
			t.Fatalf("admin sign-out: %d %s", r.status, r.raw)
		}
		if r := w.do(nil, "GET", "/api/v1/session", nil, "Authorization", "Bearer "+tok); r.status != 401 {
			t.Fatalf("the session survived the operator's sign-out: %d", r.status)
		}
		if r := w.do(nil, "GET", "/api/v1/session", nil, "Authorization", "Bearer "+keep); r.status != 200 {
			t.Fatalf("another account's session ended: %d", r.status)
		}
		// The account itself still works.
		if r := w.signInCode(nil, "kei@example.jp"); r.status != 200 {
			t.Fatalf("sign-in after the operator's sign-out: %d %s", r.status, r.raw)
		}
		if r := w.do(nil, "POST", "/api/v1/admin/accounts/nobody@example.jp/sign-out", nil, "Authorization", "Bearer "+w.admin); r.status != 404 {
			t.Fatalf("unknown account: %d", r.status)
		}
	})
}

func mustURL(t *testing.T, s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// freshWindow waits, when a minute is about to end, for the next one: the
// per-minute limits count in fixed windows, and a burst must fall in one.
func freshWindow() {
	if left := time.Minute - time.Duration(time.Now().UnixNano())%time.Minute; left < 10*time.Second {
		time.Sleep(left)
	}
}

// D14: password sign-ins, mail checks and mail links are limited per
// source, an IPv6 /64 counting as one, with 429 and Retry-After; another
// source is not held back.
func TestRequestRatesPerSource(t *testing.T) {
	bothStores(t, func(t *testing.T, w *ward) {
		freshWindow()
		from := func(ip string) []string { return []string{"X-Forwarded-For", ip} }
		for i := range 6 {
			// Rotating unknown addresses, from one /64.
			ip := fmt.Sprintf("2001:db8:5:6::%x", i+1)
			r := w.do(nil, "POST", "/api/v1/sign-in/password", map[string]string{"email": fmt.Sprintf("nobody%d@example.jp", i), "password": "guess"},
				from(ip)...)
			switch {
			case i < 5 && r.status != 401:
				t.Fatalf("password try %d: %d %s", i+1, r.status, r.raw)
			case i == 5 && (r.status != 429 || r.header.Get("Retry-After") == "" || r.body["error"] != "rate_limited"):
				t.Fatalf("the 6th password try from one /64: %d %s (Retry-After %q)", r.status, r.raw, r.header.Get("Retry-After"))
			}
		}
		if r := w.do(nil, "POST", "/api/v1/sign-in/password", map[string]string{"email": "a@example.jp", "password": "guess"},
			from("2001:db8:5:7::1")...); r.status != 401 {
			t.Fatalf("another /64 was held back: %d", r.status)
		}
		for i := range 4 {
			r := w.do(nil, "POST", "/api/v1/mail-check", map[string]string{"message": "Subject: hi\n\nhello"}, from("198.51.100.7")...)
			if want := map[bool]int{true: 200, false: 429}[i < 3]; r.status != want {
				t.Fatalf("mail check %d: %d, want %d", i+1, r.status, want)
			}
		}
		for i := range 5 {
			r := w.do(nil, "GET", "/api/v1/not-me/no-such-token-0123456789", nil, from("198.51.100.8")...)
			if want := map[bool]int{true: 410, false: 429}[i < 4]; r.status != want {
				t.Fatalf("link %d: %d %s, want %d", i+1, r.status, r.raw, want)
			}
		}
		// Pages answer 429 too, in the person's language.
		req, _ := http.NewRequest("GET", w.srv.URL+"/not-me/no-such-token-0123456789", nil)
		req.Header.Set("X-Forwarded-For", "198.51.100.8")
		req.Header.Set("Accept-Language", "ja")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 429 || res.Header.Get("Retry-After") == "" {
			t.Fatalf("page over the limit: %d", res.StatusCode)
		}
	}, func(c *config.Config) {
		c.TrustedProxies = []string{"127.0.0.0/8"}
		c.Limits.PasswordPerIPMinute, c.Limits.MailCheckPerIPMinute, c.Limits.LinksPerIPMinute = 5, 3, 4
	})
}

// securityEvents reads the security event log: every line one JSON object.
func securityEvents(t *testing.T, w *ward) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(w.audit.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("a security event is not one JSON line: %q", line)
		}
		out = append(out, m)
	}
	return out
}

func findEvent(evs []map[string]any, name string) map[string]any {
	for _, e := range evs {
		if e["event"] == name {
			return e
		}
	}
	return nil
}

// D13: attacks that left no trace are security events, one JSON line each
// with the request id, IP and device, and no secret in any of them.
func TestSecurityEventsAreRecorded(t *testing.T) {
	bothStores(t, func(t *testing.T, w *ward) {
		w.createAccount("mai@example.jp", "a long and decent passphrase")
		w.createAccount("sho@example.jp", "")
		ua := []string{"User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"}
		// An identifier with no account.
		r := w.do(nil, "POST", "/api/v1/sign-in/code", map[string]string{"email": "nobody.here@example.jp"}, ua...)
		reqID := r.header.Get("X-Request-Id")
		// A wrong admin token; a cross-site POST.
		w.do(nil, "POST", "/api/v1/admin/accounts", map[string]string{"email": "x@example.jp"}, "Authorization", "Bearer guessed-admin-token-000000000")
		w.do(nil, "POST", "/api/v1/sign-in/code", map[string]string{"email": "mai@example.jp"}, "Sec-Fetch-Site", "cross-site")
		// A code used twice.
		r = w.do(nil, "POST", "/api/v1/sign-in/code", map[string]string{"email": "sho@example.jp"})
		flowTok, code := r.body["flow"].(string), w.code("sho@example.jp")
		first := w.do(nil, "POST", "/api/v1/flows/verify", map[string]string{"flow": flowTok, "code": code}, "X-Ward-Session", "bearer")
		w.do(nil, "POST", "/api/v1/flows/verify", map[string]string{"flow": flowTok, "code": code})
		// Another account's session named by a signed-in person.
		mai := w.signInCode(nil, "mai@example.jp", "X-Ward-Session", "bearer").body["token"].(string)
		sessions := w.do(nil, "GET", "/api/v1/account/sessions", nil, "Authorization", "Bearer "+first.body["token"].(string))
		shoSession := sessions.body["sessions"].([]any)[0].(map[string]any)["id"].(string)
		if r := w.do(nil, "DELETE", "/api/v1/account/sessions/"+shoSession, nil, "Authorization", "Bearer "+mai); r.status != 400 {
			t.Fatalf("ending another account's session: %d %s", r.status, r.raw)
		}
		// Wrong passwords until the factor rests; the next try is refused unchecked.
		for range 12 {
			w.do(nil, "POST", "/api/v1/sign-in/password", map[string]string{"email": "mai@example.jp", "password": "wrong guess"})
		}

		evs := securityEvents(t, w)
		for _, name := range []string{"unknown_identifier", "admin_token_failed", "cross_origin_refused", "code_replay", "foreign_id", "factor_refused"} {
			e := findEvent(evs, name)
			if e == nil {
				t.Errorf("no %s event in:\n%s", name, w.audit.String())
				continue
			}
			if e["request_id"] == "" || e["ip"] != "127.0.0.1" || e["outcome"] == "" || e["log"] != "security" {
				t.Errorf("%s event lacks its request: %v", name, e)
			}
		}
		if e := findEvent(evs, "unknown_identifier"); e != nil && (e["identifier"] != "n***@example.jp" || e["request_id"] != reqID ||
			e["device"] != "Firefox 128 on Linux x86_64") {
			t.Errorf("unknown identifier event: %v (request %s)", e, reqID)
		}
		log := w.audit.String()
		for _, secret := range []string{"nobody.here", code, mai, first.body["token"].(string), "wrong guess", "guessed-admin-token", w.admin} {
			if strings.Contains(log, secret) {
				t.Errorf("the security log contains a secret or raw identifier %q", secret)
			}
		}
	})
}
