// Package totp is authenticator-app codes (RFC 6238 with the parameters
// every app accepts: HMAC-SHA-1, 6 digits, 30-second steps): a new secret,
// the otpauth:// URI an app scans, and checking a typed code so that a code
// accepted once is never accepted again. It also holds the records of a
// person's authenticators and the storage they need.
package totp

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base32"
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"strings"
	"time"

	"github.com/boombuler/barcode"
	"github.com/boombuler/barcode/qr"

	potp "github.com/pquerna/otp"
	ptotp "github.com/pquerna/otp/totp"

	"github.com/wardhq/ward/otp"
)

// The parameters of every code.
const (
	Digits = 6
	Period = 30 * time.Second
	// Skew is how many steps either side of now a code may be from, for
	// clocks that drift.
	Skew = 1
	// SecretBytes is the secret's size: 160 bits, RFC 4226's recommendation.
	SecretBytes = 20
)

// NewSecret returns a new random secret.
func NewSecret() ([]byte, error) {
	b := make([]byte, SecretBytes)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("making a TOTP secret: %w", err)
	}
	return b, nil
}

// Key is the secret as people type it into an app: base32 in groups of
// four ("JBSW Y3DP …").
func Key(secret []byte) string {
	s := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(secret)
	var b strings.Builder
	for i := 0; i < len(s); i += 4 {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(s[i:min(i+4, len(s))])
	}
	return b.String()
}

// URI is the otpauth:// link an authenticator app reads from a QR code:
// issuer is the service's name, account the person's sign-in name.
func URI(issuer, account string, secret []byte) (string, error) {
	k, err := ptotp.Generate(ptotp.GenerateOpts{Issuer: issuer, AccountName: account, Secret: secret, Period: uint(Period / time.Second),
		Digits: potp.DigitsSix, Algorithm: potp.AlgorithmSHA1})
	if err != nil {
		return "", fmt.Errorf("making the authenticator link: %w", err)
	}
	return k.URL(), nil
}

// Step is the time step t falls in.
func Step(t time.Time) int64 { return t.Unix() / int64(Period/time.Second) }

// Check reads a typed code (spaces, full-width digits and the like are
// what the person meant) and reports the time step it belongs to: one of
// the steps within Skew of now, and only one after lastStep, the step of
// the last code this authenticator accepted. The caller stores the step
// it gets, atomically, so that the same code is not accepted twice.
func Check(secret []byte, input string, now time.Time, lastStep int64) (step int64, ok bool, err error) {
	typed, err := otp.Normalize(input, Digits)
	if err != nil {
		return 0, false, err
	}
	key := base32.StdEncoding.EncodeToString(secret)
	opts := ptotp.ValidateOpts{Period: uint(Period / time.Second), Digits: potp.DigitsSix, Algorithm: potp.AlgorithmSHA1}
	cur := Step(now)
	// Every candidate is computed and compared, so the time taken does not
	// tell which step matched.
	for s := cur - Skew; s <= cur+Skew; s++ {
		code, err := ptotp.GenerateCodeCustom(key, time.Unix(s*int64(Period/time.Second), 0), opts)
		if err != nil {
			return 0, false, fmt.Errorf("computing a TOTP code: %w", err)
		}
		if subtle.ConstantTimeCompare([]byte(code), []byte(typed)) == 1 && s > lastStep && !ok {
			step, ok = s, true
		}
	}
	return step, ok, nil
}

// Authenticator is one authenticator app a person set up.
type Authenticator struct {
	ID        string
	AccountID string
	// Name is the person's name for it ("phone", "work laptop").
	Name string
	// Secret is sealed (keys.Keys.Seal, bound to ID): never at rest in the
	// clear.
	Secret    []byte
	CreatedAt time.Time
	// ConfirmedAt is set once a correct code showed the app has the
	// secret; before that the authenticator proves nothing.
	ConfirmedAt *time.Time
	// LastStep is the step of the last code accepted (0: none yet).
	LastStep   int64
	LastUsedAt *time.Time
}

// Store keeps authenticators.
type Store interface {
	CreateAuthenticator(ctx context.Context, a Authenticator) error
	AuthenticatorsByAccount(ctx context.Context, accountID string) ([]Authenticator, error)
	// ConfirmAuthenticator marks it confirmed; ErrConflict (store's) when
	// it already was.
	ConfirmAuthenticator(ctx context.Context, id string, at time.Time) error
	// UseAuthenticatorStep records that a code of step was accepted, only
	// if step is after the last one accepted: store.ErrConflict otherwise,
	// so that of many requests with one code exactly one wins.
	UseAuthenticatorStep(ctx context.Context, id string, step int64, at time.Time) error
	// DeleteAuthenticator removes one of the account's authenticators;
	// store.ErrNotFound when the account has none by that id.
	DeleteAuthenticator(ctx context.Context, accountID, id string) error
}

// QR draws uri as a QR code, a PNG of about 256 pixels a side, with the
// quiet zone scanners need.
func QR(uri string) ([]byte, error) {
	code, err := qr.Encode(uri, qr.M, qr.Auto)
	if err != nil {
		return nil, fmt.Errorf("drawing the QR code: %w", err)
	}
	// A whole number of pixels per module keeps the code sharp.
	n := code.Bounds().Dx()
	scale := max(1, 232/n)
	code, err = barcode.Scale(code, n*scale, n*scale)
	if err != nil {
		return nil, fmt.Errorf("drawing the QR code: %w", err)
	}
	quiet := 4 * scale
	img := image.NewGray(image.Rect(0, 0, n*scale+2*quiet, n*scale+2*quiet))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	draw.Draw(img, image.Rect(quiet, quiet, quiet+n*scale, quiet+n*scale), code, image.Point{}, draw.Src)
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		return nil, fmt.Errorf("drawing the QR code: %w", err)
	}
	return b.Bytes(), nil
}
