// Package otp issues one-time security codes and reads what people type
// back: full-width digits, spaces and dashes from pasting are accepted as
// what the person meant.
package otp

import (
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Purposes a code can be issued for. A code is bound to one of them.
const (
	PurposeSignIn        = "sign_in"
	PurposeStepUp        = "step_up"
	PurposeReset         = "password_reset"
	PurposeVerify        = "verify_contact"
	PurposeConfirmChange = "confirm_change"
)

// MinDigits and MaxDigits bound the configurable code length.
const (
	MinDigits = 6
	MaxDigits = 8
)

// Generate returns a uniformly random code of the given number of digits.
func Generate(digits int) (string, error) {
	if digits < MinDigits || digits > MaxDigits {
		return "", fmt.Errorf("code length must be %d to %d digits, got %d", MinDigits, MaxDigits, digits)
	}
	limit := big.NewInt(1)
	for range digits {
		limit.Mul(limit, big.NewInt(10))
	}
	n, err := rand.Int(rand.Reader, limit)
	if err != nil {
		return "", fmt.Errorf("generating code: %w", err)
	}
	return fmt.Sprintf("%0*d", digits, n), nil
}

// FormatError says a typed code is not N digits. CountsAsAttempt is true
// when the input did carry N digits among other characters: it was a guess.
type FormatError struct {
	Digits          int
	CountsAsAttempt bool
}

func (e *FormatError) Error() string { return fmt.Sprintf("codes are %d digits", e.Digits) }

// ErrEmpty is returned for input with no digits at all.
var ErrEmpty = errors.New("enter the code you received")

// Normalize turns what a person typed or pasted into the ASCII digits they
// meant, or explains why it cannot be a code.
func Normalize(input string, digits int) (string, error) {
	// NFKC folds full-width (１２３), circled and mathematical digits to ASCII.
	s := norm.NFKC.String(input)
	var b strings.Builder
	foreign := false
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case unicode.Is(unicode.Nd, r):
			b.WriteRune('0' + digitValue(r))
		case isSeparator(r):
		default:
			foreign = true
		}
	}
	got := b.String()
	if got == "" && !foreign {
		return "", ErrEmpty
	}
	if foreign || len(got) != digits {
		return "", &FormatError{Digits: digits, CountsAsAttempt: len(got) == digits}
	}
	return got, nil
}

// isSeparator reports characters that pasting or grouping put between
// digits: white space of every kind, dashes, dots and invisible marks.
func isSeparator(r rune) bool {
	switch {
	case unicode.IsSpace(r), unicode.Is(unicode.Zs, r):
		return true
	case unicode.Is(unicode.Pd, r), r == '\u2212', r == '\u30fc', r == '\uff70':
		return true // dashes, minus sign, and the long-vowel marks Japanese keyboards give for '-'
	case r == '.', r == '\u30fb', r == '\u00b7':
		return true
	case unicode.Is(unicode.Cf, r):
		return true // zero-width space, BOM, direction marks from copied text
	}
	return false
}

// digitValue gives the value of a decimal digit of any script. Unicode
// encodes every Nd digit set as ten consecutive code points from zero.
func digitValue(r rune) rune {
	zero := r
	for zero > 0 && unicode.Is(unicode.Nd, zero-1) && r-zero < 9 {
		zero--
	}
	return (r - zero) % 10
}
