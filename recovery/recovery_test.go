package recovery

import (
	"strings"
	"testing"
)

func TestNewSetIsReadableAndDistinct(t *testing.T) {
	set, err := NewSet()
	if err != nil {
		t.Fatal(err)
	}
	if len(set) != Count {
		t.Fatalf("%d codes, want %d", len(set), Count)
	}
	seen := map[string]bool{}
	for _, c := range set {
		if len(c) != 11 || c[5] != '-' {
			t.Fatalf("code %q is not xxxxx-xxxxx", c)
		}
		n, err := Normalize(c)
		if err != nil || n != strings.ReplaceAll(c, "-", "") {
			t.Fatalf("code %q reads back as %q, %v", c, n, err)
		}
		if seen[n] {
			t.Fatalf("code %q twice in one set", c)
		}
		seen[n] = true
	}
}

func TestNormalizeAcceptsWhatPeopleMeant(t *testing.T) {
	for in, want := range map[string]string{
		"4kq7m-x2c9p":   "4kq7mx2c9p",
		" 4KQ7M X2C9P ": "4kq7mx2c9p",
		"４ｋｑ７ｍ－ｘ２ｃ９ｐ":   "4kq7mx2c9p",
		"4kq7mx2c9p":    "4kq7mx2c9p",
	} {
		if got, err := Normalize(in); err != nil || got != want {
			t.Errorf("Normalize(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "4kq7m", "4kq7m-x2c9p-x", "4kq7m-x2c9!", "123456"} {
		if _, err := Normalize(in); err == nil {
			t.Errorf("Normalize(%q) accepted", in)
		}
	}
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"4kq7m-x2c9p", "４ｋｑ７ｍ－ｘ２ｃ９ｐ", "", "oooooIIIII"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		n, err := Normalize(in)
		if err != nil {
			return
		}
		if len(n) != length {
			t.Fatalf("normalized %q to %q", in, n)
		}
		if again, err := Normalize(n); err != nil || again != n {
			t.Fatalf("normalizing %q twice gave %q, %v", n, again, err)
		}
	})
}
