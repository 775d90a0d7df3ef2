package flow

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/wardhq/ward/account"
	"github.com/wardhq/ward/activity"
	"github.com/wardhq/ward/assurance"
	"github.com/wardhq/ward/notify"
	"github.com/wardhq/ward/session"
	"github.com/wardhq/ward/store"
	"github.com/wardhq/ward/throttle"
)

// KindSecondStep is a sign-in whose password was right, waiting for the
// second proof two-step verification asks for.
const KindSecondStep = "second_step"

// StateSecondStep: the first proof was right; a second one is wanted.
const StateSecondStep = "second_step"

// Second-step methods a person may answer with.
const (
	MethodTOTP     = assurance.TOTP
	MethodPasskey  = assurance.Passkey
	MethodRecovery = assurance.RecoveryCode
	// MethodSMS is a code to a verified phone: a fallback second step
	// (NIST SP 800-63B-4 restricts SMS). It is never what lets
	// two-step verification be turned on, nor a way to change security
	// info: an app or a passkey is.
	MethodSMS = assurance.SMSCode
)

// hasSecondFactor reports whether the account has a set-up method that
// is something the person has (an authenticator app or a passkey).
func hasSecondFactor(ctx context.Context, q store.Queries, accountID string) (bool, error) {
	n, err := secondFactors(ctx, q, accountID)
	return n > 0, err
}

func secondFactors(ctx context.Context, q store.Queries, accountID string) (int, error) {
	apps, err := confirmedApps(ctx, q, accountID)
	if err != nil {
		return 0, err
	}
	keys, err := q.PasskeysByAccount(ctx, accountID)
	if err != nil {
		return 0, err
	}
	devices, err := q.PairedDevices(ctx, accountID)
	return apps + len(keys) + len(devices), err
}

// confirmedApps counts the account's set-up authenticator apps.
func confirmedApps(ctx context.Context, q store.Queries, accountID string) (int, error) {
	list, err := q.AuthenticatorsByAccount(ctx, accountID)
	n := 0
	for _, au := range list {
		if au.ConfirmedAt != nil {
			n++
		}
	}
	return n, err
}

// keptSecondFactor refuses, after a removal inside the caller's
// transaction, when it took the account's last second factor while
// two-step verification is on (the transaction then undoes it). Checked
// after the fact, because one removal may take more than one (a paired
// authenticator and its codes).
func (s *Service) keptSecondFactor(ctx context.Context, q store.Queries, accountID string) error {
	a, err := q.AccountByID(ctx, accountID)
	if err != nil || a.TwoStepAt == nil {
		return err
	}
	n, err := secondFactors(ctx, q, accountID)
	if err != nil {
		return err
	}
	if n == 0 {
		return fail(ErrNotReady, "two-step verification is on and needs this method; turn two-step verification off first, or add another method")
	}
	return nil
}

// needFresh refuses a change to security info unless the session proved
// its owner recently (Limits.FreshFor) and, once the account has a second
// factor, with two factors (AAL2).
func (s *Service) needFresh(ctx context.Context, sess store.Session, now time.Time) error {
	second, err := hasSecondFactor(ctx, s.Store, sess.AccountID)
	if err != nil {
		return err
	}
	if second && assurance.Level(assurance.Factors(sess.Method)) < assurance.AAL2 {
		return errStrongerProof()
	}
	if s.fresh(sess, now) {
		return nil
	}
	if second {
		return errStrongerProof()
	}
	return fail(ErrStepUpRequired, "confirm it is you first: we send a code to your account's email")
}

// StepUp proves a signed-in session's owner again, with the password,
// an authenticator app's code, or both: the session is replaced by a
// fresh one that records what was proven. An account with a second factor
// must reach two factors (its session's and these together).
func (s *Service) StepUp(ctx context.Context, c Client, sess store.Session, password, code string) (*session.Issued, error) {
	if password == "" && code == "" {
		e := invalid("input_password_or_app")
		e.Field = "password"
		return nil, e
	}
	now := s.Now().UTC()
	a, err := s.Store.AccountByID(ctx, sess.AccountID)
	if err != nil {
		return nil, err
	}
	subject := s.subject(a.ID, a.Email)
	var proven []string
	if password != "" {
		if err := s.checkPassword(ctx, c, a, subject, password, now); err != nil {
			return nil, err
		}
		proven = append(proven, assurance.Password)
	}
	var iss session.Issued
	var wrong error
	err = s.Store.InTx(ctx, func(q store.Queries) error {
		wrong = nil
		if code != "" {
			var err error
			if wrong, err = s.checkTOTP(ctx, q, c, subject, a.ID, code, now); err != nil || wrong != nil {
				return err
			}
			proven = append(proven, assurance.TOTP)
		}
		method := assurance.With(sess.Method, proven...)
		second, err := hasSecondFactor(ctx, q, a.ID)
		if err != nil {
			return err
		}
		if second && assurance.Level(assurance.Factors(method)) < assurance.AAL2 {
			return errStrongerProof()
		}
		iss, err = s.replaceSession(ctx, q, sess, c, method)
		if err != nil {
			return err
		}
		return activity.Record(ctx, q, now, store.Event{AccountID: a.ID, Kind: activity.SteppedUp, Result: activity.Success,
			Method: assurance.Method(proven...), IP: c.IP, Device: s.deviceLabel(c)})
	})
	if err != nil {
		return nil, err
	}
	if wrong != nil {
		return nil, wrong
	}
	return &iss, nil
}

