package web_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// visitor is one browser on ward's pages, without JavaScript: it posts
// forms as a browser does and reads the pages it gets.
type visitor struct {
	t testing.TB
	w *ward
	c *http.Client
}

func (w *ward) visitor() *visitor { return &visitor{t: w.t, w: w, c: browserish()} }

// post sends a form; it returns the status, the redirect target and the page.
func (v *visitor) post(path string, form url.Values) (int, string, string) {
	v.t.Helper()
	req, _ := http.NewRequest("POST", v.w.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	res, err := v.c.Do(req)
	if err != nil {
		v.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header.Get("Location"), string(b)
}

func (v *visitor) get(path string) (int, string) {
	v.t.Helper()
	res, err := v.c.Get(v.w.srv.URL + path)
	if err != nil {
		v.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// setCookie stores a cookie as the page script would have.
func (v *visitor) setCookie(name, value string) {
	u, _ := url.Parse(v.w.srv.URL)
	v.c.Jar.SetCookies(u, []*http.Cookie{{Name: name, Value: value, Path: "/"}})
}

// signIn signs in with a mailed code through the pages.
func (v *visitor) signIn(email string) {
	v.t.Helper()
	if st, loc, _ := v.post("/sign-in", url.Values{"email": {email}, "method": {"code"}}); st != 303 || loc != "/sign-in/code" {
		v.t.Fatalf("sign-in: %d %s", st, loc)
	}
	if st, loc, _ := v.post("/sign-in/code", url.Values{"action": {"verify"}, "code": {v.w.code(email)}}); st != 303 || loc != "/account" {
		v.t.Fatalf("code: %d %s", st, loc)
	}
}

// Defect 1: the browser reports its zone URL-encoded (Asia%2FTokyo), as a
// cookie value must be; the dashboard and the mail check show times in it.
func TestTimesAreInTheViewersZone(t *testing.T) {
	w := start(t, "sqlite")
	w.createAccount("zone@example.com", "")
	v := w.visitor()
	v.signIn("zone@example.com")
	v.setCookie("ward_tz", url.QueryEscape("America/New_York"))
	_, page := v.get("/account?lang=en")
	if !strings.Contains(page, "EST") {
		t.Fatalf("the English dashboard does not show New York times (EST):\n%s", page)
	}
	v.setCookie("ward_tz", url.QueryEscape("Europe/Berlin"))
	_, page = v.get("/account?lang=ja")
	if !strings.Contains(page, "CET") || strings.Contains(page, "JST") {
		t.Fatalf("the Japanese dashboard does not show Berlin times (CET):\n%s", page)
	}
	// A name that is no zone falls back by language, quietly.
	v.setCookie("ward_tz", "..%2F..%2Fetc%2Fpasswd")
	if _, page = v.get("/account?lang=en"); !strings.Contains(page, "UTC") {
		t.Fatalf("a bad zone did not fall back to UTC for English")
	}
}
