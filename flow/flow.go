// Package flow runs the sign-in, step-up and password-reset flows: it ties
// accounts, one-time codes, sessions, the outbox and the activity log
// together, one transaction per step, so a crash leaves all or nothing.
package flow

import (
	"context"
	"errors"
	"time"

	"github.com/wardhq/ward/account"
	"github.com/wardhq/ward/audit"
	"github.com/wardhq/ward/authenticator"
	"github.com/wardhq/ward/keys"
	"github.com/wardhq/ward/notify"
	"github.com/wardhq/ward/passkey"
	"github.com/wardhq/ward/risk"
	"github.com/wardhq/ward/session"
	"github.com/wardhq/ward/store"
	"github.com/wardhq/ward/throttle"
)

// Flow kinds and states.
const (
	KindSignIn = "sign_in"
	KindStepUp = "step_up"
	KindReset  = "password_reset"
	// KindReauth proves again, by a code to the account's email, that a
	// signed-in session is its owner; KindAddContact verifies a new contact.
	KindReauth     = "reauth"
	KindAddContact = "add_contact"

	stateCodeSent  = "code_sent"
	stateCodeOK    = "code_verified"
	stateDone      = "done"
	stateCancelled = "cancelled"
)

// Limits are the knobs of code issuing and checking.
type Limits struct {
	Digits           int
	CodeTTL          time.Duration
	RecoveryCodeTTL  time.Duration
	FlowTTL          time.Duration
	MaxCodeFailures  int
	ResendCooldown   time.Duration
	PerRecipientHour int
	PerRecipientDay  int
	PerIPHour        int
	NotMineTTL       time.Duration
	// FreshFor is how recent a sign-in or step-up must be for a change to
	// security info; RecoveryWait is how long a new contact waits before
	// it can recover the account.
	FreshFor     time.Duration
	RecoveryWait time.Duration
	// PasswordPerIP bounds password sign-ins per source.
	PasswordPerIP throttle.Rate
	// PromptsPerHour bounds the approval requests one account's
	// authenticator gets in an hour (0: DefaultPromptsPerHour).
	PromptsPerHour int
}

// Client is who is asking: the request's address, browser and the device
// cookie ward gave it (empty when it has none).
type Client struct {
	IP          string
	UserAgent   string
	DeviceToken string
	// Session is the session token the request carries, if any: a new
	// sign-in replaces that session, and a step-up rotates it.
	Session string
	// App names the app the sign-in is for (OpenID Connect), when web
	// knows it: an approval request shows it.
	App string
	// device is whether DeviceToken names a device of an account, when
	// read together with that account or its flow (see knownDevice).
	device deviceRead
	// ua is UserAgent read for people (see describe), once it has been.
	ua *described
}

// described is a User-Agent as people read it.
type described struct{ browser, os, label string }

// describe reads the User-Agent for people once, ahead of a transaction
// that names the device: on SQLite's one writer, whatever a transaction
// does besides its statements holds up every other write, and parsing a
// User-Agent was a fifth of that (two or three times a transaction).
func (c *Client) describe() {
	if c.ua == nil {
		b, o := session.Describe(c.UserAgent)
		c.ua = &described{browser: b, os: o, label: session.Label(b, o)}
	}
}

// description is the browser and OS of c's device.
func (c Client) description() (browser, os string) {
	c.describe()
	return c.ua.browser, c.ua.os
}

// deviceRead is whether a client's device cookie names a device of
// account, read before the transaction with the row it came with: the
// transaction need not read it again. Like any read there under
// PostgreSQL's isolation, it may be a moment old; it picks which failure
// counter counts (the owner's devices' or everyone else's) and whether a
// code's sender is the owner (the address's quota and the flood guard
// spare the owner's own devices), never what a code proves.
type deviceRead struct {
	account string
	known   bool
	read    bool
}

// Attempt and Decision are the risk check's question and answer.
type (
	Attempt  = risk.Attempt
	Decision = risk.Decision
)

// Assessor decides whether a sign-in needs more proof. The risk engine
// plugs in here.
type Assessor interface {
	Assess(ctx context.Context, a Attempt) (Decision, error)
}

// NewDeviceOrIP asks for a code when the device or the IP is new to the account.
type NewDeviceOrIP struct{}

// Assess implements Assessor.
func (NewDeviceOrIP) Assess(_ context.Context, a Attempt) (Decision, error) {
	var d Decision
	if !a.KnownDevice {
		d.Reasons = append(d.Reasons, risk.NewDevice)
	}
	if !a.KnownIP {
		d.Reasons = append(d.Reasons, risk.NewIP)
	}
	d.StepUp = len(d.Reasons) > 0
	return d, nil
}

