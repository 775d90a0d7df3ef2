package flow

import (
	"context"
	"crypto/hmac"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/wardhq/ward/account"
	"github.com/wardhq/ward/activity"
	"github.com/wardhq/ward/audit"
	"github.com/wardhq/ward/jobs"
	"github.com/wardhq/ward/keys"
	"github.com/wardhq/ward/notify"
	"github.com/wardhq/ward/otp"
	"github.com/wardhq/ward/session"
	"github.com/wardhq/ward/store"
	"github.com/wardhq/ward/throttle"
)

// Later keeps work for after a request's answer, durably: the work is
// written inside the request's transaction and done once it commits
// (package jobs does this, calling Service.RunLater).
type Later interface {
	Defer(ctx context.Context, tx jobs.Tx, payload []byte) error
}

// codeJob is the sending of one code, left for later: what the request
// knew that the mail needs.
type codeJob struct {
	Flow      store.Flow `json:"flow"`
	CodeID    string     `json:"code_id"`
	Code      string     `json:"code"`
	ExpiresAt time.Time  `json:"expires_at"`
	Language  string     `json:"lang"`
	IP        string     `json:"ip"`
	UserAgent string     `json:"ua"`
	// DeviceHash stands for the requester's device cookie.
	DeviceHash string    `json:"device_hash,omitempty"`
	Owner      bool      `json:"owner,omitempty"`
	Send       bool      `json:"send,omitempty"`
	At         time.Time `json:"at"`
}

// laterAD binds a sealed job to its purpose.
var laterAD = []byte("ward flow: code to send")

// issue creates a code for f and leaves its sending for later, inside the
// caller's transaction. Whether the identifier names an account or not,
// and whether the code will be sent or not, the request takes the same
// steps: the limits, the code and one job. The steps that only a real
// recipient needs (the flood guard, links, the message, the activity row)
// happen in the job, after the answer, so the answer's timing cannot tell
// who has an account.
func (s *Service) issue(ctx context.Context, q store.Queries, f store.Flow, lang string, c Client, send bool, now time.Time) (store.Code, error) {
	recipientKey := s.Keys.Identifier(f.Channel, f.Recipient)
	// Counting the codes sent and adding one is one step per recipient
	// and source: without the lock, parallel requests all see room. The
	// source's lock guards only its limit: with none set, it would make
	// everyone behind one address (a carrier's NAT, an office) wait for
	// each other's commits for nothing. On PostgreSQL with all traffic
	// from one address, that wait was 12.6 ms per lock taken.
	locks := []string{"recipient:" + recipientKey}
	if s.Limits.PerIPHour > 0 {
		locks = append(locks, "source:"+throttle.Source(c.IP))
	}
	if err := q.Lock(ctx, locks...); err != nil {
		return store.Code{}, err
	}
	// Looked up for unknown identifiers too (it finds nothing).
	owner, err := s.knownDevice(ctx, q, f.AccountID, c)
	if err != nil {
		return store.Code{}, err
	}
	if f.Kind != KindAddContact && f.Kind != KindReauth {
		// No code goes out that could not be used: while the factor rests
		// or is off for this client, asking again mails nothing.
		if _, err := s.factorUsable(ctx, q, counterOf(f.Subject, owner), factorFor(f.Channel), f.Kind == KindReset, now); err != nil {
			return store.Code{}, err
		}
	}
	if err := s.checkSendLimits(ctx, q, recipientKey, c.IP, owner, now); err != nil {
		return store.Code{}, err
	}
	// A code that is not sent is not digits at all: no typed input can
	// ever match it.
	code := keys.Token()
	if send {
		if code, err = otp.Generate(s.Limits.Digits); err != nil {
			return store.Code{}, err
		}
	}
	purpose := purposeOf(f.Kind)
	ttl := s.Limits.CodeTTL
	if f.Kind == KindReset {
		ttl = s.Limits.RecoveryCodeTTL
	}
	cd := store.Code{ID: store.NewID(), FlowID: f.ID, Purpose: purpose, Channel: f.Channel, RecipientKey: recipientKey,
		Hash: s.codeMAC(f, purpose, f.Channel, recipientKey, code), IP: throttle.Source(c.IP), CreatedAt: now, ExpiresAt: now.Add(ttl)}
	if err := q.CreateCode(ctx, cd); err != nil {
		return cd, err
	}
	job := codeJob{Flow: f, CodeID: cd.ID, Code: code, ExpiresAt: cd.ExpiresAt, Language: lang, IP: c.IP, UserAgent: c.UserAgent,
		DeviceHash: deviceHash(c), Owner: owner, Send: send, At: now}
	if s.Later == nil {
		return cd, s.sendCode(ctx, q, job, c)
	}
	plain, err := json.Marshal(job)
	if err != nil {
		return cd, fmt.Errorf("encoding a code to send: %w", err)
	}
	return cd, s.Later.Defer(ctx, q, s.Keys.Seal(plain, laterAD))
}

