package mailcheck

import (
	"net"
	"net/url"
	"slices"
	"strings"

	"golang.org/x/net/idna"
	"golang.org/x/net/publicsuffix"

	"github.com/wardhq/ward/confusable"
	"github.com/wardhq/ward/internal/editdist"
)

// hostOf returns the lower-case host of an address or URL ("" if none).
func hostOfAddress(addr string) string {
	_, host, ok := strings.Cut(addr, "@")
	if !ok {
		return ""
	}
	return strings.Trim(strings.ToLower(host), ".>[] ")
}

func hostOfURL(raw string) string {
	raw = strings.TrimSpace(raw)
	if strings.HasPrefix(strings.ToLower(raw), "www.") {
		raw = "http://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return ""
	}
	return strings.Trim(strings.ToLower(u.Hostname()), ".")
}

// registrable is the domain a person could register (example.co.jp for
// mail.example.co.jp), in Unicode form; the host itself when the public
// suffix list cannot tell.
func registrable(host string) string {
	host = strings.Trim(strings.ToLower(host), ".")
	if host == "" || isIPHost(host) {
		return host
	}
	if u, err := idna.ToUnicode(host); err == nil {
		host = u
	}
	d, err := publicsuffix.EffectiveTLDPlusOne(host)
	if err != nil {
		return host
	}
	return d
}

// sameOrg reports whether two hosts belong to one registrable domain.
func sameOrg(a, b string) bool {
	return a != "" && b != "" && registrable(a) == registrable(b)
}

// isPunycode reports an internationalised label written in ASCII form.
func isPunycode(host string) bool {
	for _, l := range strings.Split(host, ".") {
		if strings.HasPrefix(l, "xn--") {
			return true
		}
	}
	return false
}

func isIPHost(host string) bool {
	h := strings.Trim(host, "[]")
	// A host with a letter other than a hex digit is a name; most are,
	// and telling them costs nothing.
	if strings.IndexFunc(h, func(r rune) bool { return r > 'f' && r <= 'z' || r > 'F' && r <= 'Z' || r > 0x7f }) >= 0 {
		return false
	}
	return net.ParseIP(h) != nil
}

// label is the registrable domain without its public suffix ("microsoft"
// for microsoft.co.jp).
func label(reg string) string {
	suffix, _ := publicsuffix.PublicSuffix(reg)
	return strings.TrimSuffix(strings.TrimSuffix(reg, suffix), ".")
}

// target is a protected domain, prepared once for comparing many hosts.
type target struct {
	domain, reg, label, labelSkel, regSkelDot string
	// strict targets count only plain imitation: lookalike letters in
	// the name, or the domain worn as a subdomain. Many brands' names are
	// ordinary words (united, target, digital), so the same name under
	// another ending, inside a longer name, or one letter off is
	// somebody else's, not an imitation.
	strict bool
	brand  int // the brand's place in Checker.allBrands
}

func targets(domains []string, strict bool, brand int) []target {
	out := make([]target, 0, len(domains))
	for _, d := range domains {
		reg := registrable(d)
		if len(label(reg)) < 4 {
			continue // too short to tell imitation from coincidence
		}
		out = append(out, target{domain: d, reg: reg, label: label(reg), labelSkel: confusable.Skeleton(label(reg)),
			regSkelDot: confusable.Skeleton(reg) + ".", strict: strict, brand: brand})
	}
	return out
}

// lookalike tells how host imitates one of the protected domains, if it
// does: "" when it is one of them (or a subdomain) or unrelated. loose
// also counts the brand's name as a word inside the registrable name
// (microsoft-mail.com), which is damning in a sender and common in links.
func lookalike(host string, protected []target, loose bool) (kind, domain string) {
	kind, t := lookalikeTarget(host, protected, loose)
	return kind, t.domain
}

// lookalikeTarget is lookalike, naming the protected domain imitated.
func lookalikeTarget(host string, protected []target, loose bool) (string, target) {
	reg := registrable(host)
	if reg == "" || isIPHost(host) {
		return "", target{}
	}
	for _, p := range protected {
		if reg == p.reg {
			return "", target{}
		}
	}
	return imitation(seenHost(host, reg), protected, loose)
}

// hostSeen is a host as lookalikeTarget compares it: its skeleton, and
// its registrable name's label as written and as it looks.
type hostSeen struct{ skel, rawLabel, label string }

func seenHost(host, reg string) hostSeen {
	raw := label(reg)
	return hostSeen{skel: confusable.Skeleton(host), rawLabel: raw, label: confusable.Skeleton(raw)}
}

