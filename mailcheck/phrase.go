package mailcheck

import (
	"fmt"
	"regexp"
	"regexp/syntax"
	"strings"
	"unicode/utf8"
)

// phrases finds the first match of a large alternation of phrases in
// lower-cased text. Go's regexp runs such an alternation as an NFA over
// every byte (about 0.4 MB/s here); instead every literal a phrase can
// start with is found in one pass over the text, and the expression runs
// only on the short window after it.
type phrases struct {
	re       *regexp.Regexp
	triggers map[uint16][]string
	seen     [1 << 16 / 64]uint64
}

const phraseWindow = 120

// newPhrases compiles pattern, which must be lower case and whose every
// alternative starts with a literal of two bytes or more.
func newPhrases(pattern string) *phrases {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		panic(fmt.Sprintf("phrase pattern: %v", err))
	}
	lits, ok := prefixes(re.Simplify())
	if !ok {
		panic(fmt.Sprintf("phrase pattern has an alternative without a literal start: %.60s…", pattern))
	}
	p := &phrases{re: regexp.MustCompile(`^(?:` + pattern + `)`), triggers: map[uint16][]string{}}
	for _, l := range lits {
		k := uint16(l[0])<<8 | uint16(l[1])
		p.triggers[k] = append(p.triggers[k], l)
		p.seen[k/64] |= 1 << (k % 64)
	}
	return p
}

// prefixes lists the literal strings every match of re starts with.
func prefixes(re *syntax.Regexp) ([]string, bool) {
	switch re.Op {
	case syntax.OpCapture:
		return prefixes(re.Sub[0])
	case syntax.OpLiteral:
		return []string{string(re.Rune)}, len(string(re.Rune)) >= 2
	case syntax.OpAlternate:
		var out []string
		for _, s := range re.Sub {
			p, ok := prefixes(s)
			if !ok {
				return nil, false
			}
			out = append(out, p...)
		}
		return out, true
	case syntax.OpConcat:
		acc := []string{""}
		for _, s := range re.Sub {
			switch s.Op {
			case syntax.OpWordBoundary, syntax.OpBeginText, syntax.OpBeginLine:
				continue
			case syntax.OpLiteral:
				for i := range acc {
					acc[i] += string(s.Rune)
				}
				continue
			case syntax.OpCharClass:
				var runes []rune
				for i := 0; i+1 < len(s.Rune); i += 2 {
					for r := s.Rune[i]; r <= s.Rune[i+1] && len(runes) <= 8; r++ {
						runes = append(runes, r)
					}
				}
				if len(runes) <= 8 {
					var next []string
					for _, a := range acc {
						for _, r := range runes {
							next = append(next, a+string(r))
						}
					}
					acc = next
					continue
				}
			case syntax.OpAlternate, syntax.OpCapture:
				// "v(erify|alidate)": the parser factored a common start out.
				if sub, ok := prefixes(s); ok && len(acc)*len(sub) <= 256 {
					var next []string
					for _, a := range acc {
						for _, b := range sub {
							next = append(next, a+b)
						}
					}
					acc = next
				}
			}
			break
		}
		for _, a := range acc {
			if len(a) < 2 {
				return nil, false
			}
		}
		return acc, true
	}
	return nil, false
}

// find returns the first phrase in lower, or "".
func (p *phrases) find(lower string) string {
	for i := 0; i+1 < len(lower); i++ {
		k := uint16(lower[i])<<8 | uint16(lower[i+1])
		if p.seen[k/64]&(1<<(k%64)) == 0 {
			continue
		}
		c := lower[i]
		if c < utf8.RuneSelf && i > 0 && isWordByte(lower[i-1]) && isWordByte(c) {
			continue // not at the start of a word
		}
		for _, t := range p.triggers[k] {
			if !strings.HasPrefix(lower[i:], t) {
				continue
			}
			if loc := p.re.FindStringIndex(lower[i:min(len(lower), i+phraseWindow)]); loc != nil {
				return lower[i : i+loc[1]]
			}
		}
	}
	return ""
}
