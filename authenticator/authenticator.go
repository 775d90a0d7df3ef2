// Package authenticator is ward Authenticator's side of ward: the devices
// people pair (each holds a non-extractable P-256 key made with WebCrypto),
// the approval prompts with number matching, and checking that an answer
// was signed by the paired device for that prompt. A stolen link or a
// replayed answer proves nothing: every answer is a signature over the
// prompt's own nonce.
package authenticator

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"time"
)

// Device is a paired authenticator.
type Device struct {
	ID        string
	AccountID string
	Name      string
	// PublicKey is the device's P-256 key as WebCrypto exports it ("raw":
	// 0x04, X, Y; 65 bytes).
	PublicKey []byte
	// TokenHash is the hash of the token the device fetches its prompts
	// with; reading a prompt's context needs it, answering needs the key.
	TokenHash  string
	CreatedAt  time.Time
	LastUsedAt *time.Time
	// Push is the device's Web Push subscription (empty Endpoint: none).
	Push Subscription
}

// Subscription is a browser's push subscription: where to post, and the
// keys messages are encrypted for (RFC 8291), base64url as browsers give
// them.
type Subscription struct {
	Endpoint string `json:"endpoint"`
	P256dh   string `json:"p256dh"`
	Auth     string `json:"auth"`
}

// Pairing is a pairing code waiting for a device, for a short while.
type Pairing struct {
	ID        string
	AccountID string
	CodeHash  string
	Name      string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Prompt is one approval request: a sign-in held for its second step
// asks the person's authenticator, showing Number on the sign-in page.
type Prompt struct {
	ID        string
	AccountID string
	FlowID    string
	// Number is the two digits the sign-in page shows and the person
	// types into the authenticator.
	Number string
	// Nonce is what the device signs with its answer.
	Nonce string
	// Context is what the authenticator shows (JSON of Context).
	Context   []byte
	State     string
	DeviceID  string
	CreatedAt time.Time
	ExpiresAt time.Time
	// AnsweredAt is when a device answered (or the prompt was used).
	AnsweredAt *time.Time
}

// Prompt states.
const (
	Pending  = "pending"
	Approved = "approved"
	Denied   = "denied"
	// Reported: "No, it's not me".
	Reported = "reported"
	// WrongNumber: the person typed another number; the prompt ends.
	WrongNumber = "wrong_number"
	// Used: an approved prompt that signed someone in.
	Used = "used"
)

// Context is what a prompt tells the person about the sign-in.
type Context struct {
	App       string    `json:"app"`
	At        time.Time `json:"at"`
	IP        string    `json:"ip"`
	Place     string    `json:"place,omitempty"`
	Device    string    `json:"device,omitempty"`
	NewDevice bool      `json:"new_device,omitempty"`
	Reasons   []string  `json:"reasons,omitempty"`
	// DeviceHash stands for the requester's device cookie, for
	// suppressing it after "not me"; never shown to the authenticator.
	DeviceHash string `json:"device_hash,omitempty"`
}

// Store keeps devices, pairings and prompts.
type Store interface {
	CreatePairing(ctx context.Context, p Pairing) error
	// TakePairing removes and returns the pairing with this code hash, in
	// one step (store.ErrNotFound: none, or taken already).
	TakePairing(ctx context.Context, codeHash string) (Pairing, error)
	CreatePairedDevice(ctx context.Context, d Device) error
	PairedDeviceByToken(ctx context.Context, hash string) (Device, error)
	PairedDevices(ctx context.Context, accountID string) ([]Device, error)
	DeletePairedDevice(ctx context.Context, accountID, id string) error
	TouchPairedDevice(ctx context.Context, id string, at time.Time) error
	// SetDevicePush keeps (or, empty, forgets) a device's subscription.
	SetDevicePush(ctx context.Context, id string, sub Subscription) error
	PairedDeviceByID(ctx context.Context, id string) (Device, error)

	CreatePrompt(ctx context.Context, p Prompt) error
	PromptByID(ctx context.Context, id string) (Prompt, error)
	// LatestPrompt is the flow's newest prompt (store.ErrNotFound: none).
	LatestPrompt(ctx context.Context, flowID string) (Prompt, error)
	// PendingPrompts lists the account's prompts still waiting at now.
	PendingPrompts(ctx context.Context, accountID string, now time.Time) ([]Prompt, error)
	// SetPromptState moves a prompt from state from to state to, once
	// (store.ErrConflict when it is no longer in from, or expired while
	// pending): of many answers to one prompt exactly one counts.
	SetPromptState(ctx context.Context, id, from, to, deviceID string, at time.Time) error
	// CountPrompts counts the account's prompts since t.
	CountPrompts(ctx context.Context, accountID string, since time.Time) (int, error)
	// PromptsSince lists the account's prompts since t, newest first (at
	// most limit).
	PromptsSince(ctx context.Context, accountID string, since time.Time, limit int) ([]Prompt, error)
}

// Answer is what a device signs: its decision on one prompt, bound to
// the prompt's nonce. Number is what the person typed (approve only).
type Answer struct {
	PromptID string `json:"prompt_id"`
	Nonce    string `json:"nonce"`
	Decision string `json:"decision"`
	Number   string `json:"number,omitempty"`
}

// Decisions a person can give.
const (
	Approve = "approve"
	Deny    = "deny"
	NotMe   = "not_me"
)

// ErrSignature is an answer its device did not sign.
var ErrSignature = errors.New("the answer is not signed by this authenticator")

// ParseKey reads a public key as WebCrypto exports it (raw P-256 point).
func ParseKey(raw []byte) (*ecdsa.PublicKey, error) {
	if len(raw) != 65 || raw[0] != 4 {
		return nil, errors.New("the authenticator's key is not a P-256 public key")
	}
	x, y := new(big.Int).SetBytes(raw[1:33]), new(big.Int).SetBytes(raw[33:])
	if !elliptic.P256().IsOnCurve(x, y) {
		return nil, errors.New("the authenticator's key is not on P-256")
	}
	return &ecdsa.PublicKey{Curve: elliptic.P256(), X: x, Y: y}, nil
}

// ReadAnswer checks that payload was signed by the key (ECDSA P-256 with
// SHA-256; the signature as WebCrypto makes it: r and s, 32 bytes each)
// and reads the answer.
func ReadAnswer(key []byte, payload, sig []byte) (Answer, error) {
	pub, err := ParseKey(key)
	if err != nil {
		return Answer{}, err
	}
	if len(sig) != 64 {
		return Answer{}, ErrSignature
	}
	h := sha256.Sum256(payload)
	r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
	if !ecdsa.Verify(pub, h[:], r, s) {
		return Answer{}, ErrSignature
	}
	var a Answer
	if err := json.Unmarshal(payload, &a); err != nil {
		return Answer{}, fmt.Errorf("reading the answer: %w", err)
	}
	switch a.Decision {
	case Approve, Deny, NotMe:
	default:
		return Answer{}, fmt.Errorf("unknown decision %q", a.Decision)
	}
	return a, nil
}

// SameNumber compares a typed number with the prompt's in constant time.
func SameNumber(typed, want string) bool {
	return subtle.ConstantTimeCompare([]byte(typed), []byte(want)) == 1
}

// NewNumber is a uniformly random two-digit number, "00" to "99".
func NewNumber() (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(100))
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%02d", n.Int64()), nil
}