// replaceSession ends sess and gives its browser a fresh session in its
// place, stepped up now, with method: a token that may have leaked
// before the proof is worth nothing after it.
func (s *Service) replaceSession(ctx context.Context, q store.Queries, sess store.Session, c Client, method string) (session.Issued, error) {
	now := s.Now().UTC()
	if err := q.RevokeSession(ctx, sess.ID, now); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return session.Issued{}, fail(ErrFlowInvalid, "this session has ended; sign in again")
		}
		return session.Issued{}, err
	}
	iss, err := s.Sessions.Issue(ctx, q, session.Start{AccountID: sess.AccountID, DeviceID: sess.DeviceID, IP: c.IP, UserAgent: c.UserAgent,
		Method: method, StepUp: true})
	if err != nil {
		return iss, err
	}
	// What apps got through the old session now ends with the new one.
	return iss, q.MoveSessionTokens(ctx, sess.ID, iss.Session.ID)
}

// checkPassword checks the account's password for a signed-in person,
// counting a wrong one against the password's failure counter like a
// sign-in does.
func (s *Service) checkPassword(ctx context.Context, c Client, a store.Account, subject, password string, now time.Time) error {
	counter, fc, err := s.reserveFailure(ctx, c, subject, a.ID, throttle.FactorPassword, now)
	if err != nil {
		return err
	}
	ok, err := s.Passwords.Verify(ctx, a.PasswordHash, password, strings.HasSuffix(counter, knownSuffix))
	if err != nil {
		return err
	}
	if !ok {
		if err := activity.Record(ctx, s.Store, now, store.Event{AccountID: a.ID, Kind: activity.SteppedUp, Result: activity.WrongPassword,
			Method: assurance.Password, IP: c.IP, Device: s.deviceLabel(c)}); err != nil {
			return err
		}
		e := fail(ErrWrongCredentials, "that password is not right")
		e.Field = "password"
		return afterFailure(fc, e)
	}
	return s.Store.ResetFailures(ctx, counter, throttle.FactorPassword)
}

// SetTwoStep turns two-step verification on or off. On needs a second
// factor set up; both need a session proven with two factors, and every
// verified contact is told. Turning it on makes recovery codes when the
// account has none left, and returns them (shown once).
func (s *Service) SetTwoStep(ctx context.Context, c Client, sess store.Session, on bool) ([]string, error) {
	now := s.Now().UTC()
	if err := s.needFresh(ctx, sess, now); err != nil {
		return nil, err
	}
	var codes []string
	err := s.Store.InTx(ctx, func(q store.Queries) error {
		codes = nil
		a, err := q.AccountByID(ctx, sess.AccountID)
		if err != nil {
			return err
		}
		if (a.TwoStepAt != nil) == on {
			return nil // already so: nothing changes, nobody is told
		}
		var at *time.Time
		kind, what := activity.TwoStepOff, notify.ChangeRemoved
		if on {
			if second, err := hasSecondFactor(ctx, q, a.ID); err != nil {
				return err
			} else if !second {
				return fail(ErrNotReady, "set up an authenticator app or a passkey first: two-step verification needs a second way to prove it is you")
			}
			at, kind, what = &now, activity.TwoStepOn, notify.ChangeAdded
			left, err := q.RecoveryCodesLeft(ctx, a.ID)
			if err != nil {
				return err
			}
			if left == 0 {
				if codes, err = s.replaceRecoveryCodes(ctx, q, a.ID, now); err != nil {
					return err
				}
			}
		}
		if err := q.SetAccountTwoStep(ctx, a.ID, at); err != nil {
			return err
		}
		return s.methodChanged(ctx, q, c, a.ID, kind, what, notify.ChangeTwoStep, "", "", now)
	})
	return codes, err
}

