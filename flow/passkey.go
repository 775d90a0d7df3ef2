package flow

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"time"

	"github.com/wardhq/ward/activity"
	"github.com/wardhq/ward/assurance"
	"github.com/wardhq/ward/audit"
	"github.com/wardhq/ward/keys"
	"github.com/wardhq/ward/notify"
	"github.com/wardhq/ward/passkey"
	"github.com/wardhq/ward/session"
	"github.com/wardhq/ward/store"
)

// ceremonyTTL is how long a browser has to answer a passkey ceremony.
const ceremonyTTL = 5 * time.Minute

// maxPasskeys bounds how many passkeys one account keeps.
const maxPasskeys = 20

// PasskeyCeremony is what a browser needs to run a WebAuthn ceremony:
// the options for navigator.credentials, and the token its answer
// brings back.
type PasskeyCeremony struct {
	Token     string
	Options   json.RawMessage
	ExpiresAt time.Time
}

// ErrPasskeyRefused: the browser's answer did not prove what it should.
const ErrPasskeyRefused = "passkey_refused"

// errNoPasskeys answers on a service configured without passkeys.
func errNoPasskeys() *Error {
	return invalid("input_passkeys_off")
}

func errPasskeyRefused() *Error {
	return fail(ErrPasskeyRefused, "that passkey could not be used here; try again, or choose another way")
}

// ceremonyAD binds a sealed ceremony to its kind.
func ceremonyAD(kind string) []byte { return []byte("passkey-ceremony:" + kind) }

// passkeyUser is the account as the relying party sees it, with its
// passkeys, read through q.
func passkeyUser(ctx context.Context, q store.Queries, accountID string) (*passkey.User, error) {
	a, err := q.AccountByID(ctx, accountID)
	if err != nil {
		return nil, err
	}
	keys, err := q.PasskeysByAccount(ctx, accountID)
	if err != nil {
		return nil, err
	}
	return &passkey.User{Handle: []byte(a.ID), Name: a.Email, DisplayName: a.Email, Passkeys: keys}, nil
}

// beginCeremony keeps a ceremony's session data sealed and returns what the
// browser needs.
func (s *Service) beginCeremony(ctx context.Context, kind, accountID, ref string, options json.RawMessage, data []byte) (*PasskeyCeremony, error) {
	now := s.Now().UTC()
	tok := keys.Token()
	c := passkey.Ceremony{ID: store.NewID(), TokenHash: keys.HashToken(tok), Kind: kind, AccountID: accountID, Ref: ref,
		Data: s.Keys.Seal(data, ceremonyAD(kind)), ExpiresAt: now.Add(ceremonyTTL)}
	if err := s.Store.CreateCeremony(ctx, c); err != nil {
		return nil, err
	}
	return &PasskeyCeremony{Token: tok, Options: options, ExpiresAt: c.ExpiresAt}, nil
}

// takeCeremony uses up the ceremony a token names, in the caller's
// transaction, and checks it is of kind, for ref, and still live.
func (s *Service) takeCeremony(ctx context.Context, q store.Queries, token, kind, ref string, now time.Time) (passkey.Ceremony, []byte, error) {
	if s.RP == nil {
		return passkey.Ceremony{}, nil, errNoPasskeys()
	}
	c, err := q.TakeCeremony(ctx, keys.HashToken(token))
	if errors.Is(err, store.ErrNotFound) {
		return c, nil, fail(ErrFlowInvalid, "this passkey request has ended; try again")
	}
	if err != nil {
		return c, nil, err
	}
	if c.Kind != kind || c.Ref != ref || !now.Before(c.ExpiresAt) {
		return c, nil, fail(ErrFlowInvalid, "this passkey request has ended; try again")
	}
	data, err := s.Keys.Open(c.Data, ceremonyAD(kind))
	return c, data, err
}

