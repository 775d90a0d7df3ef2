package flow

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/wardhq/ward/activity"
	"github.com/wardhq/ward/audit"
	"github.com/wardhq/ward/notify"
	"github.com/wardhq/ward/store"
	"github.com/wardhq/ward/throttle"
	"github.com/wardhq/ward/totp"
)

// maxAuthenticators bounds how many authenticator apps (set up or
// waiting for their first code) one account keeps.
const maxAuthenticators = 10

// TOTPEnrolment is a new authenticator app waiting for its first code:
// what the person scans or types into the app. Key and URI carry the
// secret: they are shown once, on this answer only.
type TOTPEnrolment struct {
	ID   string
	Name string
	Key  string
	URI  string
	// QR is the URI drawn as a PNG QR code.
	QR []byte
}

// secretAD binds a sealed authenticator secret to its record.
func secretAD(id string) []byte { return []byte("totp:" + id) }

// StartTOTP sets up a new authenticator app under name. It proves nothing
// until ConfirmTOTP sees one of its codes. The session must be fresh and,
// once the account has a second factor, proven with two.
func (s *Service) StartTOTP(ctx context.Context, c Client, sess store.Session, name string) (*TOTPEnrolment, error) {
	now := s.Now().UTC()
	if err := s.needFresh(ctx, sess, now); err != nil {
		return nil, err
	}
	name, err := methodName(name, "Authenticator app")
	if err != nil {
		return nil, err
	}
	a, err := s.Store.AccountByID(ctx, sess.AccountID)
	if err != nil {
		return nil, err
	}
	secret, err := totp.NewSecret()
	if err != nil {
		return nil, err
	}
	au := totp.Authenticator{ID: store.NewID(), AccountID: a.ID, Name: name, CreatedAt: now}
	en, err := s.enrolment(au, a.Email, secret)
	if err != nil {
		return nil, err
	}
	au.Secret = s.Keys.Seal(secret, secretAD(au.ID))
	err = s.Store.InTx(ctx, func(q store.Queries) error {
		if err := q.Lock(ctx, "authenticators:"+a.ID); err != nil {
			return err
		}
		list, err := q.AuthenticatorsByAccount(ctx, a.ID)
		if err != nil {
			return err
		}
		if len(list) >= maxAuthenticators {
			return invalid("input_too_many_totp", len(list))
		}
		return q.CreateAuthenticator(ctx, au)
	})
	if err != nil {
		return nil, err
	}
	return en, nil
}

// PendingTOTP shows again an authenticator app that waits for its first
// code (the page that shows it may have been left, or the code mistyped).
func (s *Service) PendingTOTP(ctx context.Context, sess store.Session, id string) (*TOTPEnrolment, error) {
	now := s.Now().UTC()
	if err := s.needFresh(ctx, sess, now); err != nil {
		return nil, err
	}
	au, err := s.authenticator(ctx, s.Store, sess.AccountID, id)
	if err != nil {
		return nil, err
	}
	if au.ConfirmedAt != nil {
		return nil, invalid("input_totp_already")
	}
	a, err := s.Store.AccountByID(ctx, sess.AccountID)
	if err != nil {
		return nil, err
	}
	secret, err := s.Keys.Open(au.Secret, secretAD(au.ID))
	if err != nil {
		return nil, fmt.Errorf("opening an authenticator's secret: %w", err)
	}
	return s.enrolment(au, a.Email, secret)
}

// enrolment is what the person needs to put secret into their app.
func (s *Service) enrolment(au totp.Authenticator, email string, secret []byte) (*TOTPEnrolment, error) {
	issuer := s.Brand
	if issuer == "" {
		issuer = "ward"
	}
	uri, err := totp.URI(issuer, email, secret)
	if err != nil {
		return nil, err
	}
	qr, err := totp.QR(uri)
	if err != nil {
		return nil, err
	}
	return &TOTPEnrolment{ID: au.ID, Name: au.Name, Key: totp.Key(secret), URI: uri, QR: qr}, nil
}