// RunLater does work that a request left for later (see Later).
func (s *Service) RunLater(ctx context.Context, payload []byte) error {
	plain, err := s.Keys.Open(payload, laterAD)
	if err != nil {
		// Not a code: each kind of deferred work is sealed for its purpose.
		if plain, lerr := s.Keys.Open(payload, logoutAD); lerr == nil && s.Logouts != nil {
			return s.runLogout(ctx, plain)
		}
		if plain, perr := s.Keys.Open(payload, pushAD); perr == nil && s.Pusher != nil {
			return s.runPush(ctx, plain)
		}
		return fmt.Errorf("opening deferred work: %w", err)
	}
	var job codeJob
	if err := json.Unmarshal(plain, &job); err != nil {
		return fmt.Errorf("reading deferred work: %w", err)
	}
	c := Client{IP: job.IP, UserAgent: job.UserAgent}
	c.describe()
	// The code's mail and the end of its task are committed together; the
	// mail's delivery takes the task's place, and this worker goes on to
	// it.
	return s.Store.InTx(ctx, func(q store.Queries) error {
		ctx := jobs.Continue(ctx)
		if err := s.sendCode(ctx, q, job, c); err != nil {
			return err
		}
		return jobs.Finish(ctx, q)
	})
}

// sendCode queues the message carrying a code, unless it is held back as
// unsolicited; the owner's activity shows either. c is the client that
// asked for it.
func (s *Service) sendCode(ctx context.Context, q store.Queries, j codeJob, c Client) error {
	f, now := j.Flow, j.At
	// The instance that answered and the durable job may both get here:
	// the first to claim the code writes its mail. A code that is not
	// sent is claimed too, so that the work after the answer is a write
	// either way.
	cur, err := q.DispatchCode(ctx, j.CodeID, s.Now().UTC())
	if errors.Is(err, store.ErrConflict) || err == nil && !j.Send {
		return nil // claimed before, or the flow is gone
	} else if err != nil {
		return err
	}
	// Every new code of a flow replaces the ones before it, so a code not
	// replaced is the flow's current one.
	if cur.ReplacedAt != nil {
		return nil
	}
	purpose, recipientKey := purposeOf(f.Kind), cur.RecipientKey
	if err := q.Lock(ctx, "recipient:"+recipientKey); err != nil {
		return err
	}
	if !j.Owner {
		held, err := s.holdBack(ctx, q, f, recipientKey, j.Language, c, j.DeviceHash, now)
		if err != nil {
			return err
		}
		if held != "" {
			// The code was never sent: it stops working, and the owner
			// sees what was held back, and from where.
			if err := q.ReplaceCodes(ctx, f.ID, now); err != nil {
				return err
			}
			return activity.Record(ctx, q, now, store.Event{AccountID: f.AccountID, Kind: activity.CodeSent, Result: held,
				Method: f.Channel, IP: c.IP, Device: s.deviceLabel(c), FlowID: f.ID, Reasons: []string{purpose}})
		}
	}
	req := notify.Request{Kind: notify.KindCode, Channel: f.Channel, To: f.Recipient, Language: j.Language, AccountID: f.AccountID, FlowID: f.ID,
		Purpose: purpose, Code: j.Code, ExpiresAt: j.ExpiresAt, RequestedAt: now, IP: c.IP, Device: s.deviceLabel(c), Place: s.place(c.IP, j.Language)}
	if guarded(purpose) && f.Channel == notify.Email {
		tok, err := s.notMeLink(ctx, q, f, c, j.DeviceHash, now)
		if err != nil {
			return err
		}
		req.NotMeToken = tok
	}
	if f.Kind == KindReset {
		tok, err := s.notMineLink(ctx, q, f, now)
		if err != nil {
			return err
		}
		req.NotMineToken = tok
	}
	if _, err := s.Composer.Queue(ctx, q, req); err != nil {
		return err
	}
	return activity.Record(ctx, q, now, store.Event{AccountID: f.AccountID, Kind: activity.CodeSent, Result: activity.Sent,
		Method: f.Channel, IP: c.IP, Device: s.deviceLabel(c), FlowID: f.ID, Reasons: []string{purpose}})
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
		ExpiresAt: cd.ExpiresAt, ResendAfter: cd.CreatedAt.Add(s.Limits.ResendCooldown), Reasons: reasons,
		CodeSpent: cd.Failures >= s.Limits.MaxCodeFailures || !s.Now().Before(cd.ExpiresAt)}
}

