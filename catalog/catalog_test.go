package catalog

import (
	"strings"
	"testing"
	"time"
)

// Every message exists in both languages, with the same placeholders.
func TestEveryMessageInBothLanguages(t *testing.T) {
	en, ja := IDs("en"), IDs("ja")
	for _, lang := range [][2]any{{"en", en}, {"ja", ja}} {
		other := "ja"
		if lang[0] == "ja" {
			other = "en"
		}
		for _, id := range lang[1].([]string) {
			if _, ok := messages[other][id]; !ok {
				t.Errorf("%s has %q, %s does not", lang[0], id, other)
			}
		}
	}
	for _, id := range en {
		for _, p := range []string{"%[1]s", "%[2]s", "%[3]s", "%[4]s", "%s"} {
			if strings.Count(messages["en"][id], p) > 0 != (strings.Count(messages["ja"][id], p) > 0) {
				t.Errorf("%s: placeholder %s in one language only", id, p)
			}
		}
	}
}

func TestTimeInTheReadersWay(t *testing.T) {
	at := time.Date(2026, 11, 25, 15, 4, 0, 0, time.UTC)
	if got := Time("ja", nil, at); got != "2026年11月26日 00:04 (JST)" {
		t.Errorf("ja: %q", got)
	}
	if got := Time("en", nil, at); got != "25 Nov 2026 15:04 UTC" {
		t.Errorf("en: %q", got)
	}
	if Time("en", nil, time.Time{}) != "" || Text("fr", "account") != Text("en", "account") || Text("en", "no such id") != "no such id" {
		t.Error("zero time, unknown language or unknown id")
	}
}
