package flow

import (
	"context"
	"time"

	"github.com/wardhq/ward/activity"
	"github.com/wardhq/ward/store"
)

// ConfirmActivity records "this was me" on an event of the account, so
// the dashboard stops pointing at it.
func (s *Service) ConfirmActivity(ctx context.Context, c Client, sess store.Session, eventID string) error {
	if eventID == "" {
		return invalid("input_which_activity")
	}
	now := s.Now().UTC()
	return s.Store.InTx(ctx, func(q store.Queries) error {
		return activity.Record(ctx, q, now, store.Event{AccountID: sess.AccountID, Kind: activity.Confirmed, Result: activity.Success,
			IP: c.IP, Device: s.deviceLabel(c), Ref: eventID})
	})
}

// Secured says what securing the account did.
type Secured struct {
	SessionsEnded   int
	PasswordChanged bool
}

// SecureAccount is the one step for "something is wrong": every other
// session ends, and when a new password is given it replaces the old one
// (the current password is still needed: a stolen session alone must not
// be enough to take the account over).
// flagged names the activity the person said was not them, if any. It is
// one transaction: all of it happens, or none.
func (s *Service) SecureAccount(ctx context.Context, c Client, sess store.Session, current, password, flagged string) (Secured, error) {
	var out Secured
	now := s.Now().UTC()
	var pc passwordChange
	if password != "" {
		var err error
		if pc, err = s.checkPasswordChange(ctx, c, sess, current, password, now); err != nil {
			return out, err
		}
	}
	err := s.Store.InTx(ctx, func(q store.Queries) error {
		out = Secured{}
		n, err := s.endOthers(ctx, q, c, sess, now)
		if err != nil {
			return err
		}
		out.SessionsEnded = n
		if password != "" {
			if err := s.writePasswordChange(ctx, q, c, sess, pc, now); err != nil {
				return err
			}
			out.PasswordChanged = true
		}
		ev := store.Event{AccountID: sess.AccountID, Kind: activity.AccountSecured, Result: activity.Success, IP: c.IP, Device: s.deviceLabel(c)}
		if flagged != "" {
			ev.Reasons, ev.Ref = []string{"not_me"}, flagged
		}
		return activity.Record(ctx, q, now, ev)
	})
	return out, err
}

// SecurityChanges lists the account's recent changes to how it is
// reached and signed in to, for the person to check and undo.
func (s *Service) SecurityChanges(ctx context.Context, sess store.Session, since time.Time) ([]store.Event, error) {
	evs, err := s.Store.Events(ctx, sess.AccountID, time.Time{}, 200)
	if err != nil {
		return nil, err
	}
	var out []store.Event
	for _, e := range evs {
		if e.At.Before(since) {
			break
		}
		switch e.Kind {
		case activity.PasswordChanged, activity.PasswordReset, activity.ContactAdded, activity.ContactRemoved, activity.ContactConfirmed,
			activity.AliasChanged, activity.FactorEnabled, activity.FactorDisabled, activity.NotificationsChanged,
			activity.FactorAdded, activity.FactorRemoved, activity.TwoStepOn, activity.TwoStepOff, activity.RecoveryCodesMade:
			out = append(out, e)
		}
	}
	return out, nil
}
