// Package flow runs the sign-in, step-up and password-reset flows: it ties
// accounts, one-time codes, sessions, the outbox and the activity log
// together, one transaction per step, so a crash leaves all or nothing.
package flow

import (
	"context"
	"crypto/hmac"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/wardhq/ward/account"
	"github.com/wardhq/ward/activity"
	"github.com/wardhq/ward/audit"
	"github.com/wardhq/ward/keys"
	"github.com/wardhq/ward/notify"
	"github.com/wardhq/ward/otp"
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
}

// DefaultLimits are ward's defaults.
func DefaultLimits() Limits {
	return Limits{Digits: 6, CodeTTL: 10 * time.Minute, RecoveryCodeTTL: 10 * time.Minute, FlowTTL: 15 * time.Minute,
		MaxCodeFailures: 5, ResendCooldown: 60 * time.Second, PerRecipientHour: 5, PerRecipientDay: 20, PerIPHour: 60,
		FreshFor: 10 * time.Minute, RecoveryWait: 7 * 24 * time.Hour,
		NotMineTTL: 7 * 24 * time.Hour}
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
	Now    func() time.Time
}

// Pending is a flow waiting for a code.
type Pending struct {
	Token       string    `json:"flow"`
	Kind        string    `json:"kind"`
	Channel     string    `json:"channel"`
	Destination string    `json:"destination"`
	ExpiresAt   time.Time `json:"expires_at"`
	ResendAfter time.Time `json:"resend_after"`
	Reasons     []string  `json:"reasons,omitempty"`
	// CodeVerified is set on a reset whose code was confirmed and that
	// waits for the new password.
	CodeVerified bool `json:"code_verified,omitempty"`
}

// Result is where a step left the flow: a session, a code on its way, or
// (for a reset) a verified code waiting for the new password.
type Result struct {
	Session *session.Issued
	Pending *Pending
	State   string
}

// subject keys the failure counters: an account, or for an unknown
// identifier a keyed digest of it, so both are throttled the same way.
func (s *Service) subject(accountID, email string) string {
	if accountID != "" {
		return "a:" + accountID
	}
	return "u:" + s.Keys.Identifier("email", email)
}

func factorFor(channel string) string {
	if channel == notify.SMS {
		return throttle.FactorSMSCode
	}
	return throttle.FactorEmailCode
}

// lookup finds a live account by typed email. A disabled account is
// treated as unknown so that nothing tells the two apart.
func (s *Service) lookup(ctx context.Context, identifier string) (store.Account, string, error) {
	if name := strings.ToLower(strings.TrimSpace(identifier)); isAlias(name) && name != "" {
		// A private sign-in alias: the code goes to the account's email.
		a, err := s.Store.AccountByAlias(ctx, name)
		if errors.Is(err, store.ErrNotFound) {
			return store.Account{}, name, nil
		}
		if err != nil {
			return store.Account{}, name, err
		}
		return a, a.Email, nil
	}
	email, err := account.NormalizeEmail(identifier)
	if err != nil {
		return store.Account{}, "", inputError(err)
	}
	a, err := s.Store.AccountByEmail(ctx, email)
	if errors.Is(err, store.ErrNotFound) || err == nil && a.AliasOnly {
		// With sign-in by the public address turned off, it is treated
		// exactly like an address with no account.
		return store.Account{}, email, nil
	}
	if err != nil {
		return store.Account{}, email, err
	}
	return a, email, nil
}

func (s *Service) device(c Client) string { return session.DeviceLabel(c.UserAgent) }

// unknown notes an attempt on an identifier that names no account: masked,
// with a keyed digest that ties attempts on one identifier together.
func (s *Service) unknown(ctx context.Context, kind, identifier string) {
	s.Audit.Record(ctx, audit.UnknownIdentifier, "answered_as_usual", slog.String("flow", kind),
		slog.String("identifier", account.Mask(store.ContactEmail, identifier)), slog.String("identifier_digest", s.Keys.Identifier("email", identifier)[:16]))
}