// BeginPasskeyRegistration starts adding a passkey to a fresh session's
// account.
func (s *Service) BeginPasskeyRegistration(ctx context.Context, c Client, sess store.Session) (*PasskeyCeremony, error) {
	if err := s.needFresh(ctx, sess, s.Now().UTC()); err != nil {
		return nil, err
	}
	if s.RP == nil {
		return nil, errNoPasskeys()
	}
	u, err := passkeyUser(ctx, s.Store, sess.AccountID)
	if err != nil {
		return nil, err
	}
	if len(u.Passkeys) >= maxPasskeys {
		return nil, invalid("input_too_many_passkeys", len(u.Passkeys))
	}
	opts, data, err := s.RP.BeginRegistration(u)
	if err != nil {
		return nil, err
	}
	return s.beginCeremony(ctx, passkey.KindRegister, sess.AccountID, sess.ID, opts, data)
}

// FinishPasskeyRegistration checks the browser's new passkey and adds it,
// named; every verified contact is told.
func (s *Service) FinishPasskeyRegistration(ctx context.Context, c Client, sess store.Session, token, name string, response []byte) (passkey.Passkey, error) {
	now := s.Now().UTC()
	if err := s.needFresh(ctx, sess, now); err != nil {
		return passkey.Passkey{}, err
	}
	name, err := methodName(name, "Passkey")
	if err != nil {
		return passkey.Passkey{}, err
	}
	var p passkey.Passkey
	var wrong error
	err = s.Store.InTx(ctx, func(q store.Queries) error {
		wrong = nil
		_, data, err := s.takeCeremony(ctx, q, token, passkey.KindRegister, sess.ID, now)
		if err != nil {
			return err
		}
		u, err := passkeyUser(ctx, q, sess.AccountID)
		if err != nil {
			return err
		}
		p, err = s.RP.FinishRegistration(u, data, response)
		if wrong = s.passkeyRefused(ctx, sess.AccountID, err); wrong != nil {
			return nil // the ceremony stays used up
		} else if err != nil {
			return err
		}
		p.ID, p.AccountID, p.Name, p.CreatedAt = store.NewID(), sess.AccountID, name, now
		if err := q.CreatePasskey(ctx, p); errors.Is(err, store.ErrConflict) {
			return invalid("input_passkey_already")
		} else if err != nil {
			return err
		}
		return s.methodChanged(ctx, q, c, sess.AccountID, activity.FactorAdded, notify.ChangeAdded, notify.ChangePasskey, p.Name, p.ID, now)
	})
	if err == nil && wrong != nil {
		err = wrong
	}
	return p, err
}

// passkeyRefused turns the relying party's refusal into the person's
// answer (noted in the security log); other errors pass through as nil.
func (s *Service) passkeyRefused(ctx context.Context, accountID string, err error) error {
	var re *passkey.RefusedError
	if !errors.As(err, &re) {
		return nil
	}
	s.Audit.Record(ctx, audit.PasskeyRefused, "refused", slog.String("account", accountID), slog.String("reason", re.Reason))
	return errPasskeyRefused()
}

// BeginPasskeySignIn starts a sign-in with a passkey alone: the browser
// offers the person's passkeys for this site (also as autofill).
func (s *Service) BeginPasskeySignIn(ctx context.Context, c Client) (*PasskeyCeremony, error) {
	if s.RP == nil {
		return nil, errNoPasskeys()
	}
	if ok, at, err := s.Limiter.Allow(ctx, "passkey", c.IP, s.Limits.PasswordPerIP); err != nil {
		return nil, err
	} else if !ok {
		return nil, retryLater(ErrRateLimited, at, "too many sign-in attempts from your network; try again later")
	}
	opts, data, err := s.RP.BeginSignIn(nil)
	if err != nil {
		return nil, err
	}
	return s.beginCeremony(ctx, passkey.KindSignIn, "", "", opts, data)
}

