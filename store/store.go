// Package store defines the records ward keeps and the one interface every
// storage backend implements. Backends live in sub-packages (sqlite,
// postgres); the conformance sub-package is the behaviour they must all show.
package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"time"

	"github.com/wardhq/ward/authenticator"
	"github.com/wardhq/ward/jobs"
	"github.com/wardhq/ward/openid"
	"github.com/wardhq/ward/passkey"
	"github.com/wardhq/ward/recovery"
	"github.com/wardhq/ward/totp"
)

// NewID returns a new record identifier: 48 bits of milliseconds, then 80
// random bits (the layout of UUIDv7). New rows land at the end of their
// index instead of at a random page, which keeps inserts cheap.
func NewID() string {
	b := make([]byte, 16)
	rand.Read(b[6:])
	ms := uint64(time.Now().UnixMilli())
	for i := 5; i >= 0; i-- {
		b[i] = byte(ms)
		ms >>= 8
	}
	return hex.EncodeToString(b)
}

// ErrNotFound is returned when a lookup matches no record.
var ErrNotFound = errors.New("not found")

// ErrConflict is returned when a write would break a uniqueness rule, or a
// conditional update found the record no longer in the expected state.
var ErrConflict = errors.New("conflict")

// Store is a storage backend. Every method of Queries runs on its own; InTx
// runs fn so that all its changes happen together or not at all.
type Store interface {
	Queries
	// InTx runs fn in one transaction. fn must use only the Queries it is
	// given: the backend may hold its single writer while fn runs. A
	// conditional write that fails the transaction on a conflict (UseCode,
	// AdvanceFlow) may report it at a later statement of fn or at the
	// commit instead of its own call (PostgreSQL sends it with the next
	// statement); either way InTx returns the conflict and nothing of fn
	// is kept, even if fn ignored the error.
	InTx(ctx context.Context, fn func(q Queries) error) error
	Close() error
}

// Queries is every operation on stored records: one interface per
// record, so that a package can ask for only the part it reads.
type Queries interface {
	Accounts
	Contacts
	Flows
	Codes
	Failures
	Messages
	Sessions
	Devices
	Events
	Preferences
	Suppressions
	LinkTokens
	Limits
	totp.Store
	recovery.Store
	passkey.Store
	openid.Store
	authenticator.Store
	jobs.Store
	// AfterCommit runs fn once the transaction these queries run in has
	// committed, never if it rolls back; outside a transaction, at once.
	AfterCommit(fn func())
	// AfterRollback runs fn if that transaction rolls back instead.
	AfterRollback(fn func())
	// ReadAhead names one-row reads this transaction makes next, so that
	// a database a round trip away gets them together, behind what it
	// was sent before (PostgreSQL: one round trip instead of one each).
	// fn makes the reads on a recorder: they return an error and read
	// nothing. The same reads made afterwards (same arguments) get the
	// rows read ahead, as long as the transaction has written nothing
	// since; after a write they are read anew. fn must only read. Where
	// nothing is gained (SQLite, outside a transaction), fn is not called.
	ReadAhead(ctx context.Context, fn func(q Queries))
	// DeleteExpired removes flows and link tokens that ended before t, and
	// codes issued more than two days before t.
	DeleteExpired(ctx context.Context, t time.Time) (int, error)
}

// Accounts are people's accounts.
type Accounts interface {
	CreateAccount(ctx context.Context, a Account) error
	AccountByID(ctx context.Context, id string) (Account, error)
	AccountByEmail(ctx context.Context, email string) (Account, error)
	// AccountByEmailOn is AccountByEmail, and whether deviceHash (a device
	// cookie's hash) names a device of that account, in one statement.
	AccountByEmailOn(ctx context.Context, email, deviceHash string) (Account, bool, error)
	// AccountBySkeleton finds an account whose email looks like one with
	// this skeleton (confusable.Address).
	AccountBySkeleton(ctx context.Context, skeleton string) (Account, error)
	AccountByAlias(ctx context.Context, alias string) (Account, error)
	UpdateAccountPassword(ctx context.Context, id, hash string, at time.Time) error
	SetAccountDisabled(ctx context.Context, id string, at *time.Time) error
	SetAccountAlias(ctx context.Context, id, alias string, only bool) error
	// SetAccountTwoStep turns two-step verification on (at) or off (nil).
	SetAccountTwoStep(ctx context.Context, id string, at *time.Time) error
}

