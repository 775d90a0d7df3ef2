// Package confusable tells when two strings look alike to a reader: the
// skeletons of Unicode TR39 (folded to the ASCII each character resembles)
// and its "highly restrictive" rule on mixing scripts. The mail check uses
// it for lookalike senders, and accounts for lookalike addresses.
package confusable

import (
	"strings"
	"unicode"

	"golang.org/x/net/idna"
	"golang.org/x/text/unicode/norm"
	"golang.org/x/text/width"
)

//go:generate go run ./internal/gen -o table.go

// Skeleton is s as a reader sees it: punycode decoded, width and
// compatibility folded, every character mapped to the ASCII it resembles,
// marks dropped, and the multi-letter ASCII lookalikes (rn→m, vv→w) merged.
func Skeleton(s string) string {
	out := fold(s)
	for _, p := range [][2]string{{"rn", "m"}, {"vv", "w"}, {"0", "o"}, {"1", "l"}, {"i", "l"}, {"|", "l"}} {
		out = strings.ReplaceAll(out, p[0], p[1])
	}
	return out
}

// fold is the skeleton before ASCII lookalikes (rn, m) are merged: every
// other character written as the ASCII it resembles.
func fold(s string) string {
	if u, err := idna.ToUnicode(s); err == nil {
		s = u
	}
	s = norm.NFKC.String(width.Fold.String(strings.ToLower(s)))
	var b strings.Builder
	for _, r := range norm.NFD.String(s) {
		switch {
		case unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Cf, r):
			continue
		case r < 0x80:
			b.WriteRune(r)
		default:
			if f, ok := table[r]; ok {
				b.WriteString(f)
			} else {
				b.WriteRune(unicode.ToLower(r))
			}
		}
	}
	return b.String()
}

// scripts the TR39 "highly restrictive" level lets one name mix: Latin
// with Japanese, Chinese or Korean writing.
var mixes = [][]*unicode.RangeTable{
	{unicode.Latin, unicode.Han, unicode.Hiragana, unicode.Katakana},
	{unicode.Latin, unicode.Han, unicode.Bopomofo},
	{unicode.Latin, unicode.Han, unicode.Hangul},
}

var allScripts = func() []*unicode.RangeTable {
	var out []*unicode.RangeTable
	for name, t := range unicode.Scripts {
		if name != "Common" && name != "Inherited" {
			out = append(out, t)
		}
	}
	return out
}()

// MixedScripts reports whether s mixes scripts beyond what TR39's highly
// restrictive level allows (Cyrillic а among Latin letters, say). Digits,
// punctuation and marks belong to no script and mix with any.
func MixedScripts(s string) bool {
	var used []*unicode.RangeTable
	for _, r := range s {
		if r < 0x80 && !unicode.IsLetter(r) {
			continue
		}
		for _, t := range allScripts {
			if unicode.Is(t, r) {
				if !contains(used, t) {
					used = append(used, t)
				}
				break
			}
		}
	}
	if len(used) <= 1 {
		return false
	}
	for _, allowed := range mixes {
		if subset(used, allowed) {
			return false
		}
	}
	return true
}

// Invisible reports a character that shows nothing, or changes how its
// neighbours show (format characters such as U+200B, variation selectors,
// other default-ignorable ones).
func Invisible(r rune) bool {
	return unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r) ||
		unicode.Is(unicode.Variation_Selector, r) || r == '\u3164' || r == '\uFFA0' || r == '\u115F' || r == '\u1160'
}

func contains(ts []*unicode.RangeTable, t *unicode.RangeTable) bool {
	for _, x := range ts {
		if x == t {
			return true
		}
	}
	return false
}

func subset(a, b []*unicode.RangeTable) bool {
	for _, t := range a {
		if !contains(b, t) {
			return false
		}
	}
	return true
}

// Address is how an email address looks: its local part with every
// character that is not ASCII written as the ASCII it resembles, and its
// domain as it is. Two addresses with the same Address are one made to
// look like the other (pаypal@ with a Cyrillic а, and paypal@). Unlike
// Skeleton it keeps ASCII as it is: mike1@ and mikel@ are two people's
// ordinary addresses, not an attack.
func Address(email string) string {
	at := strings.LastIndexByte(email, '@')
	if at < 0 {
		return fold(email)
	}
	return fold(email[:at]) + email[at:]
}
