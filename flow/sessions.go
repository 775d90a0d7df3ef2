package flow

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/wardhq/ward/activity"
	"github.com/wardhq/ward/audit"
	"github.com/wardhq/ward/store"
)

// SignOut ends the session on the server.
func (s *Service) SignOut(ctx context.Context, c Client, sess store.Session) error {
	return s.EndSession(ctx, c, sess, sess.ID)
}

// EndSession ends one of the account's sessions (this one or another).
func (s *Service) EndSession(ctx context.Context, c Client, sess store.Session, target string) error {
	now := s.Now().UTC()
	list, err := s.Store.SessionsByAccount(ctx, sess.AccountID, now)
	if err != nil {
		return err
	}
	for _, x := range list {
		if x.ID != target {
			continue
		}
		return s.Store.InTx(ctx, func(q store.Queries) error {
			if err := q.RevokeSession(ctx, target, now); err != nil {
				return err
			}
			apps, err := q.RevokeSessionTokens(ctx, sess.AccountID, target, "", now)
			if err != nil {
				return err
			}
			if err := s.tellApps(ctx, q, sess.AccountID, apps, now); err != nil {
				return err
			}
			return activity.Record(ctx, q, now, store.Event{AccountID: sess.AccountID, Kind: activity.SessionEnded, Result: activity.Success,
				IP: c.IP, Device: s.deviceLabel(c), DeviceID: x.DeviceID})
		})
	}
	s.Audit.Record(ctx, audit.ForeignID, "refused", slog.String("account", sess.AccountID), slog.String("session_named", target))
	return invalid("input_no_such_session")
}

// EndOtherSessions signs out every session of the account but this one.
func (s *Service) EndOtherSessions(ctx context.Context, c Client, sess store.Session) (int, error) {
	now := s.Now().UTC()
	var n int
	err := s.Store.InTx(ctx, func(q store.Queries) error {
		var err error
		n, err = s.endOthers(ctx, q, c, sess, now)
		return err
	})
	return n, err
}

// endOthers ends every session of the account but sess, inside the
// caller's transaction, and records it.
func (s *Service) endOthers(ctx context.Context, q store.Queries, c Client, sess store.Session, now time.Time) (int, error) {
	return s.endSessions(ctx, q, sess.AccountID, sess.ID, now, store.Event{IP: c.IP, Device: s.deviceLabel(c),
		Reasons: []string{"signed_out_other_sessions"}})
}

// SignOutAccount ends every session of an account, as an operator does
// for a lost device, without disabling it; ip is the operator's.
func (s *Service) SignOutAccount(ctx context.Context, accountID, ip string) (int, error) {
	now := s.Now().UTC()
	var n int
	err := s.Store.InTx(ctx, func(q store.Queries) error {
		var err error
		n, err = s.endSessions(ctx, q, accountID, "", now, store.Event{Method: "admin", IP: ip, Reasons: []string{"signed_out_by_operator"}})
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("signing account %s out: %w", accountID, err)
	}
	return n, nil
}

// endSessions ends every live session of the account but keep (which may
// be empty) and records it as ev says who did it; when there was none to
// end, nothing happened and nothing is recorded.
func (s *Service) endSessions(ctx context.Context, q store.Queries, accountID, keep string, now time.Time, ev store.Event) (int, error) {
	n, err := s.revokeOtherSessions(ctx, q, accountID, keep, now)
	if err != nil || n == 0 {
		return n, err
	}
	ev.AccountID, ev.Kind, ev.Result = accountID, activity.SessionEnded, activity.Success
	return n, activity.Record(ctx, q, now, ev)
}

// revokeOtherSessions ends every session of the account but keep, and
// with them the tokens apps got through them (OpenID Connect).
func (s *Service) revokeOtherSessions(ctx context.Context, q store.Queries, accountID, keep string, now time.Time) (int, error) {
	n, err := q.RevokeOtherSessions(ctx, accountID, keep, now)
	if err != nil {
		return 0, err
	}
	apps, err := q.RevokeSessionTokens(ctx, accountID, "", keep, now)
	if err != nil {
		return 0, err
	}
	return n, s.tellApps(ctx, q, accountID, apps, now)
}