// methodName checks the name a person gives a sign-in method.
func methodName(name, fallback string) (string, error) {
	name = strings.Join(strings.Fields(name), " ")
	if name == "" {
		name = fallback
	}
	if utf8.RuneCountInString(name) > 40 {
		e := invalid("input_name_long")
		e.Field = "name"
		return "", e
	}
	return name, nil
}

// ConfirmTOTP turns on an authenticator app set up by StartTOTP, given a
// code it shows: the app has the secret. Every verified contact is told.
func (s *Service) ConfirmTOTP(ctx context.Context, c Client, sess store.Session, id, code string) error {
	now := s.Now().UTC()
	if err := s.needFresh(ctx, sess, now); err != nil {
		return err
	}
	return s.Store.InTx(ctx, func(q store.Queries) error {
		au, err := s.authenticator(ctx, q, sess.AccountID, id)
		if err != nil {
			return err
		}
		if au.ConfirmedAt != nil {
			return invalid("input_totp_already")
		}
		secret, err := s.Keys.Open(au.Secret, secretAD(au.ID))
		if err != nil {
			return fmt.Errorf("opening an authenticator's secret: %w", err)
		}
		step, ok, err := totp.Check(secret, code, now, 0)
		if err != nil {
			e := invalid("input_totp_digits", totp.Digits)
			e.Field = "code"
			return e
		}
		if !ok {
			e := fail(ErrWrongCode, "that code is not right; check the app's clock and try the code it shows now")
			e.Field = "code"
			return e
		}
		if err := q.ConfirmAuthenticator(ctx, au.ID, now); err != nil {
			return err
		}
		// The code that confirmed the app cannot sign in a moment later.
		if err := q.UseAuthenticatorStep(ctx, au.ID, step, now); err != nil {
			return err
		}
		return s.methodChanged(ctx, q, c, sess.AccountID, activity.FactorAdded, notify.ChangeAdded, notify.ChangeTOTP, au.Name, au.ID, now)
	})
}

// RemoveTOTP removes an authenticator app. While two-step verification is
// on, the last second factor cannot go: the person turns it off first.
func (s *Service) RemoveTOTP(ctx context.Context, c Client, sess store.Session, id string) error {
	return s.removeMethod(ctx, c, sess, notify.ChangeTOTP, id, func(q store.Queries) (string, bool, error) {
		au, err := s.authenticator(ctx, q, sess.AccountID, id)
		return au.Name, au.ConfirmedAt != nil, err
	}, func(q store.Queries) error { return q.DeleteAuthenticator(ctx, sess.AccountID, id) })
}

// named finds the sign-in method with id among the account's (idName
// reads one's ID and name) for removeMethod; an id that is not the
// account's is refused like an unknown one, and noted.
func named[T any](s *Service, ctx context.Context, accountID, id, what string, list []T, idName func(T) (string, string)) (string, bool, error) {
	for _, x := range list {
		if i, n := idName(x); i == id {
			return n, true, nil
		}
	}
	s.Audit.Record(ctx, audit.ForeignID, "refused", slog.String("account", accountID), slog.String(what+"_named", id))
	return "", false, invalid("input_no_such_" + what)
}

// removeMethod takes a sign-in method (change: its kind; id) off a fresh
// session's account, under the account's lock: find names it and says
// whether it ever proved anything, del removes it. While two-step
// verification is on, the last second factor stays; every contact is told.
func (s *Service) removeMethod(ctx context.Context, c Client, sess store.Session, change, id string,
	find func(q store.Queries) (name string, proven bool, err error), del func(q store.Queries) error) error {
	now := s.Now().UTC()
	if err := s.needFresh(ctx, sess, now); err != nil {
		return err
	}
	return s.Store.InTx(ctx, func(q store.Queries) error {
		if err := q.Lock(ctx, "authenticators:"+sess.AccountID); err != nil {
			return err
		}
		name, proven, err := find(q)
		if err != nil {
			return err
		}
		if err := del(q); err != nil {
			return err
		}
		if !proven {
			return nil // it never proved anything: nobody needs telling
		}
		if err := s.keptSecondFactor(ctx, q, sess.AccountID); err != nil {
			return err
		}
		return s.methodChanged(ctx, q, c, sess.AccountID, activity.FactorRemoved, notify.ChangeRemoved, change, name, id, now)
	})
}

