package flow

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/wardhq/ward/account"
	"github.com/wardhq/ward/activity"
	"github.com/wardhq/ward/store"
	"github.com/wardhq/ward/throttle"
)

// StartReset begins "forgot password": a code to the account's email. The
// answer for an unknown email is the same, and sending happens later, so
// neither the body nor the time taken tells whether the account exists.
func (s *Service) StartReset(ctx context.Context, c Client, identifier, lang string) (*Pending, error) {
	return s.start(ctx, c, KindReset, identifier, lang)
}

// ResetVia sends the reset code to another recovery contact instead, which
// the person types in full. Listing an account's contacts to whoever types
// an email would tell strangers which accounts exist and how to reach
// their owners; asking for the full contact tells nothing. The code goes
// out only if the contact is a verified contact of the account; the answer
// is the same either way.
func (s *Service) ResetVia(ctx context.Context, c Client, token, contact string) (*Pending, error) {
	now := s.Now().UTC()
	f, err := s.flowFor(ctx, token, now)
	if err != nil {
		return nil, err
	}
	if f.Kind != KindReset || f.State != stateCodeSent {
		return nil, fail(ErrFlowInvalid, "this reset has ended; start again")
	}
	kind, value, err := parseContact(contact)
	if err != nil {
		return nil, err
	}
	f.Channel, f.Recipient = channelFor(kind), value
	send, err := s.isContact(ctx, f.AccountID, f.Channel, f.Recipient, true)
	if err != nil {
		return nil, err
	}
	return s.reissue(ctx, c, f, token, send, now)
}

func parseContact(s string) (kind, value string, err error) {
	if strings.Contains(s, "@") {
		v, err := account.NormalizeEmail(s)
		if err != nil {
			return "", "", inputError(err)
		}
		return store.ContactEmail, v, nil
	}
	v, err := account.NormalizePhone(s)
	if err != nil {
		return "", "", inputError(err)
	}
	return store.ContactPhone, v, nil
}

func inputError(err error) error {
	var ie *account.InputError
	if errors.As(err, &ie) {
		return &Error{Code: ErrInvalidInput, Field: ie.Field, Message: ie.Msg, Key: ie.Key, Args: ie.Args}
	}
	return err
}

// CompleteReset sets the new password once the code was verified; every
// session of the account ends, and every contact is told.
func (s *Service) CompleteReset(ctx context.Context, c Client, token, password string) error {
	now := s.Now().UTC()
	f, err := s.flowFor(ctx, token, now)
	if err != nil {
		return err
	}
	if f.Kind != KindReset || f.State != stateCodeOK || f.AccountID == "" {
		return fail(ErrFlowInvalid, "confirm the code first, or start again")
	}
	a, err := s.Store.AccountByID(ctx, f.AccountID)
	if err != nil {
		return err
	}
	hash, err := s.newPasswordHash(ctx, a, password)
	if err != nil {
		return err
	}
	err = s.Store.InTx(ctx, func(q store.Queries) error {
		if err := q.AdvanceFlow(ctx, f.ID, stateCodeOK, stateDone, now); err != nil {
			return err
		}
		if err := s.setPassword(ctx, q, a, hash, "", c, activity.PasswordReset, now); err != nil {
			return err
		}
		// A reset proves the owner by another route: password and code
		// sign-in, if turned off after failures, work again everywhere.
		return resetAllFailures(ctx, q, f.Subject, throttle.FactorPassword, throttle.FactorEmailCode, throttle.FactorSMSCode)
	})
	if errors.Is(err, store.ErrConflict) {
		return fail(ErrFlowInvalid, "this reset was already completed")
	}
	if err != nil {
		return err
	}
	return nil
}

// notMineLink makes the single-use "not my account" link for a reset mail,
// when its recipient is a contact of the account.
func (s *Service) notMineLink(ctx context.Context, q store.Queries, f store.Flow, now time.Time) (string, error) {
	cs, err := q.ContactsByAccount(ctx, f.AccountID)
	if err != nil {
		return "", err
	}
	for _, ct := range cs {
		if ct.Value == f.Recipient && contactKind(f.Channel) == ct.Kind {
			return newLink(ctx, q, store.LinkToken{Purpose: linkNotMine, AccountID: f.AccountID, ContactID: ct.ID, FlowID: f.ID,
				CreatedAt: now, ExpiresAt: now.Add(s.Limits.NotMineTTL)})
		}
	}
	return "", nil
}

// AddressRemoval describes what following a "not my account" link would do.
type AddressRemoval struct {
	Contact string
	// Primary contacts are the account's sign-in name and cannot be
	// removed; the link then cancels the reset and reports it.
	Primary bool
}

func (s *Service) notMineToken(ctx context.Context, token string, now time.Time) (store.LinkToken, error) {
	return s.link(ctx, token, linkNotMine, now)
}

// DescribeAddressRemoval reads a link without acting on it: mail scanners fetch links,
// and a fetch must change nothing.
func (s *Service) DescribeAddressRemoval(ctx context.Context, token string) (AddressRemoval, error) {
	lt, err := s.notMineToken(ctx, token, s.Now().UTC())
	if err != nil {
		return AddressRemoval{}, err
	}
	ct, err := s.Store.ContactByID(ctx, lt.ContactID)
	if errors.Is(err, store.ErrNotFound) {
		return AddressRemoval{}, fail(ErrLinkInvalid, "this address was already removed")
	}
	if err != nil {
		return AddressRemoval{}, err
	}
	return AddressRemoval{Contact: account.Mask(ct.Kind, ct.Value), Primary: ct.Primary}, nil
}

// RemoveAddress acts on the link: the reset it came with is cancelled and
// the reader's address is removed from the account (unless it is the
// account's sign-in email, which only its owner can change).
func (s *Service) RemoveAddress(ctx context.Context, c Client, token string) (AddressRemoval, error) {
	now := s.Now().UTC()
	lt, err := s.notMineToken(ctx, token, now)
	if err != nil {
		return AddressRemoval{}, err
	}
	var out AddressRemoval
	err = s.Store.InTx(ctx, func(q store.Queries) error {
		if err := useLink(ctx, q, lt, now); err != nil {
			return err
		}
		ct, err := q.ContactByID(ctx, lt.ContactID)
		if err != nil {
			return err
		}
		out = AddressRemoval{Contact: account.Mask(ct.Kind, ct.Value), Primary: ct.Primary}
		ev := store.Event{AccountID: lt.AccountID, Kind: activity.NotMineReported, Result: activity.Success, Method: ct.Kind, IP: c.IP,
			Device: s.deviceLabel(c), FlowID: lt.FlowID, Reasons: []string{"not_my_account"}}
		if !ct.Primary {
			if err := q.DeleteContact(ctx, ct.ID); err != nil {
				return err
			}
			ev.Kind = activity.ContactRemoved
		}
		return activity.Record(ctx, q, now, ev)
	})
	if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) {
		return AddressRemoval{}, fail(ErrLinkInvalid, "this link was already used or has expired")
	}
	return out, err
}
