package web_test

import (
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// oathtool is an authenticator app: the code it shows for key, offset
// from now (RFC 6238, the reference implementation many apps test with).
func oathtool(t testing.TB, key string, offset time.Duration) string {
	t.Helper()
	if _, err := exec.LookPath("oathtool"); err != nil {
		t.Skip("SKIP: oathtool is not installed (apt-get install oathtool); .ci/run installs it")
	}
	at := time.Now().Add(offset).UTC().Format("2006-01-02 15:04:05 UTC")
	out, err := exec.Command("oathtool", "--totp", "--base32", "-N", at, strings.ReplaceAll(key, " ", "")).Output()
	if err != nil {
		t.Fatalf("oathtool: %v", err)
	}
	return strings.TrimSpace(string(out))
}

func strength(r resp) map[string]any {
	s, _ := r.body["strength"].(map[string]any)
	return s
}

// The strong factors through the JSON API, with oathtool as the app: set
// up, step up, two-step sign-in, replay refused, recovery code.
func TestStrongFactorsOverHTTP(t *testing.T) {
	bothStores(t, func(t *testing.T, w *ward) {
		const email, password = "mio@example.jp", "correct horse battery staple"
		w.createAccount(email, password)
		c := browserish()
		r := w.do(c, "POST", "/api/v1/sign-in/password", map[string]string{"email": email, "password": password})
		if r.body["state"] != "code_sent" {
			t.Fatalf("first sign-in from a new device: %d %s", r.status, r.raw)
		}
		r = w.do(c, "POST", "/api/v1/flows/verify", map[string]string{"flow": r.body["flow"].(string), "code": w.code(email)}, "X-Ward-Session", "bearer")
		if r.status != 200 || strength(r)["aal"] != 1.0 {
			t.Fatalf("password and email code: %d %s", r.status, r.raw)
		}
		auth := []string{"Authorization", "Bearer " + r.body["token"].(string)}

		addApp := func(name string) (id, key string) {
			t.Helper()
			r := w.do(nil, "POST", "/api/v1/account/authenticators", map[string]string{"name": name}, auth...)
			if r.status != http.StatusCreated || !strings.HasPrefix(r.body["qr"].(string), "data:image/png;base64,") ||
				!strings.HasPrefix(r.body["uri"].(string), "otpauth://totp/") {
				t.Fatalf("adding %s: %d %s", name, r.status, r.raw)
			}
			id, key = r.body["id"].(string), r.body["key"].(string)
			r = w.do(nil, "POST", "/api/v1/account/authenticators/"+id+"/confirm", map[string]string{"code": oathtool(t, key, 0)}, auth...)
			if r.status != 200 {
				t.Fatalf("confirming %s: %d %s", name, r.status, r.raw)
			}
			return id, key
		}
		_, keyA := addApp("phone")
		// One authenticator on the session: a second change needs two.
		r = w.do(nil, "POST", "/api/v1/account/authenticators", map[string]string{"name": "tablet"}, auth...)
		if r.status != http.StatusForbidden || r.body["error"] != "stronger_proof_required" {
			t.Fatalf("a one-factor session added an app: %d %s", r.status, r.raw)
		}
		r = w.do(nil, "POST", "/api/v1/account/step-up", map[string]string{"password": password, "code": oathtool(t, keyA, 30*time.Second)},
			append(auth, "X-Ward-Session", "bearer")...)
		if r.status != 200 || r.body["state"] != "confirmed" || strength(r)["aal"] != 2.0 {
			t.Fatalf("step-up: %d %s", r.status, r.raw)
		}
		auth = []string{"Authorization", "Bearer " + r.body["token"].(string)}
		_, keyB := addApp("tablet")
		r = w.do(nil, "PUT", "/api/v1/account/two-step", map[string]any{"on": true}, auth...)
		codes, _ := r.body["recovery_codes"].([]any)
		if r.status != 200 || len(codes) != 10 {
			t.Fatalf("two-step on: %d %s", r.status, r.raw)
		}
		r = w.do(nil, "GET", "/api/v1/account/security", nil, auth...)
		apps, _ := r.body["authenticators"].([]any)
		if r.body["two_step"] != true || len(apps) != 2 || r.body["recovery_codes_left"] != 10.0 ||
			!strings.Contains(r.raw, `"amr":["pwd","email","otp","mfa"]`) {
			t.Fatalf("security: %s", r.raw)
		}

		signIn := func() string {
			t.Helper()
			r := w.do(c, "POST", "/api/v1/sign-in/password", map[string]string{"email": email, "password": password})
			if r.body["state"] != "second_step" || !strings.Contains(r.raw, `"methods":["totp","recovery_code"]`) {
				t.Fatalf("two-step sign-in: %d %s", r.status, r.raw)
			}
			return r.body["flow"].(string)
		}
		code := oathtool(t, keyB, 30*time.Second)
		r = w.do(c, "POST", "/api/v1/flows/second-step", map[string]string{"flow": signIn(), "method": "totp", "code": code})
		if r.status != 200 || r.body["state"] != "signed_in" || strength(r)["aal"] != 2.0 {
			t.Fatalf("second step: %d %s", r.status, r.raw)
		}
		r = w.do(c, "POST", "/api/v1/flows/second-step", map[string]string{"flow": signIn(), "method": "totp", "code": code})
		if r.status != http.StatusUnauthorized || r.body["error"] != "wrong_code" {
			t.Fatalf("a replayed code: %d %s", r.status, r.raw)
		}
		r = w.do(c, "POST", "/api/v1/flows/second-step", map[string]string{"flow": signIn(), "method": "recovery_code", "code": codes[0].(string)})
		if r.status != 200 || r.body["review"] != true || strength(r)["aal"] != 1.0 {
			t.Fatalf("recovery code: %d %s", r.status, r.raw)
		}
		r = w.do(nil, "GET", "/dev/mail.json?limit=1&to="+email, nil)
		if !strings.Contains(r.raw, "回復用コードでサインインがありました") { // the account is in Japanese
			t.Fatalf("the owner was not told of the recovery code: %s", r.raw)
		}
	})
}

// twoFactors signs browser c in to email's account with the password and
// a mailed code, sets up an authenticator app (oathtool) and steps up with
// both: c then holds a fresh two-factor session. It returns the app's key.
func (w *ward) twoFactors(c *http.Client, email, password string) string {
	w.t.Helper()
	r := w.do(c, "POST", "/api/v1/sign-in/password", map[string]string{"email": email, "password": password})
	w.do(c, "POST", "/api/v1/flows/verify", map[string]string{"flow": r.body["flow"].(string), "code": w.code(email)})
	r = w.do(c, "POST", "/api/v1/account/authenticators", map[string]string{"name": "app"})
	key := r.body["key"].(string)
	w.do(c, "POST", "/api/v1/account/authenticators/"+r.body["id"].(string)+"/confirm", map[string]string{"code": oathtool(w.t, key, 0)})
	if r = w.do(c, "POST", "/api/v1/account/step-up", map[string]string{"password": password, "code": oathtool(w.t, key, 30*time.Second)}); r.status != 200 {
		w.t.Fatalf("step-up: %d %s", r.status, r.raw)
	}
	return key
}
