// Package mailcheck tells a person whether a mail that claims to come from
// this service (or from a protected brand such as Microsoft) is genuine,
// and why. ward's own mail is proven, not guessed: its DKIM signature is
// checked with ward's own keys and its verification token is matched to
// the record of what was sent. Any other mail gets a verdict from the signs
// a careful reader would weigh, each reported as a reason.
package mailcheck

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/emersion/go-msgauth/authres"
	msgdkim "github.com/emersion/go-msgauth/dkim"
	"golang.org/x/text/width"

	"github.com/wardhq/ward/account"
	"github.com/wardhq/ward/confusable"
	"github.com/wardhq/ward/notify"
	"github.com/wardhq/ward/otp"
	"github.com/wardhq/ward/store"
)

// Verdict is the answer in one word.
type Verdict string

// Verdicts.
const (
	Genuine    Verdict = "genuine"
	Phishing   Verdict = "phishing"
	Suspicious Verdict = "suspicious"
	NoProblem  Verdict = "no_problem"
	// NeedHeaders: only a body was given and it does not carry enough to
	// prove anything; the whole message source is needed.
	NeedHeaders Verdict = "needs_headers"
)

// Brand is a sender whose mail people need protecting from imitation.
type Brand struct {
	Name string
	// Names are the words that claim the brand in a sender name or subject.
	Names []string
	// Domains are the brand's sending domains (subdomains included); mail
	// claiming the brand from anywhere else is an imitation.
	Domains []string
	// Lookalikes are further domains of the brand that imitations copy.
	Lookalikes []string
	// Strict brands are from a long list (WellKnown): only plain
	// imitations of their domains count (see target.strict).
	Strict bool
}

// Microsoft is the built-in profile for Microsoft account security mail.
func Microsoft() Brand {
	return Brand{
		Name:       "Microsoft",
		Names:      []string{"Microsoft", "Outlook", "Office 365", "Office365", "Microsoft 365", "OneDrive", "Hotmail", "SharePoint", "Xbox", "マイクロソフト"},
		Domains:    []string{"microsoft.com", "microsoftonline.com", "microsoft365.com", "office.com", "office365.com", "onedrive.com", "sharepoint.com", "xbox.com"},
		Lookalikes: []string{"outlook.com", "live.com", "hotmail.com", "msn.com"},
	}
}

// Messages is ward's record of the messages it sent.
type Messages interface {
	MessageByID(ctx context.Context, id string) (store.Message, error)
	MessageByRef(ctx context.Context, ref string) (store.Message, error)
}

// Own is what ward needs to prove a mail is its own.
type Own struct {
	Brand Brand
	// Verify checks a message's DKIM signatures against ward's own keys.
	Verify   func(raw []byte) ([]*msgdkim.Verification, error)
	Messages Messages
	// Digest is keys.ContentDigest: a pasted body is proven by the
	// secrets it carries.
	Digest func(messageID string, secrets ...string) string
	// Render renders a recorded message again with the secrets a pasted
	// copy showed (notify.Composer.RenderWith): its text and HTML parts.
	// A pasted body is genuine only when every word matches what was sent.
	Render func(m store.Message, s notify.Secrets) (text, html string, err error)
}

// Checker checks mail. The zero value checks signs only.
type Checker struct {
	Own    *Own
	Brands []Brand
	// LookupTXT resolves DKIM keys of other senders (live DNS in
	// production); nil leaves their signatures unchecked. All the look-ups
	// for one mail share DNSBudget.
	LookupTXT func(ctx context.Context, domain string) ([]string, error)
	// DNSBudget bounds the time one mail's DNS look-ups may take together
	// (0: 1.5 s): a dead resolver makes a check slower, never stuck.
	DNSBudget time.Duration
	// TrustedReceivers are the authserv-ids whose Authentication-Results
	// are believed; anyone can write that header, so others are ignored.
	TrustedReceivers []string

	prepare   sync.Once
	protected []target
	index     *targetIndex
	byBrand   [][]target
	names     [][]shown
	brandOf   map[string]int // a protected registrable domain's brand
}

// protectedTargets are every brand's domains, prepared once.
func (c *Checker) protectedTargets() []target {
	c.prepare.Do(func() {
		c.brandOf = map[string]int{}
		for _, b := range c.allBrands() {
			for _, d := range b.protected() {
				c.brandOf[registrable(d)] = len(c.byBrand)
			}
			ts := targets(b.protected(), b.Strict, len(c.byBrand))
			c.protected = append(c.protected, ts...)
			c.byBrand = append(c.byBrand, ts)
			c.names = append(c.names, b.nameForms())
		}
		c.index = newTargetIndex(c.protected)
	})
	return c.protected
}

// lookalike is the protected domain host imitates, if any (see
// lookalikeTarget), found through the index of every brand's domains.
func (c *Checker) lookalike(host string, loose bool) (string, target) {
	c.protectedTargets()
	return c.index.lookalike(host, loose)
}

// Report is the verdict and the reasons behind it.
type Report struct {
	Verdict Verdict  `json:"verdict"`
	Score   int      `json:"score"`
	Brand   string   `json:"brand,omitempty"`
	Reasons []Reason `json:"reasons"`
	// Sent describes ward's message when the verdict is genuine.
	Sent *Sent `json:"sent,omitempty"`
}

// Sent is what a genuine verdict may tell: nothing the reader's own copy
// of the mail does not already show.
type Sent struct {
	To      string    `json:"to"` // masked
	At      time.Time `json:"at"`
	Purpose string    `json:"purpose"`
}