// Contacts are the addresses that reach an account.
type Contacts interface {
	CreateContact(ctx context.Context, c Contact) error
	ContactsByAccount(ctx context.Context, accountID string) ([]Contact, error)
	ContactByID(ctx context.Context, id string) (Contact, error)
	DeleteContact(ctx context.Context, id string) error
	SetContactRecoveryAfter(ctx context.Context, id string, at *time.Time) error
}

// Flows are sign-ins, step-ups and resets in progress.
type Flows interface {
	CreateFlow(ctx context.Context, f Flow) error
	FlowByTokenHash(ctx context.Context, hash string) (Flow, error)
	// FlowByTokenHashOn is FlowByTokenHash, and whether deviceHash (a
	// device cookie's hash) names a device of the flow's account, in one
	// statement.
	FlowByTokenHashOn(ctx context.Context, hash, deviceHash string) (Flow, bool, error)
	// AdvanceFlow moves a flow from state `from` to `to`; ErrConflict when
	// the flow is no longer in `from` (someone else moved it first). A
	// conflict fails the transaction (see InTx).
	AdvanceFlow(ctx context.Context, id, from, to string, at time.Time) error
	// EndFlow moves a flow that is in any of the states from to `to`, and
	// reports whether it was in one; a flow elsewhere (or gone) is left.
	EndFlow(ctx context.Context, id string, from []string, to string, at time.Time) (bool, error)
	SetFlowRecipient(ctx context.Context, id, channel, recipient string) error
}

// Codes are one-time codes, kept as MACs.
type Codes interface {
	CreateCode(ctx context.Context, c Code) error
	// CurrentCode is the newest code of a flow that has not been replaced.
	CurrentCode(ctx context.Context, flowID string) (Code, error)
	// ReplaceCodes marks every live code of a flow replaced: after a
	// resend only the newest code works.
	ReplaceCodes(ctx context.Context, flowID string, at time.Time) error
	// AddCodeFailure counts one wrong entry and returns the new count, but
	// only while the code is live and below maxFailures: ErrConflict
	// otherwise, so a burst of wrong entries counts at most maxFailures.
	AddCodeFailure(ctx context.Context, codeID string, maxFailures int) (int, error)
	// UseCode marks a code used if it is still live, unexpired and below
	// maxFailures; ErrConflict otherwise. Exactly one caller can win. A
	// conflict fails the transaction (see InTx).
	UseCode(ctx context.Context, codeID string, at time.Time, maxFailures int) error
	// DispatchCode claims the sending of a code's mail and returns the code
	// (replaced or not): ErrConflict when it was claimed before, or is
	// gone, so the mail is written once.
	DispatchCode(ctx context.Context, codeID string, at time.Time) (Code, error)
	// CountCodesToRecipient and CountCodesFromIP count codes issued since
	// `since`, for the per-recipient and per-IP limits.
	CountCodesToRecipient(ctx context.Context, recipientKey string, since time.Time) (int, error)
	CountCodesFromIP(ctx context.Context, ip string, since time.Time) (int, error)
}

// Failures are the consecutive-failure counters of each factor.
type Failures interface {
	FailureCounter(ctx context.Context, subject, factor string) (FailureCounter, error)
	// AddFailure increments the consecutive count atomically and stores the
	// lock that the caller computed from the new count.
	AddFailure(ctx context.Context, subject, factor string, at time.Time, lock func(consecutive int) (lockedUntil, disabledAt *time.Time)) (FailureCounter, error)
	ResetFailures(ctx context.Context, subject, factor string) error
}

// Messages are the outbox: the record of every message and its delivery.
type Messages interface {
	EnqueueMessage(ctx context.Context, m Message) error
	MessageByID(ctx context.Context, id string) (Message, error)
	// MessageByRef finds the message whose body shows reference ref.
	MessageByRef(ctx context.Context, ref string) (Message, error)
	// CountMessagesTo counts messages of kind queued to recipient since.
	CountMessagesTo(ctx context.Context, recipient, kind string, since time.Time) (int, error)
	// UpdateMessage writes m over the message with its ID (nothing if
	// there is none).
	UpdateMessage(ctx context.Context, m Message) error
	MessagesTo(ctx context.Context, recipient string, limit int) ([]Message, error)
	// MessagesByFlow lists a flow's messages, newest first.
	MessagesByFlow(ctx context.Context, flowID string) ([]Message, error)
	RecentMessages(ctx context.Context, limit int) ([]Message, error)
}

