package web_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// ward Authenticator in Chromium, with the sign-in page in another
// browser: pair the phone (its key cannot be exported), sign in with the
// password, approve by typing the number the sign-in page shows, and on
// another sign-in answer "No, it's not me" (which offers to secure the
// account, and stops the waiting sign-in).
func TestBrowserAuthenticatorApproval(t *testing.T) {
	w := startAtLocalhost(t, "sqlite")
	b := newBrowser(t, w)
	const email, password = "ritsu@example.jp", "correct horse battery staple"
	w.createAccount(email, password)
	c := browserish()
	w.twoFactors(c, email, password)
	r := w.do(c, "POST", "/api/v1/account/authenticator-pairing", map[string]string{"name": "Ritsu's phone"})
	link, _ := r.body["link"].(string)
	if !strings.Contains(link, "/authenticator/#pair=") {
		t.Fatalf("pairing: %s", r.raw)
	}

	// The test's browser contexts are incognito, where Chromium refuses
	// push subscriptions (and says so); the app goes on without them, and
	// Web Push is tested against a push service of the test's own.
	b.expect("does not support the Push API in incognito mode")
	phone := b.tab()
	b.do(phone, "open the link", chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS("#pair-button")))
	b.do(phone, "pair", chromedp.Click(chromedp.CSS("#pair-button")), chromedp.WaitVisible(chromedp.CSS("#paired-status")))
	b.shot(phone, "authenticator-paired")
	exported, err := chromedp.Run(phone, chromedp.Evaluate[string](`new Promise((resolve) => {
		const r = indexedDB.open("ward-authenticator", 1);
		r.onsuccess = () => {
			const q = r.result.transaction("device").objectStore("device").get("me");
			q.onsuccess = () => crypto.subtle.exportKey("pkcs8", q.result.key).then(() => resolve("exported"), (e) => resolve("refused: " + e.name));
		};
	})`, chromedp.EvalAwaitPromise))
	if err != nil || !strings.HasPrefix(exported, "refused") {
		t.Fatalf("the device key could be exported: %q %v", exported, err)
	}
	// It shows authenticator-app codes too: one of them steps a session up.
	b.do(phone, "codes", chromedp.WaitVisible(chromedp.CSS("#totp-code")))
	shown := strings.TrimSpace(b.text(phone, "#totp-code"))
	if r = w.do(c, "POST", "/api/v1/account/step-up", map[string]string{"code": shown}); r.status != 200 {
		t.Fatalf("the code the phone shows (%q): %d %s", shown, r.status, r.raw)
	}
	if r = w.do(c, "PUT", "/api/v1/account/two-step", map[string]any{"on": true}); r.status != 200 {
		t.Fatalf("two-step: %s", r.raw)
	}

	laptop := b.tab()
	b.do(laptop, "sign-in page", chromedp.Navigate(w.srv.URL+"/sign-in?lang=en"),
		chromedp.SendKeys(chromedp.CSS("#email"), email), chromedp.SendKeys(chromedp.CSS("#password"), password))
	b.submit(laptop, "password", chromedp.Click(chromedp.CSS(`button[value="password"]`)), "#push-start")
	b.submit(laptop, "approve on the authenticator", chromedp.Click(chromedp.CSS("#push-start")), "#push-number")
	number := strings.TrimSpace(b.text(laptop, "#push-number"))
	b.shot(laptop, "push-number")

	b.do(phone, "the request arrives", chromedp.WaitVisible(chromedp.CSS("#prompt-number")))
	if cx := b.text(phone, "#prompt-context"); !strings.Contains(cx, "127.0.0.1") || !strings.Contains(cx, "Signing in to") {
		t.Fatalf("the request's context: %q", cx)
	}
	b.shot(phone, "authenticator-request")
	b.do(phone, "type the number and approve", chromedp.SendKeys(chromedp.CSS("#prompt-number"), number), chromedp.Click(chromedp.CSS("#approve")),
		chromedp.WaitVisible(chromedp.CSS("#paired-status")))
	b.do(laptop, "signed in by itself", chromedp.WaitVisible(chromedp.CSS("#security")))
	if sec := b.text(laptop, "main"); !strings.Contains(sec, "two factors (AAL2)") {
		t.Fatalf("after the approval:\n%s", sec)
	}

	// Someone else, with the password, on another computer.
	intruder := b.tab()
	b.expect("status of 403 (Forbidden) (" + w.srv.URL + "/api/v1/flows/second-step/push/status)")
	b.do(intruder, "sign-in page", chromedp.Navigate(w.srv.URL+"/sign-in?lang=en"),
		chromedp.SendKeys(chromedp.CSS("#email"), email), chromedp.SendKeys(chromedp.CSS("#password"), password))
	b.submit(intruder, "password", chromedp.Click(chromedp.CSS(`button[value="password"]`)), "#push-start")
	b.submit(intruder, "ask for approval", chromedp.Click(chromedp.CSS("#push-start")), "#push-number")
	b.do(phone, "the request arrives", chromedp.WaitVisible(chromedp.CSS("#not-me")))
	b.do(phone, "not me", chromedp.Click(chromedp.CSS("#not-me")), chromedp.WaitVisible(chromedp.CSS("#secure")))
	b.shot(phone, "authenticator-not-me")
	b.do(intruder, "the sign-in stops", chromedp.WaitVisible(chromedp.CSS("#push-error")))
	if got := b.location(intruder); got != "/sign-in/second-step" {
		t.Fatalf("the intruder's page went to %s", got)
	}
}