// Reason is one sign, with the points it adds toward "phishing".
type Reason struct {
	Code   string   `json:"code"`
	Weight int      `json:"weight"`
	Args   []string `json:"args,omitempty"`
	Text   string   `json:"text,omitempty"`
}

// Bounds on the work one mail can cause.
const (
	maxScannedText  = 64 << 10
	maxCheckedHosts = 64
)

// Scores at which the signs alone make a verdict.
const (
	phishingScore   = 8
	suspiciousScore = 3
)

type report struct {
	Report
	decisive bool // a failed proof of origin: phishing whatever the score
}

func (r *report) add(code string, weight int, args ...string) {
	for _, x := range r.Reasons {
		if x.Code == code && slices.Equal(x.Args, args) {
			return
		}
	}
	for i, a := range args {
		args[i] = excerpt(a)
	}
	r.Reasons = append(r.Reasons, Reason{Code: code, Weight: weight, Args: args})
	r.Score += weight
}

// maxExcerpt is how much of a value from the mail a reason repeats: enough
// to recognise it, never the mail's own bulk echoed back.
const maxExcerpt = 80

func excerpt(s string) string {
	if utf8.RuneCountInString(s) <= maxExcerpt {
		return s
	}
	r := []rune(s)
	return string(r[:maxExcerpt-1]) + "…"
}

func (r *report) once(code string) bool {
	return !slices.ContainsFunc(r.Reasons, func(x Reason) bool { return x.Code == code })
}

// Check reads raw (a whole message, or a pasted body) and judges it.
func (c *Checker) Check(ctx context.Context, raw []byte) (Report, error) {
	m := Parse(raw)
	r := &report{Report: Report{Reasons: []Reason{}}}
	if c.Own != nil && c.claimsOwn(m) {
		r.Brand = c.Own.Brand.Name
		if err := c.proveOwn(ctx, m, r); err != nil {
			return Report{}, err
		}
		if r.Verdict == Genuine {
			return r.Report, nil
		}
	}
	c.sender(m, r)
	if orig := forwardedOriginal(m); orig != nil {
		// A person often forwards the mail they doubt: judge its first sender.
		r.add("forwarded", 0, orig.FromAddress)
		c.sender(orig, r)
		c.brands(orig, r)
	}
	c.authentication(ctx, m, r)
	c.brands(m, r)
	c.content(m, r)
	switch {
	case r.Verdict != "":
	case r.decisive || r.Score >= phishingScore:
		r.Verdict = Phishing
	case r.Score >= suspiciousScore:
		r.Verdict = Suspicious
	case !m.HasHeaders:
		r.Verdict = NeedHeaders
	default:
		r.Verdict = NoProblem
	}
	if !m.HasHeaders && r.once("headers_needed") {
		r.add("headers_needed", 0)
	}
	return r.Report, nil
}

func (c *Checker) allBrands() []Brand {
	if c.Own == nil {
		return c.Brands
	}
	return append([]Brand{c.Own.Brand}, c.Brands...)
}

func (b Brand) protected() []string { return append(slices.Clone(b.Domains), b.Lookalikes...) }

func (b Brand) official(host string) bool {
	return slices.ContainsFunc(b.Domains, func(d string) bool { return sameOrg(host, d) })
}

// shown is a text as it is written and as it looks (its skeleton), with
// the pairs of bytes either form holds: a name whose first two bytes are
// not among them cannot be in it, which spares most of the brand list's
// searches.
type shown struct {
	plain, skel string
	pairs       *bytePairs
}

func readAs(s string) shown {
	t := shown{plain: strings.ToLower(s), skel: confusable.Skeleton(s), pairs: new(bytePairs)}
	t.pairs.add(t.plain)
	t.pairs.add(t.skel)
	return t
}

// bytePairs is the set of two-byte sequences in some texts.
type bytePairs [1 << 16 / 64]uint64

func (p *bytePairs) add(s string) {
	for i := 0; i+1 < len(s); i++ {
		k := uint16(s[i])<<8 | uint16(s[i+1])
		p[k/64] |= 1 << (k % 64)
	}
}

// mayHold reports whether w's first two bytes occur in the texts.
func (p *bytePairs) mayHold(w string) bool {
	if len(w) < 2 {
		return true
	}
	k := uint16(w[0])<<8 | uint16(w[1])
	return p[k/64]&(1<<(k%64)) != 0
}

// nameForms are a brand's names in both forms, for namedIn.
func (b Brand) nameForms() []shown {
	var out []shown
	for _, n := range b.Names {
		if len([]rune(n)) >= 3 {
			out = append(out, shown{plain: strings.ToLower(n), skel: confusable.Skeleton(n)})
		}
	}
	return out
}

// namedIn reports whether t names a brand (given by its name forms),
// also when written with lookalike characters.
func namedIn(forms []shown, t shown) bool {
	if t.plain == "" {
		return false
	}
	for _, n := range forms {
		if !t.pairs.mayHold(n.plain) && !t.pairs.mayHold(n.skel) {
			continue
		}
		if wordIn(t.plain, n.plain) || wordIn(t.skel, n.skel) {
			return true
		}
	}
	return false
}

func wordIn(s, w string) bool {
	for i := 0; ; {
		j := strings.Index(s[i:], w)
		if j < 0 {
			return false
		}
		j += i
		before, after := j == 0 || !isWordByte(s[j-1]), j+len(w) == len(s) || !isWordByte(s[j+len(w)])
		if before && after || w[0] >= 0x80 {
			return true
		}
		i = j + 1
	}
}

