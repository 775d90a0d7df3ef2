package account

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestNormalizeEmail(t *testing.T) {
	for in, want := range map[string]string{
		"  Hana@Example.JP ":       "hana@example.jp",
		"taro@例え.テスト":              "taro@xn--r8jz45g.xn--zckzah",
		"a.b+tag@sub.example.com":  "a.b+tag@sub.example.com",
		"user@EXAMPLE.com.":        "user@example.com",
		"\u0061\u030a@example.com": "\u00e5@example.com", // NFC
	} {
		got, err := NormalizeEmail(in)
		if err != nil || got != want {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "plain", "@example.com", "a@", "a b@example.com", "a@localhost", "a@exa mple.com",
		"a@-bad-.com", strings.Repeat("x", 65) + "@example.com", "Name <a@example.com>", "a@b@example.com", "a\x00@example.com"} {
		if got, err := NormalizeEmail(in); err == nil {
			t.Errorf("NormalizeEmail(%q) accepted as %q", in, got)
		} else if !IsInput(err) {
			t.Errorf("NormalizeEmail(%q): %v is not an input error", in, err)
		}
	}
}

func TestNormalizePhone(t *testing.T) {
	for in, want := range map[string]string{
		"+81 90-1234-5678":  "+819012345678",
		"＋８１ ９０ １２３４ ５６７８":  "+819012345678",
		"+1 (415) 555-0100": "+14155550100",
	} {
		got, err := NormalizePhone(in)
		if err != nil || got != want {
			t.Errorf("NormalizePhone(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for in, says := range map[string]string{
		"090-1234-5678":     "country code",
		"+81 90 1234 567x":  "digits",
		"+0 123 4567 890":   "8 to 15",
		"+1234567":          "8 to 15",
		"+1234567890123456": "8 to 15",
		"":                  "Enter",
	} {
		_, err := NormalizePhone(in)
		if err == nil || !strings.Contains(err.Error(), says) {
			t.Errorf("NormalizePhone(%q): %v, want a message about %q", in, err, says)
		}
	}
}

func TestMask(t *testing.T) {
	for _, tc := range [][3]string{
		{"email", "jiro@gmail.com", "j***@gmail.com"},
		{"email", "美咲@example.jp", "美***@example.jp"},
		{"phone", "+819012345678", "+81********78"},
		{"phone", "+14155550100", "+1********00"},
	} {
		if got := Mask(tc[0], tc[1]); got != tc[2] {
			t.Errorf("Mask(%s) = %q, want %q", tc[1], got, tc[2])
		}
	}
}

func fastPolicy() PasswordPolicy { return DefaultPasswordPolicy() }

func TestPasswordRules(t *testing.T) {
	pw, err := NewPasswords(fastPolicy(), 2)
	if err != nil {
		t.Fatal(err)
	}
	for in, says := range map[string]string{
		"short":                  "at least 8",
		"password":               "common",
		"password123":            "common",
		"qwertyuiop":             "",
		"aaaaaaaaaaaa":           "repeats",
		"abcdefghijk":            "",
		"hana.yamada2024":        "",
		"        ":               "",
		strings.Repeat("x", 300): "at most 256",
	} {
		err := pw.Check(in, "hana.yamada@example.jp")
		if err == nil {
			t.Errorf("password %q accepted", in)
			continue
		}
		if says != "" && !strings.Contains(err.Error(), says) {
			t.Errorf("password %q: %q does not say %q", in, err, says)
		}
	}
	// No composition rules: a long passphrase of lower-case words is fine,
	// and so is Japanese.
	for _, ok := range []string{"correct horse battery staple", "すもももももももものうちの庭", "Tr0ub4dor&3-but-longer"} {
		if err := pw.Check(ok); err != nil {
			t.Errorf("good password %q refused: %v", ok, err)
		}
	}
}

func TestPasswordHashVerify(t *testing.T) {
	ctx := context.Background()
	pw, _ := NewPasswords(fastPolicy(), 2)
	h, err := pw.Hash(ctx, "Cafe\u0301 au lait, s'il vous plaît")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q does not record OWASP's parameters", h)
	}
	h2, _ := pw.Hash(ctx, "Cafe\u0301 au lait, s'il vous plaît")
	if h == h2 {
		t.Fatal("two hashes of one password are equal: no salt")
	}
	// NFC: the composed and decomposed forms are the same password.
	if ok, err := pw.Verify(ctx, h, "Caf\u00e9 au lait, s'il vous plaît", false); err != nil || !ok {
		t.Fatalf("verify composed form: %v %v", ok, err)
	}
	if ok, _ := pw.Verify(ctx, h, "Cafe au lait, s'il vous plaît", false); ok {
		t.Fatal("a different password verified")
	}
	if ok, err := pw.Verify(ctx, "", "anything", false); ok || err != nil {
		t.Fatalf("no stored hash must never verify: %v %v", ok, err)
	}
	if _, err := pw.Verify(ctx, "$2a$10$bcrypt", "x", false); err == nil {
		t.Fatal("a malformed stored hash was accepted")
	}
}

func TestHashingIsBounded(t *testing.T) {
	pw, _ := NewPasswords(fastPolicy(), 1)
	// Hold the one slot; a hash that cannot get it gives up with its context.
	pw.slots <- struct{}{}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := pw.Hash(ctx, "some long passphrase"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("hash past the bound: %v", err)
	}
	<-pw.slots
	var running, peak atomic.Int32
	var wg sync.WaitGroup
	pw2, _ := NewPasswords(fastPolicy(), 2)
	for range 6 {
		wg.Go(func() {
			release, _ := pw2.acquire(context.Background(), false)
			n := running.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			time.Sleep(5 * time.Millisecond)
			running.Add(-1)
			release()
		})
	}
	wg.Wait()
	if peak.Load() > 2 {
		t.Fatalf("%d hashes ran at once with a bound of 2", peak.Load())
	}
}

// While strangers' guesses hold every hashing slot, the owner's known
// device still gets one (issue 10, D14); a stranger does not.
func TestOwnerIsServedWhenSlotsAreFull(t *testing.T) {
	pw, _ := NewPasswords(fastPolicy(), 1)
	h, err := pw.Hash(context.Background(), "the owner's long passphrase")
	if err != nil {
		t.Fatal(err)
	}
	pw.slots <- struct{}{} // a stranger's guess is hashing
	defer func() { <-pw.slots }()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := pw.Verify(ctx, h, "a guess", false); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a stranger got past full slots: %v", err)
	}
	if ok, err := pw.Verify(context.Background(), h, "the owner's long passphrase", true); err != nil || !ok {
		t.Fatalf("the owner's device was not served: %v %v", ok, err)
	}
}

func FuzzNormalizeEmail(f *testing.F) {
	for _, s := range []string{"a@example.com", " Hana@Example.JP ", "taro@例え.テスト", "@", "a@b", "\"quoted\"@example.com"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := NormalizeEmail(in)
		if err != nil {
			if !IsInput(err) {
				t.Fatalf("%q: error %v is not an input error", in, err)
			}
			return
		}
		if again, err := NormalizeEmail(got); err != nil || again != got {
			t.Fatalf("normal form %q of %q is not stable: %q %v", got, in, again, err)
		}
		if strings.ContainsAny(got, " \t\r\n<>") || len(got) > 254 {
			t.Fatalf("accepted %q as %q", in, got)
		}
	})
}

func FuzzNormalizePhone(f *testing.F) {
	for _, s := range []string{"+81 90-1234-5678", "090", "＋８１９０１２３４５６７８", "+", "++1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := NormalizePhone(in)
		if err != nil {
			return
		}
		if got[0] != '+' || len(got) < 9 || len(got) > 16 || strings.Trim(got[1:], "0123456789") != "" {
			t.Fatalf("accepted %q as %q", in, got)
		}
		if again, err := NormalizePhone(got); err != nil || again != got {
			t.Fatalf("normal form %q not stable", got)
		}
	})
}

func BenchmarkPasswordHash(b *testing.B) {
	pw, _ := NewPasswords(DefaultPasswordPolicy(), 4)
	ctx := context.Background()
	for b.Loop() {
		if _, err := pw.Hash(ctx, "correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}