// methodChanged records a change to how the account signs in and tells
// every verified contact, in the caller's transaction.
func (s *Service) methodChanged(ctx context.Context, q store.Queries, c Client, accountID, kind, what, change, name, ref string, now time.Time) error {
	ev := store.Event{AccountID: accountID, Kind: kind, Result: activity.Success, Method: change, IP: c.IP, Device: s.deviceLabel(c), Ref: ref}
	if name != "" {
		ev.Reasons = []string{name}
	}
	if err := activity.Record(ctx, q, now, ev); err != nil {
		return err
	}
	return s.tellChange(ctx, q, c, accountID, what, change, name, now)
}

// tellChange tells every verified contact of a change to how the account
// signs in, in the caller's transaction.
func (s *Service) tellChange(ctx context.Context, q store.Queries, c Client, accountID, what, change, name string, now time.Time) error {
	a, err := q.AccountByID(ctx, accountID)
	if err != nil {
		return err
	}
	r := notify.Request{Kind: notify.KindSecurityChanged, Language: a.Language, IP: c.IP, Device: s.deviceLabel(c), Place: s.place(c.IP, a.Language),
		Change: &notify.Change{What: what, Kind: change, Value: name}}
	return s.tellContacts(ctx, q, accountID, "", r, now, nil)
}

// SecondStep finishes a sign-in that two-step verification holds: method
// is MethodTOTP (a code from an authenticator app) or MethodRecovery (a
// recovery code, which leads to reviewing the account's security info).
// The check, its failure count and the session are one transaction.
func (s *Service) SecondStep(ctx context.Context, c Client, token, method, input string) (*Result, error) {
	return s.finishSecondStep(ctx, c, token, func(q store.Queries, f store.Flow, now time.Time) (string, error, error) {
		var wrong, err error
		switch method {
		case MethodTOTP:
			wrong, err = s.checkTOTP(ctx, q, c, f.Subject, f.AccountID, input, now)
		case MethodRecovery:
			wrong, err = s.useRecoveryCode(ctx, q, c, f.Subject, f.AccountID, input, now)
		case MethodSMS:
			wrong, err = s.checkSMSStep(ctx, q, c, f, input, now)
		default:
			e := invalid("input_choose_proof")
			e.Field = "method"
			err = e
		}
		return method, wrong, err
	})
}

// finishSecondStep runs check (which returns the factor it proved, the
// answer to a wrong proof, or an error) and, when it passes, signs the
// person in: one transaction.
func (s *Service) finishSecondStep(ctx context.Context, c Client, token string,
	check func(q store.Queries, f store.Flow, now time.Time) (string, error, error)) (*Result, error) {
	now := s.Now().UTC()
	f, err := s.heldFlow(ctx, token, now)
	if err != nil {
		return nil, err
	}
	first := firstFactor(f)
	var res *Result
	var wrong error
	err = s.Store.InTx(ctx, func(q store.Queries) error {
		res = nil
		method, w, err := check(q, f, now)
		if wrong = w; err != nil || wrong != nil {
			return err
		}
		if err := q.AdvanceFlow(ctx, f.ID, StateSecondStep, stateDone, now); err != nil {
			return err
		}
		iss, err := s.signIn(ctx, q, f.AccountID, c, assurance.Method(first, method), false, now, nil)
		res = &Result{Session: iss, State: stateDone, Review: method == MethodRecovery}
		return err
	})
	if errors.Is(err, store.ErrConflict) {
		return nil, fail(ErrFlowInvalid, "this sign-in was already finished; start again")
	}
	if err != nil {
		return nil, err
	}
	if wrong != nil {
		return nil, wrong
	}
	return res, nil
}

// firstFactor is what a held flow's first step proved: the password, or
// a code by mail (its channel may say SMS now, if the second step sent a
// code there).
func firstFactor(f store.Flow) string {
	if f.Kind == KindSignIn {
		return assurance.EmailCode
	}
	return assurance.Password
}

// heldFlow is the live flow a token names, held for its second step.
func (s *Service) heldFlow(ctx context.Context, token string, now time.Time) (store.Flow, error) {
	f, err := s.flowFor(ctx, token, now)
	if err == nil && f.State != StateSecondStep {
		err = fail(ErrFlowInvalid, "this sign-in has ended; start again")
	}
	return f, err
}

