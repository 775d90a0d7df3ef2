// Package recovery is one-time recovery codes: the last way into an
// account when every other factor is lost. A set is shown once, kept only
// as keyed digests, and each code works once; a new set voids the old.
package recovery

import (
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"time"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Count is how many codes a set holds.
const Count = 10

// alphabet leaves out letters and digits people confuse (0/o, 1/l/i):
// 31 symbols, 10 per code, about 49.5 bits each.
const alphabet = "23456789abcdefghjkmnpqrstuvwxyz"

const length = 10

// ErrFormat is returned for input that cannot be a recovery code.
var ErrFormat = errors.New("recovery codes are 10 letters and digits, like 4kq7m-x2c9p")

// Code is one stored recovery code.
type Code struct {
	ID        string
	AccountID string
	// Digest is a keyed digest of the normalized code; the code itself is
	// never stored.
	Digest    string
	CreatedAt time.Time
	UsedAt    *time.Time
}

// Store keeps recovery codes.
type Store interface {
	// ReplaceRecoveryCodes voids the account's codes and keeps these
	// instead; run it in a transaction.
	ReplaceRecoveryCodes(ctx context.Context, accountID string, codes []Code) error
	// UseRecoveryCode marks the unused code with this digest used, in one
	// step: store.ErrNotFound when there is none, so of many requests with
	// one code exactly one succeeds.
	UseRecoveryCode(ctx context.Context, accountID, digest string, at time.Time) error
	// RecoveryCodesLeft counts the account's unused codes.
	RecoveryCodesLeft(ctx context.Context, accountID string) (int, error)
}

// NewSet returns Count new codes as people read them ("4kq7m-x2c9p").
func NewSet() ([]string, error) {
	out := make([]string, Count)
	for i := range out {
		b := make([]byte, length)
		// Rejection sampling keeps every symbol equally likely.
		for j := 0; j < length; {
			var r [1]byte
			if _, err := rand.Read(r[:]); err != nil {
				return nil, err
			}
			if int(r[0]) >= 256/len(alphabet)*len(alphabet) {
				continue
			}
			b[j] = alphabet[int(r[0])%len(alphabet)]
			j++
		}
		out[i] = string(b[:length/2]) + "-" + string(b[length/2:])
	}
	return out, nil
}

// Normalize turns what a person typed into the code they meant: case,
// full-width letters, spaces and dashes do not matter, and the letters
// people confuse with digits are read as those digits.
func Normalize(input string) (string, error) {
	var b strings.Builder
	for _, r := range norm.NFKC.String(strings.ToLower(input)) {
		r = unicode.ToLower(r)
		switch {
		case r == ' ' || r == '-' || r == '\u2010' || r == '\u2212' || r == '\t' || r == '\u30fc':
			continue
		case r == 'o':
			r = '0'
		case r == 'i' || r == 'l':
			r = '1'
		}
		b.WriteRune(r)
	}
	s := b.String()
	if len(s) != length {
		return "", ErrFormat
	}
	for _, r := range s {
		if !strings.ContainsRune(alphabet, r) {
			// 0 and 1 are never in a code: a typed o, i or l is a wrong
			// code rather than a malformed one, but it cannot match.
			if r != '0' && r != '1' {
				return "", ErrFormat
			}
		}
	}
	return s, nil
}
