package account

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/ccojocar/zxcvbn-go"
	"github.com/ccojocar/zxcvbn-go/match"
	"golang.org/x/crypto/argon2"
	"golang.org/x/text/unicode/norm"
)

// PasswordPolicy is how passwords are checked and hashed. There are no
// composition rules: length, and not being common or guessable.
type PasswordPolicy struct {
	MinLength int
	MaxLength int
	// MinScore is the lowest zxcvbn score (0–4) accepted.
	MinScore int
	// Argon2id parameters; OWASP's minimum is 19 MiB, 2 passes, 1 lane.
	MemoryKiB uint32
	Time      uint32
	Threads   uint8
}

// DefaultPasswordPolicy follows OWASP's argon2id minimum.
func DefaultPasswordPolicy() PasswordPolicy {
	return PasswordPolicy{MinLength: 8, MaxLength: 256, MinScore: 2, MemoryKiB: 19 * 1024, Time: 2, Threads: 1}
}

// Validate reports a policy weaker than ward allows.
func (p PasswordPolicy) Validate() error {
	switch {
	case p.MinLength < 8:
		return errors.New("min_length must be at least 8")
	case p.MaxLength < 128 || p.MaxLength > 4096:
		return errors.New("max_length must be 128 to 4096")
	case p.MemoryKiB < 19*1024:
		return errors.New("argon2 memory must be at least 19456 KiB (19 MiB)")
	case p.Time < 2:
		return errors.New("argon2 time must be at least 2")
	case p.Threads < 1:
		return errors.New("argon2 threads must be at least 1")
	case p.MinScore < 0 || p.MinScore > 4:
		return errors.New("min_score must be 0 to 4")
	}
	return nil
}

// Passwords hashes and checks passwords, at most a fixed number at once so
// that a burst of sign-ins cannot exhaust memory (19 MiB each). The
// owners' known devices are served first, so a flood of guesses cannot
// keep the owner from signing in.
type Passwords struct {
	policy PasswordPolicy
	slots  *slots
	dummy  string
}

// NewPasswords bounds hashing to concurrency at once.
func NewPasswords(p PasswordPolicy, concurrency int) (*Passwords, error) {
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("password policy: %w", err)
	}
	if concurrency < 1 {
		return nil, errors.New("password hashing concurrency must be at least 1")
	}
	pw := &Passwords{policy: p, slots: newSlots(concurrency)}
	// The dummy is only ever hashed against, never matched (Verify
	// refuses it whatever was typed), so it needs the policy's shape, not
	// a real derivation: random bytes spare every start a 19 MiB hash.
	salt, key := make([]byte, 16), make([]byte, 32)
	rand.Read(salt)
	rand.Read(key)
	pw.dummy = pw.encode(salt, key)
	return pw, nil
}

// Check says whether a new password is acceptable, and why not. userInputs
// (the email, the name) make passwords built from them count as guessable.
func (pw *Passwords) Check(password string, userInputs ...string) error {
	password = norm.NFC.String(password)
	n := utf8.RuneCountInString(password)
	if n < pw.policy.MinLength {
		return inputErr("password", "input_password_short", pw.policy.MinLength)
	}
	if n > pw.policy.MaxLength {
		return inputErr("password", "input_password_long", pw.policy.MaxLength)
	}
	if strings.TrimSpace(password) == "" {
		return inputErr("password", "input_password_spaces")
	}
	// zxcvbn's cost grows quickly with length; long passphrases past 100
	// characters are judged on their first 100.
	probe := password
	if len(probe) > 100 {
		probe = string([]rune(probe)[:100])
	}
	var inputs []string
	for _, in := range userInputs {
		inputs = append(inputs, in)
		if at := strings.IndexByte(in, '@'); at > 0 {
			inputs = append(inputs, in[:at])
		}
	}
	r := zxcvbn.PasswordStrength(probe, inputs)
	if r.Score >= pw.policy.MinScore {
		return nil
	}
	return inputErr("password", weakness(r.MatchSequence))
}

// weakness names the pattern that covers most of a weak password: the
// catalog key of the sentence that says so.
func weakness(seq []match.Match) string {
	best, cover := "", 0
	for _, m := range seq {
		if m.Pattern != "bruteforce" && m.J-m.I+1 > cover {
			best, cover = m.Pattern, m.J-m.I+1
		}
	}
	switch best {
	case "dictionary":
		return "input_password_common"
	case "spatial":
		return "input_password_keyboard"
	case "repeat":
		return "input_password_repeat"
	case "sequence":
		return "input_password_sequence"
	case "date", "year":
		return "input_password_date"
	}
	return "input_password_guessable"
}

// Hash returns the PHC-format argon2id hash of password.
func (pw *Passwords) Hash(ctx context.Context, password string) (string, error) {
	release, err := pw.acquire(ctx, false)
	if err != nil {
		return "", err
	}
	defer release()
	salt := make([]byte, 16)
	rand.Read(salt)
	p := pw.policy
	return pw.encode(salt, derive(password, salt, p.MemoryKiB, p.Time, p.Threads, 32)), nil
}

// Verify compares password with hash in constant time. An empty hash (no
// password set, or an unknown account) is checked against a dummy so the
// time taken does not tell whether the account exists. An owner's known
// device (owner) is served before strangers waiting to hash.
func (pw *Passwords) Verify(ctx context.Context, hash, password string, owner bool) (bool, error) {
	known := hash != ""
	if !known {
		hash = pw.dummy
	}
	var m, t uint32
	var par uint8
	var salt64, key64 string
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, errors.New("verifying password: stored hash is not argon2id")
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &par); err != nil {
		return false, fmt.Errorf("verifying password: stored parameters: %w", err)
	}
	salt64, key64 = parts[4], parts[5]
	salt, err1 := base64.RawStdEncoding.DecodeString(salt64)
	key, err2 := base64.RawStdEncoding.DecodeString(key64)
	if err1 != nil || err2 != nil {
		return false, errors.New("verifying password: stored hash is malformed")
	}
	release, err := pw.acquire(ctx, owner)
	if err != nil {
		return false, err
	}
	defer release()
	got := derive(password, salt, m, t, par, uint32(len(key)))
	return subtle.ConstantTimeCompare(got, key) == 1 && known, nil
}

// derive is the argon2id key of password (as NFC, so that the same
// characters typed on any keyboard give the same key) for a hash's
// parameters: memory m in KiB, t passes, p lanes, n bytes.
func derive(password string, salt []byte, m, t uint32, p uint8, n uint32) []byte {
	return argon2.IDKey([]byte(norm.NFC.String(password)), salt, t, m, p, n)
}

func (pw *Passwords) encode(salt, key []byte) string {
	p := pw.policy
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.MemoryKiB, p.Time, p.Threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// acquire takes a hashing slot and returns what gives it back.
func (pw *Passwords) acquire(ctx context.Context, owner bool) (func(), error) {
	return pw.slots.acquire(ctx, owner)
}
