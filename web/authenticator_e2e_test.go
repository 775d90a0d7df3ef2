package web_test

import (
	"bytes"
	"encoding/base64"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"

	authn "github.com/wardhq/ward/authenticator"
	"github.com/wardhq/ward/config"
	"github.com/wardhq/ward/internal/testdevice"
	"github.com/wardhq/ward/openid"
	"github.com/wardhq/ward/openid/provider"
)

// authDevice is a paired ward Authenticator talking to ward's API.
type authDevice struct {
	t     testing.TB
	w     *ward
	key   *testdevice.Device
	token string
}

// pairPhone pairs a new device with the account of browser c (which holds
// a fresh two-factor session), through the API as the app does.
func (w *ward) pairPhone(c *http.Client) (dev *authDevice, deviceID string) {
	w.t.Helper()
	r := w.do(c, "POST", "/api/v1/account/authenticator-pairing", map[string]string{"name": "phone"})
	phone, err := testdevice.New()
	if err != nil {
		w.t.Fatal(err)
	}
	r = w.do(nil, "POST", "/api/v1/authenticator/pair", map[string]string{"code": r.body["code"].(string),
		"public_key": base64.RawURLEncoding.EncodeToString(phone.PublicKey())})
	if r.status != http.StatusCreated {
		w.t.Fatalf("pair: %d %s", r.status, r.raw)
	}
	return &authDevice{t: w.t, w: w, key: phone, token: r.body["device_token"].(string)}, r.body["device_id"].(string)
}

func (d *authDevice) prompts() []map[string]any {
	d.t.Helper()
	r := d.w.do(nil, "GET", "/api/v1/authenticator/prompts", nil, "Authorization", "Device "+d.token)
	list, _ := r.body["prompts"].([]any)
	out := make([]map[string]any, len(list))
	for i, p := range list {
		out[i] = p.(map[string]any)
	}
	return out
}

// answer signs a decision on a prompt with key and sends it.
func (d *authDevice) answer(key *testdevice.Device, promptID, nonce, decision, number string) resp {
	d.t.Helper()
	payload, sig, err := key.Sign(authn.Answer{PromptID: promptID, Nonce: nonce, Decision: decision, Number: number})
	if err != nil {
		d.t.Fatal(err)
	}
	b64 := base64.RawURLEncoding.EncodeToString
	return d.w.do(nil, "POST", "/api/v1/authenticator/answer", map[string]string{"payload": b64(payload), "signature": b64(sig)},
		"Authorization", "Device "+d.token)
}

