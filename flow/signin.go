package flow

import (
	"context"
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
	"github.com/wardhq/ward/session"
	"github.com/wardhq/ward/store"
	"github.com/wardhq/ward/throttle"
)

// lookup finds a live account by typed email. A disabled account is
// treated as unknown so that nothing tells the two apart.
func (s *Service) lookup(ctx context.Context, identifier string, c *Client) (store.Account, string, error) {
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
	var a store.Account
	if c.DeviceToken != "" {
		// Whether the device is one of the account's is read with it, for
		// a name that has no account too: the same statement either way.
		var known bool
		a, known, err = s.Store.AccountByEmailOn(ctx, email, deviceHash(*c))
		c.device = deviceRead{account: a.ID, known: known, read: err == nil || errors.Is(err, store.ErrNotFound)}
	} else {
		a, err = s.Store.AccountByEmail(ctx, email)
	}
	if errors.Is(err, store.ErrNotFound) || err == nil && a.AliasOnly {
		// With sign-in by the public address turned off, it is treated
		// exactly like an address with no account.
		c.device.account, c.device.known = "", false
		return store.Account{}, email, nil
	}
	if err != nil {
		return store.Account{}, email, err
	}
	return a, email, nil
}

// unknown notes an attempt on an identifier that names no account: masked,
// with a keyed digest that ties attempts on one identifier together.
func (s *Service) unknown(ctx context.Context, kind, identifier string) {
	s.Audit.Record(ctx, audit.UnknownIdentifier, "answered_as_usual", slog.String("flow", kind),
		slog.String("identifier", account.Mask(store.ContactEmail, identifier)), slog.String("identifier_digest", s.Keys.Identifier("email", identifier)[:16]))
}

// StartCodeSignIn begins a passwordless sign-in: a code to the email.
// The answer is the same whether or not the email names an account.
func (s *Service) StartCodeSignIn(ctx context.Context, c Client, identifier, lang string) (*Pending, error) {
	return s.start(ctx, c, KindSignIn, identifier, lang)
}

// start opens a flow of kind for the typed email and issues its first
// code, sent only when the email names a live account.
func (s *Service) start(ctx context.Context, c Client, kind, identifier, lang string) (*Pending, error) {
	a, email, err := s.lookup(ctx, identifier, &c)
	if err != nil {
		return nil, err
	}
	known := a.ID != "" && a.DisabledAt == nil
	accountID := ""
	if known {
		accountID, lang = a.ID, a.Language
	} else {
		s.unknown(ctx, kind, email)
		// Treated as no account at all: no device of it either, read or not.
		c.device.account, c.device.known = "", false
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
	iss, err := s.replaceSession(ctx, q, old, c, old.Method)
	return &iss, err
}

// signIn records the device, issues a session and logs the success. The
// account is read in the sign-in's own transaction (here, or by the
// caller for signInAs): a flow started before it was disabled must not
// end with a session.
func (s *Service) signIn(ctx context.Context, q store.Queries, accountID string, c Client, method string, stepUp bool, now time.Time, reasons []string) (*session.Issued, error) {
	a, err := q.AccountByID(ctx, accountID)
	if err != nil {
		return nil, err
	}
	return s.signInAs(ctx, q, a, c, method, stepUp, now, reasons)
}

// signInAs is signIn with the account already read in this transaction.
func (s *Service) signInAs(ctx context.Context, q store.Queries, a store.Account, c Client, method string, stepUp bool, now time.Time, reasons []string) (*session.Issued, error) {
	accountID := a.ID
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
		b, o := c.description()
		id := store.NewID()
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
		IP: c.IP, DeviceID: deviceID, Device: s.deviceLabel(c), Reasons: reasons})
	return &iss, err
}

// PasswordSignIn checks a password; a new device or IP is asked for a code
// by mail before the session is given. Unknown emails and wrong passwords
// get the same answer, after the same work.
func (s *Service) PasswordSignIn(ctx context.Context, c Client, identifier, password string) (*Result, error) {
	a, email, err := s.lookup(ctx, identifier, &c)
	if err != nil {
		return nil, err
	}
	now := s.Now().UTC()
	// Each guess costs an argon2id hash: a source that sends too many is
	// told to wait before any is made.
	if ok, at, err := s.Limiter.Allow(ctx, "password", c.IP, s.Limits.PasswordPerIP); err != nil {
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
				Method: "password", IP: c.IP, Device: s.deviceLabel(c)})
			if err != nil {
				return nil, err
			}
		}
		return nil, afterFailure(fc, fail(ErrWrongCredentials, "that email and password do not match"))
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
				IP: c.IP, Device: s.deviceLabel(c), Reasons: dec.Reasons})
		case a.TwoStepAt != nil:
			// Two-step verification asks every sign-in for a second proof,
			// which is more than the risk check would ask.
			f, tok := s.newFlow(KindSecondStep, a.ID, subject, "", "", c, now)
			f.State = StateSecondStep
			if err := q.CreateFlow(ctx, f); err != nil {
				return err
			}
			p, err := s.secondStep(ctx, q, f, c, now)
			if err != nil {
				return err
			}
			p.Token, p.Reasons = tok, dec.Reasons
			res.Pending, res.State = p, StateSecondStep
			return nil
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
				Method: "password", IP: c.IP, Device: s.deviceLabel(c), FlowID: f.ID, Reasons: dec.Reasons})
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
	var counter heldCounter
	var fc store.FailureCounter
	err := s.Store.InTx(ctx, func(q store.Queries) error {
		var err error
		if counter, err = s.lockCounter(ctx, q, subject, accountID, c, factor, false, now); err != nil {
			return err
		}
		fc, err = s.countFailure(ctx, q, counter.subject, factor, accountID, now)
		return err
	})
	return counter.subject, fc, err
}