// FinishPasskeySignIn signs in with the passkey the browser answered
// with. A passkey that verified its user is two factors on its own: it
// needs no second step.
func (s *Service) FinishPasskeySignIn(ctx context.Context, c Client, token string, response []byte) (*Result, error) {
	now := s.Now().UTC()
	var res *Result
	var wrong error
	err := s.Store.InTx(ctx, func(q store.Queries) error {
		res, wrong = nil, nil
		_, data, err := s.takeCeremony(ctx, q, token, passkey.KindSignIn, "", now)
		if err != nil {
			return err
		}
		var use passkeyUse
		if wrong, use, err = s.usePasskey(ctx, q, "", data, response, true, now); err != nil || wrong != nil {
			return err
		}
		// The ceremony required user verification: this is a Passkey.
		iss, err := s.signIn(ctx, q, use.accountID, c, use.factor, false, now, nil)
		res = &Result{Session: iss, State: stateDone}
		return err
	})
	if err == nil && wrong != nil {
		err = wrong
	}
	return res, err
}

// passkeyUse is who a passkey proved, and how: assurance.Passkey when it
// verified its user, assurance.SecurityKey when it proved possession only.
type passkeyUse struct {
	accountID string
	factor    string
}

// usePasskey checks an assertion against the ceremony's session data and
// records the passkey's use, in the caller's transaction. accountID is
// the account the ceremony was begun for ("" for a discoverable sign-in,
// when the passkey names it). It returns the answer to a refused
// assertion, or what the passkey proved.
func (s *Service) usePasskey(ctx context.Context, q store.Queries, accountID string, data, response []byte, discoverable bool,
	now time.Time) (error, passkeyUse, error) {
	a, err := passkey.ParseAssertion(response)
	if wrong := s.passkeyRefused(ctx, accountID, err); wrong != nil {
		return wrong, passkeyUse{}, nil
	} else if err != nil {
		return nil, passkeyUse{}, err
	}
	if discoverable {
		accountID = string(passkey.Handle(a))
	}
	acct, err := q.AccountByID(ctx, accountID)
	if errors.Is(err, store.ErrNotFound) {
		s.Audit.Record(ctx, audit.PasskeyRefused, "refused", slog.String("reason", "the passkey names no account"))
		return errPasskeyRefused(), passkeyUse{}, nil
	}
	if err != nil {
		return nil, passkeyUse{}, err
	}
	if acct.DisabledAt != nil {
		return fail(ErrAccountDisabled, "this account is disabled; contact the service's support"), passkeyUse{}, nil
	}
	u, err := passkeyUser(ctx, q, accountID)
	if err != nil {
		return nil, passkeyUse{}, err
	}
	p, err := s.RP.FinishSignIn(u, data, a, discoverable)
	if wrong := s.passkeyRefused(ctx, accountID, err); wrong != nil {
		return wrong, passkeyUse{}, nil
	} else if err != nil {
		return nil, passkeyUse{}, err
	}
	prev := uint32(0)
	for _, old := range u.Passkeys {
		if old.ID == p.ID {
			prev = old.SignCount
		}
	}
	if err := q.UsePasskey(ctx, p.ID, prev, p, now); errors.Is(err, store.ErrConflict) {
		return errPasskeyRefused(), passkeyUse{}, nil
	} else if err != nil {
		return nil, passkeyUse{}, err
	}
	use := passkeyUse{accountID: accountID, factor: assurance.SecurityKey}
	if passkey.UserVerified(a) {
		use.factor = assurance.Passkey
	}
	return nil, use, nil
}

// BeginSecondStepPasskey starts the second step of a held sign-in with
// one of the account's passkeys.
func (s *Service) BeginSecondStepPasskey(ctx context.Context, c Client, token string) (*PasskeyCeremony, error) {
	f, err := s.heldFlow(ctx, token, s.Now().UTC())
	if err != nil {
		return nil, err
	}
	return s.beginAccountCeremony(ctx, passkey.KindSecondStep, f.AccountID, f.ID)
}

// beginAccountCeremony starts a ceremony for one of the account's passkeys.
func (s *Service) beginAccountCeremony(ctx context.Context, kind, accountID, ref string) (*PasskeyCeremony, error) {
	if s.RP == nil {
		return nil, errNoPasskeys()
	}
	u, err := passkeyUser(ctx, s.Store, accountID)
	if err != nil {
		return nil, err
	}
	if len(u.Passkeys) == 0 {
		return nil, invalid("input_no_passkey")
	}
	opts, data, err := s.RP.BeginSignIn(u)
	if err != nil {
		return nil, err
	}
	return s.beginCeremony(ctx, kind, accountID, ref, opts, data)
}

