package web_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
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

// forge answers a ceremony with the passkey's own private key, as a
// browser would, but saying it came from origin for rpID: what a phishing
// site relaying a real passkey would send.
func forge(t *testing.T, cred *webauthn.Credential, challenge, origin, rpID string, count uint32) json.RawMessage {
	t.Helper()
	k, err := x509.ParsePKCS8PrivateKey(cred.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	client, _ := json.Marshal(map[string]any{"type": "webauthn.get", "challenge": challenge, "origin": origin, "crossOrigin": false})
	rp := sha256.Sum256([]byte(rpID))
	// UP, UV, backup eligible, backed up; then the counter.
	auth := append(rp[:], 0x01|0x04|0x08|0x10, 0, 0, 0, 0)
	binary.BigEndian.PutUint32(auth[33:], count)
	ch := sha256.Sum256(client)
	digest := sha256.Sum256(append(append([]byte{}, auth...), ch[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, k.(*ecdsa.PrivateKey), digest[:])
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.RawURLEncoding.EncodeToString
	out, _ := json.Marshal(map[string]any{"id": b64(cred.CredentialID), "rawId": b64(cred.CredentialID), "type": "public-key",
		"authenticatorAttachment": "platform", "clientExtensionResults": map[string]any{},
		"response": map[string]any{"clientDataJSON": b64(client), "authenticatorData": b64(auth), "signature": b64(sig),
			"userHandle": b64(cred.UserHandle)}})
	return out
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
			if sec := b.text(ctx, "#security"); !strings.Contains(sec, "passkey") || !strings.Contains(sec, "two factors (AAL2)") {
				t.Fatalf("after a passkey sign-in:\n%s", sec)
			}
			b.shot(ctx, "signed-in-with-passkey")

			// Answers made with the passkey's own key for another site.
			begin := func() (string, string) {
				r := w.do(nil, "POST", "/api/v1/sign-in/passkey/begin", nil)
				var opts struct {
					PublicKey struct {
						Challenge string `json:"challenge"`
					} `json:"publicKey"`
				}
				raw, _ := json.Marshal(r.body["options"])
				json.Unmarshal(raw, &opts)
				if r.status != 200 || opts.PublicKey.Challenge == "" {
					t.Fatalf("begin: %d %s", r.status, r.raw)
				}
				return r.body["ceremony"].(string), opts.PublicKey.Challenge
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
			r = w.do(c, "POST", "/api/v1/flows/second-step/passkey/begin", map[string]string{"flow": flowTok})
			var opts struct {
				PublicKey struct {
					Challenge string `json:"challenge"`
				} `json:"publicKey"`
			}
			raw, _ := json.Marshal(r.body["options"])
			json.Unmarshal(raw, &opts)
			r = w.do(c, "POST", "/api/v1/flows/second-step/passkey", map[string]any{"flow": flowTok, "ceremony": r.body["ceremony"],
				"credential": forge(t, creds[0], opts.PublicKey.Challenge, w.srv.URL, "localhost", 2000)}, "X-Ward-Session", "bearer")
			if r.status != 200 || !strings.Contains(r.raw, `"amr":["pwd","hwk","user","mfa"]`) {
				t.Fatalf("passkey as the second step: %d %s", r.status, r.raw)
			}
			bearer := []string{"Authorization", "Bearer " + r.body["token"].(string), "X-Ward-Session", "bearer"}
			r = w.do(nil, "POST", "/api/v1/account/step-up/passkey/begin", nil, bearer...)
			raw, _ = json.Marshal(r.body["options"])
			json.Unmarshal(raw, &opts)
			r = w.do(nil, "POST", "/api/v1/account/step-up/passkey", map[string]any{"ceremony": r.body["ceremony"],
				"credential": forge(t, creds[0], opts.PublicKey.Challenge, w.srv.URL, "localhost", 3000)}, bearer...)
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
