package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/wardhq/ward/store"
)

// Sender hands a rendered message to a channel (a mail relay, an SMS
// gateway, the dev mailbox) and returns the channel's reply.
type Sender interface {
	Send(ctx context.Context, m Rendered) (reply string, err error)
}

// PermanentError marks a failure that retrying cannot fix (an SMTP 5xx).
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Outbox delivers queued messages. Several instances may run against one
// database: each claims a message with a lease before sending it.
type Outbox struct {
	Store    store.Store
	Composer *Composer
	Sender   Sender
	Log      *slog.Logger
	Now      func() time.Time
	// DevChannels are the channels delivered to the dev mailbox: their codes
	// stay readable after sending, the mailbox's whole point being to show them.
	DevChannels map[string]bool
	Batch       int
	Workers     int // messages of a batch sent at once
	Lease       time.Duration
	Poll        time.Duration
	MaxAttempts int
	wake        chan struct{}
}

func (o *Outbox) defaults() {
	if o.Batch == 0 {
		o.Batch = 50
	}
	if o.Workers == 0 {
		o.Workers = 8
	}
	if o.Lease == 0 {
		o.Lease = time.Minute
	}
	if o.Poll == 0 {
		o.Poll = time.Second
	}
	if o.MaxAttempts == 0 {
		o.MaxAttempts = 12
	}
	if o.wake == nil {
		o.wake = make(chan struct{}, 1)
	}
}

// Wake asks the worker to look for messages now rather than at its next poll.
func (o *Outbox) Wake() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// Run delivers messages until ctx ends.
func (o *Outbox) Run(ctx context.Context) {
	o.defaults()
	for {
		n, err := o.Drain(ctx)
		if err != nil && ctx.Err() == nil {
			o.Log.Error("outbox: delivering messages", "err", err)
		}
		if n > 0 && err == nil {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-o.wake:
		case <-time.After(o.Poll):
		}
	}
}

// Drain claims one batch of due messages and delivers it.
func (o *Outbox) Drain(ctx context.Context) (int, error) {
	o.defaults()
	now := o.Now().UTC()
	var claimed []store.Message
	err := o.Store.InTx(ctx, func(q store.Queries) error {
		var err error
		claimed, err = q.ClaimMessages(ctx, now, now.Add(o.Lease), o.Batch)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("claiming messages: %w", err)
	}
	// Outcomes are recorded together, in one transaction per batch. A crash
	// before that leaves the leases to run out and the messages to be sent
	// again, with the same Message-ID: at least once, never lost.
	done := make([]store.Message, len(claimed))
	slots := make(chan struct{}, o.Workers)
	var wg sync.WaitGroup
	for i, m := range claimed {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			done[i] = o.deliver(ctx, m)
		})
	}
	wg.Wait()
	err = o.Store.InTx(ctx, func(q store.Queries) error {
		for _, m := range done {
			if err := q.UpdateMessage(ctx, m); err != nil {
				return fmt.Errorf("recording delivery of %s: %w", m.ID, err)
			}
		}
		return nil
	})
	return len(claimed), err
}

// deliver tries one message and returns it with the outcome filled in.
func (o *Outbox) deliver(ctx context.Context, m store.Message) store.Message {
	now := o.Now().UTC()
	m.LeasedUntil = nil
	if m.ExpiresAt != nil && !now.Before(*m.ExpiresAt) {
		// A code that expired on the way is useless: the person asks again.
		m.Status, m.Secret, m.LastError = store.MessageExpired, nil, "expired before it could be delivered"
		return m
	}
	r, err := o.Composer.Render(m)
	if err != nil {
		m.Status, m.LastError, m.Secret = store.MessageFailed, err.Error(), nil
		o.Log.Error("outbox: message cannot be rendered", "message", m.ID, "err", err)
		return m
	}
	reply, err := o.Sender.Send(ctx, r)
	now = o.Now().UTC()
	var perm *PermanentError
	switch {
	case err == nil:
		m.Status, m.Relay, m.SentAt, m.LastError = store.MessageSent, reply, &now, ""
		if !o.DevChannels[m.Channel] {
			m.Secret = nil
		}
	case errors.As(err, &perm) || m.Attempts >= o.MaxAttempts:
		m.Status, m.LastError, m.Secret = store.MessageFailed, err.Error(), nil
		o.Log.Warn("outbox: delivery failed", "message", m.ID, "kind", m.Kind, "attempts", m.Attempts, "err", err)
	default:
		m.Status, m.LastError, m.NextAt = store.MessageRetrying, err.Error(), now.Add(Backoff(m.Attempts))
		o.Log.Info("outbox: delivery will be retried", "message", m.ID, "attempts", m.Attempts, "next", m.NextAt, "err", err)
	}
	return m
}

// Backoff is the wait before attempt n+1: 5 s doubling, at most 10 min.
func Backoff(n int) time.Duration {
	d := 5 * time.Second
	for i := 1; i < n && d < 10*time.Minute; i++ {
		d *= 2
	}
	return min(d, 10*time.Minute)
}

// DevMailbox is the sender used until a relay is configured: messages stay
// in the database for /dev/mail, and codes are printed to the console.
type DevMailbox struct {
	Log *slog.Logger
}

// Send notes the message; the outbox row is the mailbox.
func (d DevMailbox) Send(ctx context.Context, m Rendered) (string, error) {
	d.Log.Info("dev mailbox: message delivered (no mail relay configured)", "to", m.To, "subject", m.Subject, "code", m.Code)
	return "stored in the dev mailbox", nil
}
