// Package passkey is WebAuthn passkeys: ward as the relying party (its
// RP ID and origin come from public_url), the records of a person's
// passkeys, and the one-time ceremonies that register and use them. The
// protocol itself (attestation, signatures, flags, counters) is
// go-webauthn's.
package passkey

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
)

// Passkey is one passkey a person registered.
type Passkey struct {
	ID        string
	AccountID string
	Name      string
	// CredentialID is the authenticator's id for it, unique everywhere.
	CredentialID []byte
	// Credential is go-webauthn's record (public key, flags, sign count,
	// attestation) as JSON: every flag is kept, because a later check of
	// the flags needs what registration saw.
	Credential []byte
	// BackupEligible and BackedUp say whether it can be, and is, synced
	// to other devices (a password manager or a platform account).
	BackupEligible bool
	BackedUp       bool
	SignCount      uint32
	CreatedAt      time.Time
	LastUsedAt     *time.Time
}

// Ceremony is a registration or sign-in begun and not yet finished: the
// challenge and what it was issued for, used at most once.
type Ceremony struct {
	ID        string
	TokenHash string
	Kind      string
	// AccountID is set for a registration, a step-up and a second step;
	// a passkey sign-in learns the account from the passkey.
	AccountID string
	// Ref is the session (registration, step-up) or flow (second step)
	// the ceremony belongs to.
	Ref string
	// Data is go-webauthn's session data, sealed.
	Data      []byte
	ExpiresAt time.Time
}

// Ceremony kinds.
const (
	KindRegister   = "register"
	KindSignIn     = "sign_in"
	KindSecondStep = "second_step"
	KindStepUp     = "step_up"
)

// Store keeps passkeys and ceremonies.
type Store interface {
	// CreatePasskey adds a passkey; store.ErrConflict when its credential
	// id is already registered.
	CreatePasskey(ctx context.Context, p Passkey) error
	PasskeysByAccount(ctx context.Context, accountID string) ([]Passkey, error)
	PasskeyByCredentialID(ctx context.Context, credentialID []byte) (Passkey, error)
	// UsePasskey records an assertion: the updated record, counter and
	// backup state. It applies only while the stored counter is still
	// prevCount, so that of two uses of one assertion only one counts
	// (store.ErrConflict for the other).
	UsePasskey(ctx context.Context, id string, prevCount uint32, p Passkey, at time.Time) error
	RenamePasskey(ctx context.Context, accountID, id, name string) error
	DeletePasskey(ctx context.Context, accountID, id string) error

	CreateCeremony(ctx context.Context, c Ceremony) error
	// TakeCeremony removes and returns the ceremony with this token hash,
	// in one step: store.ErrNotFound when there is none (never begun, or
	// already taken), so a ceremony is finished at most once. Expired
	// ceremonies go with store.Queries.DeleteExpired.
	TakeCeremony(ctx context.Context, tokenHash string) (Ceremony, error)
}

// RP is ward as a WebAuthn relying party.
type RP struct {
	w *webauthn.WebAuthn
	// Origin is the one origin ceremonies are accepted from.
	Origin string
	ID     string
}

// NewRP makes the relying party for publicURL: its host is the RP ID and
// its scheme, host and port the only origin accepted.
func NewRP(publicURL, name string) (*RP, error) {
	u, err := url.Parse(publicURL)
	if err != nil || u.Hostname() == "" {
		return nil, fmt.Errorf("passkeys need public_url with a host, got %q", publicURL)
	}
	origin := u.Scheme + "://" + u.Host
	w, err := webauthn.New(&webauthn.Config{RPID: u.Hostname(), RPDisplayName: name, RPOrigins: []string{origin}})
	if err != nil {
		return nil, fmt.Errorf("setting up passkeys: %w", err)
	}
	return &RP{w: w, Origin: origin, ID: u.Hostname()}, nil
}

// User is an account as WebAuthn sees it. Handle is the user handle kept
// inside each passkey: ward's account id, never shown.
type User struct {
	Handle      []byte
	Name        string
	DisplayName string
	Passkeys    []Passkey
}

func (u *User) WebAuthnID() []byte          { return u.Handle }
func (u *User) WebAuthnName() string        { return u.Name }
func (u *User) WebAuthnDisplayName() string { return u.DisplayName }

// WebAuthnCredentials reads the stored records; one that cannot be read
// is left out (and so cannot sign in) rather than failing them all.
func (u *User) WebAuthnCredentials() []webauthn.Credential {
	var out []webauthn.Credential
	for _, p := range u.Passkeys {
		if c, err := credentialOf(p); err == nil {
			out = append(out, c)
		}
	}
	return out
}

func credentialOf(p Passkey) (webauthn.Credential, error) {
	var c webauthn.Credential
	if err := json.Unmarshal(p.Credential, &c); err != nil {
		return c, fmt.Errorf("reading passkey %s: %w", p.ID, err)
	}
	return c, nil
}

// Options are what the browser passes to navigator.credentials.create or
// .get, as JSON.
type Options = json.RawMessage

// BeginRegistration starts registering a discoverable passkey, excluding
// the ones the person has. User verification is preferred, not required:
// a security key without a PIN still registers, and proves only
// possession when it is used (see FinishSignIn).
func (rp *RP) BeginRegistration(u *User) (Options, []byte, error) {
	var exclude []protocol.CredentialDescriptor
	for _, c := range u.WebAuthnCredentials() {
		exclude = append(exclude, c.Descriptor())
	}
	creation, sd, err := rp.w.BeginRegistration(u,
		webauthn.WithAuthenticatorSelection(protocol.AuthenticatorSelection{ResidentKey: protocol.ResidentKeyRequirementRequired,
			RequireResidentKey: protocol.ResidentKeyRequired(), UserVerification: protocol.VerificationPreferred}),
		webauthn.WithExclusions(exclude),
		webauthn.WithExtensions(webauthn.WithExtensionCredProps()))
	if err != nil {
		return nil, nil, fmt.Errorf("starting passkey registration: %w", err)
	}
	return encode(creation, sd)
}

