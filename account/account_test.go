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
	// Hold the one slot; a hash that cannot get it gives up with its context
	// and leaves the queue, so the slot, once given back, is free again.
	hold, _ := pw.acquire(context.Background(), false)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := pw.Hash(ctx, "some long passphrase"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("hash past the bound: %v", err)
	}
	hold()
	if _, err := pw.Hash(context.Background(), "some long passphrase"); err != nil {
		t.Fatalf("the slot was not free after the waiter gave up: %v", err)
	}
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

// While strangers' guesses hold every hashing slot and more wait, the
// owner's known device is served at the next free slot, ahead of them
// (issue 10, D14); the strangers are served after, in their order. No
// more hashes run at once than the bound: a hash holds 19 MiB.
func TestOwnerIsServedFirst(t *testing.T) {
	pw, _ := NewPasswords(fastPolicy(), 1)
	hold, _ := pw.acquire(context.Background(), false) // a stranger's guess is hashing
	var mu sync.Mutex
	var order []string
	var wg sync.WaitGroup
	waiting := func(who string, owner bool) {
		wg.Go(func() {
			release, err := pw.acquire(context.Background(), owner)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			order = append(order, who)
			mu.Unlock()
			release()
		})
	}
	queued := func(n int) {
		for {
			pw.slots.mu.Lock()
			q := len(pw.slots.owners) + len(pw.slots.others)
			pw.slots.mu.Unlock()
			if q == n {
				return
			}
			time.Sleep(time.Millisecond)
		}
	}
	waiting("stranger 1", false)
	queued(1)
	waiting("stranger 2", false)
	queued(2)
	waiting("owner", true)
	queued(3)
	hold()
	wg.Wait()
	if got := strings.Join(order, ", "); got != "owner, stranger 1, stranger 2" {
		t.Fatalf("served in the order %s", got)
	}
	h, _ := pw.Hash(context.Background(), "the owner's long passphrase")
	if ok, err := pw.Verify(context.Background(), h, "the owner's long passphrase", true); err != nil || !ok {
		t.Fatalf("the owner's device was not served: %v %v", ok, err)
	}
}

// A slot granted to a waiter at the moment it gives up is passed on, not
// lost: under 100 waiters that give up at random, every slot comes back.
func TestGivingUpLosesNoSlot(t *testing.T) {
	pw, _ := NewPasswords(fastPolicy(), 2)
	var wg sync.WaitGroup
	for i := range 100 {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Duration(i%7)*time.Millisecond)
			defer cancel()
			if release, err := pw.acquire(ctx, i%3 == 0); err == nil {
				time.Sleep(time.Millisecond)
				release()
			}
		})
	}
	wg.Wait()
	pw.slots.mu.Lock()
	defer pw.slots.mu.Unlock()
	if pw.slots.free != 2 || len(pw.slots.owners)+len(pw.slots.others) != 0 {
		t.Fatalf("after the burst: %d slots free, %d owners and %d others queued", pw.slots.free, len(pw.slots.owners), len(pw.slots.others))
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