// SecondStepPasskey finishes a held sign-in with a passkey.
func (s *Service) SecondStepPasskey(ctx context.Context, c Client, token, ceremony string, response []byte) (*Result, error) {
	return s.finishSecondStep(ctx, c, token, func(q store.Queries, f store.Flow, now time.Time) (string, error, error) {
		_, data, err := s.takeCeremony(ctx, q, ceremony, passkey.KindSecondStep, f.ID, now)
		if err != nil {
			return "", nil, err
		}
		wrong, use, err := s.usePasskey(ctx, q, f.AccountID, data, response, false, now)
		return use.factor, wrong, err
	})
}

// BeginPasskeyStepUp starts proving a signed-in session's owner again
// with a passkey.
func (s *Service) BeginPasskeyStepUp(ctx context.Context, c Client, sess store.Session) (*PasskeyCeremony, error) {
	return s.beginAccountCeremony(ctx, passkey.KindStepUp, sess.AccountID, sess.ID)
}

// FinishPasskeyStepUp replaces the session with a fresh one proven with
// the passkey too.
func (s *Service) FinishPasskeyStepUp(ctx context.Context, c Client, sess store.Session, ceremony string, response []byte) (*session.Issued, error) {
	now := s.Now().UTC()
	var iss session.Issued
	var wrong error
	err := s.Store.InTx(ctx, func(q store.Queries) error {
		wrong = nil
		_, data, err := s.takeCeremony(ctx, q, ceremony, passkey.KindStepUp, sess.ID, now)
		if err != nil {
			return err
		}
		var use passkeyUse
		if wrong, use, err = s.usePasskey(ctx, q, sess.AccountID, data, response, false, now); err != nil || wrong != nil {
			return err
		}
		method := assurance.With(sess.Method, use.factor)
		if assurance.Level(assurance.Factors(method)) < assurance.AAL2 {
			// A key that did not verify its user, on a session without a
			// password: still one factor.
			return errStrongerProof()
		}
		if iss, err = s.replaceSession(ctx, q, sess, c, method); err != nil {
			return err
		}
		return activity.Record(ctx, q, now, store.Event{AccountID: sess.AccountID, Kind: activity.SteppedUp, Result: activity.Success,
			Method: use.factor, IP: c.IP, Device: s.deviceLabel(c)})
	})
	if err == nil && wrong != nil {
		err = wrong
	}
	if err != nil {
		return nil, err
	}
	return &iss, nil
}

// Passkeys lists the account's passkeys.
func (s *Service) Passkeys(ctx context.Context, sess store.Session) ([]passkey.Passkey, error) {
	return s.Store.PasskeysByAccount(ctx, sess.AccountID)
}

// RenamePasskey gives one of the account's passkeys a new name.
func (s *Service) RenamePasskey(ctx context.Context, c Client, sess store.Session, id, name string) error {
	name, err := methodName(name, "Passkey")
	if err != nil {
		return err
	}
	if err := s.Store.RenamePasskey(ctx, sess.AccountID, id, name); errors.Is(err, store.ErrNotFound) {
		return invalid("input_no_such_passkey")
	} else if err != nil {
		return err
	}
	return nil
}

// RemovePasskey takes a passkey off the account. While two-step
// verification is on, the last second factor stays.
func (s *Service) RemovePasskey(ctx context.Context, c Client, sess store.Session, id string) error {
	return s.removeMethod(ctx, c, sess, notify.ChangePasskey, id, func(q store.Queries) (string, bool, error) {
		keys, err := q.PasskeysByAccount(ctx, sess.AccountID)
		if err != nil {
			return "", false, err
		}
		return named(s, ctx, sess.AccountID, id, "passkey", keys, func(p passkey.Passkey) (string, string) { return p.ID, p.Name })
	}, func(q store.Queries) error { return q.DeletePasskey(ctx, sess.AccountID, id) })
}
