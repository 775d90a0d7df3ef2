package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/wardhq/ward/internal/testpasskey"
)

// authenticator adds Chromium's virtual authenticator to a tab: a
// platform authenticator (CTAP 2.1, internal transport) that keeps
// discoverable credentials, verifies its user and syncs its passkeys.
func authenticator(t *testing.T, b *browser, ctx context.Context) webauthn.AuthenticatorID {
	t.Helper()
	if _, err := chromedp.Call(ctx, webauthn.Enable, webauthn.EnableParams{}); err != nil {
		t.Fatalf("WebAuthn.enable: %v", err)
	}
	res, err := chromedp.Call(ctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{Options: &webauthn.VirtualAuthenticatorOptions{
		Protocol: webauthn.AuthenticatorProtocolCtap2, Ctap2version: webauthn.Ctap2versionCtap21, Transport: webauthn.AuthenticatorTransportInternal,
		HasResidentKey: true, HasUserVerification: true, IsUserVerified: true, AutomaticPresenceSimulation: true,
		DefaultBackupEligibility: true, DefaultBackupState: true}})
	if err != nil {
		t.Fatalf("WebAuthn.addVirtualAuthenticator: %v", err)
	}
	return res.AuthenticatorID
}

func credentials(t *testing.T, b *browser, ctx context.Context, id webauthn.AuthenticatorID) []*webauthn.Credential {
	t.Helper()
	res, err := chromedp.Call(ctx, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: id})
	if err != nil {
		t.Fatalf("WebAuthn.getCredentials: %v", err)
	}
	return res.Credentials
}

