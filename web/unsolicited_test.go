package web_test

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// The "this wasn't me" link of a code mail, followed in a browser: the GET
// shows who asked and changes nothing, the POST stops codes from there.
func TestThisWasntMeOverHTTP(t *testing.T) {
	w := start(t, "sqlite")
	w.createAccount("emi@example.jp", "")
	c := browserish()
	if r := w.do(c, "POST", "/api/v1/sign-in/code", map[string]string{"email": "emi@example.jp"}, "X-Forwarded-For", "198.51.100.8"); r.status != 200 {
		t.Fatalf("start: %d %s", r.status, r.raw)
	}
	r := w.do(nil, "GET", "/dev/mail.json?limit=1&to=emi@example.jp", nil)
	text := r.body["messages"].([]any)[0].(map[string]any)["text"].(string)
	m := regexp.MustCompile(`https?://[^/\s]+(/not-me/[A-Za-z0-9_-]+)`).FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("no link in:\n%s", text)
	}
	for i := 0; i < 2; i++ { // reading twice changes nothing
		res, err := c.Get(w.srv.URL + m[1] + "?lang=en")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || !strings.Contains(string(b), "e***@example.jp") || !strings.Contains(string(b), `method="post"`) {
			t.Fatalf("GET %d:\n%s", res.StatusCode, b)
		}
	}
	if r := w.do(c, "POST", "/api/v1"+m[1], nil, "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"); r.status != http.StatusForbidden {
		t.Fatalf("cross-site POST: %d", r.status)
	}
	r = w.do(c, "POST", "/api/v1"+m[1], nil)
	if r.status != 200 || r.body["suppressed_until"] == nil {
		t.Fatalf("POST: %d %s", r.status, r.raw)
	}
	if r := w.do(c, "POST", "/api/v1"+m[1], nil); r.status == 200 {
		t.Fatal("the link worked twice")
	}
}

func TestAliasOverHTTP(t *testing.T) {
	w := start(t, "sqlite")
	w.createAccount("ken@example.jp", "")
	c := browserish()
	r := w.do(c, "POST", "/api/v1/sign-in/code", map[string]string{"email": "ken@example.jp"})
	r = w.do(c, "POST", "/api/v1/flows/verify", map[string]string{"flow": r.body["flow"].(string), "code": w.code("ken@example.jp")}, "X-Ward-Session", "bearer")
	tok, _ := r.body["token"].(string)
	if tok == "" {
		t.Fatalf("sign-in: %s", r.raw)
	}
	if r := w.do(c, "PUT", "/api/v1/account/alias", map[string]any{"alias_only": "yes"}, "Authorization", "Bearer "+tok); r.status != 400 || r.body["field"] != "alias_only" {
		t.Fatalf("bad input: %d %s", r.status, r.raw)
	}
	r = w.do(c, "PUT", "/api/v1/account/alias", map[string]any{"alias_only": true}, "Authorization", "Bearer "+tok)
	alias, _ := r.body["alias"].(string)
	if r.status != 200 || alias == "" || r.body["alias_only"] != true {
		t.Fatalf("alias: %d %s", r.status, r.raw)
	}
	pub := w.do(browserish(), "POST", "/api/v1/sign-in/code", map[string]string{"email": "ken@example.jp"})
	unk := w.do(browserish(), "POST", "/api/v1/sign-in/code", map[string]string{"email": "kan@example.jp"})
	if pub.status != unk.status || pub.body["destination"] != unk.body["destination"] || pub.body["state"] != unk.body["state"] {
		t.Fatalf("public %s vs unknown %s", pub.raw, unk.raw)
	}
	if r := w.do(nil, "GET", "/dev/mail.json?limit=10&to=ken@example.jp", nil); len(r.body["messages"].([]any)) != 1 {
		t.Fatalf("mail sent for the locked address: %s", r.raw)
	}
	r = w.do(browserish(), "POST", "/api/v1/sign-in/code", map[string]string{"email": alias})
	if r.status != 200 || r.body["state"] != "code_sent" {
		t.Fatalf("alias sign-in: %d %s", r.status, r.raw)
	}
}
