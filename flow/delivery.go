package flow

import (
	"context"
	"errors"
	"time"

	"github.com/wardhq/ward/account"
	"github.com/wardhq/ward/notify"
	"github.com/wardhq/ward/store"
)

// Delivery is what a person may see of where their code went.
type Delivery struct {
	// Status is the outbox's status (queued, sending, sent, retrying,
	// failed, expired). Before anything is proven it is only "requested":
	// the same for every email, known or not (see Service.Delivery).
	Status       string
	Channel      string
	Destination  string
	At           time.Time
	Detail       string
	NextTryAt    time.Time
	Alternatives []Alternative
}

// Alternative is another verified contact the code can go to.
type Alternative struct {
	ID          string
	Channel     string
	Destination string
}

// SlowAfter is how long a code may wait in the outbox before ward offers
// another channel.
const SlowAfter = 30 * time.Second

// Delivery reports what happened to the flow's newest code. For a step-up
// the person has proven their password, so ward shows the outbox's real
// status and, when delivery failed or is slow, their other verified
// contacts. For a passwordless sign-in or a reset nothing is proven yet:
// whoever typed the email would learn from a real status (or from its
// absence) whether an account exists, so the answer is only "requested".
func (s *Service) Delivery(ctx context.Context, token string) (*Delivery, error) {
	now := s.Now().UTC()
	f, cd, err := s.waiting(ctx, token)
	if err != nil {
		return nil, err
	}
	d := &Delivery{Status: "requested", Channel: f.Channel, Destination: account.Mask(contactKind(f.Channel), f.Recipient), At: cd.CreatedAt}
	if f.Kind != KindStepUp {
		return d, nil
	}
	ms, err := s.Store.MessagesByFlow(ctx, f.ID)
	if err != nil {
		return nil, err
	}
	var m *store.Message
	for i := range ms {
		if ms[i].Kind == notify.KindCode && ms[i].Recipient == f.Recipient {
			m = &ms[i]
			break
		}
	}
	if m == nil {
		return d, nil
	}
	d.Status, d.At = m.Status, m.CreatedAt
	switch m.Status {
	case store.MessageSent:
		d.At, d.Detail = *m.SentAt, m.Relay
	case store.MessageRetrying:
		d.NextTryAt, d.Detail = m.NextAt, "the mail server did not take it yet; ward keeps trying"
	case store.MessageFailed:
		d.Detail = "the message could not be delivered"
	case store.MessageExpired:
		d.Detail = "the code expired before it could be delivered"
	}
	stuck := m.Status != store.MessageSent && now.Sub(m.CreatedAt) >= SlowAfter
	if m.Status == store.MessageFailed || m.Status == store.MessageExpired || stuck {
		cs, err := s.Store.ContactsByAccount(ctx, f.AccountID)
		if err != nil {
			return nil, err
		}
		for _, ct := range cs {
			if ct.VerifiedAt == nil || ct.Value == f.Recipient {
				continue
			}
			d.Alternatives = append(d.Alternatives, Alternative{ID: ct.ID, Channel: channelFor(ct.Kind), Destination: account.Mask(ct.Kind, ct.Value)})
		}
	}
	return d, nil
}

// SendVia sends a step-up's code to another verified contact of the
// account, after delivery to the first failed or was slow.
func (s *Service) SendVia(ctx context.Context, c Client, token, contactID string) (*Pending, error) {
	now := s.Now().UTC()
	f, err := s.flowFor(ctx, token, now)
	if err != nil {
		return nil, err
	}
	if f.Kind != KindStepUp || f.State != stateCodeSent {
		return nil, fail(ErrFlowInvalid, "another channel is offered only while a sign-in waits for its code")
	}
	ct, err := s.Store.ContactByID(ctx, contactID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && (ct.AccountID != f.AccountID || ct.VerifiedAt == nil)) {
		return nil, invalid("input_choose_contact")
	}
	if err != nil {
		return nil, err
	}
	f.Channel, f.Recipient = channelFor(ct.Kind), ct.Value
	return s.reissue(ctx, c, f, token, true, now)
}
