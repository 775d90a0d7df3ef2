package web_test

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// pushService is a Web Push service for tests, as a browser vendor runs
// one: it checks the VAPID token (RFC 8292: ES256, audience, expiry) and
// decrypts the message for the subscription it holds the keys of (RFC
// 8291, aes128gcm). It can answer 503 a few times, or 410 (gone).
type pushService struct {
	t    *testing.T
	srv  *httptest.Server
	ua   *ecdh.PrivateKey
	auth []byte

	mu       sync.Mutex
	messages []map[string]any
	fail     int
	gone     bool
	tries    int
}

func newPushService(t *testing.T) *pushService {
	ua, _ := ecdh.P256().GenerateKey(rand.Reader)
	auth := make([]byte, 16)
	rand.Read(auth)
	ps := &pushService{t: t, ua: ua, auth: auth}
	ps.srv = httptest.NewServer(http.HandlerFunc(ps.serve))
	t.Cleanup(ps.srv.Close)
	return ps
}

func (ps *pushService) subscription() map[string]any {
	b64 := base64.RawURLEncoding.EncodeToString
	return map[string]any{"endpoint": ps.srv.URL + "/push/sub-1", "keys": map[string]string{"p256dh": b64(ps.ua.PublicKey().Bytes()), "auth": b64(ps.auth)}}
}

func (ps *pushService) serve(w http.ResponseWriter, r *http.Request) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	ps.tries++
	if err := ps.checkVAPID(r.Header.Get("Authorization")); err != nil {
		ps.t.Errorf("VAPID: %v", err)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	switch {
	case ps.gone:
		w.WriteHeader(http.StatusGone)
		return
	case ps.fail > 0:
		ps.fail--
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	body, _ := io.ReadAll(r.Body)
	plain, err := ps.decrypt(body)
	if err != nil || r.Header.Get("Content-Encoding") != "aes128gcm" || r.Header.Get("TTL") == "" {
		ps.t.Errorf("message: %v (encoding %q, TTL %q)", err, r.Header.Get("Content-Encoding"), r.Header.Get("TTL"))
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	var m map[string]any
	json.Unmarshal(plain, &m)
	ps.messages = append(ps.messages, m)
	w.WriteHeader(http.StatusCreated)
}

// checkVAPID verifies "vapid t=<JWT>, k=<public key>".
func (ps *pushService) checkVAPID(h string) error {
	var tok, key string
	for _, part := range strings.Split(strings.TrimPrefix(h, "vapid "), ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			tok = v
		case "k":
			key = v
		}
	}
	raw, err := base64.RawURLEncoding.DecodeString(key)
	if err != nil || len(raw) != 65 {
		return fmt.Errorf("key %q", key)
	}
	pub := &ecdsa.PublicKey{Curve: elliptic.P256(), X: new(big.Int).SetBytes(raw[1:33]), Y: new(big.Int).SetBytes(raw[33:])}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return errors.New("not a JWT")
	}
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if len(sig) != 64 || !ecdsa.Verify(pub, digest[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		return errors.New("bad ES256 signature")
	}
	body, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var claims struct {
		Aud string `json:"aud"`
		Exp int64  `json:"exp"`
		Sub string `json:"sub"`
	}
	json.Unmarshal(body, &claims)
	if claims.Aud != ps.srv.URL || claims.Sub == "" {
		return fmt.Errorf("claims %+v", claims)
	}
	if exp := time.Unix(claims.Exp, 0); exp.Before(time.Now()) || exp.After(time.Now().Add(24*time.Hour)) {
		return fmt.Errorf("exp %v", exp)
	}
	return nil
}

// decrypt opens an aes128gcm message for the subscription (RFC 8291 §3.4).
func (ps *pushService) decrypt(body []byte) ([]byte, error) {
	if len(body) < 21 {
		return nil, errors.New("short")
	}
	salt, idlen := body[:16], int(body[20])
	_ = binary.BigEndian.Uint32(body[16:20]) // record size
	asPub, err := ecdh.P256().NewPublicKey(body[21 : 21+idlen])
	if err != nil {
		return nil, err
	}
	shared, err := ps.ua.ECDH(asPub)
	if err != nil {
		return nil, err
	}
	info := append(append([]byte("WebPush: info\x00"), ps.ua.PublicKey().Bytes()...), asPub.Bytes()...)
	prkKey, _ := hkdf.Extract(sha256.New, shared, ps.auth)
	ikm, _ := hkdf.Expand(sha256.New, prkKey, string(info), 32)
	prk, _ := hkdf.Extract(sha256.New, ikm, salt)
	cek, _ := hkdf.Expand(sha256.New, prk, "Content-Encoding: aes128gcm\x00", 16)
	nonce, _ := hkdf.Expand(sha256.New, prk, "Content-Encoding: nonce\x00", 12)
	block, _ := aes.NewCipher(cek)
	gcm, _ := cipher.NewGCM(block)
	plain, err := gcm.Open(nil, nonce, body[21+idlen:], nil)
	if err != nil {
		return nil, err
	}
	end := len(plain) - 1
	for end >= 0 && plain[end] == 0 {
		end--
	}
	if end < 0 || plain[end] != 2 {
		return nil, errors.New("no last-record delimiter")
	}
	return plain[:end], nil
}

func (ps *pushService) received() ([]map[string]any, int) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return append([]map[string]any{}, ps.messages...), ps.tries
}

