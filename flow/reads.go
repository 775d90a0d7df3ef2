package flow

import (
	"context"
	"fmt"
	"time"

	"github.com/wardhq/ward/store"
)

// What a signed-in person may read of their own account. Each read says
// when it failed: a page must never show an empty dashboard for a
// database that did not answer.

// Account is the signed-in account.
func (s *Service) Account(ctx context.Context, sess store.Session) (store.Account, error) {
	a, err := s.Store.AccountByID(ctx, sess.AccountID)
	if err != nil {
		return a, fmt.Errorf("reading the signed-in account: %w", err)
	}
	return a, nil
}

// Activity is one page of the account's activity, newest first, before
// a time (zero: now); with result, only events of that result.
func (s *Service) Activity(ctx context.Context, sess store.Session, result string, before time.Time, limit int) ([]store.Event, error) {
	var evs []store.Event
	var err error
	if result != "" {
		evs, err = s.Store.EventsWithResult(ctx, sess.AccountID, result, before, limit)
	} else {
		evs, err = s.Store.Events(ctx, sess.AccountID, before, limit)
	}
	if err != nil {
		return nil, fmt.Errorf("reading activity: %w", err)
	}
	return evs, nil
}

// LiveSessions are the account's live sessions.
func (s *Service) LiveSessions(ctx context.Context, sess store.Session) ([]store.Session, error) {
	list, err := s.Store.SessionsByAccount(ctx, sess.AccountID, s.Now().UTC())
	if err != nil {
		return nil, fmt.Errorf("reading sessions: %w", err)
	}
	return list, nil
}

// Devices are the devices that signed in to the account.
func (s *Service) Devices(ctx context.Context, sess store.Session) ([]store.Device, error) {
	list, err := s.Store.DevicesByAccount(ctx, sess.AccountID)
	if err != nil {
		return nil, fmt.Errorf("reading devices: %w", err)
	}
	return list, nil
}
