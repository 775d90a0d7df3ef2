package account

import (
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"

	"github.com/wardhq/ward/catalog"
	"github.com/wardhq/ward/confusable"
)

// InputError is bad input from a person or client; its text says what is
// wrong and is safe to show. Key and Args say it in any language ward
// speaks (catalog.Format); Msg is the English sentence.
type InputError struct {
	Field string
	Key   string
	Args  []any
	Msg   string
}

func (e *InputError) Error() string { return e.Field + ": " + e.Msg }

// inputErr refuses field with the catalog's sentence key.
func inputErr(field, key string, a ...any) error {
	return &InputError{Field: field, Key: key, Args: a, Msg: catalog.Format("en", key, a...)}
}

// IsInput reports whether err is an InputError.
func IsInput(err error) bool {
	var ie *InputError
	return errors.As(err, &ie)
}

var idnaProfile = idna.New(idna.MapForLookup(), idna.Transitional(false), idna.StrictDomainName(true), idna.VerifyDNSLength(true), idna.BidiRule())

// NormalizeEmail trims the address, writes the domain in its ASCII (IDNA)
// form, and folds the local part with NFKC and case folding, so that
// full-width letters and ligatures (ｐａｙｐａｌ, ﬁle) are the letters they
// show. RFC 5321 lets a domain treat the local part case-sensitively, but
// no major provider does, and two accounts differing only in case would
// help impersonation more than they help anyone. Invisible characters and
// local parts that mix scripts (a Cyrillic а among Latin letters) are
// refused: they exist to look like another address.
func NormalizeEmail(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", inputErr("email", "input_email_not_text")
	}
	s = strings.TrimSpace(norm.NFC.String(s))
	if s == "" {
		return "", inputErr("email", "input_email_empty")
	}
	if len(s) > 320 {
		return "", inputErr("email", "input_email_too_long")
	}
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 {
		return "", inputErr("email", "input_email_shape")
	}
	local, domain := s[:at], s[at+1:]
	for _, r := range local {
		if confusable.Invisible(r) {
			return "", inputErr("email", "input_email_invisible", r)
		}
	}
	local = norm.NFKC.String(cases.Fold().String(norm.NFKC.String(local)))
	for _, r := range local {
		if r == ' ' || unicode.IsControl(r) || r == '<' || r == '>' || r == '@' {
			return "", inputErr("email", "input_email_spaces")
		}
	}
	if confusable.MixedScripts(local) {
		return "", inputErr("email", "input_email_mixed")
	}
	if utf8.RuneCountInString(local) > 64 {
		return "", inputErr("email", "input_email_local_long")
	}
	ascii, err := idnaProfile.ToASCII(strings.TrimSuffix(domain, "."))
	if err == nil {
		// The ASCII form must itself be a valid name (IDNA maps some
		// invalid input to labels that do not round-trip).
		var again string
		again, err = idnaProfile.ToASCII(ascii)
		if err == nil && again != ascii {
			err = fmt.Errorf("domain does not round-trip")
		}
	}
	if err != nil || !strings.Contains(ascii, ".") {
		return "", inputErr("email", "input_email_domain", domain)
	}
	out := strings.ToLower(local) + "@" + strings.ToLower(ascii)
	if len(out) > 254 {
		return "", inputErr("email", "input_email_too_long")
	}
	// net/mail applies RFC 5322's grammar to the local part.
	if a, err := mail.ParseAddress(out); err != nil || a.Address != out || a.Name != "" {
		return "", inputErr("email", "input_email_invalid", s)
	}
	return out, nil
}

// NormalizePhone returns a phone number in E.164 (+81901234567). People
// type spaces, dashes, brackets and full-width digits; all are accepted.
func NormalizePhone(s string) (string, error) {
	s = strings.TrimSpace(norm.NFKC.String(s))
	if s == "" {
		return "", inputErr("phone", "input_phone_empty")
	}
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == '+' && i == 0:
			b.WriteRune(r)
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '(' || r == ')' || r == '.' || r == '\u30fc' || r == '\u2212':
		default:
			return "", inputErr("phone", "input_phone_chars")
		}
	}
	out := b.String()
	if !strings.HasPrefix(out, "+") {
		return "", inputErr("phone", "input_phone_country")
	}
	digits := out[1:]
	if len(digits) < 8 || len(digits) > 15 || digits[0] == '0' {
		return "", inputErr("phone", "input_phone_length")
	}
	return out, nil
}

// Mask hides most of an address so it can be shown to whoever typed an
// identifier: j***@gmail.com, +81*******78.
func Mask(kind, value string) string {
	if kind == "phone" {
		if len(value) < 5 {
			return "***"
		}
		cc := 3
		if strings.HasPrefix(value, "+1") || strings.HasPrefix(value, "+7") {
			cc = 2
		}
		return value[:cc] + strings.Repeat("*", len(value)-cc-2) + value[len(value)-2:]
	}
	at := strings.LastIndexByte(value, '@')
	if at <= 0 {
		return "***"
	}
	first, _ := utf8.DecodeRuneInString(value)
	return string(first) + "***" + value[at:]
}
