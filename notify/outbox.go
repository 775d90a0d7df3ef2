package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/wardhq/ward/jobs"
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

// Outbox delivers queued messages, one at a time, for whatever runs the
// tasks (package jobs) and records each outcome on the message.
type Outbox struct {
	Store    store.Store
	Composer *Composer
	Sender   Sender
	Log      *slog.Logger
	Now      func() time.Time
	// DevChannels are the channels delivered to the dev mailbox: their codes
	// stay readable after sending, the mailbox's whole point being to show them.
	DevChannels map[string]bool
	MaxAttempts int
	// Backoff is the wait before attempt n+1.
	Backoff func(n int) time.Duration
	// Delivered, when set, is told of each attempt's outcome: the
	// message's channel and its status after it.
	Delivered func(channel, status string)
}

// MaxAttempts is how often a message is tried before it is failed,
// unless an Outbox says otherwise (the queue retries as often).
const MaxAttempts = 12

// maxAttempts is the Outbox's MaxAttempts or the default. Workers run
// concurrently, so the default is read, never written back.
func (o *Outbox) maxAttempts() int {
	if o.MaxAttempts == 0 {
		return MaxAttempts
	}
	return o.MaxAttempts
}

// RetryAfter is the wait before the attempt after attempt n.
func (o *Outbox) RetryAfter(n int) time.Duration {
	if o.Backoff == nil {
		return Backoff(n)
	}
	return o.Backoff(n)
}

// DeliverOne delivers the message with id (attempt counts from 1) and
// records the outcome. It returns an error when the message should be
// tried again; final means no further try will come, so a failure is final.
// A message already sent, failed or expired is left alone: a job that runs
// twice (after a crash) sends nothing twice.
func (o *Outbox) DeliverOne(ctx context.Context, id string, attempt int, final bool) error {
	// The message as its writer committed it, when this instance wrote it
	// and runs its first attempt: only its delivery changes a message, and
	// that is this one, so it is what a read would find.
	m, ok := jobs.Hint(ctx).(store.Message)
	if !ok || m.ID != id {
		var err error
		if m, err = o.Store.MessageByID(ctx, id); err != nil {
			return fmt.Errorf("loading message %s: %w", id, err)
		}
	}
	switch m.Status {
	case store.MessageSent, store.MessageFailed, store.MessageExpired:
		return nil
	}
	m.Attempts = attempt
	if final {
		m.Attempts = max(attempt, o.maxAttempts())
	}
	m = o.deliver(ctx, m)
	// The outcome and the end of the delivery's task are one commit. A
	// task another instance took over meanwhile is left to it; the
	// outcome is recorded all the same, as the relay has answered. Nothing
	// here reads a result, so on PostgreSQL this is one round trip.
	err := o.Store.InTx(ctx, func(q store.Queries) error {
		if err := q.UpdateMessage(ctx, m); err != nil {
			return err
		}
		if m.Status != store.MessageRetrying {
			return jobs.FinishIfHeld(ctx, q)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("recording delivery of %s: %w", id, err)
	}
	if o.Delivered != nil {
		o.Delivered(m.Channel, m.Status)
	}
	if m.Status == store.MessageRetrying {
		return fmt.Errorf("delivery of %s will be retried: %s", id, m.LastError)
	}
	return nil
}

// deliver tries one message and returns it with the outcome filled in.
func (o *Outbox) deliver(ctx context.Context, m store.Message) store.Message {
	now := o.Now().UTC()
	if m.ExpiresAt != nil && !now.Before(*m.ExpiresAt) {
		// A code that expired on the way is useless: the person asks again.
		m.Status, m.Secret, m.LastError = store.MessageExpired, nil, "expired before it could be delivered"
		return m
	}
	// The dev mailbox logs the text, and shows it from the stored row.
	render := o.Composer.Render
	if o.DevChannels[m.Channel] {
		render = o.Composer.RenderText
	}
	r, err := render(m)
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
	case errors.As(err, &perm) || m.Attempts >= o.maxAttempts():
		m.Status, m.LastError, m.Secret = store.MessageFailed, err.Error(), nil
		o.Log.Warn("outbox: delivery failed", "message", m.ID, "kind", m.Kind, "attempts", m.Attempts, "err", err)
	default:
		m.Status, m.LastError, m.NextAt = store.MessageRetrying, err.Error(), now.Add(o.RetryAfter(m.Attempts))
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

// DevMailboxReply is the dev mailbox's answer to a message it takes.
const DevMailboxReply = "stored in the dev mailbox"

// Send notes the message; the outbox row is the mailbox.
func (d DevMailbox) Send(ctx context.Context, m Rendered) (string, error) {
	d.Log.Info("dev mailbox: message delivered (no mail relay configured)", "to", m.To, "subject", m.Subject, "code", m.Code)
	return DevMailboxReply, nil
}