func isWordByte(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= '0' && b <= '9' || b >= 'A' && b <= 'Z'
}

var refPattern = regexp.MustCompile(`(?i)(?:reference|参照番号)\s*[:：]\s*([0-9a-f]{12})\b`)

func (c *Checker) claimsOwn(m *Message) bool {
	b := c.Own.Brand
	if m.Header.Get(notify.HeaderVerification) != "" || b.official(hostOfAddress(m.FromAddress)) {
		return true
	}
	c.protectedTargets() // the own brand comes first in allBrands
	if k, _ := lookalike(hostOfAddress(m.FromAddress), c.byBrand[0], true); k != "" {
		return true
	}
	forms := c.names[0]
	if namedIn(forms, readAs(m.FromName)) || !m.HasHeaders && (refPattern.MatchString(m.Text) || namedIn(forms, readAs(m.Text))) {
		return true
	}
	return false
}

// proveOwn decides a mail that claims to be ward's: genuine with proof,
// phishing without. It never says more about a message than its reader's
// copy shows, and says the same "no" for every failed proof.
func (c *Checker) proveOwn(ctx context.Context, m *Message, r *report) error {
	if !m.HasHeaders {
		return c.proveBody(ctx, m, r)
	}
	raw := m.Raw
	if !bytes.Contains(raw, []byte("\r\n")) {
		raw = bytes.ReplaceAll(raw, []byte("\n"), []byte("\r\n"))
	}
	vs, _ := c.Own.Verify(raw)
	signed := slices.ContainsFunc(vs, func(v *msgdkim.Verification) bool {
		return v.Err == nil && c.Own.Brand.official(v.Domain)
	})
	if !signed {
		r.add("own_signature_missing", strong, c.Own.Brand.Name)
		r.decisive = true
		return nil
	}
	if h := addedHeader(m); h != "" {
		// A signature made before over-signing does not cover an added
		// Reply-To or a second From; what the reader sees is not ours.
		r.add("own_headers_added", strong, c.Own.Brand.Name, h)
		r.decisive = true
		return nil
	}
	msg, err := c.Own.Messages.MessageByID(ctx, m.Header.Get(notify.HeaderVerification))
	if errors.Is(err, store.ErrNotFound) {
		r.add("own_not_recorded", strong, c.Own.Brand.Name)
		r.decisive = true
		return nil
	}
	if err != nil {
		return fmt.Errorf("looking up the message a mail names: %w", err)
	}
	if msg.SentAt == nil || !slices.Contains(m.To, strings.ToLower(msg.Recipient)) {
		// A real mail of ours sent to someone else and passed on: its
		// content is ours, the sender who passed it on is not.
		r.add("own_other_recipient", strong, c.Own.Brand.Name)
		r.decisive = true
		return nil
	}
	if d, err := mail.ParseDate(m.Header.Get("Date")); err != nil || d.Before(msg.CreatedAt.Add(-5*time.Minute)) || d.After(msg.SentAt.Add(5*time.Minute)) {
		r.add("own_wrong_time", strong, c.Own.Brand.Name)
		r.decisive = true
		return nil
	}
	r.genuine(c.Own.Brand.Name, msg, "own_signature_verified")
	return nil
}

// addedHeader names a header that shows ward's mail was changed on the
// way: a second copy of a header a reader sees, or one ward never writes.
func addedHeader(m *Message) string {
	for _, h := range []string{"From", "Sender", "Reply-To", "To", "Subject", "Date", "Content-Type", notify.HeaderVerification} {
		if len(m.Header.Values(h)) > 1 {
			return h
		}
	}
	for _, h := range []string{"Sender", "Reply-To", "Cc", "Bcc", "Disposition-Notification-To", "List-Unsubscribe", "Resent-From"} {
		if len(m.Header.Values(h)) > 0 {
			return h
		}
	}
	return ""
}

var linkToken = regexp.MustCompile(`/(not-my-account|not-me|confirm-contact)/([A-Za-z0-9_-]{16,})`)
var codeLike = regexp.MustCompile(`[0-9０-９][0-9０-９\s\-ー−]{4,14}[0-9０-９]`)

// proveBody proves a pasted body by its reference line and the secrets it
// carries. It compares keyed digests only: whether a code in it still
// works is never looked at, let alone told.
func (c *Checker) proveBody(ctx context.Context, m *Message, r *report) error {
	refs := refPattern.FindAllStringSubmatch(m.Text, 3)
	if len(refs) == 0 {
		return nil
	}
	codes := []string{""}
	typed := map[string]string{} // a code as the text shows it
	for _, s := range codeLike.FindAllString(m.Text, 20) {
		for digits := 6; digits <= 8; digits++ {
			if n, err := otp.Normalize(s, digits); err == nil {
				codes = append(codes, n)
				typed[n] = s
			}
		}
	}
	// A mail carries at most a "not my account" and a "this wasn't me" link.
	links := map[string][]string{"not-my-account": {""}, "not-me": {""}, "confirm-contact": {""}}
	for _, t := range linkToken.FindAllStringSubmatch(m.Text, 9) {
		links[t[1]] = append(links[t[1]], t[2])
	}
	for _, ref := range refs {
		msg, err := c.Own.Messages.MessageByRef(ctx, strings.ToLower(ref[1]))
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("looking up a message by its reference: %w", err)
		}
		if msg.SentAt == nil || msg.Digest == "" {
			continue
		}
		for _, code := range codes {
			for _, a := range links["not-my-account"] {
				for _, b := range links["not-me"] {
					for _, conf := range links["confirm-contact"] {
						secrets := []string{code, a, b}
						if conf != "" {
							secrets = append(secrets, conf)
						}
						if c.Own.Digest(msg.ID, secrets...) == msg.Digest {
							// The code as typed (full-width, spaced) is the code.
							text := m.Text
							if code != "" {
								text = strings.Replace(text, typed[code], code, 1)
							}
							return c.compareBody(text, msg, notify.Secrets{Code: code, NotMine: a, NotMe: b, Confirm: conf}, r)
						}
					}
				}
			}
		}
	}
	r.add("own_reference_unproven", medium, c.Own.Brand.Name)
	return nil
}

