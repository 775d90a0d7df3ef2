package assurance

import (
	"slices"
	"testing"
)

func TestLevelFollowsNIST(t *testing.T) {
	for method, want := range map[string]int{
		"":                       AAL0,
		"email_code":             AAL0, // an email code is no authenticator
		"password":               AAL1,
		"password+email_code":    AAL1,
		"totp":                   AAL1,
		"email_code+totp":        AAL1, // one authenticator
		"password+totp":          AAL2,
		"password+sms_code":      AAL2,
		"passkey":                AAL2, // verified its user: multi-factor on its own
		"security_key":           AAL1, // possession only
		"password+security_key":  AAL2,
		"password+recovery_code": AAL1,
	} {
		if got := Level(Factors(method)); got != want {
			t.Errorf("Level(%q) = %d, want %d", method, got, want)
		}
	}
}

func TestAMRUsesRFC8176Values(t *testing.T) {
	for method, want := range map[string][]string{
		"password":            {"pwd"},
		"password+totp":       {"pwd", "otp", "mfa"},
		"password+sms_code":   {"pwd", "sms", "mfa"},
		"password+email_code": {"pwd", "email"},
		"passkey":             {"hwk", "user", "mfa"},
	} {
		if got := AMR(Factors(method)); !slices.Equal(got, want) {
			t.Errorf("AMR(%q) = %v, want %v", method, got, want)
		}
	}
}

func TestWithAddsEachFactorOnce(t *testing.T) {
	if got := With("password", TOTP, Password); got != "password+totp" {
		t.Fatalf("With = %q", got)
	}
	if got := With("", EmailCode); got != "email_code" {
		t.Fatalf("With on nothing = %q", got)
	}
}