// forge answers a ceremony with the passkey's own private key (read out
// of the virtual authenticator), as a browser would, but saying it came
// from origin for rpID: what a phishing site relaying a passkey sends.
func forge(t *testing.T, cred *webauthn.Credential, challenge, origin, rpID string, count uint32) json.RawMessage {
	t.Helper()
	k, err := testpasskey.FromPKCS8(cred.CredentialID, cred.UserHandle, cred.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	out, err := k.Assert(challenge, origin, rpID, count, testpasskey.Synced)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// ceremony reads a begun ceremony's token and challenge.
func ceremony(t *testing.T, r resp) (token, challenge string) {
	t.Helper()
	opts, _ := json.Marshal(r.body["options"])
	challenge, err := testpasskey.Challenge(opts)
	if err != nil || r.status != 200 || challenge == "" {
		t.Fatalf("begin: %d %s %v", r.status, r.raw, err)
	}
	return r.body["ceremony"].(string), challenge
}

// Passkeys in real Chromium with its virtual authenticator: register one
// from the dashboard, sign in with it alone, refuse answers made for
// another origin or RP ID (and one answer sent 100 times at once counts
// once), and refuse it once it is removed from the account.
func TestBrowserPasskeys(t *testing.T) {
	for _, driver := range []string{"sqlite", "postgres"} {
		t.Run(driver, func(t *testing.T) {
			w := startAtLocalhost(t, driver)
			b := newBrowser(t, w)
			const email, password = "yuki@example.jp", "correct horse battery staple"
			w.createAccount(email, password)
			ctx := b.tab()
			auth := authenticator(t, b, ctx)
			b.signIn(ctx, email)
			b.do(ctx, "name the passkey", chromedp.WaitVisible(chromedp.CSS("#passkey-add")), chromedp.SendKeys(chromedp.CSS("#passkey-name"), "Laptop"))
			b.submit(ctx, "add a passkey", chromedp.Click(chromedp.CSS("#passkey-add button")), "#security")
			if sec := b.text(ctx, "#security"); !strings.Contains(sec, "Laptop") || !strings.Contains(sec, "synced across your devices") {
				b.shot(ctx, "no-passkey")
				t.Fatalf("the passkey is not listed:\n%s", sec)
			}
			creds := credentials(t, b, ctx, auth)
			if len(creds) != 1 || !creds[0].IsResidentCredential {
				t.Fatalf("the authenticator holds %+v", creds)
			}

			// Signed out, the passkey alone signs in: two factors.
			b.submit(ctx, "sign out", chromedp.Click(chromedp.CSS(`form[action="/sign-out"] button`)), "#email")
			b.do(ctx, "sign-in page", chromedp.Navigate(w.srv.URL+"/sign-in?lang=en"), chromedp.WaitVisible(chromedp.CSS("#passkey-sign-in")))
			b.submit(ctx, "passkey sign-in", chromedp.Click(chromedp.CSS("#passkey-sign-in")), "#security")
			if sec := b.text(ctx, "main"); !strings.Contains(sec, "passkey") || !strings.Contains(sec, "two factors (AAL2)") {
				t.Fatalf("after a passkey sign-in:\n%s", sec)
			}
			b.shot(ctx, "signed-in-with-passkey")

			// Answers made with the passkey's own key for another site.
			begin := func() (string, string) {
				return ceremony(t, w.do(nil, "POST", "/api/v1/sign-in/passkey/begin", nil))
			}
			for name, site := range map[string][2]string{
				"another origin": {"http://evil.localhost:1", "localhost"},
				"another RP ID":  {w.srv.URL, "evil.example"},
			} {
				cer, chal := begin()
				r := w.do(nil, "POST", "/api/v1/sign-in/passkey", map[string]any{"ceremony": cer, "credential": forge(t, creds[0], chal, site[0], site[1], 1000)})
				if r.status != http.StatusUnauthorized || r.body["error"] != "passkey_refused" {
					t.Fatalf("%s: %d %s", name, r.status, r.raw)
				}
			}
			if !strings.Contains(w.audit.String(), `"passkey_refused"`) {
				t.Fatal("refused passkey answers are not in the security log")
			}
			// The right site, 100 times at once with one answer: one session.
			cer, chal := begin()
			answer := map[string]any{"ceremony": cer, "credential": forge(t, creds[0], chal, w.srv.URL, "localhost", 1000)}
			var wins atomic.Int32
			var wg sync.WaitGroup
			for range 100 {
				wg.Go(func() {
					if r := w.do(nil, "POST", "/api/v1/sign-in/passkey", answer); r.status == 200 {
						wins.Add(1)
					}
				})
			}
			wg.Wait()
			if wins.Load() != 1 {
				t.Fatalf("one passkey answer signed in %d times", wins.Load())
			}

			// With two-step verification on, the passkey is the second step
			// after a password, and steps a session up.
			b.do(ctx, "dashboard", chromedp.Navigate(w.srv.URL+"/account"), chromedp.WaitVisible(chromedp.CSS("#security")))
			b.submit(ctx, "two-step on", chromedp.Click(chromedp.CSS(`form[action="/account/two-step"] button`)), "ol.codes")
			c := browserish()
			r := w.do(c, "POST", "/api/v1/sign-in/password", map[string]string{"email": email, "password": password})
			if r.body["state"] != "second_step" || !strings.Contains(r.raw, `"passkey"`) {
				t.Fatalf("password with two-step on: %d %s", r.status, r.raw)
			}
			flowTok := r.body["flow"].(string)
			cer, chal = ceremony(t, w.do(c, "POST", "/api/v1/flows/second-step/passkey/begin", map[string]string{"flow": flowTok}))
			r = w.do(c, "POST", "/api/v1/flows/second-step/passkey", map[string]any{"flow": flowTok, "ceremony": cer,
				"credential": forge(t, creds[0], chal, w.srv.URL, "localhost", 2000)}, "X-Ward-Session", "bearer")
			if r.status != 200 || !strings.Contains(r.raw, `"amr":["pwd","hwk","user","mfa"]`) {
				t.Fatalf("passkey as the second step: %d %s", r.status, r.raw)
			}
			bearer := []string{"Authorization", "Bearer " + r.body["token"].(string), "X-Ward-Session", "bearer"}
			cer, chal = ceremony(t, w.do(nil, "POST", "/api/v1/account/step-up/passkey/begin", nil, bearer...))
			r = w.do(nil, "POST", "/api/v1/account/step-up/passkey", map[string]any{"ceremony": cer,
				"credential": forge(t, creds[0], chal, w.srv.URL, "localhost", 3000)}, bearer...)
			if r.status != 200 || r.body["state"] != "confirmed" {
				t.Fatalf("passkey step-up: %d %s", r.status, r.raw)
			}

			// Removed from the account (two-step off first: it is the only
			// second factor), the passkey no longer signs in, though the
			// authenticator still holds it.
			b.do(ctx, "dashboard", chromedp.Navigate(w.srv.URL+"/account"), chromedp.WaitVisible(chromedp.CSS("#security")))
			b.submit(ctx, "two-step off", chromedp.Click(chromedp.CSS(`form[action="/account/two-step"] button`)), "#security")
			b.submit(ctx, "remove", chromedp.Click(chromedp.CSS(`form[action$="/remove"][action^="/account/passkeys/"] button`)), "#security")
			if sec := b.text(ctx, "#security"); strings.Contains(sec, "Laptop") {
				t.Fatalf("the passkey is still listed:\n%s", sec)
			}
			b.submit(ctx, "sign out", chromedp.Click(chromedp.CSS(`form[action="/sign-out"] button`)), "#email")
			b.expect("status of 401 (Unauthorized) (" + w.srv.URL + "/api/v1/sign-in/passkey)")
			b.do(ctx, "sign-in page", chromedp.Navigate(w.srv.URL+"/sign-in?lang=en"), chromedp.WaitVisible(chromedp.CSS("#passkey-sign-in")),
				chromedp.Click(chromedp.CSS("#passkey-sign-in")), chromedp.WaitVisible(chromedp.CSS("#passkey-error")))
			if msg := b.text(ctx, "#passkey-error"); !strings.Contains(msg, "could not be used here") {
				t.Fatalf("a removed passkey: %q", msg)
			}
			if got := b.location(ctx); !strings.HasPrefix(got, "/sign-in") {
				t.Fatalf("a removed passkey signed in: %s", got)
			}
		})
	}
}