// compareBody decides a pasted body whose reference and secrets are ours:
// genuine only when its words are those of the message we sent, else "not
// what we sent", naming what was added or taken out.
func (c *Checker) compareBody(pastedText string, msg store.Message, sec notify.Secrets, r *report) error {
	if c.Own.Render == nil {
		r.genuine(c.Own.Brand.Name, msg, "own_body_matches")
		return nil
	}
	text, html, err := c.Own.Render(msg, sec)
	if err != nil {
		return fmt.Errorf("rendering message %s again: %w", msg.ID, err)
	}
	pasted := words(pastedText)
	best := diffWords(words(text), pasted)
	// A copy of the HTML part is read only when the text part is not it.
	if html != "" && best.size() > 0 {
		hm := &Message{}
		hm.addText("text/html", "utf-8", []byte(html))
		hm.finish()
		if d := diffWords(words(hm.Text), pasted); d.size() < best.size() {
			best = d
		}
	}
	if best.size() == 0 {
		r.genuine(c.Own.Brand.Name, msg, "own_body_matches")
		return nil
	}
	r.add("own_body_altered", strong, c.Own.Brand.Name)
	r.decisive = true
	ours := map[string]bool{}
	for _, u := range urlsIn(text + "\n" + html) {
		ours[strings.TrimRight(u, ".,)")] = true
	}
	for _, u := range urlsIn(pastedText) {
		if u = strings.TrimRight(u, ".,)"); !ours[u] {
			r.add("own_body_link_added", strong, u)
		}
	}
	for _, run := range best.added[:min(len(best.added), 3)] {
		r.add("own_body_text_added", 0, run)
	}
	for _, run := range best.removed[:min(len(best.removed), 3)] {
		r.add("own_body_text_removed", 0, run)
	}
	return nil
}

// words splits text as a reader sees it, ignoring what mail apps change
// when a mail is copied or quoted: line breaks, spacing, "> " markers.
func words(text string) []string {
	var out []string
	for _, line := range strings.Split(width.Fold.String(text), "\n") {
		line = strings.TrimLeft(line, "> \t")
		out = append(out, strings.Fields(line)...)
	}
	return out
}

// wordDiff is what one text has that the other has not, as runs of words.
type wordDiff struct{ added, removed []string }

func (d wordDiff) size() int { return len(d.added) + len(d.removed) }

// maxDiffWords bounds the comparison (quadratic in the words).
const maxDiffWords = 3000

