package authenticator_test

import (
	"testing"

	"github.com/wardhq/ward/authenticator"
	"github.com/wardhq/ward/internal/testdevice"
)

func TestReadAnswerChecksTheSignature(t *testing.T) {
	d, _ := testdevice.New()
	other, _ := testdevice.New()
	a := authenticator.Answer{PromptID: "p1", Nonce: "n1", Decision: authenticator.Approve, Number: "42"}
	payload, sig, err := d.Sign(a)
	if err != nil {
		t.Fatal(err)
	}
	got, err := authenticator.ReadAnswer(d.PublicKey(), payload, sig)
	if err != nil || got != a {
		t.Fatalf("a signed answer: %+v %v", got, err)
	}
	if _, err := authenticator.ReadAnswer(other.PublicKey(), payload, sig); err != authenticator.ErrSignature {
		t.Fatalf("another device's key: %v", err)
	}
	tampered := append([]byte{}, payload...)
	tampered[len(tampered)-3] ^= 1
	if _, err := authenticator.ReadAnswer(d.PublicKey(), tampered, sig); err != authenticator.ErrSignature {
		t.Fatalf("a changed answer: %v", err)
	}
	if _, err := authenticator.ReadAnswer([]byte{4, 1, 2}, payload, sig); err == nil {
		t.Fatal("a key that is no key was accepted")
	}
	bad, badSig, _ := d.Sign(authenticator.Answer{PromptID: "p1", Nonce: "n1", Decision: "maybe"})
	if _, err := authenticator.ReadAnswer(d.PublicKey(), bad, badSig); err == nil {
		t.Fatal("an unknown decision was accepted")
	}
}

func TestNewNumberIsTwoDigits(t *testing.T) {
	seen := map[string]bool{}
	for range 2000 {
		n, err := authenticator.NewNumber()
		if err != nil || len(n) != 2 || n[0] < '0' || n[0] > '9' || n[1] < '0' || n[1] > '9' {
			t.Fatalf("number %q %v", n, err)
		}
		seen[n] = true
	}
	if len(seen) < 90 {
		t.Fatalf("only %d of 100 numbers in 2000 draws", len(seen))
	}
}

// FuzzReadAnswer: whatever a device (or anyone) sends is read without a
// panic, and nothing unsigned is accepted.
func FuzzReadAnswer(f *testing.F) {
	d, _ := testdevice.New()
	payload, sig, _ := d.Sign(authenticator.Answer{PromptID: "p", Nonce: "n", Decision: authenticator.Deny})
	key := d.PublicKey()
	f.Add(payload, sig)
	f.Add([]byte(`{"prompt_id":"p"}`), make([]byte, 64))
	f.Add([]byte(`{`), []byte{})
	f.Fuzz(func(t *testing.T, p, s []byte) {
		if _, err := authenticator.ReadAnswer(key, p, s); err == nil && (string(p) != string(payload) || string(s) != string(sig)) {
			// ECDSA signatures are malleable only with the key; the fuzzer
			// has neither the key nor a way to forge one.
			t.Fatalf("an answer not signed by the device was accepted: %q", p)
		}
	})
}
