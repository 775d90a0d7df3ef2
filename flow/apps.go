package flow

import (
	"context"
	"errors"
	"log/slog"
	"slices"

	"github.com/wardhq/ward/activity"
	"github.com/wardhq/ward/audit"
	"github.com/wardhq/ward/openid"
	"github.com/wardhq/ward/store"
)

// AppSignIn records that a signed-in person was signed in to an app
// (OpenID Connect) with their session: the activity log says which app,
// and how the sign-in was proven.
func (s *Service) AppSignIn(ctx context.Context, c Client, sess store.Session, appID, appName string) error {
	return activity.Record(ctx, s.Store, s.Now().UTC(), store.Event{AccountID: sess.AccountID, Kind: activity.AppSignIn, Result: activity.Success,
		Method: sess.Method, IP: c.IP, Device: s.deviceLabel(c), Reasons: []string{appName}, Ref: appID})
}

// Apps lists the apps that hold the account's live tokens.
func (s *Service) Apps(ctx context.Context, sess store.Session) ([]openid.Client, error) {
	return s.Store.AccountClients(ctx, sess.AccountID, s.Now().UTC())
}

// RevokeApp takes an app's access away: every token it holds for the
// account is revoked (it must sign the person in again).
func (s *Service) RevokeApp(ctx context.Context, c Client, sess store.Session, clientID string) error {
	now := s.Now().UTC()
	app, err := s.Store.ClientByID(ctx, clientID)
	if err != nil {
		s.Audit.Record(ctx, audit.ForeignID, "refused", slog.String("account", sess.AccountID), slog.String("app_named", clientID))
		return fail(ErrInvalidInput, "no such app")
	}
	return s.Store.InTx(ctx, func(q store.Queries) error {
		if _, err := q.RevokeAccountClientTokens(ctx, sess.AccountID, app.ID, now); err != nil {
			return err
		}
		if err := q.RevokeConsent(ctx, sess.AccountID, app.ID); err != nil {
			return err
		}
		return activity.Record(ctx, q, now, store.Event{AccountID: sess.AccountID, Kind: activity.AppRevoked, Result: activity.Success,
			IP: c.IP, Device: s.deviceLabel(c), Reasons: []string{app.Name}, Ref: app.ID})
	})
}

// NeedsConsent reports whether the person must be asked before an app
// gets scopes: never for the operator's own apps; for others when they
// ask (prompt=consent) or ask for more than was allowed before.
func (s *Service) NeedsConsent(ctx context.Context, sess store.Session, app openid.Client, scopes []string, prompt bool) (bool, error) {
	if app.FirstParty {
		return false, nil
	}
	if prompt {
		return true, nil
	}
	given, err := s.Store.Consent(ctx, sess.AccountID, app.ID)
	if errors.Is(err, store.ErrNotFound) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	for _, sc := range scopes {
		if !slices.Contains(given, sc) {
			return true, nil
		}
	}
	return false, nil
}

// Consent records that the person allowed an app the scopes.
func (s *Service) Consent(ctx context.Context, c Client, sess store.Session, app openid.Client, scopes []string) error {
	now := s.Now().UTC()
	return s.Store.InTx(ctx, func(q store.Queries) error {
		if err := q.GrantConsent(ctx, sess.AccountID, app.ID, scopes, now); err != nil {
			return err
		}
		return activity.Record(ctx, q, now, store.Event{AccountID: sess.AccountID, Kind: activity.AppConsented, Result: activity.Success,
			IP: c.IP, Device: s.deviceLabel(c), Reasons: append([]string{app.Name}, scopes...), Ref: app.ID})
	})
}