// diffWords compares ours with theirs by a longest common subsequence.
func diffWords(ours, theirs []string) wordDiff {
	if len(ours) > maxDiffWords || len(theirs) > maxDiffWords {
		return wordDiff{added: []string{"…"}}
	}
	n, k := len(ours), len(theirs)
	lcs := make([][]int32, n+1)
	for i := range lcs {
		lcs[i] = make([]int32, k+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := k - 1; j >= 0; j-- {
			if ours[i] == theirs[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var d wordDiff
	var add, rem []string
	flush := func() {
		if len(add) > 0 {
			d.added = append(d.added, strings.Join(add, " "))
		}
		if len(rem) > 0 {
			d.removed = append(d.removed, strings.Join(rem, " "))
		}
		add, rem = nil, nil
	}
	i, j := 0, 0
	for i < n || j < k {
		switch {
		case i < n && j < k && ours[i] == theirs[j]:
			flush()
			i, j = i+1, j+1
		case j < k && (i == n || lcs[i][j+1] >= lcs[i+1][j]):
			add = append(add, theirs[j])
			j++
		default:
			rem = append(rem, ours[i])
			i++
		}
	}
	flush()
	return d
}

func (r *report) genuine(brand string, msg store.Message, how string) {
	r.Verdict = Genuine
	r.Score = 0
	r.Reasons = []Reason{}
	r.add(how, 0, brand)
	kind := "email"
	if msg.Channel == notify.SMS {
		kind = "phone"
	}
	r.Sent = &Sent{To: account.Mask(kind, msg.Recipient), At: *msg.SentAt, Purpose: notify.Purpose(msg)}
}

// sender weighs who the mail says it is from.
func (c *Checker) sender(m *Message, r *report) {
	if !m.HasHeaders {
		return
	}
	from := hostOfAddress(m.FromAddress)
	if from == "" {
		r.add("from_missing", medium)
		return
	}
	// Read the name as it looks, not as it is encoded: marks and
	// lookalike letters dropped or folded. The sender's address is folded
	// the same way before the two are compared, or a name would be a
	// lookalike of its own address ("fooladvisor" folds to "fooladvlsor").
	shownName, fromSkel := confusable.Skeleton(m.FromName), confusable.Skeleton(from)
	same := func(shown string) bool { return sameOrg(shown, from) || sameOrg(shown, fromSkel) }
	for _, a := range addressLike.FindAllStringSubmatch(shownName, 3) {
		if !same(a[1]) {
			r.add("display_address_mismatch", strong, a[1], from)
		}
	}
	if r.once("display_address_mismatch") {
		for _, d := range domainInText.FindAllStringSubmatch(shownName, 3) {
			if plausibleDomain(d[1]) && !same(d[1]) {
				// A newsletter names its own site ("News.com") while a
				// sending service mails it: a sign only when the shown
				// domain is a protected brand's (brands and lookalikes
				// weigh that) or the mail is about an account.
				r.add("display_domain_mismatch", weak, d[1], from)
			}
		}
	}
	switch {
	case !isFreeMail(from) || m.FromName == "" || nameInDomain(m.FromName, from):
	case officialWords.MatchString(m.FromName):
		// A bank, a ministry or the post writing from a free mailbox.
		r.add("official_on_free_mail", strong, m.FromName, registrable(from))
	case orgWords.MatchString(m.FromName) || !personLike(m.FromName):
		r.add("free_mail_organisation", medium, m.FromName, registrable(from))
	}
	if suffix, icann := publicSuffixICANN(registrable(from)); !icann && strings.Contains(suffix, ".") {
		// firebaseapp.com, github.io, …: anyone can send from these
		// (people's own domains under iki.fi or dyndns.org too).
		r.add("shared_hosting_sender", weak, registrable(from))
	}
	if m.FromName != "" && !personLike(m.FromName) && !nameInDomain(m.FromName, from) {
		// A team, a service or a security department that names no part
		// of the domain it writes from claims an authority it does not
		// show; a product name is only unusual.
		w := weak
		if authorityWords.MatchString(m.FromName) {
			w = medium
		}
		r.add("display_name_unrelated", w, m.FromName, registrable(from))
	}
	// Real mail systems write a sender's domain plainly; a trailing dot, a
	// % or _ in it, or two senders in one From are made to fool a filter
	// or a reader.
	if rawHost := strings.TrimRight(m.FromAddress, ">] "); strings.HasSuffix(rawHost, ".") || !strings.Contains(from, ".") || strings.ContainsAny(from, "%_") {
		r.add("from_malformed", medium, from)
	}
	if fs := m.Header.Values("From"); len(fs) > 1 || len(fs) == 1 && len(addressLike.FindAllString(strings.ToLower(fs[0]), 3)) > 1 && !strings.Contains(m.FromName, "@") {
		r.add("from_multiple", strong)
	}
	if isPunycode(from) {
		r.add("punycode_sender", medium, from)
	}
	list := listDomain(m)
	for _, rt := range m.ReplyTo {
		h := hostOfAddress(rt)
		// A mailing list sets Reply-To to itself: answers go to the list,
		// which is what its List-Post header says. One brand's domains
		// (hotmail.com, msn.com) are one sender.
		if h != "" && !sameOrg(h, from) && (list == "" || !sameOrg(h, list)) && !c.oneBrand(h, from) {
			w := weak
			if isFreeMail(h) && !isFreeMail(from) {
				w = strong
			}
			r.add("reply_to_differs", w, registrable(h), registrable(from))
		}
	}
	if rp := hostOfAddress(m.ReturnPath); rp != "" && !sameOrg(rp, from) {
		// Mailing services send on behalf of others all the time: worth
		// showing, not worth points.
		r.add("return_path_differs", 0, registrable(rp), registrable(from))
		if strings.HasSuffix(rp, ".onmicrosoft.com") {
			// A Microsoft 365 tenant that never set up its own domain:
			// made in minutes, and no company's real mail leaves that way.
			r.add("bare_cloud_tenant", medium, rp, registrable(from))
		}
	}
	if k := evasion(m.FromName + " " + m.Subject); k != "" {
		r.add("evasion_"+k, medium)
	}
}

// listDomain is the domain of a mailing list's posting address (List-Post,
// the older Mailing-List, else List-Id), or "" for mail that is not from
// a list.
func listDomain(m *Message) string {
	for _, h := range []string{"List-Post", "Mailing-List"} {
		v := strings.ToLower(m.Header.Get(h))
		if i := strings.Index(v, "mailto:"); i >= 0 {
			v = v[i+len("mailto:"):]
		} else if i := strings.Index(v, "list "); h == "Mailing-List" && i >= 0 {
			v = v[i+len("list "):] // Mailing-List: list name@host; contact …
		} else {
			continue
		}
		addr, _, _ := strings.Cut(v, ";")
		addr = strings.TrimRight(strings.TrimSpace(addr), ">")
		if at := strings.LastIndexByte(addr, '@'); at >= 0 {
			return addr[at+1:]
		}
	}
	if id := m.Header.Get("List-Id"); id != "" {
		if i, j := strings.LastIndexByte(id, '<'), strings.LastIndexByte(id, '>'); i >= 0 && j > i {
			return strings.ToLower(id[i+1 : j])
		}
	}
	return ""
}

// oneBrand reports whether two hosts are both one protected brand's own
// (or the free mail it runs, for Microsoft).
func (c *Checker) oneBrand(a, b string) bool {
	c.protectedTargets()
	x, okA := c.brandOf[registrable(a)]
	y, okB := c.brandOf[registrable(b)]
	return okA && okB && x == y
}

func plausibleDomain(d string) bool {
	reg := registrable(d)
	return reg != d || strings.Count(d, ".") >= 1 && len(label(reg)) >= 2 && reg != ""
}

// authentication weighs DKIM and what a trusted receiver recorded.
func (c *Checker) authentication(ctx context.Context, m *Message, r *report) {
	if !m.HasHeaders {
		return
	}
	from := hostOfAddress(m.FromAddress)
	if c.LookupTXT != nil && m.Header.Get("DKIM-Signature") != "" {
		raw := m.Raw
		if !bytes.Contains(raw, []byte("\r\n")) {
			raw = bytes.ReplaceAll(raw, []byte("\n"), []byte("\r\n"))
		}
		budget := c.DNSBudget
		if budget <= 0 {
			budget = 1500 * time.Millisecond
		}
		dctx, cancel := context.WithTimeout(ctx, budget)
		defer cancel()
		lookup := func(domain string) ([]string, error) {
			if err := dctx.Err(); err != nil {
				return nil, fmt.Errorf("looking up %s: the mail's DNS budget is spent: %w", domain, err)
			}
			return c.LookupTXT(dctx, domain)
		}
		vs, _ := msgdkim.VerifyWithOptions(bytes.NewReader(raw), &msgdkim.VerifyOptions{LookupTXT: lookup, MaxVerifications: 5})
		aligned := false
		for _, v := range vs {
			switch {
			case v.Err == nil && sameOrg(v.Domain, from):
				aligned = true
			case v.Err == nil:
				r.add("dkim_unaligned", weak, v.Domain, registrable(from))
			case !msgdkim.IsTempFail(v.Err) && !msgdkim.IsPermFail(v.Err):
				// The key was found and the signature checked: it is wrong.
				// (A missing key or a malformed tag proves nothing.)
				r.add("dkim_fail", medium, v.Domain)
			}
		}
		if aligned {
			r.add("dkim_aligned", 0, registrable(from))
		}
	}
	for _, v := range m.Header.Values("Authentication-Results") {
		id, results, err := authres.Parse(v)
		if err != nil || !c.trusted(id) {
			continue
		}
		for _, res := range results {
			switch x := res.(type) {
			case *authres.DMARCResult:
				if x.Value == authres.ResultFail {
					r.add("receiver_dmarc_fail", strong, id)
				}
			case *authres.SPFResult:
				if x.Value == authres.ResultFail {
					r.add("receiver_spf_fail", medium, id)
				}
			case *authres.DKIMResult:
				if x.Value == authres.ResultFail {
					r.add("receiver_dkim_fail", weak, id)
				}
			}
		}
	}
}

func (c *Checker) trusted(id string) bool {
	id = strings.ToLower(strings.TrimSpace(id))
	return id != "" && slices.ContainsFunc(c.TrustedReceivers, func(t string) bool {
		t = strings.ToLower(t)
		return id == t || strings.HasSuffix(id, "."+t)
	})
}

// authenticatedAs reports whether the mail proves it comes from b: an
// aligned DKIM pass we checked, or a trusted receiver's DMARC pass.
func (c *Checker) authenticatedAs(m *Message, r *report, b Brand) bool {
	from := hostOfAddress(m.FromAddress)
	if !b.official(from) {
		return false
	}
	if slices.ContainsFunc(r.Reasons, func(x Reason) bool { return x.Code == "dkim_aligned" }) {
		return true
	}
	for _, v := range m.Header.Values("Authentication-Results") {
		id, results, err := authres.Parse(v)
		if err != nil || !c.trusted(id) {
			continue
		}
		for _, res := range results {
			if x, ok := res.(*authres.DMARCResult); ok && x.Value == authres.ResultPass && sameOrg(x.From, from) {
				return true
			}
		}
	}
	return false
}

// brands weighs claims to be a protected brand.
func (c *Checker) brands(m *Message, r *report) {
	from := hostOfAddress(m.FromAddress)
	c.protectedTargets()
	fromName, subject := readAs(m.FromName), readAs(m.Subject)
	// One pass over every protected domain finds the brand a sender
	// imitates, if any.
	kind, imitated := c.lookalike(from, true)
	for i, b := range c.allBrands() {
		if k, target := kind, imitated.domain; k != "" && imitated.brand == i {
			r.add("lookalike_sender_"+k, strong, registrable(from), target)
			r.decisive = true
			r.Brand = b.Name
		}
		claimed := namedIn(c.names[i], fromName) || namedIn(c.names[i], subject) && accountTheme.find(subject.plain) != ""
		if !claimed || !m.HasHeaders {
			continue
		}
		r.Brand = b.Name
		switch {
		case !b.official(from):
			r.add("brand_impersonation", strong, b.Name, registrable(from))
			r.decisive = true
		case c.authenticatedAs(m, r, b):
			r.add("brand_authenticated", -strong, b.Name, registrable(from))
		case b.Strict:
			// From a well-known brand's own domain, unproven only because
			// its signature was not checked here: worth saying, not points.
			r.add("brand_unauthenticated", 0, b.Name, registrable(from))
		default:
			r.add("brand_unauthenticated", medium, b.Name, registrable(from))
		}
	}
}

// content weighs the links, attachments and words.
func (c *Checker) content(m *Message, r *report) {
	from := hostOfAddress(m.FromAddress)
	c.protectedTargets()
	hosts := map[string]bool{}
	var freeHosted []string
	for _, l := range m.Links {
		host := hostOfURL(l.Href)
		if shown := shownDomain(l.Text); host != "" && shown != "" && !sameOrg(shown, host) && !shorteners[registrable(host)] {
			// Newsletters route links through their tracker, so a link
			// that shows one site and goes to another is common; showing
			// a protected brand's address and going elsewhere is not.
			w := weak
			k, t := c.lookalike(shown, false)
			if k == "" {
				t, _ = c.index.owner(registrable(shown)) // shows the brand's own address
			}
			switch {
			case t.domain == "":
			case t.strict:
				// A newsletter links a well-known shop's name through its
				// tracker too: a sign, not proof.
				w = medium
			default:
				w = strong
				r.decisive = true // shows a protected brand's address, goes elsewhere
			}
			if w > weak || r.once("link_text_mismatch") {
				// A newsletter's tracker shows up on every link: one
				// plain mismatch says as much as ten.
				r.add("link_text_mismatch", w, shown, registrable(host))
			}
		}
		if host == "" || hosts[host] || len(hosts) >= maxCheckedHosts {
			continue
		}
		hosts[host] = true
		if shorteners[registrable(host)] || shorteners[host] {
			r.add("link_shortener", medium, host)
		}
		if isIPHost(host) {
			r.add("link_ip_literal", medium, host)
		}
		if onFreeHost(host) {
			freeHosted = append(freeHosted, host)
		}
		if isPunycode(host) {
			r.add("link_punycode", medium, host)
		}
		if k, t := c.lookalike(host, false); k != "" {
			target := t.domain
			w := strong
			if k == "typo" {
				w = medium
			}
			r.add("lookalike_link", w, registrable(host), target)
		}
	}
	// A form that asks for a password is a trap; a search box or a poll
	// in a newsletter is not, and no mail app runs a script: both are
	// shown, neither weighs.
	switch {
	case m.PasswordFields > 0:
		r.add("password_field", strong+strong)
	case m.Forms > 0:
		r.add("form_in_body", 0)
	}
	if m.Scripts > 0 {
		r.add("script_in_body", 0)
	}
	if m.DataURIs > 0 {
		r.add("data_uri", strong)
	}
	for _, a := range m.Attachments {
		if ext := extension(a.Name); riskyExtensions[ext] {
			r.add("risky_attachment", strong, a.Name)
		}
		if a.Encrypted {
			r.add("encrypted_archive", strong, a.Name)
		}
		if declared, named := a.ContentType, typeOfExtension[extension(a.Name)]; named != "" && declared != "" &&
			declared != "application/octet-stream" && !strings.HasPrefix(declared, named) {
			// The mail app opens it by its name; a filter judges it by the
			// type the mail declares.
			r.add("attachment_disguised", medium, a.Name, declared)
		}
	}
	// What a mail asks for is in its first pages; the rest of a long
	// digest or log adds cost, not evidence.
	body := leadLines(m.Text, maxScannedText)
	text := strings.ToLower(m.Subject) + "\n" + m.lowered()
	subject := strings.ToLower(m.Subject)
	asks := credentialRequest.find(text)
	if asks != "" {
		r.add("asks_credentials", medium+weak, strings.TrimSpace(asks))
	}
	// A subject read as it looks: "Iog in To Your Account, User lD" is
	// "log in … ID" to a reader and nothing to a word list.
	subjectSeen := unmask(m.Subject)
	subjectThemed, seenThemed := accountTheme.find(subject) != "", accountTheme.find(subjectSeen) != ""
	subjectUrgent, seenUrgent := urgency.find(subject) != "", urgency.find(subjectSeen) != ""
	opening := strings.ToLower(m.Subject + "\n" + leadText(body, openingChars))
	// What a mail is about shows in its subject and opening.
	themed := seenThemed || accountTheme.find(opening) != ""
	// A web address in the subject is where a filter does not look for
	// links; on a free host it is a phishing page's.
	for _, d := range domainInText.FindAllStringSubmatch(m.Subject, 3) {
		if onFreeHost(strings.ToLower(d[1])) {
			r.add("subject_link", medium, d[1])
			break
		}
	}
	if len(freeHosted) > 0 {
		// A free site is ordinary in a hobby mail and telling in one
		// about an account.
		w := 0
		if themed {
			w = medium
		}
		r.add("link_free_host", w, freeHosted[0])
	}
	if seenThemed && !subjectThemed || seenUrgent && !subjectUrgent {
		r.add("evasion_lookalike", medium, m.Subject)
	}
	// Pressure and bait work only where they are read: in the subject and
	// the opening of the mail, as phishing writes them. A newsletter's
	// tenth story that mentions a prize or a suspension is not a demand.
	if x := verifyAccount.find(opening); x != "" && asks == "" {
		r.add("asks_verification", medium, strings.TrimSpace(x))
	}
	if x := lure.find(opening); x != "" {
		r.add("lure", medium, strings.TrimSpace(x))
	}
	if v, address, money := injectedBait(leadLines(body, openingChars), from); v != "" {
		w := medium + weak
		if address && money {
			w = strong
		}
		r.add("injected_bait", w, v)
	}
	if x := mailedPassword.find(opening); x != "" && isFreeMail(from) {
		// A site that mails a password it chose, from a free mailbox.
		r.add("mailed_password", medium, strings.TrimSpace(x))
	}
	if x := inboxPlea.find(text); x != "" {
		r.add("inbox_plea", medium, strings.TrimSpace(x))
	}
	if m.PictureOnly {
		r.add("picture_only", medium)
	}
	if len(m.Attachments) > 0 && len(strings.Fields(m.Text)) < 40 && len(m.Links) == 0 {
		r.add("attachment_only", weak)
	}
	if x := urgency.find(opening); x != "" {
		w := weak
		if themed {
			w = medium
		}
		r.add("urgency", w, strings.TrimSpace(x))
	}
	if (subjectUrgent || seenUrgent) && (subjectThemed || seenThemed) {
		r.add("urgent_account_subject", weak)
	}
	// Callback phishing: a number to call about a charge or an account,
	// often in a calendar invitation, with no link to click.
	if phone := phoneNumber(opening); phone != "" {
		if x := callLure.find(opening); x != "" {
			r.add("phone_lure", medium, strings.TrimSpace(phone))
			if m.Calendar {
				r.add("calendar_lure", medium)
			}
		}
	}
	// A mailing list relays its members' posts: their links go wherever
	// the member pointed, not to the list's domain.
	if len(m.Links) > 0 && from != "" && themed && listDomain(m) == "" && !slices.ContainsFunc(m.Links, func(l Link) bool {
		h := hostOfURL(l.Href)
		return h == "" || sameOrg(h, from)
	}) {
		r.add("links_elsewhere", weak, registrable(from))
	}
}

// unmask reads a subject the way its reader does when letters stand in
// for others: I for l inside a lower-case word ("Iog in"), 0 for o and 1
// for l among letters ("micr0soft"). It returns the text in lower case.
func unmask(s string) string {
	words := strings.Fields(s)
	for i, w := range words {
		lower, letters := false, 0
		for _, r := range w {
			if unicode.IsLower(r) {
				lower = true
			}
			if unicode.IsLetter(r) {
				letters++
			}
		}
		if letters < 2 {
			continue
		}
		words[i] = strings.Map(func(r rune) rune {
			switch {
			case r == 'I' && lower:
				return 'l'
			case r == '0':
				return 'o'
			case r == '1':
				return 'l'
			}
			return r
		}, w)
	}
	return strings.ToLower(strings.Join(words, " "))
}

// openingChars is how much of a body's text counts as its opening.
const openingChars = 1500

// lowered is the part of the text that is scanned for words (what a mail
// asks for is in its first pages), in lower case.
func (m *Message) lowered() string {
	if m.lower == nil {
		l := strings.ToLower(leadLines(m.Text, maxScannedText))
		m.lower = &l
	}
	return *m.lower
}

// leadLines is the first n bytes of text as it is, lines kept, cut at a
// character boundary.
func leadLines(text string, n int) string {
	if len(text) <= n {
		return text
	}
	for n > 0 && !utf8.RuneStart(text[n]) {
		n--
	}
	return text[:n]
}

// leadText is the first n bytes of text with its runs of white space
// folded (HTML turned to text leaves many), cut at a character boundary.
func leadText(text string, n int) string {
	var b strings.Builder
	space := false
	for _, r := range text {
		if b.Len() >= n {
			break
		}
		if unicode.IsSpace(r) {
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	return b.String()
}

// shownDomain is the domain a link's visible text displays, if any.
func shownDomain(text string) string {
	text = strings.ToLower(strings.TrimSpace(text))
	if text == "" || strings.Contains(text, " ") && !strings.HasPrefix(text, "http") {
		return ""
	}
	d := domainInText.FindStringSubmatch(text)
	if d == nil || !plausibleDomain(d[1]) {
		return ""
	}
	if _, icann := publicSuffixICANN(d[1]); !icann {
		return ""
	}
	return d[1]
}

var (
	forwardSubject = regexp.MustCompile(`(?i)^\s*(fwd?|tr|wg|rv|enc|i|転送)\s*:`)
	forwardMarker  = newPhrases(`forwarded message|original message|weitergeleitete nachricht|mensagem encaminhada|mensaje reenviado|message transféré|転送されたメッセージ`)
)

// inlineFromNames are the "From:" labels mail apps write when quoting.
var inlineFromNames = []string{"from", "de", "von", "van", "da", "差出人", "送信者"}

// forwardedOriginal reads the sender of a forwarded mail from the lines
// its mail app quoted (From: Name <address>).
func forwardedOriginal(m *Message) *Message {
	head := m.Text[:min(len(m.Text), 16384)]
	if lower := m.lowered(); !forwardSubject.MatchString(m.Subject) && forwardMarker.find(lower[:min(len(lower), 8192)]) == "" {
		return nil
	}
	for found := 0; head != "" && found < 5; {
		line, rest, _ := strings.Cut(head, "\n")
		head = rest
		line = strings.TrimLeft(line, " \t>*")
		for _, name := range inlineFromNames {
			if len(line) <= len(name) || !strings.EqualFold(line[:len(name)], name) {
				continue
			}
			value := strings.TrimLeft(line[len(name):], " \t")
			if v, ok := strings.CutPrefix(value, ":"); ok {
				value = v
			} else if v, ok := strings.CutPrefix(value, "："); ok {
				value = v
			} else {
				continue
			}
			found++
			name, addr := address(strings.TrimSpace(value))
			if addr != "" && addr != m.FromAddress {
				return &Message{HasHeaders: true, FromName: name, FromAddress: addr, Subject: m.Subject, Header: m.Header}
			}
		}
	}
	return nil
}
