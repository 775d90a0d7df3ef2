package otp

import (
	"errors"
	"strings"
	"testing"
)

func TestGenerateIsUniformAndPadded(t *testing.T) {
	var counts [10]int
	for range 2000 {
		c, err := Generate(6)
		if err != nil {
			t.Fatal(err)
		}
		if len(c) != 6 {
			t.Fatalf("code %q is not 6 digits", c)
		}
		for _, r := range c {
			counts[r-'0']++
		}
	}
	// 12,000 digits: each value is expected 1,200 times; a generator that
	// skews by more than 20% is broken, not unlucky.
	for d, n := range counts {
		if n < 960 || n > 1440 {
			t.Errorf("digit %d appeared %d times of 12000", d, n)
		}
	}
	if _, err := Generate(5); err == nil {
		t.Error("5-digit codes must be refused")
	}
	if c, _ := Generate(8); len(c) != 8 {
		t.Errorf("8-digit code has length %d", len(c))
	}
}

func TestNormalizeAcceptsWhatPeopleMeant(t *testing.T) {
	for _, in := range []string{
		"123456",
		"１２３４５６",
		"123 456",
		" 123-456 ",
		"123\t456\n",
		"123\u00a0456",
		"１２３　４５６",
		"123ー456",
		"123\u200b456",
		"١٢٣٤٥٦",
		"१२३४५६",
		"12.34.56",
	} {
		got, err := Normalize(in, 6)
		if err != nil || got != "123456" {
			t.Errorf("Normalize(%q) = %q, %v; want 123456", in, got, err)
		}
	}
}

func TestNormalizeRejectsWithClearError(t *testing.T) {
	for in, counts := range map[string]bool{
		"12345":      false,
		"1234567":    false,
		"12345a":     false,
		"abcdef":     false,
		"123456x":    true,
		"code123456": true,
		"12345６７":    false,
	} {
		_, err := Normalize(in, 6)
		var fe *FormatError
		if !errors.As(err, &fe) {
			t.Errorf("Normalize(%q) error = %v, want FormatError", in, err)
			continue
		}
		if fe.CountsAsAttempt != counts {
			t.Errorf("Normalize(%q) counts as attempt = %v, want %v", in, fe.CountsAsAttempt, counts)
		}
		if !strings.Contains(fe.Error(), "6 digits") {
			t.Errorf("error %q does not say codes are 6 digits", fe)
		}
	}
	if _, err := Normalize("  ", 6); !errors.Is(err, ErrEmpty) {
		t.Errorf("blank input: %v, want ErrEmpty", err)
	}
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"123456", "１２３４５６", "123 456", "", "abc", "١٢٣٤٥٦", "\u200b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := Normalize(in, 6)
		if err != nil {
			return
		}
		if len(got) != 6 {
			t.Fatalf("accepted %q as %q", in, got)
		}
		for _, r := range got {
			if r < '0' || r > '9' {
				t.Fatalf("accepted %q as non-ASCII %q", in, got)
			}
		}
		// Accepting is stable: the normal form normalises to itself.
		if again, err := Normalize(got, 6); err != nil || again != got {
			t.Fatalf("normal form %q not stable: %q %v", got, again, err)
		}
	})
}

func BenchmarkGenerate(b *testing.B) {
	for b.Loop() {
		if _, err := Generate(6); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNormalize(b *testing.B) {
	for b.Loop() {
		if _, err := Normalize("１２３ ４５６", 6); err != nil {
			b.Fatal(err)
		}
	}
}
