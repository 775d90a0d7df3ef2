package keys

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestLoadOrCreateKeepsTheKeyPrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "d", "secret.key")
	a, err := LoadOrCreate(path)
	if err != nil {
		t.Fatal(err)
	}
	b, err := LoadOrCreate(path)
	if err != nil || !bytes.Equal(a, b) {
		t.Fatal("second start read another key")
	}
	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v", fi.Mode().Perm())
	}
	if _, err := Parse("c2hvcnQ="); err == nil {
		t.Fatal("a short key was accepted")
	}
}

func TestSealAndMACsAreBound(t *testing.T) {
	k, _ := New(bytes.Repeat([]byte{1}, 32))
	s := k.Seal([]byte("123456"), []byte("m1"))
	if p, err := k.Open(s, []byte("m1")); err != nil || string(p) != "123456" {
		t.Fatalf("open: %q %v", p, err)
	}
	if _, err := k.Open(s, []byte("m2")); err == nil {
		t.Fatal("opened under another binding")
	}
	if k.CodeMAC("f1", "sign_in", "123456") == k.CodeMAC("f2", "sign_in", "123456") ||
		k.CodeMAC("f1", "sign_in", "123456") == k.CodeMAC("f1", "password_reset", "123456") ||
		k.CodeMAC("ab", "c") == k.CodeMAC("a", "bc") {
		t.Fatal("a code MAC does not depend on its whole binding")
	}
	other, _ := New(bytes.Repeat([]byte{2}, 32))
	if k.CodeMAC("f1", "x") == other.CodeMAC("f1", "x") {
		t.Fatal("MACs do not depend on the key")
	}
}
