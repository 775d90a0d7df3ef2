package flow

import (
	"context"

	"github.com/wardhq/ward/activity"
	"github.com/wardhq/ward/store"
)

// AppSignIn records that a signed-in person was signed in to an app
// (OpenID Connect) with their session: the activity log says which app,
// and how the sign-in was proven.
func (s *Service) AppSignIn(ctx context.Context, c Client, sess store.Session, appID, appName string) error {
	return activity.Record(ctx, s.Store, s.Now().UTC(), store.Event{AccountID: sess.AccountID, Kind: activity.AppSignIn, Result: activity.Success,
		Method: sess.Method, IP: c.IP, Device: s.deviceLabel(c), Reasons: []string{appName}, Ref: appID})
}