// Service runs the flows.
type Service struct {
	Store     store.Store
	Keys      *keys.Keys
	Passwords *account.Passwords
	Sessions  *session.Manager
	Composer  *notify.Composer
	Throttle  throttle.Policy
	Risk      Assessor
	// Places names where an IP is, for mails (nil: unknown).
	Places      Places
	Unsolicited Unsolicited
	// Later sends codes after the answer (nil: inside the request).
	Later Later
	// Limiter applies Limits' request rates (nil: none).
	Limiter *throttle.Limiter
	// Audit is the security event log (nil: none).
	Audit  *audit.Log
	Limits Limits
	// Brand is the service's name, shown by authenticator apps.
	Brand string
	// Logouts tells apps that sign-ins they got through ward ended
	// (nil: none are told).
	Logouts AppLogout
	// Pusher sends approval requests to paired authenticators by Web Push
	// (nil: they learn of them only while open).
	Pusher *authenticator.Pusher
	// RP is ward as a WebAuthn relying party, for passkeys (nil: none).
	RP  *passkey.RP
	Now func() time.Time
}

// Pending is a flow waiting for a code.
type Pending struct {
	Token       string
	Kind        string
	Channel     string
	Destination string
	ExpiresAt   time.Time
	ResendAfter time.Time
	Reasons     []string
	// CodeSpent: the current code can no longer be used (too many wrong
	// tries, or expired); only a new one helps.
	CodeSpent bool
	// CodeVerified is set on a reset whose code was confirmed and that
	// waits for the new password.
	CodeVerified bool
	// SecondStep is set on a flow held for its second step; Methods are
	// the ways it may be answered (MethodTOTP, MethodRecovery).
	SecondStep bool
	Methods    []string
}

// Result is where a step left the flow: a session, a code on its way, or
// (for a reset) a verified code waiting for the new password.
type Result struct {
	Session *session.Issued
	Pending *Pending
	State   string
	// Review is set when a recovery code signed the person in: they are
	// led straight to their security info.
	Review bool
}

// deviceLabel is how the client's device is named to people ("Chrome 140
// on macOS").
func (s *Service) deviceLabel(c Client) string {
	c.describe()
	return c.ua.label
}

// newFlow builds a flow record and its client token.
func (s *Service) newFlow(kind, accountID, subject, recipient, channel string, c Client, now time.Time) (store.Flow, string) {
	tok := keys.Token()
	return store.Flow{ID: store.NewID(), TokenHash: keys.HashToken(tok), Kind: kind, State: stateCodeSent, AccountID: accountID, Subject: subject,
		Recipient: recipient, Channel: channel, IP: c.IP, DeviceID: deviceHash(c), CreatedAt: now, ExpiresAt: now.Add(s.Limits.FlowTTL), UpdatedAt: now}, tok
}

func contactKind(channel string) string {
	if channel == notify.SMS {
		return store.ContactPhone
	}
	return store.ContactEmail
}

// channelFor is the channel that reaches a contact of kind.
func channelFor(kind string) string {
	if kind == store.ContactPhone {
		return notify.SMS
	}
	return notify.Email
}

// flowFor returns the live flow a client token names.
func (s *Service) flowFor(ctx context.Context, token string, now time.Time) (store.Flow, error) {
	return s.flowOn(ctx, token, nil, now)
}

// flowOn is flowFor that also reads, in the same statement, whether c's
// device is one of the flow's account (into c), when c is not nil.
func (s *Service) flowOn(ctx context.Context, token string, c *Client, now time.Time) (store.Flow, error) {
	if token == "" {
		return store.Flow{}, fail(ErrFlowInvalid, "this sign-in has ended; start again")
	}
	var f store.Flow
	var err error
	if c != nil && c.DeviceToken != "" {
		var known bool
		f, known, err = s.Store.FlowByTokenHashOn(ctx, keys.HashToken(token), deviceHash(*c))
		c.device = deviceRead{account: f.AccountID, known: known, read: err == nil}
	} else {
		f, err = s.Store.FlowByTokenHash(ctx, keys.HashToken(token))
	}
	if errors.Is(err, store.ErrNotFound) {
		return f, fail(ErrFlowInvalid, "this sign-in has ended; start again")
	}
	if err != nil {
		return f, err
	}
	if !now.Before(f.ExpiresAt) {
		return f, fail(ErrFlowExpired, "this sign-in took too long and has expired; start again")
	}
	return f, nil
}

func (s *Service) language(ctx context.Context, accountID string) string {
	if accountID == "" {
		return "en"
	}
	if a, err := s.Store.AccountByID(ctx, accountID); err == nil {
		return a.Language
	}
	return "en"
}
