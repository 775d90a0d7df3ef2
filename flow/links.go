package flow

import (
	"context"
	"errors"
	"time"

	"github.com/wardhq/ward/keys"
	"github.com/wardhq/ward/store"
)

// Purposes of the single-use tokens that links in mail carry.
const (
	// linkNotMe is "this wasn't me" in a code mail.
	linkNotMe = "not_me"
	// linkNotMine is "not my account" in a reset mail to a contact.
	linkNotMine = "not_mine"
	// linkConfirmContact lets a new contact recover the account at once.
	linkConfirmContact = "confirm_contact"
)

// newLink stores a single-use link token (lt without its ID and hash) and
// returns the token the link carries; only its hash is kept.
func newLink(ctx context.Context, q store.Queries, lt store.LinkToken) (string, error) {
	tok := keys.Token()
	lt.ID, lt.TokenHash = store.NewID(), keys.HashToken(tok)
	return tok, q.CreateLinkToken(ctx, lt)
}

// link returns the live token of purpose a link carries: the same answer
// for one that never existed, one used and one expired.
func (s *Service) link(ctx context.Context, token, purpose string, now time.Time) (store.LinkToken, error) {
	lt, err := s.Store.LinkTokenByHash(ctx, keys.HashToken(token))
	if errors.Is(err, store.ErrNotFound) || err == nil && (lt.Purpose != purpose || lt.UsedAt != nil || !now.Before(lt.ExpiresAt)) {
		return lt, fail(ErrLinkInvalid, "this link was already used or has expired")
	}
	return lt, err
}

// useLink spends a link token and ends the flow that sent it, whether it
// still waits for its code or for a new password: the link said the mail
// was not wanted.
func useLink(ctx context.Context, q store.Queries, lt store.LinkToken, now time.Time) error {
	if err := q.UseLinkToken(ctx, lt.ID, now); err != nil {
		return err
	}
	if lt.FlowID == "" {
		return nil
	}
	_, err := q.EndFlow(ctx, lt.FlowID, []string{stateCodeSent, stateCodeOK}, stateCancelled, now)
	return err
}
