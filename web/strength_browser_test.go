package web_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// In Chromium: set up an authenticator app from the QR page (its key read
// off the page, its codes made by oathtool), step up with password and
// app, turn on two-step verification (recovery codes shown once), then
// sign in again with the password and a recovery code.
func TestBrowserAuthenticatorAppAndTwoStep(t *testing.T) {
	w := start(t, "sqlite")
	b := newBrowser(t, w)
	const email, password = "nagi@example.jp", "correct horse battery staple"
	w.createAccount(email, password)
	ctx := b.tab()
	b.signIn(ctx, email)
	b.do(ctx, "name the app", chromedp.SendKeys(chromedp.CSS("#app-name"), "My phone"))
	b.submit(ctx, "add an app", chromedp.Click(chromedp.CSS(`form[action="/account/authenticators"] button`)), "img.qr")
	drawn, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => { const i = document.querySelector("img.qr"); return i.complete && i.naturalWidth >= 200 })()`))
	if err != nil || !drawn {
		t.Fatalf("the QR code is not drawn: %v", err)
	}
	b.shot(ctx, "totp-setup")
	key := b.text(ctx, "code.key")
	b.do(ctx, "type the app's code", chromedp.SendKeys(chromedp.CSS("#code"), oathtool(t, key, 0)))
	b.submit(ctx, "finish", chromedp.Submit(chromedp.CSS("#code")), "#security")
	if sec := b.text(ctx, "#security"); !strings.Contains(sec, "My phone") || !strings.Contains(sec, "authenticator app") {
		t.Fatalf("the app is not listed:\n%s", sec)
	}
	// "Secure my account" lists the new method, with a way to take it off.
	b.do(ctx, "secure page", chromedp.Navigate(w.srv.URL+"/account/secure"), chromedp.WaitVisible(chromedp.CSS(`form[action="/account/secure"]`)))
	if page := b.text(ctx, "main"); !strings.Contains(page, "Sign-in method added") || !strings.Contains(page, "Remove this sign-in method") {
		t.Fatalf("the new app is not on Secure my account:\n%s", page)
	}
	b.do(ctx, "dashboard", chromedp.Navigate(w.srv.URL+"/account"), chromedp.WaitVisible(chromedp.CSS("#security")))
	// Turning on two-step needs two factors: the page asks for them.
	b.submit(ctx, "two-step on", chromedp.Click(chromedp.CSS(`form[action="/account/two-step"] button`)), "#password")
	if got := b.location(ctx); got != "/account/step-up" {
		t.Fatalf("asked to step up at %s", got)
	}
	b.do(ctx, "password and app", chromedp.SendKeys(chromedp.CSS("#password"), password),
		chromedp.SendKeys(chromedp.CSS("#code"), oathtool(t, key, 30*time.Second)))
	b.submit(ctx, "step up", chromedp.Submit(chromedp.CSS("#code")), `[role="status"]`)
	b.submit(ctx, "two-step on", chromedp.Click(chromedp.CSS(`form[action="/account/two-step"] button`)), "ol.codes")
	b.shot(ctx, "recovery-codes")
	codes := strings.Fields(b.text(ctx, "ol.codes"))
	if len(codes) != 10 {
		t.Fatalf("recovery codes shown: %q", codes)
	}
	b.submit(ctx, "saved", chromedp.Click(chromedp.CSS(`a.button[href="/account#security"]`)), "#security")
	if sec := b.text(ctx, "main"); !strings.Contains(sec, "Turn off two-step verification") || !strings.Contains(sec, "two factors (AAL2)") {
		t.Fatalf("security info after turning two-step on:\n%s", sec)
	}

	// Another browser: the password is no longer enough. (Two-step asks
	// more than a new device would: no mailed code first.)
	other := b.tab()
	b.do(other, "password sign-in", chromedp.Navigate(w.srv.URL+"/sign-in?lang=en"),
		chromedp.SendKeys(chromedp.CSS("#email"), email), chromedp.SendKeys(chromedp.CSS("#password"), password))
	b.submit(other, "sign in", chromedp.Click(chromedp.CSS(`button[value="password"]`)), "details")
	if got := b.location(other); got != "/sign-in/second-step" {
		t.Fatalf("two-step did not hold the sign-in: %s", got)
	}
	b.shot(other, "second-step")
	b.do(other, "use a recovery code", chromedp.Click(chromedp.CSS("details summary")), chromedp.SendKeys(chromedp.CSS("#recovery"), codes[0]))
	b.submit(other, "recovery code", chromedp.Submit(chromedp.CSS("#recovery")), "#security")
	if n := b.text(other, `[role="status"]`); !strings.Contains(n, "You signed in with a recovery code") {
		t.Fatalf("not led to the review:\n%s", n)
	}
}

// An account without a password, on a session no longer fresh, confirms
// it is the owner by a code to its email before adding its first app.
func TestBrowserStaleSessionConfirmsByEmailFirst(t *testing.T) {
	w := start(t, "sqlite")
	b := newBrowser(t, w)
	const email = "kaede@example.jp"
	w.createAccount(email, "")
	ctx := b.tab()
	b.signIn(ctx, email)
	w.in.Flow.Now = func() time.Time { return time.Now().Add(20 * time.Minute) } // older than sessions.fresh_for
	b.submit(ctx, "add an app", chromedp.Click(chromedp.CSS(`form[action="/account/authenticators"] button`)), "input.code")
	b.do(ctx, "the mailed code", chromedp.SendKeys(chromedp.CSS("input.code"), w.code(email)))
	b.submit(ctx, "confirm", chromedp.Click(chromedp.CSS(`button[value="verify"]`)), `[role="status"]`)
	if n := b.text(ctx, `[role="status"]`); !strings.Contains(n, "you confirmed it's you") {
		t.Fatalf("after confirming: %q", n)
	}
	w.in.Flow.Now = time.Now // the step-up was stamped by the sessions' clock
	b.submit(ctx, "add an app", chromedp.Click(chromedp.CSS(`form[action="/account/authenticators"] button`)), "img.qr")
}
