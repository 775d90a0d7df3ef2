package flow

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/wardhq/ward/activity"
	"github.com/wardhq/ward/audit"
	"github.com/wardhq/ward/keys"
	"github.com/wardhq/ward/notify"
	"github.com/wardhq/ward/store"
	"github.com/wardhq/ward/throttle"
)

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

// knownDevice reports whether the client's device cookie belongs to a
// device that signed in to the account. It reads through q, so that inside
// a transaction nothing reaches past it for a second connection.
func (s *Service) knownDevice(ctx context.Context, q store.Queries, accountID string, c Client) (bool, error) {
	if c.DeviceToken == "" {
		return false, nil
	}
	if c.device.read && c.device.account == accountID {
		return c.device.known, nil
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

// heldCounter is a client's failure counter of one factor, held for the
// rest of the transaction (lockCounter).
type heldCounter struct {
	subject string
	// failed: it has a row. None can appear while it is held, so a
	// success with no failure before it has nothing to clear: a statement
	// saved on nearly every sign-in.
	failed bool
}

// clear forgets the counter's failures after a success.
func (h heldCounter) clear(ctx context.Context, q store.Queries, factor string) error {
	if !h.failed {
		return nil
	}
	return q.ResetFailures(ctx, h.subject, factor)
}

// lockCounter finds the client's failure counter of factor, holds it for
// the rest of the transaction, and refuses when the factor rests or is off
// for this client: the check and what the caller then counts are one step.
func (s *Service) lockCounter(ctx context.Context, q store.Queries, subject, accountID string, c Client, factor string, recovery bool,
	now time.Time) (heldCounter, error) {
	return s.lockCounterReading(ctx, q, subject, accountID, c, factor, recovery, now, nil)
}

// lockCounterReading is lockCounter whose counter is read together with
// the reads next makes (store.Queries.ReadAhead), under the lock too:
// what the caller reads next is read with it.
func (s *Service) lockCounterReading(ctx context.Context, q store.Queries, subject, accountID string, c Client, factor string, recovery bool,
	now time.Time, next func(q store.Queries)) (heldCounter, error) {
	counter, err := s.counterSubject(ctx, q, subject, accountID, c)
	if err != nil {
		return heldCounter{}, err
	}
	if err := q.Lock(ctx, "failures:"+counter+":"+factor); err != nil {
		return heldCounter{}, err
	}
	if next != nil {
		q.ReadAhead(ctx, func(q store.Queries) {
			q.FailureCounter(ctx, counter, factor)
			next(q)
		})
	}
	failed, err := s.factorUsable(ctx, q, counter, factor, recovery, now)
	return heldCounter{subject: counter, failed: failed}, err
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

// factorUsable refuses when the factor is resting or disabled for the
// counter, and reports whether the counter has a row. Recovery (a password
// reset) stays open while the factor is off: only its waits apply, and
// each code still takes at most a few tries, so nobody can lock an owner
// out of recovering the account.
func (s *Service) factorUsable(ctx context.Context, q store.Queries, counter, factor string, recovery bool, now time.Time) (bool, error) {
	fc, err := q.FailureCounter(ctx, counter, factor)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if fc.DisabledAt != nil && !recovery {
		s.Audit.Record(ctx, audit.FactorRefused, "factor_off", slog.String("factor", factor), slog.String("counter", counter))
		return true, errFactorDisabled()
	}
	if fc.LockedUntil != nil && now.Before(*fc.LockedUntil) {
		s.Audit.Record(ctx, audit.FactorRefused, "factor_resting", slog.String("factor", factor), slog.String("counter", counter),
			slog.Time("until", *fc.LockedUntil))
		return true, retryLater(ErrFactorLocked, *fc.LockedUntil, "too many wrong tries; you can try again at the time shown")
	}
	return true, nil
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

// EnableFactor turns a factor disabled after failures back on; the owner
// does this from a session opened by another route.
func (s *Service) EnableFactor(ctx context.Context, c Client, sess store.Session, factor string) error {
	switch factor {
	case throttle.FactorPassword, throttle.FactorEmailCode, throttle.FactorSMSCode, throttle.FactorTOTP, throttle.FactorRecoveryCode:
	default:
		return invalid("input_unknown_method", factor)
	}
	now := s.Now().UTC()
	if err := s.needFresh(ctx, sess, now); err != nil {
		return err
	}
	a, err := s.Store.AccountByID(ctx, sess.AccountID)
	if err != nil {
		return err
	}
	return s.Store.InTx(ctx, func(q store.Queries) error {
		if err := resetAllFailures(ctx, q, s.subject(a.ID, a.Email), factor); err != nil {
			return err
		}
		return activity.Record(ctx, q, now, store.Event{AccountID: a.ID, Kind: activity.FactorEnabled, Result: activity.Success, Method: factor,
			IP: c.IP, Device: s.deviceLabel(c)})
	})
}