// Push approval with number matching, over the API, with a device that
// signs as WebCrypto does: paired from a two-factor session; a sign-in
// held by two-step verification asks it; the context reaches the device
// but the number does not; a wrong number ends the request and counts;
// the right number approves (amr swk, mfa); forged, replayed and late
// answers are refused; 50 answers at once approve once; a denial blocks.
func TestAuthenticatorPushApproval(t *testing.T) {
	bothStores(t, func(t *testing.T, w *ward) {
		const email, password = "mika@example.jp", "correct horse battery staple"
		w.createAccount(email, password)
		c := browserish()
		w.twoFactors(c, email, password)
		var r resp
		// The dashboard's page shows a code and a QR code of the link.
		res, err := c.PostForm(w.srv.URL+"/account/authenticator-pairing", url.Values{"name": {"tablet"}})
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || !strings.Contains(string(page), `id="pairing-code"`) || !strings.Contains(string(page), "data:image/png;base64,") {
			t.Fatalf("pairing page: %d\n%s", res.StatusCode, page)
		}
		r = w.do(c, "POST", "/api/v1/account/authenticator-pairing", map[string]string{"name": "Mika's phone"})
		code, _ := r.body["code"].(string)
		if r.status != 201 || len(code) != 8 || !strings.Contains(r.raw, "/authenticator/#pair=") {
			t.Fatalf("pairing: %d %s", r.status, r.raw)
		}
		phone, _ := testdevice.New()
		pk := base64.RawURLEncoding.EncodeToString(phone.PublicKey())
		r = w.do(nil, "POST", "/api/v1/authenticator/pair", map[string]string{"code": code, "public_key": pk})
		if r.status != 201 {
			t.Fatalf("pair: %d %s", r.status, r.raw)
		}
		dev := &authDevice{t: t, w: w, key: phone, token: r.body["device_token"].(string)}
		if r = w.do(nil, "POST", "/api/v1/authenticator/pair", map[string]string{"code": code, "public_key": pk}); r.status == 201 {
			t.Fatal("a pairing code paired twice")
		}
		if r = w.do(c, "PUT", "/api/v1/account/two-step", map[string]any{"on": true}); r.status != 200 {
			t.Fatalf("two-step: %d %s", r.status, r.raw)
		}

		other := browserish()
		signIn := func() string {
			t.Helper()
			r := w.do(other, "POST", "/api/v1/sign-in/password", map[string]string{"email": email, "password": password})
			if r.body["state"] != "second_step" || !strings.Contains(r.raw, `"push"`) {
				t.Fatalf("sign-in: %s", r.raw)
			}
			return r.body["flow"].(string)
		}
		ask := func(flowTok string) string {
			t.Helper()
			r := w.do(other, "POST", "/api/v1/flows/second-step/push", map[string]string{"flow": flowTok})
			n, _ := r.body["number"].(string)
			if r.status != 200 || len(n) != 2 {
				t.Fatalf("push: %d %s", r.status, r.raw)
			}
			return n
		}
		status := func(flowTok string) resp {
			return w.do(other, "POST", "/api/v1/flows/second-step/push/status", map[string]string{"flow": flowTok}, "X-Ward-Session", "bearer")
		}
		// This sign-in is for an app (an OpenID Connect request): the phone
		// says which.
		shop, _, err := openid.Register(t.Context(), w.in.Store, openid.Registration{Name: "Shop", RedirectURIs: []string{appRedirect}}, false, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		st := &provider.Storage{Store: w.in.Store, Keys: w.in.Keys, Now: time.Now}
		ar, err := st.CreateAuthRequest(t.Context(), &zoidc.AuthRequest{Scopes: []string{"openid"}, ResponseType: zoidc.ResponseTypeCode,
			ClientID: shop.ID, RedirectURI: appRedirect}, "")
		if err != nil {
			t.Fatal(err)
		}
		base, _ := url.Parse(w.srv.URL)
		other.Jar.SetCookies(base, []*http.Cookie{{Name: "ward_oidc", Value: ar.GetID(), Path: "/"}})
		flowTok := signIn()
		number := ask(flowTok)
		ps := dev.prompts()
		// The device shows the context; the number comes only from the
		// sign-in page, read by the person.
		if len(ps) != 1 || strings.Contains(w.do(nil, "GET", "/api/v1/authenticator/prompts", nil, "Authorization", "Device "+dev.token).raw, `"number"`) {
			t.Fatalf("the device's prompts: %+v", ps)
		}
		cx := ps[0]["context"].(map[string]any)
		if cx["ip"] == "" || cx["app"] != "Shop" {
			t.Fatalf("context: %+v", cx)
		}
		if r = status(flowTok); r.body["state"] != "pending" {
			t.Fatalf("waiting: %s", r.raw)
		}
		id, nonce := ps[0]["id"].(string), ps[0]["nonce"].(string)
		// Forged: another key; another nonce.
		stranger, _ := testdevice.New()
		if r = dev.answer(stranger, id, nonce, authn.Approve, number); r.body["error"] != "answer_refused" {
			t.Fatalf("another key's answer: %d %s", r.status, r.raw)
		}
		if r = dev.answer(phone, id, "not-the-nonce", authn.Approve, number); r.body["error"] != "answer_refused" {
			t.Fatalf("another nonce: %d %s", r.status, r.raw)
		}
		// A wrong number ends the request.
		wrong := "00"
		if number == wrong {
			wrong = "01"
		}
		if r = dev.answer(phone, id, nonce, authn.Approve, wrong); r.body["error"] != "wrong_code" {
			t.Fatalf("a wrong number: %d %s", r.status, r.raw)
		}
		if r = status(flowTok); r.body["error"] != "wrong_code" {
			t.Fatalf("after a wrong number: %s", r.raw)
		}

		// The right number, sent 50 times at once: one approval.
		number = ask(flowTok)
		ps = dev.prompts()
		id, nonce = ps[0]["id"].(string), ps[0]["nonce"].(string)
		payload, sig, _ := phone.Sign(authn.Answer{PromptID: id, Nonce: nonce, Decision: authn.Approve, Number: number})
		b64 := base64.RawURLEncoding.EncodeToString
		var wins atomic.Int32
		var wg sync.WaitGroup
		for range 50 {
			wg.Go(func() {
				r := w.do(nil, "POST", "/api/v1/authenticator/answer", map[string]string{"payload": b64(payload), "signature": b64(sig)},
					"Authorization", "Device "+dev.token)
				if r.status == http.StatusOK {
					wins.Add(1)
				}
			})
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("one answer approved %d times", wins.Load())
		}
		r = status(flowTok)
		if r.body["state"] != "signed_in" || !strings.Contains(r.raw, `"amr":["pwd","swk","mfa"]`) {
			t.Fatalf("signed in by approval: %s", r.raw)
		}
		if r = status(flowTok); r.status == 200 && r.body["state"] == "signed_in" {
			t.Fatal("one approval signed in twice")
		}

		// A denial blocks the sign-in.
		flowTok = signIn()
		ask(flowTok)
		ps = dev.prompts()
		if r = dev.answer(phone, ps[0]["id"].(string), ps[0]["nonce"].(string), authn.Deny, ""); r.status != 200 {
			t.Fatalf("deny: %d %s", r.status, r.raw)
		}
		if r = status(flowTok); r.body["error"] != "blocked" {
			t.Fatalf("after a denial: %s", r.raw)
		}
		// And no new prompt from here rings the phone for a while.
		if r = w.do(other, "POST", "/api/v1/flows/second-step/push", map[string]string{"flow": signIn()}); r.body["error"] != "blocked" {
			t.Fatalf("a prompt right after a denial: %d %s", r.status, r.raw)
		}
	})
}

// Two instances on one PostgreSQL database: a request started on one is
// approved through the other, and the first signs the person in.
func TestAuthenticatorAcrossInstances(t *testing.T) {
	secret := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{9}, 32))
	var dsn string
	a := start(t, "postgres", func(c *config.Config) { c.SecretKey, dsn = secret, c.Database.DSN })
	b := start(t, "postgres", func(c *config.Config) { c.SecretKey, c.Database.DSN = secret, dsn })
	const email, password = "kana@example.jp", "correct horse battery staple"
	a.createAccount(email, password)
	c := browserish()
	a.twoFactors(c, email, password)
	r := a.do(c, "POST", "/api/v1/account/authenticator-pairing", map[string]string{"name": "phone"})
	phone, _ := testdevice.New()
	r = b.do(nil, "POST", "/api/v1/authenticator/pair", map[string]string{"code": r.body["code"].(string),
		"public_key": base64.RawURLEncoding.EncodeToString(phone.PublicKey())})
	dev := &authDevice{t: t, w: b, key: phone, token: r.body["device_token"].(string)}
	if r = a.do(c, "PUT", "/api/v1/account/two-step", map[string]any{"on": true}); r.status != 200 {
		t.Fatalf("two-step: %s", r.raw)
	}
	other := browserish()
	r = a.do(other, "POST", "/api/v1/sign-in/password", map[string]string{"email": email, "password": password})
	flowTok := r.body["flow"].(string)
	r = a.do(other, "POST", "/api/v1/flows/second-step/push", map[string]string{"flow": flowTok})
	number := r.body["number"].(string)
	ps := dev.prompts() // through instance b
	if len(ps) != 1 {
		t.Fatalf("instance b sees %d prompts", len(ps))
	}
	if r = dev.answer(phone, ps[0]["id"].(string), ps[0]["nonce"].(string), authn.Approve, number); r.status != 200 {
		t.Fatalf("approval through b: %d %s", r.status, r.raw)
	}
	if r = a.do(other, "POST", "/api/v1/flows/second-step/push/status", map[string]string{"flow": flowTok}); r.body["state"] != "signed_in" {
		t.Fatalf("instance a after the approval: %s", r.raw)
	}
}
