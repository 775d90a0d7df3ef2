package web_test

import (
	"context"
	"net"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	example "github.com/wardhq/ward/examples/app/rp"
	"github.com/wardhq/ward/openid"
)

// The example app in real Chromium: sign in with a code by mail, see the
// claims, set up an authenticator app, do something sensitive (ward asks
// for the password and the app first; the app then sees aal2), sign out
// of the app and of ward.
func TestBrowserExampleApp(t *testing.T) {
	w := startAtLocalhost(t, "sqlite")
	b := newBrowser(t, w)
	const email, password = "hina@example.jp", "correct horse battery staple"
	w.createAccount(email, password)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	self := "http://" + ln.Addr().String()
	c, _, err := openid.Register(context.Background(), w.in.Store, openid.Registration{Name: "Example", Public: true,
		RedirectURIs: []string{self + "/callback"}, PostLogoutURIs: []string{self + "/"}}, false, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	app, err := example.New(context.Background(), w.srv.URL, c.ID, "", self)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(app)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	defer srv.Close()

	ctx := b.tab()
	b.do(ctx, "the app", chromedp.Navigate(self+"/"), chromedp.WaitVisible(chromedp.CSS("#login")))
	b.submit(ctx, "sign in with ward", chromedp.Click(chromedp.CSS("#login")), "#email")
	b.do(ctx, "email", chromedp.SendKeys(chromedp.CSS("#email"), email))
	b.submit(ctx, "send a code", chromedp.Click(chromedp.CSS(`button[value="code"]`)), "input.code")
	b.do(ctx, "the code", chromedp.SendKeys(chromedp.CSS("input.code"), w.code(email)))
	b.submit(ctx, "verify", chromedp.Click(chromedp.CSS(`button[value="verify"]`)), "#who")
	if who := b.text(ctx, "#who"); !strings.Contains(who, email) {
		t.Fatalf("the app shows %q", who)
	}
	if acr, amr := b.text(ctx, "#acr"), b.text(ctx, "#amr"); acr != "aal0" || amr != "email" {
		t.Fatalf("after a code by mail: acr %q amr %q", acr, amr)
	}
	b.shot(ctx, "example-signed-in")

	// An authenticator app, set up on ward's dashboard.
	b.do(ctx, "ward", chromedp.Navigate(w.srv.URL+"/account"), chromedp.WaitVisible(chromedp.CSS("#app-name")))
	b.submit(ctx, "add an app", chromedp.Click(chromedp.CSS(`form[action="/account/authenticators"] button`)), "img.qr")
	key := b.text(ctx, "code.key")
	b.do(ctx, "its code", chromedp.SendKeys(chromedp.CSS("#code"), oathtool(t, key, 0)))
	b.submit(ctx, "finish", chromedp.Submit(chromedp.CSS("#code")), "#security")

	// Something sensitive: two factors first.
	b.do(ctx, "back to the app", chromedp.Navigate(self+"/"), chromedp.WaitVisible(chromedp.CSS("#sensitive")))
	b.submit(ctx, "sensitive", chromedp.Click(chromedp.CSS("#sensitive")), "#password")
	if got := b.location(ctx); got != "/account/step-up" {
		t.Fatalf("the sensitive action went to %s", got)
	}
	b.do(ctx, "password and app", chromedp.SendKeys(chromedp.CSS("#password"), password),
		chromedp.SendKeys(chromedp.CSS("#code"), oathtool(t, key, 30*time.Second)))
	b.submit(ctx, "step up", chromedp.Submit(chromedp.CSS("#code")), "#acr")
	if acr, amr := b.text(ctx, "#acr"), b.text(ctx, "#amr"); acr != "aal2" || !strings.Contains(amr, "otp") || !strings.Contains(amr, "mfa") {
		t.Fatalf("after the step-up: acr %q amr %q", acr, amr)
	}
	b.shot(ctx, "example-aal2")

	// Signing out of the app signs out of ward too.
	b.submit(ctx, "sign out", chromedp.Click(chromedp.CSS("#logout")), "#login")
	b.do(ctx, "ward again", chromedp.Navigate(w.srv.URL+"/account"), chromedp.WaitVisible(chromedp.CSS("#email")))
	if got := b.location(ctx); !strings.HasPrefix(got, "/sign-in") {
		t.Fatalf("still signed in to ward after the app's sign-out: %s", got)
	}
}