// Sessions are signed-in sessions.
type Sessions interface {
	CreateSession(ctx context.Context, s Session) error
	SessionByTokenHash(ctx context.Context, hash string) (Session, error)
	TouchSession(ctx context.Context, id string, at time.Time, ip string) error
	RevokeSession(ctx context.Context, id string, at time.Time) error
	// RevokeOtherSessions revokes every live session of the account except
	// keepID (which may be empty) and returns how many it revoked.
	RevokeOtherSessions(ctx context.Context, accountID, keepID string, at time.Time) (int, error)
	SessionsByAccount(ctx context.Context, accountID string, now time.Time) ([]Session, error)
}

// Devices are the browsers and clients that signed in to an account.
type Devices interface {
	UpsertDevice(ctx context.Context, d Device) (Device, error)
	DeviceByTokenHash(ctx context.Context, accountID, hash string) (Device, error)
	DevicesByAccount(ctx context.Context, accountID string) ([]Device, error)
}

// Events are the append-only activity log, and the reads the risk engine
// makes of it.
type Events interface {
	AppendEvent(ctx context.Context, e Event) error
	// Events lists an account's events, newest first, before `before` (zero
	// for now), at most limit.
	Events(ctx context.Context, accountID string, before time.Time, limit int) ([]Event, error)
	// EventsWithResult pages through an account's events of one result.
	EventsWithResult(ctx context.Context, accountID, result string, before time.Time, limit int) ([]Event, error)
	// SignIns lists an account's successful sign-ins, newest first, with
	// only their IP and time.
	SignIns(ctx context.Context, accountID string, limit int) ([]Event, error)
	// IPActivity sums the newest sign-in events from ip since a time, at
	// most last of them; Accounts counts the accounts tried other than
	// exceptAccount.
	IPActivity(ctx context.Context, ip, exceptAccount string, since time.Time, last int) (IPActivity, error)
	// AccountFailures counts wrong passwords and codes for an account since a time.
	AccountFailures(ctx context.Context, accountID string, since time.Time) (int, error)
	// SignedInFromIP reports whether the account ever signed in from ip.
	SignedInFromIP(ctx context.Context, accountID, ip string) (bool, error)
}

// Preferences are which security notices an account wants where.
type Preferences interface {
	// NotificationPrefs maps "event/channel" to on or off (missing: default).
	NotificationPrefs(ctx context.Context, accountID string) (map[string]bool, error)
	SetNotificationPref(ctx context.Context, accountID, event, channel string, on bool) error
}

// RecipientState is whether a recipient has asked not to get codes from
// any of some sources, and how many messages of a kind it was sent since a
// time.
type RecipientState struct {
	Suppressed bool
	Sent       int
}

// Suppressions stop codes to a recipient from a source ("this wasn't me").
type Suppressions interface {
	// Suppress stops codes to recipientKey requested from source until a time.
	Suppress(ctx context.Context, recipientKey, source string, until, now time.Time) error
	// Suppressed reports whether any of sources is suppressed for recipientKey.
	Suppressed(ctx context.Context, recipientKey string, sources []string, now time.Time) (bool, error)
	// RecipientState reads in one statement what holds a code mail back:
	// Suppressed for recipientKey and sources at now, and CountMessagesTo
	// recipient of kind since. A sign-in asks both before every code mail.
	RecipientState(ctx context.Context, recipientKey string, sources []string, recipient, kind string, since, now time.Time) (RecipientState, error)
}

// LinkTokens are the single-use tokens links in mail carry.
type LinkTokens interface {
	CreateLinkToken(ctx context.Context, t LinkToken) error
	LinkTokenByHash(ctx context.Context, hash string) (LinkToken, error)
	UseLinkToken(ctx context.Context, id string, at time.Time) error
}

// Limits are request counts and the locks that make a check-then-act one
// step.
type Limits interface {
	// Hit counts one request of key in the fixed window that starts at
	// window and returns the count so far, in one atomic step.
	Hit(ctx context.Context, key string, window time.Time) (int, error)
	// Lock holds each key until the transaction ends, so that a
	// check-then-act on one key (a recipient's quota, a factor's failures,
	// a flow's current code) runs one at a time across every instance
	// sharing the database. Only inside InTx; keys are taken in sorted
	// order, so two callers never wait on each other in a circle.
	Lock(ctx context.Context, keys ...string) error
}

