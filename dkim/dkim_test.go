package dkim

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestKeysAreMadeOnceAndRotate(t *testing.T) {
	dir := t.TempDir()
	ks, err := LoadOrCreate(dir, "example.com")
	if err != nil {
		t.Fatal(err)
	}
	if len(ks.Sign) != 2 || len(ks.All) != 2 {
		t.Fatalf("first start: %d signing, %d keys", len(ks.Sign), len(ks.All))
	}
	again, _ := LoadOrCreate(dir, "example.com")
	if again.Sign[0].Selector != ks.Sign[0].Selector {
		t.Fatal("a second start made new keys")
	}
	sels, err := Generate(dir, time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	rotated, _ := LoadOrCreate(dir, "example.com")
	if len(rotated.All) != 4 || rotated.Sign[0].Selector != sels[0] || rotated.Sign[1].Selector != sels[1] {
		t.Fatalf("after rotation: signing with %v, %d published", rotated.Sign, len(rotated.All))
	}
	name, value, err := rotated.Record(rotated.Sign[0])
	if err != nil || name != sels[0]+"._domainkey.example.com" || !strings.HasPrefix(value, "v=DKIM1; k=ed25519; p=") {
		t.Fatalf("record %q %q %v", name, value, err)
	}
	_, value, _ = rotated.Record(rotated.Sign[1])
	if !strings.HasPrefix(value, "v=DKIM1; k=rsa; p=MII") {
		t.Fatalf("RSA record %q", value)
	}
	// The old keys stay published: mail they signed still verifies.
	if txt, err := rotated.LookupTXT(ks.Sign[1].Selector + "._domainkey.example.com"); err != nil || len(txt) != 1 {
		t.Fatalf("old key unpublished: %v", err)
	}
}

// BenchmarkSign is both signatures of one mail, RSA made by Go or by
// OpenSSL.
func BenchmarkSign(b *testing.B) {
	raw := []byte("From: a@example.com\r\nTo: b@example.org\r\nSubject: code\r\nDate: Sun, 22 Nov 2026 10:00:00 +0000\r\nMessage-ID: <x@example.com>\r\n\r\n" +
		strings.Repeat("Use this code to sign in: 123456\r\n", 20))
	dir := b.TempDir()
	for _, by := range []string{"go", "openssl"} {
		b.Run(by, func(b *testing.B) {
			var ks *Keys
			if by == "openssl" {
				ks = opensslKeys(b, dir)
			} else {
				var err error
				if ks, err = LoadOrCreate(dir, "example.com"); err != nil {
					b.Fatal(err)
				}
			}
			for b.Loop() {
				if _, err := ks.Signatures(raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// opensslKeys loads the keys in dir signing RSA with OpenSSL; in a build
// without it (CGO_ENABLED=0 or -tags noopenssl), or without a libcrypto
// here, the test is skipped, saying so (CI has one).
func opensslKeys(t testing.TB, dir string) *Keys {
	t.Helper()
	ks, err := LoadOrCreate(dir, "example.com")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ks.UseOpenSSL(); err != nil {
		if builtWithOpenSSL && os.Getenv("CI") != "" {
			t.Fatalf("CI has OpenSSL's libcrypto: %v", err)
		}
		t.Skipf("SKIP: RSA signing with OpenSSL not tried: %v", err)
	}
	return ks
}

func TestOpenSSLSignsWhatGoSigns(t *testing.T) {
	dir := t.TempDir()
	byGo, err := LoadOrCreate(dir, "example.com")
	if err != nil {
		t.Fatal(err)
	}
	bySSL := opensslKeys(t, dir)
	goKey, sslKey := byGo.Sign[1].Signer, bySSL.Sign[1].Signer
	if _, ok := goKey.(*rsa.PrivateKey); !ok || goKey == sslKey {
		t.Fatalf("the RSA key is not signed for by OpenSSL: %T, %T", goKey, sslKey)
	}
	// PKCS #1 v1.5 is deterministic: the same key and digest make the same
	// bytes, so OpenSSL's signature must be Go's, also when a hundred are
	// made at once.
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i := range 100 {
		wg.Go(func() {
			digest := sha256.Sum256([]byte(strconv.Itoa(i)))
			want, err := goKey.Sign(rand.Reader, digest[:], crypto.SHA256)
			if err != nil {
				errs <- err
				return
			}
			got, err := sslKey.Sign(rand.Reader, digest[:], crypto.SHA256)
			if err != nil || !bytes.Equal(got, want) {
				errs <- fmt.Errorf("digest %d: OpenSSL's signature differs from Go's (err %v)", i, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// What DKIM does not ask for is still signed, by Go.
	digest := sha256.Sum256([]byte("pss"))
	pss := &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256}
	sig, err := sslKey.Sign(rand.Reader, digest[:], pss)
	if err != nil || rsa.VerifyPSS(sslKey.Public().(*rsa.PublicKey), crypto.SHA256, digest[:], sig, pss) != nil {
		t.Errorf("PSS signature: %v", err)
	}
	// A whole mail signed this way passes DKIM with both signatures.
	raw := []byte("From: a@example.com\r\nTo: b@example.org\r\nSubject: code\r\nDate: Sun, 22 Nov 2026 10:00:00 +0000\r\nMessage-ID: <x@example.com>\r\n\r\nUse this code: 123456\r\n")
	sigs, err := bySSL.Signatures(raw)
	if err != nil {
		t.Fatal(err)
	}
	var signed []byte
	for _, s := range sigs {
		signed = append(signed, "DKIM-Signature: "+s+"\r\n"...)
	}
	vs, err := bySSL.Verify(append(signed, raw...))
	if err != nil || len(vs) != 2 {
		t.Fatalf("verifying: %d signatures, %v", len(vs), err)
	}
	for _, v := range vs {
		if v.Err != nil {
			t.Errorf("signature by %s fails: %v", v.Domain, v.Err)
		}
	}
}
