package flow

import (
	"context"
	"fmt"
	"time"

	"github.com/wardhq/ward/activity"
	"github.com/wardhq/ward/notify"
	"github.com/wardhq/ward/risk"
	"github.com/wardhq/ward/store"
)

// Notices an account can choose to get, and on which channels.
var noticeEvents = []string{notify.KindNewSignIn, notify.KindSecurityChanged, notify.KindPasswordChanged}

// alwaysOn are the notices that cannot be turned off by email: whoever
// takes an account over would turn them off first.
var alwaysOn = map[string]bool{notify.KindSecurityChanged + "/" + notify.Email: true, notify.KindPasswordChanged + "/" + notify.Email: true}

// Notification is one event × channel setting.
type Notification struct {
	Event   string
	Channel string
	On      bool
	Locked  bool
}

// Notifications lists the account's settings, defaults filled in.
func (s *Service) Notifications(ctx context.Context, sess store.Session) ([]Notification, error) {
	prefs, err := s.Store.NotificationPrefs(ctx, sess.AccountID)
	if err != nil {
		return nil, err
	}
	var out []Notification
	for _, ev := range noticeEvents {
		for _, ch := range []string{notify.Email, notify.SMS} {
			key := ev + "/" + ch
			on, set := prefs[key]
			out = append(out, Notification{Event: ev, Channel: ch, On: !set || on || alwaysOn[key], Locked: alwaysOn[key]})
		}
	}
	return out, nil
}

// SetNotifications saves the settings given (others keep theirs); locked
// ones stay on.
func (s *Service) SetNotifications(ctx context.Context, c Client, sess store.Session, on map[string]bool) error {
	now := s.Now().UTC()
	return s.Store.InTx(ctx, func(q store.Queries) error {
		for _, ev := range noticeEvents {
			for _, ch := range []string{notify.Email, notify.SMS} {
				key := ev + "/" + ch
				want, given := on[key]
				if !given || alwaysOn[key] {
					continue
				}
				if err := q.SetNotificationPref(ctx, sess.AccountID, ev, ch, want); err != nil {
					return err
				}
			}
		}
		return activity.Record(ctx, q, now, store.Event{AccountID: sess.AccountID, Kind: activity.NotificationsChanged, Result: activity.Success,
			IP: c.IP, Device: s.deviceLabel(c)})
	})
}

// wants reports whether the account gets notice kind on channel.
func wants(prefs map[string]bool, kind, channel string) bool {
	key := kind + "/" + channel
	on, set := prefs[key]
	return !set || on || alwaysOn[key]
}

// tellContacts queues notice r to every verified contact that wants it,
// except skip; each, when given, may add to one contact's copy.
func (s *Service) tellContacts(ctx context.Context, q store.Queries, accountID, skip string, r notify.Request, now time.Time,
	each func(ct store.Contact, req *notify.Request) error) error {
	prefs, err := q.NotificationPrefs(ctx, accountID)
	if err != nil {
		return err
	}
	cs, err := q.ContactsByAccount(ctx, accountID)
	if err != nil {
		return err
	}
	for _, ct := range cs {
		if ct.ID == skip || ct.VerifiedAt == nil || !wants(prefs, r.Kind, channelFor(ct.Kind)) {
			continue
		}
		req := r
		req.Channel, req.To, req.AccountID, req.RequestedAt = channelFor(ct.Kind), ct.Value, accountID, now
		if each != nil {
			if err := each(ct, &req); err != nil {
				return err
			}
		}
		if _, err := s.Composer.Queue(ctx, q, req); err != nil {
			return fmt.Errorf("telling %s: %w", ct.Kind, err)
		}
	}
	return nil
}

// notifyNewSignIn tells every verified contact about a sign-in from a new
// device or country, once the account has signed in before.
func (s *Service) notifyNewSignIn(ctx context.Context, q store.Queries, accountID string, c Client, now time.Time) error {
	a, err := q.AccountByID(ctx, accountID)
	if err != nil {
		return err
	}
	return s.tellContacts(ctx, q, accountID, "", notify.Request{Kind: notify.KindNewSignIn, Language: a.Language, IP: c.IP, Device: s.deviceLabel(c),
		Place: s.place(c.IP, a.Language)}, now, nil)
}

// newSignIn reports whether a sign-in should be announced: from a device
// (or, per the risk reasons, a country) the account had not used, when it
// had signed in before.
func newSignIn(q store.Queries, ctx context.Context, accountID string, newDevice bool, reasons []string) (bool, error) {
	if !newDevice && !risk.Has(reasons, risk.NewCountry) {
		return false, nil
	}
	past, err := q.SignIns(ctx, accountID, 1)
	return len(past) > 0, err
}
