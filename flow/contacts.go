package flow

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/wardhq/ward/account"
	"github.com/wardhq/ward/activity"
	"github.com/wardhq/ward/audit"
	"github.com/wardhq/ward/notify"
	"github.com/wardhq/ward/store"
)

// States a verified code leaves a security-info flow in.
const (
	StateConfirmed    = "confirmed"
	StateContactAdded = "contact_added"
)

// fresh reports whether the session proved its owner recently enough to
// change security info: signed in or stepped up within Limits.FreshFor.
func (s *Service) fresh(sess store.Session, now time.Time) bool {
	last := sess.CreatedAt
	if sess.StepUpAt != nil && sess.StepUpAt.After(last) {
		last = *sess.StepUpAt
	}
	return now.Sub(last) < s.Limits.FreshFor
}

// StartReauth sends a code to the account's email; the right code makes
// the session fresh again for changes to security info.
func (s *Service) StartReauth(ctx context.Context, c Client, sess store.Session) (*Pending, error) {
	a, err := s.Store.AccountByID(ctx, sess.AccountID)
	if err != nil {
		return nil, err
	}
	// An email code proves nothing that a second factor does not: an
	// account that has one steps up with it (StepUp).
	if second, err := hasSecondFactor(ctx, s.Store, a.ID); err != nil {
		return nil, err
	} else if second {
		return nil, errStrongerProof()
	}
	return s.startFor(ctx, c, sess, KindReauth, notify.Email, a.Email, a.Language)
}

// StartAddContact begins adding an email or phone: a code goes to the new
// contact, and the right code adds it (see addContact). The session must
// be fresh.
func (s *Service) StartAddContact(ctx context.Context, c Client, sess store.Session, input string) (*Pending, error) {
	now := s.Now().UTC()
	if err := s.needFresh(ctx, sess, now); err != nil {
		return nil, err
	}
	kind, value, err := parseContact(input)
	if err != nil {
		return nil, err
	}
	cs, err := s.Store.ContactsByAccount(ctx, sess.AccountID)
	if err != nil {
		return nil, err
	}
	for _, ct := range cs {
		if ct.Kind == kind && ct.Value == value {
			e := invalid("input_contact_already_" + kind)
			e.Field = "contact"
			return nil, e
		}
	}
	a, err := s.Store.AccountByID(ctx, sess.AccountID)
	if err != nil {
		return nil, err
	}
	return s.startFor(ctx, c, sess, KindAddContact, channelFor(kind), value, a.Language)
}

// startFor opens a flow of a signed-in session and sends its first code.
func (s *Service) startFor(ctx context.Context, c Client, sess store.Session, kind, channel, recipient, lang string) (*Pending, error) {
	now := s.Now().UTC()
	a, err := s.Store.AccountByID(ctx, sess.AccountID)
	if err != nil {
		return nil, err
	}
	f, tok := s.newFlow(kind, a.ID, s.subject(a.ID, a.Email), recipient, channel, c, now)
	f.SessionID = sess.ID
	return s.open(ctx, c, f, tok, lang, true, now)
}

// addContact runs inside the verifying transaction: the contact joins the
// account, verified, but cannot recover it for Limits.RecoveryWait unless
// an existing contact confirms it; every other contact is told.
func (s *Service) addContact(ctx context.Context, q store.Queries, f store.Flow, c Client, now time.Time) error {
	wait := now.Add(s.Limits.RecoveryWait)
	ct := store.Contact{ID: store.NewID(), AccountID: f.AccountID, Kind: contactKind(f.Channel), Value: f.Recipient, VerifiedAt: &now,
		CreatedAt: now, RecoveryAfter: &wait}
	if err := q.CreateContact(ctx, ct); err != nil {
		return err
	}
	if err := activity.Record(ctx, q, now, store.Event{AccountID: f.AccountID, Kind: activity.ContactAdded, Result: activity.Success,
		Method: ct.Kind, IP: c.IP, Device: s.deviceLabel(c), Reasons: []string{account.Mask(ct.Kind, ct.Value)}, Ref: ct.ID}); err != nil {
		return err
	}
	return s.tellOthers(ctx, q, f.AccountID, ct, notify.ChangeAdded, c, now)
}