// FinishRegistration checks the browser's answer against the ceremony
// and returns the new passkey's record (ID, account, name and times are
// the caller's to set).
func (rp *RP) FinishRegistration(u *User, session, response []byte) (Passkey, error) {
	sd, err := decodeSession(session)
	if err != nil {
		return Passkey{}, err
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(response)
	if err != nil {
		return Passkey{}, refused(err)
	}
	c, err := rp.w.CreateCredential(u, sd, parsed)
	if err != nil {
		return Passkey{}, refused(err)
	}
	return record(Passkey{}, c)
}

// BeginSignIn starts a sign-in: for u's passkeys, or with u nil for any
// discoverable passkey (the browser offers the person's own). Alone, the
// passkey must verify its user (PIN, fingerprint, face), so that it is two
// factors; as a second step or a step-up, verification is preferred.
func (rp *RP) BeginSignIn(u *User) (Options, []byte, error) {
	var assertion *protocol.CredentialAssertion
	var sd *webauthn.SessionData
	var err error
	if u == nil {
		assertion, sd, err = rp.w.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
	} else {
		assertion, sd, err = rp.w.BeginLogin(u, webauthn.WithUserVerification(protocol.VerificationPreferred))
	}
	if err != nil {
		return nil, nil, fmt.Errorf("starting passkey sign-in: %w", err)
	}
	return encode(assertion, sd)
}

// ParseAssertion reads the browser's answer to a sign-in.
func ParseAssertion(response []byte) (*protocol.ParsedCredentialAssertionData, error) {
	p, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return nil, refused(err)
	}
	return p, nil
}

// Handle is the user handle an assertion names (empty when it names none).
func Handle(a *protocol.ParsedCredentialAssertionData) []byte { return a.Response.UserHandle }

// UserVerified reports whether the authenticator verified its user (PIN,
// fingerprint, face) for this assertion: then the passkey alone is two
// factors; otherwise it proves possession only.
func UserVerified(a *protocol.ParsedCredentialAssertionData) bool {
	return a.Response.AuthenticatorData.Flags.HasUserVerified()
}

// FinishSignIn checks an assertion against the ceremony and u's passkeys
// and returns the passkey used, with its new counter and backup state.
// discoverable says the ceremony was begun without an account. Verified
// (UserVerified) tells whether this use verified its user.
func (rp *RP) FinishSignIn(u *User, session []byte, a *protocol.ParsedCredentialAssertionData, discoverable bool) (Passkey, error) {
	sd, err := decodeSession(session)
	if err != nil {
		return Passkey{}, err
	}
	var c *webauthn.Credential
	if discoverable {
		c, err = rp.w.ValidateDiscoverableLogin(func(_, _ []byte) (webauthn.User, error) { return u, nil }, sd, a)
	} else {
		c, err = rp.w.ValidateLogin(u, sd, a)
	}
	if err != nil {
		return Passkey{}, refused(err)
	}
	if c.Authenticator.CloneWarning {
		return Passkey{}, &RefusedError{Reason: "the passkey's signature counter went backwards: it may have been copied"}
	}
	for _, p := range u.Passkeys {
		if string(p.CredentialID) == string(c.ID) {
			return record(p, c)
		}
	}
	return Passkey{}, &RefusedError{Reason: "this passkey is not on the account"}
}

// record writes a credential into a passkey's record.
func record(p Passkey, c *webauthn.Credential) (Passkey, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return p, fmt.Errorf("keeping a passkey: %w", err)
	}
	p.CredentialID, p.Credential = c.ID, b
	p.BackupEligible, p.BackedUp, p.SignCount = c.Flags.BackupEligible, c.Flags.BackupState, c.Authenticator.SignCount
	return p, nil
}

// RefusedError is an answer from a browser or authenticator that does not
// prove what it should: a wrong origin or RP ID, a bad signature, a
// challenge of another ceremony, an unverified user. Reason is for logs.
type RefusedError struct{ Reason string }

func (e *RefusedError) Error() string { return "passkey refused: " + e.Reason }

func refused(err error) error {
	var pe *protocol.Error
	if errors.As(err, &pe) {
		return &RefusedError{Reason: pe.Details + " (" + pe.Type + ")"}
	}
	return &RefusedError{Reason: err.Error()}
}

// encode returns the options for the browser and the session data to
// keep for the ceremony. The session's own expiry is cleared: ward
// expires ceremonies by its own clock.
func encode(options any, sd *webauthn.SessionData) (Options, []byte, error) {
	o, err := json.Marshal(options)
	if err != nil {
		return nil, nil, fmt.Errorf("writing passkey options: %w", err)
	}
	sd.Expires = time.Time{}
	s, err := json.Marshal(sd)
	if err != nil {
		return nil, nil, fmt.Errorf("keeping a passkey ceremony: %w", err)
	}
	return o, s, nil
}

func decodeSession(b []byte) (webauthn.SessionData, error) {
	var sd webauthn.SessionData
	if err := json.Unmarshal(b, &sd); err != nil {
		return sd, fmt.Errorf("reading a passkey ceremony: %w", err)
	}
	return sd, nil
}