// Resend replaces the flow's code with a new one. The old code stops
// working; failures already counted stay counted.
func (s *Service) Resend(ctx context.Context, c Client, token string) (*Pending, error) {
	now := s.Now().UTC()
	f, err := s.flowOn(ctx, token, &c, now)
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

// Verify checks a code typed for the flow. On success a sign-in or
// step-up ends with a session; a reset moves on to choosing a password.
// The checks (factor usable, code live, below its tries) and what follows
// them are one transaction under the counter's lock, so a burst of guesses
// counts no more than the same guesses one at a time.
func (s *Service) Verify(ctx context.Context, c Client, token, input string) (*Result, error) {
	now := s.Now().UTC()
	f, err := s.flowOn(ctx, token, &c, now)
	if err != nil {
		return nil, err
	}
	if f.State != stateCodeSent {
		s.Audit.Record(ctx, audit.CodeReplay, "refused", slog.String("flow_id", f.ID), slog.String("state", f.State))
		return nil, fail(ErrFlowInvalid, "this code was already used; start again")
	}
	if err := s.codeShape(input); err != nil {
		return nil, err
	}
	c.describe()
	var res *Result
	var wrong error // a wrong code is an answer, and its count is kept
	err = s.Store.InTx(ctx, func(q store.Queries) error {
		res = nil
		var cd store.Code
		var counter heldCounter
		var err error
		if cd, counter, wrong, err = s.checkCode(ctx, q, c, f, input, now); err != nil || wrong != nil {
			return err
		}
		res, err = s.rightCode(ctx, q, c, f, cd, counter, factorFor(f.Channel), now)
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
	if res.Pending != nil {
		res.Pending.Token = token // the same flow goes on to its second step
	}
	return res, nil
}

// codeShape refuses input that is not a code at all (and is no guess).
func (s *Service) codeShape(input string) error {
	_, ferr := otp.Normalize(input, s.Limits.Digits)
	var fe *otp.FormatError
	if ferr != nil && !(errors.As(ferr, &fe) && fe.CountsAsAttempt) {
		e := invalid("input_code_digits", s.Limits.Digits)
		e.Field = "code"
		return e
	}
	return nil
}

// checkCode checks input against the flow's current code inside the
// caller's transaction, under the factor's counter: factor usable, code
// live and below its tries, then the MAC. A wrong code is counted and
// answered (wrong); a right one is returned with its counter for the
// caller to use up.
func (s *Service) checkCode(ctx context.Context, q store.Queries, c Client, f store.Flow, input string, now time.Time) (
	cd store.Code, counter heldCounter, wrong, err error) {
	typed, ferr := otp.Normalize(input, s.Limits.Digits)
	factor := factorFor(f.Channel)
	// The code, and the account a sign-in goes on to read (rightCode), are
	// read under the counter's lock, with the counter: on PostgreSQL one
	// round trip instead of three.
	next := func(q store.Queries) {
		q.CurrentCode(ctx, f.ID)
		if f.Kind == KindSignIn {
			q.AccountByID(ctx, f.AccountID)
		}
	}
	if counter, err = s.lockCounterReading(ctx, q, f.Subject, f.AccountID, c, factor, f.Kind == KindReset, now, next); err != nil {
		return cd, heldCounter{}, nil, err
	}
	cd, err = q.CurrentCode(ctx, f.ID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return cd, heldCounter{}, nil, fail(ErrFlowInvalid, "no code is waiting; ask for a new one")
	case err != nil:
		return cd, heldCounter{}, nil, err
	case cd.UsedAt != nil:
		s.Audit.Record(ctx, audit.CodeReplay, "refused", slog.String("flow_id", f.ID))
		return cd, heldCounter{}, nil, fail(ErrFlowInvalid, "this code was already used; start again")
	case cd.Failures >= s.Limits.MaxCodeFailures:
		return cd, heldCounter{}, nil, fail(ErrTooManyAttempts, "too many wrong tries for this code; ask for a new code")
	case !now.Before(cd.ExpiresAt):
		return cd, heldCounter{}, nil, fail(ErrCodeExpired, "this code has expired; ask for a new code")
	}
	// Always compute the MAC, even for malformed input, so timing does
	// not depend on the input's shape.
	want := s.codeMAC(f, cd.Purpose, cd.Channel, cd.RecipientKey, typed)
	if ferr != nil || !hmac.Equal([]byte(want), []byte(cd.Hash)) || f.AccountID == "" {
		wrong, err = s.wrongCode(ctx, q, c, f, cd, counter.subject, factor, now)
		return cd, heldCounter{}, wrong, err
	}
	return cd, counter, nil, nil
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
			Method: f.Channel, IP: c.IP, Device: s.deviceLabel(c), FlowID: f.ID, Reasons: []string{cd.Purpose}}); err != nil {
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
func (s *Service) rightCode(ctx context.Context, q store.Queries, c Client, f store.Flow, cd store.Code, counter heldCounter, factor string, now time.Time) (*Result, error) {
	res := &Result{}
	next := stateDone
	// Read once, for the step and the session; before the code's use, a
	// write, so that it is the row read ahead with the code (checkCode).
	var account *store.Account
	switch f.Kind {
	case KindReset:
		next = stateCodeOK
	case KindSignIn:
		// A code by mail is not a second proof: with two-step verification
		// on, the sign-in waits for one.
		a, err := q.AccountByID(ctx, f.AccountID)
		if err != nil {
			return nil, err
		}
		if a.TwoStepAt != nil {
			next = StateSecondStep
		}
		account = &a
	}
	if err := q.UseCode(ctx, cd.ID, now, s.Limits.MaxCodeFailures); err != nil {
		return nil, err
	}
	if err := q.AdvanceFlow(ctx, f.ID, stateCodeSent, next, now); err != nil {
		return nil, err
	}
	if err := counter.clear(ctx, q, factor); err != nil {
		return nil, err
	}
	if next == StateSecondStep {
		p, err := s.secondStep(ctx, q, f, c, now)
		res.State, res.Pending = StateSecondStep, p
		return res, err
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
	var iss *session.Issued
	var err error
	if account != nil {
		iss, err = s.signInAs(ctx, q, *account, c, method, false, now, nil)
	} else {
		iss, err = s.signIn(ctx, q, f.AccountID, c, method, f.Kind == KindStepUp, now, nil)
	}
	res.Session, res.State = iss, stateDone
	return res, err
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
