package passkey_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/wardhq/ward/internal/testpasskey"
	"github.com/wardhq/ward/passkey"
)

const origin = "https://ward.example"

// registered is a user with one passkey, as the store gives them back.
func registered(t testing.TB, flags byte, count uint32) (*passkey.User, *testpasskey.Key) {
	t.Helper()
	k, err := testpasskey.New([]byte("account-1"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := k.Credential(flags)
	if err != nil {
		t.Fatal(err)
	}
	c.Authenticator.SignCount = count
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	u := &passkey.User{Handle: k.Handle, Name: "hana@example.jp", DisplayName: "hana@example.jp",
		Passkeys: []passkey.Passkey{{ID: "pk1", CredentialID: k.ID, Credential: b, BackupEligible: flags&testpasskey.BackupEligible != 0}}}
	return u, k
}

func rp(t testing.TB) *passkey.RP {
	t.Helper()
	r, err := passkey.NewRP(origin+"/", "ward")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// begin starts a sign-in (for u, or discoverable when u is nil) and
// returns the challenge and the session data to keep.
func begin(t testing.TB, r *passkey.RP, u *passkey.User) (string, []byte) {
	t.Helper()
	opts, data, err := r.BeginSignIn(u)
	if err != nil {
		t.Fatal(err)
	}
	ch, err := testpasskey.Challenge(opts)
	if err != nil {
		t.Fatal(err)
	}
	return ch, data
}

func finish(r *passkey.RP, u *passkey.User, data []byte, answer []byte, discoverable bool) (passkey.Passkey, error) {
	a, err := passkey.ParseAssertion(answer)
	if err != nil {
		return passkey.Passkey{}, err
	}
	return r.FinishSignIn(u, data, a, discoverable)
}

// An assertion is accepted only from ward's origin, for its RP ID, for
// the challenge of its own ceremony, with the user verified and a counter
// that moved on; what is accepted updates the counter and backup state.
func TestSignInChecksWhatTheAnswerProves(t *testing.T) {
	r := rp(t)
	u, k := registered(t, testpasskey.Synced, 5)
	ch, data := begin(t, r, u)
	assert := func(challenge, origin, rpID string, count uint32, flags byte) []byte {
		b, err := k.Assert(challenge, origin, rpID, count, flags)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	other, _ := begin(t, r, u)
	for name, answer := range map[string][]byte{
		"another origin":               assert(ch, "https://ward.example.evil", "ward.example", 6, testpasskey.Synced),
		"another RP ID":                assert(ch, origin, "evil.example", 6, testpasskey.Synced),
		"another ceremony's challenge": assert(other, origin, "ward.example", 6, testpasskey.Synced),
		"counter went backwards":       assert(ch, origin, "ward.example", 4, testpasskey.Synced),
		"not JSON":                     []byte("{"),
	} {
		_, err := finish(r, u, data, answer, false)
		var re *passkey.RefusedError
		if !errors.As(err, &re) {
			t.Errorf("%s: %v, want a refusal", name, err)
		}
	}
	// Alone (discoverable), the passkey must verify its user.
	chu, du := begin(t, r, nil)
	if _, err := finish(r, u, du, assert(chu, origin, "ward.example", 6, testpasskey.UserPresent|testpasskey.BackupEligible|testpasskey.BackedUp), true); err == nil {
		t.Fatal("a passkey alone signed in without verifying its user")
	}
	p, err := finish(r, u, data, assert(ch, origin, "ward.example", 6, testpasskey.Synced), false)
	if err != nil {
		t.Fatal(err)
	}
	if p.ID != "pk1" || p.SignCount != 6 || !p.BackedUp || !p.BackupEligible {
		t.Fatalf("after use: %+v", p)
	}
	// A passkey the account does not have (removed) is refused.
	_, stranger := registered(t, testpasskey.Synced, 0)
	chs, ds := begin(t, r, nil)
	b, _ := stranger.Assert(chs, origin, "ward.example", 1, testpasskey.Synced)
	if _, err := finish(r, u, ds, b, true); err == nil {
		t.Fatal("a passkey not on the account signed in")
	}
	// Discoverable: the user handle names the account.
	chd, dd := begin(t, r, nil)
	b, _ = k.Assert(chd, origin, "ward.example", 7, testpasskey.Synced)
	if _, err := finish(r, u, dd, b, true); err != nil {
		t.Fatalf("discoverable sign-in: %v", err)
	}
}

// As a second step, a key that does not verify its user is accepted, and
// says so: it proves possession only.
func TestSecondStepKeyWithoutVerification(t *testing.T) {
	r := rp(t)
	u, k := registered(t, testpasskey.UserPresent, 0)
	ch, data := begin(t, r, u)
	b, err := k.Assert(ch, origin, "ward.example", 1, testpasskey.UserPresent)
	if err != nil {
		t.Fatal(err)
	}
	a, err := passkey.ParseAssertion(b)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.FinishSignIn(u, data, a, false); err != nil {
		t.Fatal(err)
	}
	if passkey.UserVerified(a) {
		t.Fatal("an unverified use read as verified")
	}
}

// BenchmarkFinishSignIn is the relying party's work for one passkey
// sign-in: parse the browser's answer and verify it (ES256).
func BenchmarkFinishSignIn(b *testing.B) {
	r := rp(b)
	u, k := registered(b, testpasskey.Synced, 0)
	ch, data := begin(b, r, u)
	answer, err := k.Assert(ch, origin, "ward.example", 0, testpasskey.Synced)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := finish(r, u, data, answer, false); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzFinishSignIn: whatever a browser (or anyone) sends as an answer is
// read without a panic, and nothing but a signed answer signs in.
func FuzzFinishSignIn(f *testing.F) {
	r := rp(f)
	u, k := registered(f, testpasskey.Synced, 0)
	ch, data := begin(f, r, u)
	good, _ := k.Assert(ch, origin, "ward.example", 1, testpasskey.Synced)
	f.Add([]byte(good))
	f.Add([]byte(`{"id":"","rawId":"","type":"public-key","response":{}}`))
	f.Add([]byte(`{"id":"AA","rawId":"AA","type":"public-key","response":{"clientDataJSON":"e30","authenticatorData":"","signature":""}}`))
	want, err := passkey.ParseAssertion(good)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, answer []byte) {
		if _, err := finish(r, u, data, answer, false); err != nil {
			return
		}
		// The fuzzer cannot forge a signature; it may only re-encode the
		// good answer (other JSON spacing, other fields around it).
		got, _ := passkey.ParseAssertion(answer)
		w, g := want.Raw.AssertionResponse, got.Raw.AssertionResponse
		if string(g.Signature) != string(w.Signature) || string(g.AuthenticatorData) != string(w.AuthenticatorData) ||
			string(g.ClientDataJSON) != string(w.ClientDataJSON) {
			t.Fatalf("an answer that is not the signed one signed in: %q", answer)
		}
	})
}
