package web_test

import (
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/wardhq/ward/config"
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

// signedIn is a new account's owner signed in through the pages.
func (w *ward) signedIn(email string) *visitor {
	w.t.Helper()
	w.createAccount(email, "")
	v := w.visitor()
	v.signIn(email)
	return v
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
	v := w.signedIn("zone@example.com")
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

// Defects 3 and 4: a refused input says what is wrong, in the page's
// language: a weak password says why, an address with a bad domain says
// so in Japanese as it does in English.
func TestRefusedInputSaysWhyInBothLanguages(t *testing.T) {
	w := start(t, "sqlite")
	w.createAccount("why@example.com", "")
	for lang, want := range map[string][]string{
		"en": {"too short", "too common", "is not a valid domain"},
		"ja": {"パスワードが短すぎます", "よく使われている", "有効なドメインではありません"},
	} {
		v := w.visitor()
		v.get("/reset?lang=" + lang)
		if st, loc, _ := v.post("/reset", url.Values{"email": {"why@example.com"}}); st != 303 {
			t.Fatalf("reset: %d %s", st, loc)
		}
		if st, loc, _ := v.post("/reset/code", url.Values{"action": {"verify"}, "code": {w.code("why@example.com")}}); st != 303 {
			t.Fatalf("reset code: %d %s", st, loc)
		}
		for i, pw := range []string{"short", "password1234"} {
			st, _, page := v.post("/reset/password", url.Values{"password": {pw}})
			if st != 400 || !strings.Contains(page, want[i]) {
				t.Errorf("%s: the password %q was answered %d without saying %q:\n%s", lang, pw, st, want[i], page)
			}
		}
		if _, _, page := v.post("/sign-in", url.Values{"email": {"you@example"}, "method": {"code"}}); !strings.Contains(page, want[2]) {
			t.Errorf("%s: you@example was refused without saying %q:\n%s", lang, want[2], page)
		}
	}
}

// Defect 5: an identifier that is neither an address nor one of ward's
// sign-in aliases is refused as a mistyped address, by the API and the
// page alike, and nothing is sent.
func TestMalformedIdentifiersAreRefusedEverywhere(t *testing.T) {
	w := start(t, "sqlite")
	for _, id := range []string{"notanemail", "you@@example.com", "you@example", "no-such-thing", "@example.com"} {
		r := w.do(nil, "POST", "/api/v1/sign-in/code", map[string]string{"email": id})
		if r.status != 400 || r.body["error"] != "invalid_input" || r.body["field"] != "email" {
			t.Errorf("API: %q answered %d %s", id, r.status, r.raw)
		}
		st, _, page := w.visitor().post("/sign-in", url.Values{"email": {id}, "method": {"code"}})
		if st != 400 || !strings.Contains(page, `role="alert"`) {
			t.Errorf("page: %q answered %d", id, st)
		}
	}
	// An alias in ward's shape is looked up as one: the answer is the
	// usual one whether or not it names an account.
	if r := w.do(nil, "POST", "/api/v1/sign-in/code", map[string]string{"email": "amber-birch-0042"}); r.status != 200 {
		t.Errorf("an alias was refused: %d %s", r.status, r.raw)
	}
	if r := w.do(nil, "GET", "/dev/mail.json?limit=10", nil); len(r.body["messages"].([]any)) != 0 {
		t.Fatalf("a refused identifier got mail: %s", r.raw)
	}
}

// The brand is on every page (name, logo, colour) and in every mail, and
// every page's footer links to the mail check.
func TestBrandOnEveryPageAndMail(t *testing.T) {
	logo := filepath.Join(t.TempDir(), "acme.svg")
	os.WriteFile(logo, []byte(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><rect width="10" height="10"/></svg>`), 0o600)
	w := start(t, "sqlite", func(c *config.Config) {
		c.Brand.Name, c.Brand.Accent, c.Brand.Logo = "Acme ID", "#7a1fa2", logo
	})
	w.createAccount("brand@example.com", "")
	v := w.visitor()
	for _, path := range []string{"/sign-in", "/reset", "/check-mail", "/sign-in?lang=ja"} {
		_, page := v.get(path)
		for _, want := range []string{`<span>Acme ID</span>`, `<img src="/brand/logo"`, `href="/brand.css"`, `<a href="/check-mail">`} {
			if !strings.Contains(page, want) {
				t.Errorf("%s lacks %s", path, want)
			}
		}
	}
	if st, css := v.get("/brand.css"); st != 200 || !strings.Contains(css, "--accent: #7a1fa2") {
		t.Errorf("brand.css: %d %q", st, css)
	}
	if st, svg := v.get("/brand/logo"); st != 200 || !strings.Contains(svg, "<svg") {
		t.Errorf("logo: %d", st)
	}
	v.signIn("brand@example.com")
	r := w.do(nil, "GET", "/dev/mail.json?limit=1&to=brand%40example.com", nil)
	text, _ := r.body["messages"].([]any)[0].(map[string]any)["text"].(string)
	if !strings.HasPrefix(text, "Acme ID") || !strings.Contains(text, "/check-mail") {
		t.Errorf("the code mail does not carry the brand:\n%s", text)
	}
}

// Defect 6: after the last wrong try the code page says the code is
// spent and when a new one can be asked for, offers no code field, and
// the resend button is disabled (not merely looking enabled) until then.
func TestSpentCodeShowsTheWait(t *testing.T) {
	w := start(t, "sqlite")
	w.createAccount("spent@example.com", "")
	v := w.visitor()
	if st, _, _ := v.post("/sign-in", url.Values{"email": {"spent@example.com"}, "method": {"code"}}); st != 303 {
		t.Fatalf("sign-in: %d", st)
	}
	right := w.code("spent@example.com")
	wrong := "000000"
	if right == wrong {
		wrong = "111111"
	}
	var page string
	for range 5 {
		_, _, page = v.post("/sign-in/code", url.Values{"action": {"verify"}, "code": {wrong}})
	}
	for _, got := range []string{page, func() string { _, p := v.get("/sign-in/code?lang=en"); return p }()} {
		if strings.Contains(got, `name="code"`) || !strings.Contains(got, "This code can no longer be used") {
			t.Fatalf("a spent code still offers its field or does not say so:\n%s", got)
		}
		if !strings.Contains(got, `value="resend" type="submit" class="secondary"`) || !strings.Contains(got, " disabled aria-describedby=\"resend-when\"") ||
			!strings.Contains(got, "You can ask for a new code at <strong>") {
			t.Fatalf("the resend button is not disabled with its time:\n%s", got)
		}
	}
}

// Defect 7: Secure my account on an account without a password asks for
// no current password, says plainly what it did, and records no sign-out
// when there was no other session to end.
func TestSecureAccountWithoutPassword(t *testing.T) {
	w := start(t, "sqlite")
	v := w.signedIn("nopw@example.com")
	_, page := v.get("/account/secure?lang=en")
	if strings.Contains(page, `name="current_password"`) || !strings.Contains(page, "Set a password (optional)") {
		t.Fatalf("the secure page asks for a password the account does not have:\n%s", page)
	}
	st, _, page := v.post("/account/secure", url.Values{})
	if st != 200 || !strings.Contains(page, `class="banner banner-ok" role="status"`) || !strings.Contains(page, "No other device was signed in.") {
		t.Fatalf("securing answered %d:\n%s", st, page)
	}
	_, page = v.get("/account")
	if strings.Contains(page, ">Signed out<") || strings.Contains(page, "Session ended") {
		t.Fatalf("the activity gained a sign-out row with no session ended:\n%s", page)
	}
}

// Defects 2, 8 and 9: on the dashboard every table cell carries its label
// for narrow screens, SMS notices cannot be ticked without a phone, and
// "this was me" / "this wasn't me" are a pair of buttons.
func TestDashboardRowsAreLabelled(t *testing.T) {
	w := start(t, "sqlite")
	v := w.signedIn("rows@example.com")
	_, page := v.get("/account?lang=ja")
	for _, td := range regexp.MustCompile(`<td[^>]*>`).FindAllString(page, -1) {
		if !strings.Contains(td, "data-label=") {
			t.Errorf("a cell without a label for narrow screens: %s", td)
		}
	}
	for _, want := range []string{`data-label="初めて使用"`, `data-label="最終使用"`} {
		if !strings.Contains(page, want) {
			t.Errorf("the devices' dates lack %s", want)
		}
	}
	sms := regexp.MustCompile(`<input type="checkbox" id="n-[a-z_]+-sms"[^>]*>`).FindAllString(page, -1)
	if len(sms) == 0 {
		t.Fatal("no SMS boxes")
	}
	for _, box := range sms {
		if strings.Contains(box, "checked") || !strings.Contains(box, "disabled") {
			t.Errorf("an SMS box on an account without a phone: %s", box)
		}
	}
	if strings.Contains(page, "· email") || strings.Contains(page, "· sms") || !strings.Contains(page, "： メール") && !strings.Contains(page, ": メール") {
		t.Errorf("the check boxes' labels are not in Japanese")
	}
	if !regexp.MustCompile(`<div class="pair"><form method="post" action="/account/activity/[^"]+/mine"><button type="submit" class="secondary">[^<]+</button></form>\s*<a class="button danger-outline" href="/account/secure\?event=`).MatchString(page) {
		t.Errorf("'this was me' and 'this wasn't me' are not a pair of buttons")
	}
}

// Defect 10: the mail check keeps what was pasted, and a phishing verdict
// says what to do next, with the way to secure the account.
func TestMailCheckVerdictSaysWhatToDo(t *testing.T) {
	w := start(t, "sqlite")
	mail := "From: PayPaI Security <security@paypal-login.example>\nSubject: Urgent: your account will be closed\n\nConfirm your password and card number within 24 hours: http://bit.ly/x1\n"
	_, _, page := w.visitor().post("/check-mail?lang=en", url.Values{"message": {mail}})
	if !strings.Contains(page, "PayPaI Security &lt;security@paypal-login.example&gt;") {
		t.Errorf("the pasted mail is gone from the form")
	}
	if !strings.Contains(page, "What to do now") || !strings.Contains(page, `<a href="/account/secure">`) {
		t.Errorf("the verdict does not say what to do next:\n%s", page)
	}
}

// The dev mailbox offers each mail's source exactly as the relay would
// send it, signed, and the mail check knows it for ward's own.
func TestDevMailSourceIsGenuine(t *testing.T) {
	w := start(t, "sqlite")
	w.createAccount("source@example.com", "")
	w.do(nil, "POST", "/api/v1/sign-in/code", map[string]string{"email": "source@example.com"})
	r := w.do(nil, "GET", "/dev/mail.json?limit=1&to=source%40example.com", nil)
	id, _ := r.body["messages"].([]any)[0].(map[string]any)["id"].(string)
	_, page := w.visitor().get("/dev/mail")
	if !strings.Contains(page, `href="/dev/mail/`+id+`.eml"`) {
		t.Fatalf("the dev mailbox does not offer the source of %s", id)
	}
	res, err := http.Get(w.srv.URL + "/dev/mail/" + id + ".eml")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.Header.Get("Content-Type") != "message/rfc822" || !strings.Contains(string(raw), "DKIM-Signature:") {
		t.Fatalf("source: %s %q\n%s", res.Status, res.Header.Get("Content-Type"), raw)
	}
	check := w.do(nil, "POST", "/api/v1/mail-check", raw, "Content-Type", "message/rfc822")
	if check.status != 200 || check.body["verdict"] != "genuine" {
		t.Fatalf("the mail check on ward's own source: %d %s", check.status, check.raw)
	}
	if st, _ := w.visitor().get("/dev/mail/no-such-message.eml"); st != 404 {
		t.Errorf("an unknown message: %d", st)
	}
}
