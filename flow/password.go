package flow

import (
	"context"
	"strings"
	"time"

	"github.com/wardhq/ward/activity"
	"github.com/wardhq/ward/notify"
	"github.com/wardhq/ward/store"
	"github.com/wardhq/ward/throttle"
)

// newPasswordHash checks a new password against the policy and hashes it.
func (s *Service) newPasswordHash(ctx context.Context, a store.Account, password string) (string, error) {
	if err := s.Passwords.Check(password, a.Email); err != nil {
		return "", inputError(err)
	}
	return s.Passwords.Hash(ctx, password)
}

// setPassword stores the hash, ends every session but keep, logs the
// change and tells every verified contact.
func (s *Service) setPassword(ctx context.Context, q store.Queries, a store.Account, hash, keep string, c Client, kind string, now time.Time) error {
	if err := q.UpdateAccountPassword(ctx, a.ID, hash, now); err != nil {
		return err
	}
	if _, err := s.revokeOtherSessions(ctx, q, a.ID, keep, now); err != nil {
		return err
	}
	if err := activity.Record(ctx, q, now, store.Event{AccountID: a.ID, Kind: kind, Result: activity.Success, Method: "password",
		IP: c.IP, Device: s.deviceLabel(c)}); err != nil {
		return err
	}
	return s.tellContacts(ctx, q, a.ID, "", notify.Request{Kind: notify.KindPasswordChanged, Language: a.Language, IP: c.IP, Device: s.deviceLabel(c)}, now, nil)
}

// ChangePassword changes the password of a signed-in account; the current
// password is required, and other sessions end.
func (s *Service) ChangePassword(ctx context.Context, c Client, sess store.Session, current, password string) error {
	now := s.Now().UTC()
	pc, err := s.checkPasswordChange(ctx, c, sess, current, password, now)
	if err != nil {
		return err
	}
	return s.Store.InTx(ctx, func(q store.Queries) error { return s.writePasswordChange(ctx, q, c, sess, pc, now) })
}

// passwordChange is a change of password checked and hashed, ready to be
// written.
type passwordChange struct {
	account       store.Account
	counter, hash string
}

// checkPasswordChange does the slow part of a change, outside any
// transaction: the current password checked (its failure reserved first)
// and the new one checked against the policy and hashed.
func (s *Service) checkPasswordChange(ctx context.Context, c Client, sess store.Session, current, password string, now time.Time) (passwordChange, error) {
	a, err := s.Store.AccountByID(ctx, sess.AccountID)
	if err != nil {
		return passwordChange{}, err
	}
	if a.PasswordHash == "" {
		// A first password is a new way in: like every change to security
		// info, it needs a recent proof that this is the owner.
		if err := s.needFresh(ctx, sess, now); err != nil {
			return passwordChange{}, err
		}
	}
	counter := ""
	if a.PasswordHash != "" {
		if counter, _, err = s.reserveFailure(ctx, c, s.subject(a.ID, a.Email), a.ID, throttle.FactorPassword, now); err != nil {
			return passwordChange{}, err
		}
	}
	ok, err := s.Passwords.Verify(ctx, a.PasswordHash, current, strings.HasSuffix(counter, knownSuffix))
	if err != nil {
		return passwordChange{}, err
	}
	if !ok && a.PasswordHash != "" {
		e := fail(ErrWrongCredentials, "the current password is not right")
		e.Field = "current_password"
		return passwordChange{}, e
	}
	hash, err := s.newPasswordHash(ctx, a, password)
	if err != nil {
		return passwordChange{}, err
	}
	return passwordChange{account: a, counter: counter, hash: hash}, nil
}

// writePasswordChange stores a checked change inside the caller's
// transaction; every session but this one ends.
func (s *Service) writePasswordChange(ctx context.Context, q store.Queries, c Client, sess store.Session, pc passwordChange, now time.Time) error {
	if err := q.ResetFailures(ctx, pc.counter, throttle.FactorPassword); err != nil {
		return err
	}
	return s.setPassword(ctx, q, pc.account, pc.hash, sess.ID, c, activity.PasswordChanged, now)
}
