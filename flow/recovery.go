package flow

import (
	"context"
	"errors"
	"time"

	"github.com/wardhq/ward/activity"
	"github.com/wardhq/ward/notify"
	"github.com/wardhq/ward/recovery"
	"github.com/wardhq/ward/store"
	"github.com/wardhq/ward/throttle"
)

// recoveryDigest is how a recovery code is kept: a digest keyed with the
// server's key and bound to the account.
func (s *Service) recoveryDigest(accountID, normalized string) string {
	return s.Keys.Identifier("recovery:"+accountID, normalized)
}

// NewRecoveryCodes makes a new set of recovery codes, voiding the old
// ones, and returns them to be shown once. Every verified contact is told.
func (s *Service) NewRecoveryCodes(ctx context.Context, c Client, sess store.Session) ([]string, error) {
	now := s.Now().UTC()
	if err := s.needFresh(ctx, sess, now); err != nil {
		return nil, err
	}
	var codes []string
	err := s.Store.InTx(ctx, func(q store.Queries) error {
		var err error
		if codes, err = s.replaceRecoveryCodes(ctx, q, sess.AccountID, now); err != nil {
			return err
		}
		return s.methodChanged(ctx, q, c, sess.AccountID, activity.RecoveryCodesMade, notify.ChangeAdded, notify.ChangeRecoveryCodes, "", "", now)
	})
	return codes, err
}

func (s *Service) replaceRecoveryCodes(ctx context.Context, q store.Queries, accountID string, now time.Time) ([]string, error) {
	codes, err := recovery.NewSet()
	if err != nil {
		return nil, err
	}
	kept := make([]recovery.Code, len(codes))
	for i, c := range codes {
		n, err := recovery.Normalize(c)
		if err != nil {
			return nil, err
		}
		kept[i] = recovery.Code{ID: store.NewID(), AccountID: accountID, Digest: s.recoveryDigest(accountID, n), CreatedAt: now}
	}
	return codes, q.ReplaceRecoveryCodes(ctx, accountID, kept)
}

// RecoveryCodesLeft counts the account's unused recovery codes.
func (s *Service) RecoveryCodesLeft(ctx context.Context, sess store.Session) (int, error) {
	return s.Store.RecoveryCodesLeft(ctx, sess.AccountID)
}

// useRecoveryCode uses up a recovery code inside the caller's transaction,
// under the factor's failure counter, and tells every verified contact. It
// returns the answer for a wrong code, or nil.
func (s *Service) useRecoveryCode(ctx context.Context, q store.Queries, c Client, subject, accountID, input string, now time.Time) (error, error) {
	counter, err := s.lockCounter(ctx, q, subject, accountID, c, throttle.FactorRecoveryCode, false, now)
	if err != nil {
		return nil, err
	}
	n, ferr := recovery.Normalize(input)
	if ferr != nil {
		e := invalid("input_recovery_shape")
		e.Field = "code"
		return e, nil
	}
	switch err := q.UseRecoveryCode(ctx, accountID, s.recoveryDigest(accountID, n), now); {
	case err == nil:
		if err := counter.clear(ctx, q, throttle.FactorRecoveryCode); err != nil {
			return nil, err
		}
		return nil, s.tellChange(ctx, q, c, accountID, notify.ChangeUsed, notify.ChangeRecoveryCodes, "", now)
	case !errors.Is(err, store.ErrNotFound):
		return nil, err
	}
	return s.wrongProof(ctx, q, c, accountID, counter.subject, throttle.FactorRecoveryCode, "that recovery code is not right, or was already used", now)
}
