package totp

import (
	"bytes"
	"encoding/base32"
	"net/url"
	"os/exec"
	"strings"
	"testing"
	"time"
)

var rfcSecret = []byte("12345678901234567890") // RFC 6238 appendix B, SHA-1

// RFC 6238's test vectors (their last six digits: apps show six).
func TestRFC6238Vectors(t *testing.T) {
	for unix, code := range map[int64]string{59: "287082", 1111111109: "081804", 1111111111: "050471", 1234567890: "005924",
		2000000000: "279037", 20000000000: "353130"} {
		step, ok, err := Check(rfcSecret, code, time.Unix(unix, 0), 0)
		if err != nil || !ok || step != unix/30 {
			t.Errorf("T=%d code %s: step %d ok %v err %v", unix, code, step, ok, err)
		}
	}
}

// What people type is what they meant; a code is accepted once, within a
// step of now, and never for an older step than the last one accepted.
func TestCheckOnceWithinOneStep(t *testing.T) {
	now := time.Unix(1111111111, 0)
	if _, ok, _ := Check(rfcSecret, "０５０ ４７１", now, 0); !ok {
		t.Fatal("a full-width code with a space was refused")
	}
	step, ok, _ := Check(rfcSecret, "050471", now, 0)
	if !ok {
		t.Fatal("refused")
	}
	if _, ok, _ := Check(rfcSecret, "050471", now, step); ok {
		t.Fatal("a code was accepted again (replay)")
	}
	if _, ok, _ := Check(rfcSecret, "050471", now.Add(2*Period), 0); ok {
		t.Fatal("a code two steps old was accepted")
	}
	if _, ok, _ := Check(rfcSecret, "050471", now.Add(Period), 0); !ok {
		t.Fatal("a code one step old (clock drift) was refused")
	}
	if _, ok, _ := Check(rfcSecret, "123456", now, 0); ok {
		t.Fatal("a wrong code was accepted")
	}
	if _, _, err := Check(rfcSecret, "12", now, 0); err == nil {
		t.Fatal("two digits read as a code")
	}
}

// Codes made by oathtool (RFC 6238, the reference many apps are tested
// against) from the key a person would type are accepted.
func TestOathtoolCodesAreAccepted(t *testing.T) {
	if _, err := exec.LookPath("oathtool"); err != nil {
		t.Skip("SKIP: oathtool is not installed (apt-get install oathtool); .ci/run installs it")
	}
	secret, err := NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	key := strings.ReplaceAll(Key(secret), " ", "")
	code := func(at time.Time) string {
		out, err := exec.Command("oathtool", "--totp", "--base32", "--now", at.Format("2006-01-02 15:04:05 UTC"), key).Output()
		if err != nil {
			t.Fatalf("oathtool: %v", err)
		}
		return strings.TrimSpace(string(out))
	}
	step, ok, err := Check(secret, code(now), now, 0)
	if err != nil || !ok {
		t.Fatalf("oathtool's code refused: %v", err)
	}
	if _, ok, _ := Check(secret, code(now), now, step); ok {
		t.Fatal("oathtool's code accepted twice")
	}
	if _, ok, _ := Check(secret, code(now.Add(-2*Period)), now, 0); ok {
		t.Fatal("oathtool's code from two steps ago accepted")
	}
}

func TestURIAndKey(t *testing.T) {
	secret, _ := NewSecret()
	u, err := URI("Example ID", "hana@example.jp", secret)
	if err != nil {
		t.Fatal(err)
	}
	p, err := url.Parse(u)
	if err != nil || p.Scheme != "otpauth" || p.Host != "totp" || p.Query().Get("issuer") != "Example ID" || p.Query().Get("digits") != "6" ||
		p.Query().Get("period") != "30" || !strings.Contains(p.Path, "hana@example.jp") {
		t.Fatalf("uri %s", u)
	}
	back, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ReplaceAll(Key(secret), " ", ""))
	if err != nil || !bytes.Equal(back, secret) || len(secret) != 20 {
		t.Fatalf("key %q does not give the secret back", Key(secret))
	}
}

func FuzzCheck(f *testing.F) {
	for _, s := range []string{"287082", "２８７ ０８２", "", "12345678", "abc", "0\u200b0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, input string) {
		step, ok, err := Check(rfcSecret, input, time.Unix(59, 0), 0)
		if ok && (err != nil || step < 0 || step > 3) {
			t.Fatalf("accepted %q at step %d (%v)", input, step, err)
		}
	})
}

// go test -run XXX -bench Check ./totp
func BenchmarkCheck(b *testing.B) {
	now := time.Unix(1111111111, 0)
	for b.Loop() {
		if _, ok, _ := Check(rfcSecret, "050471", now, 0); !ok {
			b.Fatal("refused")
		}
	}
}

// The QR code reads back, with a real decoder (zbarimg), as the URI
// exactly, so any authenticator app's scanner gets the secret.
func TestQRReadsBackAsTheURI(t *testing.T) {
	if _, err := exec.LookPath("zbarimg"); err != nil {
		t.Skip("SKIP: zbarimg is not installed (apt-get install zbar-tools); .ci/run installs it")
	}
	secret, err := NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	uri, err := URI("ward 例", "hanako+ja@example.jp", secret)
	if err != nil {
		t.Fatal(err)
	}
	img, err := QR(uri)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("zbarimg", "--quiet", "--raw", "-")
	cmd.Stdin = bytes.NewReader(img)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("zbarimg could not read the QR code: %v", err)
	}
	if got := strings.TrimSpace(string(out)); got != uri {
		t.Fatalf("QR reads %q, want %q", got, uri)
	}
}