// secondStep holds a sign-in whose first proof was right for the second
// one, in the caller's transaction: the flow moves to StateSecondStep and
// the answer lists the methods the account can answer with.
func (s *Service) secondStep(ctx context.Context, q store.Queries, f store.Flow, c Client, now time.Time) (*Pending, error) {
	methods, err := methodsOf(ctx, q, f.AccountID, now)
	if err != nil {
		return nil, err
	}
	p := &Pending{Kind: f.Kind, ExpiresAt: f.ExpiresAt, SecondStep: true, Methods: methods}
	return p, activity.Record(ctx, q, now, store.Event{AccountID: f.AccountID, Kind: activity.SignIn, Result: activity.SecondStepRequired,
		Method: firstFactor(f), IP: c.IP, Device: s.deviceLabel(c), FlowID: f.ID})
}

// Methods describes a flow held for its second step.
func (s *Service) Methods(ctx context.Context, token string) (*Pending, error) {
	now := s.Now().UTC()
	f, err := s.heldFlow(ctx, token, now)
	if err != nil {
		return nil, err
	}
	methods, err := methodsOf(ctx, s.Store, f.AccountID, now)
	p := &Pending{Token: token, Kind: f.Kind, ExpiresAt: f.ExpiresAt, SecondStep: true, Methods: methods}
	if f.Channel == notify.SMS {
		// A code went to the phone: say where.
		p.Channel, p.Destination = f.Channel, account.Mask(store.ContactPhone, f.Recipient)
	}
	return p, err
}

// methodsOf lists the second-step methods the account can answer with.
func methodsOf(ctx context.Context, q store.Queries, accountID string, now time.Time) ([]string, error) {
	var out []string
	if n, err := confirmedApps(ctx, q, accountID); err != nil {
		return nil, err
	} else if n > 0 {
		out = append(out, MethodTOTP)
	}
	if keys, err := q.PasskeysByAccount(ctx, accountID); err != nil {
		return nil, err
	} else if len(keys) > 0 {
		out = append(out, MethodPasskey)
	}
	if devices, err := q.PairedDevices(ctx, accountID); err != nil {
		return nil, err
	} else if len(devices) > 0 {
		out = append(out, MethodPush)
	}
	if phone, err := stepPhone(ctx, q, accountID, now); err != nil {
		return nil, err
	} else if phone != "" {
		out = append(out, MethodSMS)
	}
	if n, err := q.RecoveryCodesLeft(ctx, accountID); err != nil {
		return nil, err
	} else if n > 0 {
		out = append(out, MethodRecovery)
	}
	return out, nil
}

// stepPhone is the account's phone a second-step code may go to: verified,
// and past the wait a new contact has before it may recover the account
// (a phone someone else just added is no proof).
func stepPhone(ctx context.Context, q store.Queries, accountID string, now time.Time) (string, error) {
	cs, err := q.ContactsByAccount(ctx, accountID)
	if err != nil {
		return "", err
	}
	for _, ct := range cs {
		if ct.Kind == store.ContactPhone && recoverable(ct, now) {
			return ct.Value, nil
		}
	}
	return "", nil
}

// SendSecondStepSMS sends a code to the account's phone for a sign-in
// held by two-step verification; SecondStep with MethodSMS checks it.
func (s *Service) SendSecondStepSMS(ctx context.Context, c Client, token string) (*Pending, error) {
	now := s.Now().UTC()
	f, err := s.heldFlow(ctx, token, now)
	if err != nil {
		return nil, err
	}
	phone, err := stepPhone(ctx, s.Store, f.AccountID, now)
	if err != nil {
		return nil, err
	}
	if phone == "" {
		return nil, invalid("input_no_phone")
	}
	f.Channel, f.Recipient = notify.SMS, phone
	p, err := s.reissue(ctx, c, f, token, true, now)
	if err != nil {
		return nil, err
	}
	p.SecondStep = true
	p.Methods, err = methodsOf(ctx, s.Store, f.AccountID, now)
	return p, err
}

// checkSMSStep checks the code SendSecondStepSMS sent, in the caller's
// transaction, and uses it up.
func (s *Service) checkSMSStep(ctx context.Context, q store.Queries, c Client, f store.Flow, input string, now time.Time) (error, error) {
	if f.Channel != notify.SMS {
		return fail(ErrFlowInvalid, "no code is waiting; ask for a new one"), nil
	}
	if err := s.codeShape(input); err != nil {
		return err, nil
	}
	cd, counter, wrong, err := s.checkCode(ctx, q, c, f, input, now)
	if err != nil || wrong != nil {
		return wrong, err
	}
	if err := q.UseCode(ctx, cd.ID, now, s.Limits.MaxCodeFailures); err != nil {
		return nil, err
	}
	return nil, counter.clear(ctx, q, throttle.FactorSMSCode)
}
