package dkim

import (
	"strings"
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

func BenchmarkSign(b *testing.B) {
	ks, err := LoadOrCreate(b.TempDir(), "example.com")
	if err != nil {
		b.Fatal(err)
	}
	raw := []byte("From: a@example.com\r\nTo: b@example.org\r\nSubject: code\r\nDate: Sun, 22 Nov 2026 10:00:00 +0000\r\nMessage-ID: <x@example.com>\r\n\r\n" +
		strings.Repeat("Use this code to sign in: 123456\r\n", 20))
	for b.Loop() {
		if _, err := ks.Signatures(raw); err != nil {
			b.Fatal(err)
		}
	}
}