// imitation is the first of protected that h imitates, and how.
func imitation(h hostSeen, protected []target, loose bool) (string, target) {
	for _, p := range protected {
		switch {
		case h.label == p.labelSkel && (!p.strict || h.rawLabel != p.label):
			return "confusable", p
		case strings.Contains(h.skel, p.regSkelDot):
			// microsoft.com.account-verify.net
			return "contains", p
		case p.strict:
		case loose && containsToken(h.label, p.labelSkel):
			// microsoft-mail.com, secure-microsoft.co
			return "contains", p
		case len(p.labelSkel) >= 6 && abs(len(h.label)-len(p.labelSkel)) <= 2 && editdist.Distance(h.label, p.labelSkel) <= 1+len(p.labelSkel)/9:
			return "typo", p
		}
	}
	return "", target{}
}

// containsToken reports name as a whole dot- or dash-separated part of
// host, or inside one when name is long enough not to occur by chance
// ("live" is in "delivery"; "microsoft" is in nothing innocent).
func containsToken(host, name string) bool {
	for _, t := range strings.FieldsFunc(host, func(r rune) bool { return r == '.' || r == '-' || r == '_' }) {
		if t == name || len(name) >= 6 && strings.Contains(t, name) {
			return true
		}
	}
	return false
}

// publicSuffixICANN reports whether d ends in a real, ICANN-managed
// suffix, which tells "example.com" from "report.pdf".
func publicSuffixICANN(d string) (string, bool) {
	return publicsuffix.PublicSuffix(strings.ToLower(d))
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// targetIndex finds the protected domain a host imitates among hundreds
// without comparing it with each: plain imitations (a strict target's only
// kind) are looked up by their skeletons; the few loose targets are
// compared one by one as lookalikeTarget does. The first match in the
// list's order wins, as there.
type targetIndex struct {
	all       []target
	regs      map[string]int   // registrable domain → first place in all
	byLabel   map[string][]int // labelSkel → places in all
	byRegSkel map[string][]int // regSkelDot → places in all
	loose     []target         // the targets that are not strict
}

func newTargetIndex(all []target) *targetIndex {
	x := &targetIndex{all: all, regs: map[string]int{}, byLabel: map[string][]int{}, byRegSkel: map[string][]int{}}
	for i, t := range all {
		if _, ok := x.regs[t.reg]; !ok {
			x.regs[t.reg] = i
		}
		x.byLabel[t.labelSkel] = append(x.byLabel[t.labelSkel], i)
		x.byRegSkel[t.regSkelDot] = append(x.byRegSkel[t.regSkelDot], i)
		if !t.strict {
			x.loose = append(x.loose, t)
		}
	}
	return x
}

// owner is the protected domain whose registrable name reg is, if any.
func (x *targetIndex) owner(reg string) (target, bool) {
	i, ok := x.regs[reg]
	if !ok {
		return target{}, false
	}
	return x.all[i], true
}

func (x *targetIndex) lookalike(host string, loose bool) (string, target) {
	reg := registrable(host)
	if _, own := x.regs[reg]; reg == "" || own || isIPHost(host) {
		return "", target{}
	}
	h := seenHost(host, reg)
	best, kind := len(x.all), ""
	for _, i := range x.byLabel[h.label] {
		if p := x.all[i]; i < best && (!p.strict || h.rawLabel != p.label) {
			best, kind = i, "confusable"
		}
	}
	// The protected domain worn as the start of a longer name, at any
	// label: microsoft.com.account-verify.net.
	dotted := h.skel + "."
	for start := 0; start < len(dotted); {
		for end := strings.IndexByte(dotted[start:], '.'); end >= 0 && start+end+1 <= len(dotted); {
			for _, i := range x.byRegSkel[dotted[start:start+end+1]] {
				if i < best && start+end+1 < len(dotted) {
					best, kind = i, "contains"
				}
			}
			next := strings.IndexByte(dotted[start+end+1:], '.')
			if next < 0 {
				break
			}
			end += next + 1
		}
		dot := strings.IndexByte(dotted[start:], '.')
		if dot < 0 {
			break
		}
		start += dot + 1
	}
	if k, t := imitation(h, x.loose, loose); k != "" {
		if i := slices.IndexFunc(x.all, func(p target) bool { return p == t }); i >= 0 && i < best {
			best, kind = i, k
		}
	}
	if kind == "" {
		return "", target{}
	}
	return kind, x.all[best]
}