// knownDevice reports whether the client's device cookie belongs to a
// device that signed in to the account. It reads through q, so that inside
// a transaction nothing reaches past it for a second connection.
func (s *Service) knownDevice(ctx context.Context, q store.Queries, accountID string, c Client) (bool, error) {
	if c.DeviceToken == "" {
		return false, nil
	}
	_, err := q.DeviceByTokenHash(ctx, accountID, keys.HashToken(c.DeviceToken))
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// counterSubject keys a factor's failure counter for this client. The
// owner's known devices and everyone else are counted apart, so that a
// stranger's wrong guesses make strangers wait, never the owner.
func (s *Service) counterSubject(ctx context.Context, q store.Queries, subject, accountID string, c Client) (string, error) {
	known, err := s.knownDevice(ctx, q, accountID, c)
	return counterOf(subject, known), err
}

// knownSuffix marks the counter of an account's known devices.
const knownSuffix = "|known"

func counterOf(subject string, known bool) string {
	if known {
		return subject + knownSuffix
	}
	return subject
}

// resetAllFailures clears a factor's counters for known devices and for
// everyone else: the owner proved themselves by another route.
func resetAllFailures(ctx context.Context, q store.Queries, subject string, factors ...string) error {
	for _, f := range factors {
		for _, sub := range []string{subject, subject + knownSuffix} {
			if err := q.ResetFailures(ctx, sub, f); err != nil {
				return err
			}
		}
	}
	return nil
}

// newFlow builds a flow record and its client token.
func (s *Service) newFlow(kind, accountID, subject, recipient, channel string, c Client, now time.Time) (store.Flow, string) {
	tok := keys.Token()
	return store.Flow{ID: keys.ID(), TokenHash: keys.HashToken(tok), Kind: kind, State: stateCodeSent, AccountID: accountID, Subject: subject,
		Recipient: recipient, Channel: channel, IP: c.IP, DeviceID: deviceHash(c), CreatedAt: now, ExpiresAt: now.Add(s.Limits.FlowTTL), UpdatedAt: now}, tok
}

func purposeOf(kind string) string {
	switch kind {
	case KindStepUp:
		return otp.PurposeStepUp
	case KindReset:
		return otp.PurposeReset
	case KindAddContact:
		return otp.PurposeVerify
	case KindReauth:
		return otp.PurposeConfirmChange
	}
	return otp.PurposeSignIn
}

func (s *Service) codeMAC(f store.Flow, purpose, channel, recipientKey, code string) string {
	return s.Keys.CodeMAC(f.ID, purpose, channel, recipientKey, code)
}

// checkSendLimits refuses a new code when the recipient or the IP has had
// too many lately. The counts live in the database, so they hold across
// every instance sharing it.
func (s *Service) checkSendLimits(ctx context.Context, q store.Queries, recipientKey, ip string, owner bool, now time.Time) error {
	l := s.Limits
	if owner {
		// The owner's own known device is not held to the address's
		// quota: a stranger using it up must not lock the owner out.
		l.PerRecipientHour, l.PerRecipientDay = 0, 0
	}
	for _, lim := range []struct {
		n      int
		window time.Duration
		count  func() (int, error)
		what   string
	}{
		{l.PerRecipientHour, time.Hour, func() (int, error) { return q.CountCodesToRecipient(ctx, recipientKey, now.Add(-time.Hour)) }, "this address"},
		{l.PerRecipientDay, 24 * time.Hour, func() (int, error) { return q.CountCodesToRecipient(ctx, recipientKey, now.Add(-24*time.Hour)) }, "this address"},
		{l.PerIPHour, time.Hour, func() (int, error) { return q.CountCodesFromIP(ctx, throttle.Source(ip), now.Add(-time.Hour)) }, "your network"},
	} {
		if lim.n <= 0 {
			continue
		}
		n, err := lim.count()
		if err != nil {
			return err
		}
		if n >= lim.n {
			s.Audit.Record(ctx, audit.RateLimited, "refused", slog.String("limit", "codes_to_"+strings.ReplaceAll(lim.what, " ", "_")))
			return retryLater(ErrRateLimited, now.Add(lim.window/time.Duration(lim.n)),
				"too many codes were sent to %s recently; try again later or use another method", lim.what)
		}
	}
	return nil
}

func (s *Service) pending(f store.Flow, tok string, cd store.Code, reasons []string) *Pending {
	return &Pending{Token: tok, Kind: f.Kind, Channel: f.Channel, Destination: account.Mask(contactKind(f.Channel), f.Recipient),
		ExpiresAt: cd.ExpiresAt, ResendAfter: cd.CreatedAt.Add(s.Limits.ResendCooldown), Reasons: reasons}
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

// StartCodeSignIn begins a passwordless sign-in: a code to the email.
// The answer is the same whether or not the email names an account.
func (s *Service) StartCodeSignIn(ctx context.Context, c Client, identifier, lang string) (*Pending, error) {
	return s.start(ctx, c, KindSignIn, identifier, lang)
}

// start opens a flow of kind for the typed email and issues its first
// code, sent only when the email names a live account.
func (s *Service) start(ctx context.Context, c Client, kind, identifier, lang string) (*Pending, error) {
	a, email, err := s.lookup(ctx, identifier)
	if err != nil {
		return nil, err
	}
	known := a.ID != "" && a.DisabledAt == nil
	accountID := ""
	if known {
		accountID, lang = a.ID, a.Language
	} else {
		s.unknown(ctx, kind, email)
	}
	now := s.Now().UTC()
	f, tok := s.newFlow(kind, accountID, s.subject(accountID, email), email, notify.Email, c, now)
	return s.open(ctx, c, f, tok, lang, known, now)
}

// open stores a new flow and issues its first code, in one transaction.
func (s *Service) open(ctx context.Context, c Client, f store.Flow, tok, lang string, send bool, now time.Time) (*Pending, error) {
	var cd store.Code
	err := s.Store.InTx(ctx, func(q store.Queries) error {
		if err := q.CreateFlow(ctx, f); err != nil {
			return err
		}
		var err error
		cd, err = s.issue(ctx, q, f, lang, c, send, now)
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.pending(f, tok, cd, nil), nil
}

// flowFor returns the live flow a client token names.
func (s *Service) flowFor(ctx context.Context, token string, now time.Time) (store.Flow, error) {
	if token == "" {
		return store.Flow{}, fail(ErrFlowInvalid, "this sign-in has ended; start again")
	}
	f, err := s.Store.FlowByTokenHash(ctx, keys.HashToken(token))
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

// Resend replaces the flow's code with a new one. The old code stops
// working; failures already counted stay counted.
func (s *Service) Resend(ctx context.Context, c Client, token string) (*Pending, error) {
	now := s.Now().UTC()
	f, err := s.flowFor(ctx, token, now)
	if err != nil {
		return nil, err
	}
	if f.State != stateCodeSent {
		return nil, fail(ErrFlowInvalid, "this code is no longer needed; start again")
	}
	send, err := s.isContact(ctx, f.AccountID, f.Channel, f.Recipient, f.Kind == KindReset)
	if err != nil {
		return nil, err
	}
	return s.reissue(ctx, c, f, token, send, now)
}

// isContact reports whether recipient is a verified contact of the account:
// codes go nowhere else.
func (s *Service) isContact(ctx context.Context, accountID, channel, recipient string, recovery bool) (bool, error) {
	if accountID == "" {
		return false, nil
	}
	cs, err := s.Store.ContactsByAccount(ctx, accountID)
	if err != nil {
		return false, err
	}
	for _, ct := range cs {
		if ct.Kind == contactKind(channel) && ct.Value == recipient && ct.VerifiedAt != nil {
			// A contact added lately cannot yet recover the account.
			return !recovery || recoverable(ct, s.Now()), nil
		}
	}
	return false, nil
}

// cooledDown refuses a new code for f until the resend cooldown since its
// current one has passed. The caller holds the flow's lock.
func (s *Service) cooledDown(ctx context.Context, q store.Queries, f store.Flow, now time.Time) error {
	cur, err := q.CurrentCode(ctx, f.ID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if next := cur.CreatedAt.Add(s.Limits.ResendCooldown); now.Before(next) {
		return retryLater(ErrRateLimited, next, "wait a moment before asking for another code")
	}
	return nil
}

// reissue replaces the flow's code with one to f's (possibly new) recipient.
func (s *Service) reissue(ctx context.Context, c Client, f store.Flow, token string, send bool, now time.Time) (*Pending, error) {
	lang := s.language(ctx, f.AccountID)
	var cd store.Code
	err := s.Store.InTx(ctx, func(q store.Queries) error {
		// The cooldown check and the new code are one step: parallel
		// resends send one code.
		if err := q.Lock(ctx, "flow:"+f.ID); err != nil {
			return err
		}
		if err := s.cooledDown(ctx, q, f, now); err != nil {
			return err
		}
		if err := q.ReplaceCodes(ctx, f.ID, now); err != nil {
			return err
		}
		if err := q.SetFlowRecipient(ctx, f.ID, f.Channel, f.Recipient); err != nil {
			return err
		}
		var err error
		cd, err = s.issue(ctx, q, f, lang, c, send, now)
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.pending(f, token, cd, nil), nil
}

// factorUsable refuses when the factor is resting or disabled for the
// counter. Recovery (a password reset) stays open while the factor is off:
// only its waits apply, and each code still takes at most a few tries, so
// nobody can lock an owner out of recovering the account.
func (s *Service) factorUsable(ctx context.Context, q store.Queries, counter, factor string, recovery bool, now time.Time) error {
	fc, err := q.FailureCounter(ctx, counter, factor)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if fc.DisabledAt != nil && !recovery {
		s.Audit.Record(ctx, audit.FactorRefused, "factor_off", slog.String("factor", factor), slog.String("counter", counter))
		return errFactorDisabled()
	}
	if fc.LockedUntil != nil && now.Before(*fc.LockedUntil) {
		s.Audit.Record(ctx, audit.FactorRefused, "factor_resting", slog.String("factor", factor), slog.String("counter", counter),
			slog.Time("until", *fc.LockedUntil))
		return retryLater(ErrFactorLocked, *fc.LockedUntil, "too many wrong tries; you can try again at the time shown")
	}
	return nil
}

// countFailure records a wrong code or password against its factor.
func (s *Service) countFailure(ctx context.Context, q store.Queries, subject, factor, accountID string, now time.Time) (store.FailureCounter, error) {
	fc, err := q.AddFailure(ctx, subject, factor, now, func(n int) (*time.Time, *time.Time) { return s.Throttle.After(n, now) })
	if err != nil {
		return fc, err
	}
	if fc.DisabledAt != nil && fc.DisabledAt.Equal(now) && accountID != "" {
		err = activity.Record(ctx, q, now, store.Event{AccountID: accountID, Kind: activity.FactorDisabled, Result: activity.Locked,
			Method: factor, Reasons: []string{fmt.Sprintf("%d_consecutive_failures", fc.Consecutive)}})
	}
	return fc, err
}

// Verify checks a code typed for the flow. On success a sign-in or
// step-up ends with a session; a reset moves on to choosing a password.
// The checks (factor usable, code live, below its tries) and what follows
// them are one transaction under the counter's lock, so a burst of guesses
// counts no more than the same guesses one at a time.
func (s *Service) Verify(ctx context.Context, c Client, token, input string) (*Result, error) {
	now := s.Now().UTC()
	f, err := s.flowFor(ctx, token, now)
	if err != nil {
		return nil, err
	}
	if f.State != stateCodeSent {
		s.Audit.Record(ctx, audit.CodeReplay, "refused", slog.String("flow_id", f.ID), slog.String("state", f.State))
		return nil, fail(ErrFlowInvalid, "this code was already used; start again")
	}
	typed, ferr := otp.Normalize(input, s.Limits.Digits)
	var fe *otp.FormatError
	if ferr != nil && !(errors.As(ferr, &fe) && fe.CountsAsAttempt) {
		e := fail(ErrInvalidInput, "codes are %d digits", s.Limits.Digits)
		e.Field = "code"
		return nil, e
	}
	factor := factorFor(f.Channel)
	var res *Result
	var wrong error // a wrong code is an answer, and its count is kept
	err = s.Store.InTx(ctx, func(q store.Queries) error {
		res, wrong = nil, nil
		counter, err := s.counterSubject(ctx, q, f.Subject, f.AccountID, c)
		if err != nil {
			return err
		}
		if err := q.Lock(ctx, "failures:"+counter+":"+factor); err != nil {
			return err
		}
		if err := s.factorUsable(ctx, q, counter, factor, f.Kind == KindReset, now); err != nil {
			return err
		}
		cd, err := q.CurrentCode(ctx, f.ID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return fail(ErrFlowInvalid, "no code is waiting; ask for a new one")
		case err != nil:
			return err
		case cd.UsedAt != nil:
			s.Audit.Record(ctx, audit.CodeReplay, "refused", slog.String("flow_id", f.ID))
			return fail(ErrFlowInvalid, "this code was already used; start again")
		case cd.Failures >= s.Limits.MaxCodeFailures:
			return fail(ErrTooManyAttempts, "too many wrong tries for this code; ask for a new code")
		case !now.Before(cd.ExpiresAt):
			return fail(ErrCodeExpired, "this code has expired; ask for a new code")
		}
		// Always compute the MAC, even for malformed input, so timing does
		// not depend on the input's shape.
		want := s.codeMAC(f, cd.Purpose, cd.Channel, cd.RecipientKey, typed)
		if ferr != nil || !hmac.Equal([]byte(want), []byte(cd.Hash)) || f.AccountID == "" {
			wrong, err = s.wrongCode(ctx, q, c, f, cd, counter, factor, now)
			return err
		}
		res, err = s.rightCode(ctx, q, c, f, cd, counter, factor, now)
		return err
	})
	if errors.Is(err, store.ErrConflict) {
		// Another request used this code a moment ago.
		return nil, fail(ErrFlowInvalid, "this code was already used; start again")
	}
	if err != nil {
		return nil, err
	}
	if wrong != nil {
		return nil, wrong
	}
	return res, nil
}

// wrongCode counts a wrong code against the code and the factor, and
// returns the answer for the person.
func (s *Service) wrongCode(ctx context.Context, q store.Queries, c Client, f store.Flow, cd store.Code, counter, factor string, now time.Time) (error, error) {
	n, err := q.AddCodeFailure(ctx, cd.ID, s.Limits.MaxCodeFailures)
	if errors.Is(err, store.ErrConflict) {
		return fail(ErrTooManyAttempts, "too many wrong tries for this code; ask for a new code"), nil
	}
	if err != nil {
		return nil, err
	}
	fc, err := s.countFailure(ctx, q, counter, factor, f.AccountID, now)
	if err != nil {
		return nil, err
	}
	if f.AccountID != "" {
		if err := activity.Record(ctx, q, now, store.Event{AccountID: f.AccountID, Kind: activity.CodeFailed, Result: activity.WrongCode,
			Method: f.Channel, IP: c.IP, Device: s.device(c), FlowID: f.ID, Reasons: []string{cd.Purpose}}); err != nil {
			return nil, err
		}
	}
	return s.wrongCodeAnswer(f, n, fc), nil
}

func (s *Service) wrongCodeAnswer(f store.Flow, n int, fc store.FailureCounter) error {
	switch {
	case fc.DisabledAt != nil && f.Kind != KindReset:
		return errFactorDisabled()
	case n >= s.Limits.MaxCodeFailures:
		e := fail(ErrTooManyAttempts, "too many wrong tries for this code; ask for a new code")
		if fc.LockedUntil != nil {
			e.RetryAt = *fc.LockedUntil
		}
		return e
	}
	left := s.Limits.MaxCodeFailures - n
	e := fail(ErrWrongCode, "that code is not right; %d tries left", left)
	e.AttemptsLeft = &left
	if fc.LockedUntil != nil {
		e.RetryAt = *fc.LockedUntil
	}
	return e
}

// rightCode uses the code and finishes the flow's step, inside the
// caller's transaction.
func (s *Service) rightCode(ctx context.Context, q store.Queries, c Client, f store.Flow, cd store.Code, counter, factor string, now time.Time) (*Result, error) {
	res := &Result{}
	if err := q.UseCode(ctx, cd.ID, now, s.Limits.MaxCodeFailures); err != nil {
		return nil, err
	}
	next := stateDone
	if f.Kind == KindReset {
		next = stateCodeOK
	}
	if err := q.AdvanceFlow(ctx, f.ID, stateCodeSent, next, now); err != nil {
		return nil, err
	}
	if err := q.ResetFailures(ctx, counter, factor); err != nil {
		return nil, err
	}
	switch f.Kind {
	case KindReset:
		res.State = stateCodeOK
		return res, nil
	case KindReauth:
		res.State = StateConfirmed
		iss, err := s.rotate(ctx, q, f, c, now)
		res.Session = iss
		return res, err
	case KindAddContact:
		res.State = StateContactAdded
		return res, s.addContact(ctx, q, f, c, now)
	}
	method := f.Channel + "_code"
	if f.Kind == KindStepUp {
		method = "password+" + method
	}
	iss, err := s.signIn(ctx, q, f.AccountID, c, method, f.Kind == KindStepUp, now, nil)
	res.Session, res.State = iss, stateDone
	return res, err
}

// rotate answers a step-up of a signed-in session with a new session, fresh,
// in its place: a token that may have leaked before the proof is worth
// nothing after it. Only the session that asked for the step-up gets one.
func (s *Service) rotate(ctx context.Context, q store.Queries, f store.Flow, c Client, now time.Time) (*session.Issued, error) {
	old, err := q.SessionByTokenHash(ctx, keys.HashToken(c.Session))
	if errors.Is(err, store.ErrNotFound) || err == nil && (old.ID != f.SessionID || old.RevokedAt != nil) {
		return nil, fail(ErrFlowInvalid, "confirm from the signed-in browser that asked for the code")
	}
	if err != nil {
		return nil, err
	}
	if err := q.RevokeSession(ctx, old.ID, now); err != nil {
		return nil, err
	}
	iss, err := s.Sessions.Issue(ctx, q, session.Start{AccountID: old.AccountID, DeviceID: old.DeviceID, IP: c.IP, UserAgent: c.UserAgent,
		Method: old.Method, StepUp: true})
	return &iss, err
}

// signIn records the device, issues a session and logs the success. The
// account is read again here: a flow started before it was disabled
// must not end with a session.
func (s *Service) signIn(ctx context.Context, q store.Queries, accountID string, c Client, method string, stepUp bool, now time.Time, reasons []string) (*session.Issued, error) {
	a, err := q.AccountByID(ctx, accountID)
	if err != nil {
		return nil, err
	}
	if a.DisabledAt != nil {
		return nil, fail(ErrAccountDisabled, "this account is disabled; contact the service's support")
	}
	// The browser's earlier session, of this account or another, ends.
	if c.Session != "" {
		old, err := q.SessionByTokenHash(ctx, keys.HashToken(c.Session))
		if err == nil && old.RevokedAt == nil {
			err = q.RevokeSession(ctx, old.ID, now)
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
	}
	deviceID := ""
	newDevice := true
	if c.DeviceToken != "" {
		b, o := session.Describe(c.UserAgent)
		id := keys.ID()
		d, err := q.UpsertDevice(ctx, store.Device{ID: id, AccountID: accountID, TokenHash: keys.HashToken(c.DeviceToken),
			UserAgent: c.UserAgent, Browser: b, OS: o, LastIP: c.IP, FirstSeen: now, LastSeen: now})
		if err != nil {
			return nil, err
		}
		deviceID, newDevice = d.ID, d.ID == id // an existing device keeps its id
	}
	if announce, err := newSignIn(q, ctx, accountID, newDevice, reasons); err != nil {
		return nil, err
	} else if announce {
		if err := s.notifyNewSignIn(ctx, q, accountID, c, now); err != nil {
			return nil, err
		}
	}
	iss, err := s.Sessions.Issue(ctx, q, session.Start{AccountID: accountID, DeviceID: deviceID, IP: c.IP, UserAgent: c.UserAgent, Method: method, StepUp: stepUp})
	if err != nil {
		return nil, err
	}
	err = activity.Record(ctx, q, now, store.Event{AccountID: accountID, Kind: activity.SignIn, Result: activity.Success, Method: method,
		IP: c.IP, DeviceID: deviceID, Device: s.device(c), Reasons: reasons})
	return &iss, err
}

// PasswordSignIn checks a password; a new device or IP is asked for a code
// by mail before the session is given. Unknown emails and wrong passwords
// get the same answer, after the same work.
func (s *Service) PasswordSignIn(ctx context.Context, c Client, identifier, password string) (*Result, error) {
	a, email, err := s.lookup(ctx, identifier)
	if err != nil {
		return nil, err
	}
	now := s.Now().UTC()
	// Each guess costs an argon2id hash: a source that sends too many is
	// told to wait before any is made.
	if ok, at, err := s.Limiter.Allow(ctx, "password:"+throttle.Source(c.IP), s.Limits.PasswordPerIP); err != nil {
		return nil, err
	} else if !ok {
		s.Audit.Record(ctx, audit.RateLimited, "refused", slog.String("limit", "password_per_ip"))
		return nil, retryLater(ErrRateLimited, at, "too many sign-in attempts from your network; try again later")
	}
	if a.ID == "" {
		s.unknown(ctx, "password", email)
	}
	subject := s.subject(a.ID, email)
	counter, fc, err := s.reserveFailure(ctx, c, subject, a.ID, throttle.FactorPassword, now)
	if err != nil {
		return nil, err
	}
	ok, err := s.Passwords.Verify(ctx, a.PasswordHash, password, strings.HasSuffix(counter, knownSuffix))
	if err != nil {
		return nil, err
	}
	if !ok {
		if a.ID != "" {
			err := activity.Record(ctx, s.Store, now, store.Event{AccountID: a.ID, Kind: activity.SignIn, Result: activity.WrongPassword,
				Method: "password", IP: c.IP, Device: s.device(c)})
			if err != nil {
				return nil, err
			}
		}
		if fc.DisabledAt != nil {
			return nil, errFactorDisabled()
		}
		e := fail(ErrWrongCredentials, "that email and password do not match")
		if fc.LockedUntil != nil {
			e.RetryAt = *fc.LockedUntil
		}
		return nil, e
	}
	if a.DisabledAt != nil {
		return nil, fail(ErrAccountDisabled, "this account is disabled; contact the service's support")
	}
	knownDevice := strings.HasSuffix(counter, knownSuffix) // read when the failure was reserved
	knownIP, err := s.Store.SignedInFromIP(ctx, a.ID, c.IP)
	if err != nil {
		return nil, err
	}
	dec, err := s.Risk.Assess(ctx, Attempt{AccountID: a.ID, IP: c.IP, KnownDevice: knownDevice, KnownIP: knownIP})
	if err != nil {
		return nil, fmt.Errorf("assessing sign-in risk: %w", err)
	}
	res := &Result{}
	err = s.Store.InTx(ctx, func(q store.Queries) error {
		if err := q.ResetFailures(ctx, counter, throttle.FactorPassword); err != nil {
			return err
		}
		switch {
		case dec.Block:
			return activity.Record(ctx, q, now, store.Event{AccountID: a.ID, Kind: activity.SignIn, Result: activity.Blocked, Method: "password",
				IP: c.IP, Device: s.device(c), Reasons: dec.Reasons})
		case dec.StepUp:
			f, tok := s.newFlow(KindStepUp, a.ID, subject, a.Email, notify.Email, c, now)
			if err := q.CreateFlow(ctx, f); err != nil {
				return err
			}
			cd, err := s.issue(ctx, q, f, a.Language, c, true, now)
			if err != nil {
				return err
			}
			res.Pending, res.State = s.pending(f, tok, cd, dec.Reasons), stateCodeSent
			return activity.Record(ctx, q, now, store.Event{AccountID: a.ID, Kind: activity.SignIn, Result: activity.StepUpRequired,
				Method: "password", IP: c.IP, Device: s.device(c), FlowID: f.ID, Reasons: dec.Reasons})
		}
		iss, err := s.signIn(ctx, q, a.ID, c, "password", false, now, dec.Reasons)
		res.Session, res.State = iss, stateDone
		return err
	})
	if err != nil {
		return nil, err
	}
	if dec.Block {
		return nil, fail(ErrBlocked, "this sign-in was blocked to protect the account; try again from a device you have used before")
	}
	return res, nil
}

// reserveFailure counts a failure of a secret-checking factor before the
// slow check runs, in one step with the check that the factor may be used:
// so a burst of guesses is refused once the count reaches a wait, instead
// of every guess passing the check before any is counted. A right answer
// clears the count afterwards.
func (s *Service) reserveFailure(ctx context.Context, c Client, subject, accountID, factor string, now time.Time) (string, store.FailureCounter, error) {
	var counter string
	var fc store.FailureCounter
	err := s.Store.InTx(ctx, func(q store.Queries) error {
		var err error
		if counter, err = s.counterSubject(ctx, q, subject, accountID, c); err != nil {
			return err
		}
		if err := q.Lock(ctx, "failures:"+counter+":"+factor); err != nil {
			return err
		}
		if err := s.factorUsable(ctx, q, counter, factor, false, now); err != nil {
			return err
		}
		fc, err = s.countFailure(ctx, q, counter, factor, accountID, now)
		return err
	})
	return counter, fc, err
}

// Status describes a flow still waiting for a code, for a page that shows
// where the code went and when another may be asked for.
func (s *Service) Status(ctx context.Context, token string) (*Pending, error) {
	f, cd, err := s.waiting(ctx, token)
	if err != nil {
		return nil, err
	}
	p := s.pending(f, token, cd, nil)
	p.CodeVerified = f.State == stateCodeOK
	return p, nil
}

// waiting returns the live flow a token names and its current code.
func (s *Service) waiting(ctx context.Context, token string) (store.Flow, store.Code, error) {
	f, err := s.flowFor(ctx, token, s.Now().UTC())
	if err != nil {
		return f, store.Code{}, err
	}
	cd, err := s.Store.CurrentCode(ctx, f.ID)
	if errors.Is(err, store.ErrNotFound) {
		return f, cd, fail(ErrFlowInvalid, "no code is waiting; start again")
	}
	return f, cd, err
}