// A waiting request rings the phone by Web Push: the message is signed
// with ward's VAPID key and encrypted for the phone, says only that a
// request waits (never the number); a push service that fails is tried
// again; one that says the subscription is gone is not used again.
func TestAuthenticatorWebPush(t *testing.T) {
	w := startAtLocalhost(t, "sqlite")
	const email, password = "yuzu@example.jp", "correct horse battery staple"
	w.createAccount(email, password)
	c := browserish()
	w.twoFactors(c, email, password)
	dev, deviceID := w.pairPhone(c)
	phone := dev.key
	var r resp
	ps := newPushService(t)
	if r = w.do(nil, "PUT", "/api/v1/authenticator/subscription", ps.subscription(), "Authorization", "Device "+dev.token); r.status != 200 {
		t.Fatalf("subscription: %d %s", r.status, r.raw)
	}
	if r = w.do(nil, "PUT", "/api/v1/authenticator/subscription", map[string]any{"endpoint": "http://push.example/x", "keys": map[string]string{"p256dh": "a", "auth": "b"}},
		"Authorization", "Device "+dev.token); r.status != 400 {
		t.Fatalf("a plain-http endpoint elsewhere was accepted: %d", r.status)
	}
	w.do(c, "PUT", "/api/v1/account/two-step", map[string]any{"on": true})
	ask := func() {
		t.Helper()
		other := browserish()
		r := w.do(other, "POST", "/api/v1/sign-in/password", map[string]string{"email": email, "password": password})
		if r = w.do(other, "POST", "/api/v1/flows/second-step/push", map[string]string{"flow": r.body["flow"].(string)}); r.status != 200 {
			t.Fatalf("push: %d %s", r.status, r.raw)
		}
		w.drain()
	}
	// Ends the waiting request (a wrong number) so that another may start.
	end := func() {
		t.Helper()
		ps := dev.prompts()
		dev.answer(phone, ps[0]["id"].(string), ps[0]["nonce"].(string), "approve", "--")
	}
	ask()
	got, _ := ps.received()
	if len(got) != 1 || got[0]["type"] != "prompt" || got[0]["lang"] != "ja" || got[0]["prompt_id"] == "" {
		t.Fatalf("messages: %+v", got)
	}
	if _, ok := got[0]["number"]; ok {
		t.Fatal("the push message carries the number")
	}
	end()
	ps.mu.Lock()
	ps.fail = 1
	ps.mu.Unlock()
	ask()
	// The push is tried again a second later.
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if _, tries := ps.received(); tries == 3 {
			break
		}
	}
	if got, tries := ps.received(); len(got) != 2 || tries != 3 {
		t.Fatalf("after a 503: %d messages in %d tries", len(got), tries)
	}
	end()
	ps.mu.Lock()
	ps.gone = true
	ps.mu.Unlock()
	ask()
	d, err := w.in.Store.PairedDeviceByID(t.Context(), deviceID)
	if err != nil || d.Push.Endpoint != "" {
		t.Fatalf("a gone subscription was kept: %+v %v", d.Push, err)
	}
}
