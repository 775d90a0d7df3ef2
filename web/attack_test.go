package web_test

// Attacks of issue 10 on the HTTP API, on both stores.

import (
	"testing"
)

// D9: a body ward cannot read exactly as sent is refused, and nothing
// happens: invalid UTF-8 (the decoder would turn it into U+FFFD and accept
// an address nobody typed) and a second JSON value after the first.
func TestBodiesThatAreNotExactlyOneJSONValueAreRefused(t *testing.T) {
	bothStores(t, func(t *testing.T, w *ward) {
		w.createAccount("taro@example.jp", "")
		for name, body := range map[string][]byte{
			"invalid UTF-8":    []byte("{\"email\": \"ta\xffro@example.jp\"}"),
			"two values":       []byte(`{"email": "taro@example.jp"} {"email": "jiro@example.jp"}`),
			"trailing garbage": []byte(`{"email": "taro@example.jp"} x`),
			"unknown field":    []byte(`{"email": "taro@example.jp", "admin": true}`),
			"not JSON at all":  []byte(`email=taro@example.jp`),
		} {
			for _, path := range []string{"/api/v1/sign-in/code", "/api/v1/password-reset"} {
				r := w.do(nil, "POST", path, body)
				if r.status != 400 || r.body["error"] != "invalid_input" {
					t.Errorf("%s to %s: %d %s", name, path, r.status, r.raw)
				}
			}
		}
		r := w.do(nil, "POST", "/api/v1/mail-check", []byte("{\"message\": \"Subject: hi\\n\\nhello\"} {}"))
		if r.status != 400 || r.body["error"] != "invalid_input" {
			t.Errorf("mail check with two values: %d %s", r.status, r.raw)
		}
		if r := w.do(nil, "GET", "/dev/mail.json?limit=10", nil); len(r.body["messages"].([]any)) != 0 {
			t.Fatalf("a refused request queued mail: %s", r.raw)
		}
	})
}
