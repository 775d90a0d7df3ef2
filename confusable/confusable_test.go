package confusable

import "testing"

func TestMixedScripts(t *testing.T) {
	for s, want := range map[string]bool{
		"paypal":      false,
		"p\u0430ypal": true,  // Cyrillic а among Latin
		"ρaypal":      true,  // Greek rho
		"山田たろう":       false, // Han with Hiragana: Japanese
		"yamada山田":    false, // Latin with Han
		"カタカナ2026":    false,
		"김철수kim":      false, // Hangul with Latin
		"김철수たろう":      true,  // Hangul with Hiragana
		"привет":      false,
	} {
		if got := MixedScripts(s); got != want {
			t.Errorf("MixedScripts(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestAddressKeepsASCIIAndFoldsTheRest(t *testing.T) {
	for in, want := range map[string]string{
		"p\u0430ypal@example.com": "paypal@example.com",
		"ｐａｙｐａｌ@example.com":      "paypal@example.com",
		"mike1@example.com":       "mike1@example.com",
		"rnike@example.com":       "rnike@example.com",
	} {
		if got := Address(in); got != want {
			t.Errorf("Address(%q) = %q, want %q", in, got, want)
		}
	}
	if Skeleton("rnicrosoft") != Skeleton("microsoft") {
		t.Error("rn and m should share a skeleton")
	}
	if !Invisible('\u200b') || !Invisible('\ufe0f') || Invisible('a') {
		t.Error("invisible characters")
	}
}