// Account is a person's account. Email is its sign-in name, normalised.
type Account struct {
	ID           string
	Email        string
	Phone        string
	PasswordHash string
	Language     string
	CreatedAt    time.Time
	DisabledAt   *time.Time
	// Alias is a private sign-in name; with AliasOnly, sign-in by the
	// public email address is refused (silently, as for an unknown one).
	Alias     string
	AliasOnly bool
	// Skeleton is how Email looks (confusable.Address): no two accounts
	// are created with the same.
	Skeleton string
	// TwoStepAt is when two-step verification was turned on (nil: off):
	// a sign-in then needs two different proofs.
	TwoStepAt *time.Time
}

// IPActivity is what one IP did lately: distinct accounts tried, and
// failures.
type IPActivity struct {
	Accounts, Failures int
}

// Contact kinds.
const (
	ContactEmail = "email"
	ContactPhone = "phone"
)

// Contact is an address that can receive codes for an account. The primary
// email is a contact too, marked Primary.
type Contact struct {
	ID         string
	AccountID  string
	Kind       string
	Value      string
	Primary    bool
	VerifiedAt *time.Time
	CreatedAt  time.Time
	// RecoveryAfter: before this time the contact cannot be used to
	// recover the account (nil: it can).
	RecoveryAfter *time.Time
}

// Flow is one sign-in, step-up or reset in progress. AccountID is empty for
// a flow started for an unknown identifier, which behaves the same way but
// never succeeds. Subject keys the per-account failure counters.
type Flow struct {
	ID        string
	TokenHash string
	Kind      string
	State     string
	AccountID string
	Subject   string
	Recipient string
	Channel   string
	IP        string
	DeviceID  string
	SessionID string
	CreatedAt time.Time
	ExpiresAt time.Time
	UpdatedAt time.Time
}

// Code is a one-time code, stored only as an HMAC.
type Code struct {
	ID           string
	FlowID       string
	Purpose      string
	Channel      string
	RecipientKey string
	Hash         string
	IP           string
	Failures     int
	CreatedAt    time.Time
	ExpiresAt    time.Time
	UsedAt       *time.Time
	ReplacedAt   *time.Time
}

// FailureCounter counts consecutive failures of one factor for one subject.
type FailureCounter struct {
	Subject     string
	Factor      string
	Consecutive int
	LastAt      time.Time
	LockedUntil *time.Time
	DisabledAt  *time.Time
}

// Message statuses.
const (
	MessageQueued   = "queued"
	MessageSending  = "sending"
	MessageSent     = "sent"
	MessageRetrying = "retrying"
	MessageFailed   = "failed"
	MessageExpired  = "expired"
)

// Message is an outgoing mail or SMS in the outbox: the record of what was
// sent, and its delivery status. (River's job table drives the delivery.) Secret (a sealed code)
// is erased once the message is sent or can no longer be sent.
type Message struct {
	ID        string
	Kind      string
	Channel   string
	Recipient string
	Language  string
	AccountID string
	FlowID    string
	Data      []byte
	Secret    []byte
	Status    string
	Attempts  int
	LastError string
	Relay     string
	CreatedAt time.Time
	NextAt    time.Time
	SentAt    *time.Time
	ExpiresAt *time.Time
	// Ref is the reference the body shows; Digest a keyed digest of the
	// secrets it carried, so the text can be proven ours after they are erased.
	Ref    string
	Digest string
}

// Session is a signed-in session; only a hash of its token is kept.
type Session struct {
	ID         string
	TokenHash  string
	AccountID  string
	DeviceID   string
	IP         string
	UserAgent  string
	Method     string
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
	StepUpAt   *time.Time
	RevokedAt  *time.Time
}

// Device is a browser or client that ward gave a device cookie and that
// signed in to an account.
type Device struct {
	ID        string
	AccountID string
	TokenHash string
	UserAgent string
	Browser   string
	OS        string
	LastIP    string
	FirstSeen time.Time
	LastSeen  time.Time
}

// Event is one line of the append-only activity log.
type Event struct {
	ID        string
	AccountID string
	At        time.Time
	Kind      string
	Result    string
	Method    string
	IP        string
	DeviceID  string
	Device    string
	FlowID    string
	Reasons   []string
	// Ref is the record the event is about, when there is one: the contact
	// added, the event confirmed or reported as not the owner's.
	Ref string
}

// LinkToken is a single-use token carried by a link in a mail, such as
// "not my account".
type LinkToken struct {
	ID        string
	TokenHash string
	Purpose   string
	AccountID string
	ContactID string
	FlowID    string
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    *time.Time
	// Detail is what the link needs once its flow is gone (JSON).
	Detail string
}
