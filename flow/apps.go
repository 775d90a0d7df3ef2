package flow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

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
		return invalid("input_no_such_app")
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

// AppLogout tells an app that a sign-in it got through ward has ended
// (OpenID Connect back-channel logout). The provider implements it.
type AppLogout interface {
	Logout(ctx context.Context, app openid.Client, accountID string) error
}

// logoutJob is the telling of one app, left for later so that a slow or
// failing app never holds up the sign-out, and is retried until it hears.
type logoutJob struct {
	ClientID  string    `json:"client_id"`
	AccountID string    `json:"account_id"`
	At        time.Time `json:"at"`
}

// logoutAD binds a sealed logout job to its purpose (RunLater tells the
// kinds of deferred work apart by it).
var logoutAD = []byte("ward flow: app logout")

// tellApps leaves a logout notice for each app that has a back-channel
// logout URI, in the caller's transaction: the notices go if and only if
// the sessions end.
func (s *Service) tellApps(ctx context.Context, q store.Queries, accountID string, apps []string, now time.Time) error {
	if s.Logouts == nil || s.Later == nil {
		return nil
	}
	for _, id := range apps {
		app, err := q.ClientByID(ctx, id)
		if errors.Is(err, store.ErrNotFound) || err == nil && app.BackchannelLogoutURI == "" {
			continue
		}
		if err != nil {
			return err
		}
		b, err := json.Marshal(logoutJob{ClientID: id, AccountID: accountID, At: now})
		if err != nil {
			return err
		}
		if err := s.Later.Defer(ctx, q, s.Keys.Seal(b, logoutAD)); err != nil {
			return fmt.Errorf("leaving a logout notice for %s: %w", id, err)
		}
	}
	return nil
}

// runLogout tells one app, from a logout job.
func (s *Service) runLogout(ctx context.Context, plain []byte) error {
	var j logoutJob
	if err := json.Unmarshal(plain, &j); err != nil {
		return fmt.Errorf("reading a logout notice: %w", err)
	}
	app, err := s.Store.ClientByID(ctx, j.ClientID)
	if errors.Is(err, store.ErrNotFound) {
		return nil // the app was removed since
	}
	if err != nil {
		return err
	}
	return s.Logouts.Logout(ctx, app, j.AccountID)
}
