package flow

import (
	"context"
	"log/slog"

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
		return activity.Record(ctx, q, now, store.Event{AccountID: sess.AccountID, Kind: activity.AppRevoked, Result: activity.Success,
			IP: c.IP, Device: s.deviceLabel(c), Reasons: []string{app.Name}, Ref: app.ID})
	})
}