// authenticator finds one of the account's authenticator apps; an id of
// another account's is refused like an unknown one, and noted.
func (s *Service) authenticator(ctx context.Context, q store.Queries, accountID, id string) (totp.Authenticator, error) {
	list, err := q.AuthenticatorsByAccount(ctx, accountID)
	if err != nil {
		return totp.Authenticator{}, err
	}
	for _, au := range list {
		if au.ID == id {
			return au, nil
		}
	}
	s.Audit.Record(ctx, audit.ForeignID, "refused", slog.String("account", accountID), slog.String("authenticator_named", id))
	return totp.Authenticator{}, invalid("input_no_such_totp")
}

// Authenticators lists the account's authenticator apps (secrets left out).
func (s *Service) Authenticators(ctx context.Context, sess store.Session) ([]totp.Authenticator, error) {
	list, err := s.Store.AuthenticatorsByAccount(ctx, sess.AccountID)
	for i := range list {
		list[i].Secret = nil
	}
	return list, err
}

// checkTOTP checks a code against the account's authenticator apps inside
// the caller's transaction, under the factor's failure counter: a right
// code is used up (so the same code never works twice), a wrong one is
// counted. It returns the answer for a wrong code, or nil.
func (s *Service) checkTOTP(ctx context.Context, q store.Queries, c Client, subject, accountID, input string, now time.Time) (error, error) {
	counter, err := s.lockCounter(ctx, q, subject, accountID, c, throttle.FactorTOTP, false, now)
	if err != nil {
		return nil, err
	}
	list, err := q.AuthenticatorsByAccount(ctx, accountID)
	if err != nil {
		return nil, err
	}
	matched := false
	var formatErr error
	for _, au := range list {
		if au.ConfirmedAt == nil {
			continue
		}
		secret, err := s.Keys.Open(au.Secret, secretAD(au.ID))
		if err != nil {
			return nil, fmt.Errorf("opening an authenticator's secret: %w", err)
		}
		step, ok, err := totp.Check(secret, input, now, au.LastStep)
		if err != nil {
			formatErr = err
			break
		}
		if !ok || matched {
			continue
		}
		switch err := q.UseAuthenticatorStep(ctx, au.ID, step, now); {
		case errors.Is(err, store.ErrConflict):
			// Another request used this code a moment ago.
			s.Audit.Record(ctx, audit.CodeReplay, "refused", slog.String("authenticator", au.ID))
		case err != nil:
			return nil, err
		default:
			matched = true
		}
	}
	if formatErr != nil {
		e := invalid("input_totp_digits", totp.Digits)
		e.Field = "code"
		return e, nil
	}
	if matched {
		return nil, counter.clear(ctx, q, throttle.FactorTOTP)
	}
	return s.wrongProof(ctx, q, c, accountID, counter.subject, throttle.FactorTOTP,
		"that code is not right, or was already used; wait for the app's next code", now)
}

// wrongProof counts a wrong answer of a second factor against its counter,
// records it, and returns the answer for the person (with the time to
// come back once the factor rests), in the caller's transaction.
func (s *Service) wrongProof(ctx context.Context, q store.Queries, c Client, accountID, counter, factor, msg string, now time.Time) (error, error) {
	fc, err := s.countFailure(ctx, q, counter, factor, accountID, now)
	if err != nil {
		return nil, err
	}
	if err := activity.Record(ctx, q, now, store.Event{AccountID: accountID, Kind: activity.CodeFailed, Result: activity.WrongCode,
		Method: factor, IP: c.IP, Device: s.deviceLabel(c)}); err != nil {
		return nil, err
	}
	e := fail(ErrWrongCode, "%s", msg)
	e.Field = "code"
	return afterFailure(fc, e), nil
}