// tellOthers notifies every other verified contact of a change to ct; the
// mail for an added contact carries a link that confirms it for recovery
// at once.
func (s *Service) tellOthers(ctx context.Context, q store.Queries, accountID string, changed store.Contact, what string, c Client, now time.Time) error {
	a, err := q.AccountByID(ctx, accountID)
	if err != nil {
		return err
	}
	r := notify.Request{Kind: notify.KindSecurityChanged, Language: a.Language, IP: c.IP, Device: s.deviceLabel(c), Place: s.place(c.IP, a.Language),
		Change: &notify.Change{What: what, Kind: changed.Kind, Value: account.Mask(changed.Kind, changed.Value)}, Count: int(s.Limits.RecoveryWait.Hours() / 24)}
	return s.tellContacts(ctx, q, accountID, changed.ID, r, now, func(ct store.Contact, req *notify.Request) error {
		if what != notify.ChangeAdded || ct.Kind != store.ContactEmail || !recoverable(ct, now) {
			return nil
		}
		var err error
		req.ConfirmToken, err = newLink(ctx, q, store.LinkToken{Purpose: linkConfirmContact, AccountID: accountID, ContactID: changed.ID,
			CreatedAt: now, ExpiresAt: now.Add(s.Limits.RecoveryWait)})
		return err
	})
}

// RemoveContact takes a contact off the account (not its sign-in email).
// The session must be fresh; the other contacts are told.
func (s *Service) RemoveContact(ctx context.Context, c Client, sess store.Session, id string) error {
	now := s.Now().UTC()
	if err := s.needFresh(ctx, sess, now); err != nil {
		return err
	}
	ct, err := s.Store.ContactByID(ctx, id)
	if errors.Is(err, store.ErrNotFound) || err == nil && ct.AccountID != sess.AccountID {
		s.Audit.Record(ctx, audit.ForeignID, "refused", slog.String("account", sess.AccountID), slog.String("contact_named", id))
		return invalid("input_no_such_contact")
	}
	if err != nil {
		return err
	}
	if ct.Primary {
		return invalid("input_primary_contact")
	}
	return s.Store.InTx(ctx, func(q store.Queries) error {
		if err := s.tellOthers(ctx, q, sess.AccountID, ct, notify.ChangeRemoved, c, now); err != nil {
			return err
		}
		if err := q.DeleteContact(ctx, ct.ID); err != nil {
			return err
		}
		return activity.Record(ctx, q, now, store.Event{AccountID: sess.AccountID, Kind: activity.ContactRemoved, Result: activity.Success,
			Method: ct.Kind, IP: c.IP, Device: s.deviceLabel(c), Reasons: []string{account.Mask(ct.Kind, ct.Value)}})
	})
}

// Contacts lists the account's contacts for its owner.
func (s *Service) Contacts(ctx context.Context, sess store.Session) ([]store.Contact, error) {
	cs, err := s.Store.ContactsByAccount(ctx, sess.AccountID)
	if err != nil {
		return nil, fmt.Errorf("reading contacts: %w", err)
	}
	return cs, nil
}

// ConfirmContact is the link in the mail to an existing contact: the new
// contact may recover the account at once. Only a POST acts on it (the
// GET page asks first): mail scanners fetch links.
func (s *Service) ConfirmContact(ctx context.Context, c Client, token string) (string, error) {
	now := s.Now().UTC()
	lt, err := s.link(ctx, token, linkConfirmContact, now)
	if err != nil {
		return "", err
	}
	var masked string
	err = s.Store.InTx(ctx, func(q store.Queries) error {
		ct, err := q.ContactByID(ctx, lt.ContactID)
		if err != nil {
			return err
		}
		masked = account.Mask(ct.Kind, ct.Value)
		if err := q.UseLinkToken(ctx, lt.ID, now); err != nil {
			return err
		}
		if err := q.SetContactRecoveryAfter(ctx, ct.ID, nil); err != nil {
			return err
		}
		return activity.Record(ctx, q, now, store.Event{AccountID: lt.AccountID, Kind: activity.ContactConfirmed, Result: activity.Success,
			Method: ct.Kind, IP: c.IP, Device: s.deviceLabel(c), Reasons: []string{masked}})
	})
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrConflict) {
		return "", fail(ErrLinkInvalid, "this link was already used or has expired")
	}
	return masked, err
}

// recoverable reports whether a contact may be used to recover the account now.
func recoverable(ct store.Contact, now time.Time) bool {
	return ct.VerifiedAt != nil && (ct.RecoveryAfter == nil || !now.Before(*ct.RecoveryAfter))
}
