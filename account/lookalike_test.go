package account_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/wardhq/ward/account"
	"github.com/wardhq/ward/internal/testdb"
)

// Issue 10, D6: an address made to look like another is not a new account.
func TestLookalikeAddressesAreNotNewAccounts(t *testing.T) {
	for _, engine := range testdb.Engines() {
		name, open := engine.Name, engine.Open
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			pw, _ := account.NewPasswords(account.DefaultPasswordPolicy(), 1)
			svc := &account.Service{Store: open(t), Passwords: pw, Now: time.Now}
			for _, email := range []string{"paypal@example.com", "file@example.com", "mike1@example.com", "山田たろう@example.jp"} {
				if _, err := svc.Create(ctx, account.NewAccount{Email: email}); err != nil {
					t.Fatalf("%s: %v", email, err)
				}
			}
			for _, tc := range []struct{ email, why string }{
				{"p\u0430ypal@example.com", "a Cyrillic а among Latin letters"},
				{"ｐａｙｐａｌ@example.com", "full-width letters"},
				{"pay\u200bpal@example.com", "a zero-width space"},
				{"\ufb01le@example.com", "the ligature ﬁ"},
				{"PayPal@example.com", "capitals"},
				{"p\u0430yp\u0430l@example.com", "all-Cyrillic а's"},
				{"ρaypal@example.com", "a Greek rho"},
			} {
				_, err := svc.Create(ctx, account.NewAccount{Email: tc.email})
				if err == nil {
					t.Errorf("%q (%s) became a new account", tc.email, tc.why)
					continue
				}
				if !errors.Is(err, account.ErrExists) && !account.IsInput(err) {
					t.Errorf("%q (%s): %v, want a clear refusal", tc.email, tc.why, err)
				}
			}
			// Ordinary addresses that merely resemble each other in ASCII
			// belong to different people.
			if _, err := svc.Create(ctx, account.NewAccount{Email: "mikel@example.com"}); err != nil {
				t.Fatalf("mikel@ beside mike1@: %v", err)
			}
			// And typed in full width, an address signs in to its account.
			a, err := svc.Find(ctx, "ｆｉｌｅ@example.com")
			if err != nil || a.Email != "file@example.com" {
				t.Fatalf("full-width address found %+v %v", a, err)
			}
		})
	}
}

func TestNormalizeEmailFoldsAndRefuses(t *testing.T) {
	for in, want := range map[string]string{
		"ｐａｙｐａｌ@ｅｘａｍｐｌｅ．ｃｏｍ":   "paypal@example.com",
		"\ufb01le@example.com": "file@example.com",
		"Straße@example.de":    "strasse@example.de",
		"山田たろう@example.jp":     "山田たろう@example.jp",
	} {
		if got, err := account.NormalizeEmail(in); err != nil || got != want {
			t.Errorf("%q: %q %v, want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"pay\u200bpal@example.com", "p\u0430ypal@example.com", "a\u2060b@example.com", "ab\ufe0f@example.com"} {
		if _, err := account.NormalizeEmail(in); !account.IsInput(err) {
			t.Errorf("%q accepted: %v", in, err)
		}
	}
}
