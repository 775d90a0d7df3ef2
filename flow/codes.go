package flow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/wardhq/ward/activity"
	"github.com/wardhq/ward/keys"
	"github.com/wardhq/ward/notify"
	"github.com/wardhq/ward/otp"
	"github.com/wardhq/ward/store"
	"github.com/wardhq/ward/throttle"
)

// Later keeps work for after a request's answer, durably: the work is
// written inside the request's transaction and done once it commits
// (package jobs does this on River, calling Service.RunLater).
type Later interface {
	Defer(ctx context.Context, q store.Queries, payload []byte) error
}

// codeJob is the sending of one code, left for later: what the request
// knew that the mail needs.
type codeJob struct {
	Flow      store.Flow `json:"flow"`
	CodeID    string     `json:"code_id"`
	Code      string     `json:"code"`
	ExpiresAt time.Time  `json:"expires_at"`
	Language  string     `json:"lang"`
	IP        string     `json:"ip"`
	UserAgent string     `json:"ua"`
	// DeviceHash stands for the requester's device cookie.
	DeviceHash string    `json:"device_hash,omitempty"`
	Owner      bool      `json:"owner,omitempty"`
	Send       bool      `json:"send,omitempty"`
	At         time.Time `json:"at"`
}

// laterAD binds a sealed job to its purpose.
var laterAD = []byte("ward flow: code to send")

// issue creates a code for f and leaves its sending for later, inside the
// caller's transaction. Whether the identifier names an account or not,
// and whether the code will be sent or not, the request takes the same
// steps: the limits, the code and one job. The steps that only a real
// recipient needs (the flood guard, links, the message, the activity row)
// happen in the job, after the answer, so the answer's timing cannot tell
// who has an account.
func (s *Service) issue(ctx context.Context, q store.Queries, f store.Flow, lang string, c Client, send bool, now time.Time) (store.Code, error) {
	recipientKey := s.Keys.Identifier(f.Channel, f.Recipient)
	// Counting the codes sent and adding one is one step per recipient
	// and source: without the lock, parallel requests all see room.
	if err := q.Lock(ctx, "recipient:"+recipientKey, "source:"+throttle.Source(c.IP)); err != nil {
		return store.Code{}, err
	}
	// Looked up for unknown identifiers too (it finds nothing).
	owner, err := s.knownDevice(ctx, q, f.AccountID, c)
	if err != nil {
		return store.Code{}, err
	}
	if f.Kind != KindAddContact && f.Kind != KindReauth {
		// No code goes out that could not be used: while the factor rests
		// or is off for this client, asking again mails nothing.
		if err := s.factorUsable(ctx, q, counterOf(f.Subject, owner), factorFor(f.Channel), f.Kind == KindReset, now); err != nil {
			return store.Code{}, err
		}
	}
	if err := s.checkSendLimits(ctx, q, recipientKey, c.IP, owner, now); err != nil {
		return store.Code{}, err
	}
	// A code that is not sent is not digits at all: no typed input can
	// ever match it.
	code := keys.Token()
	if send {
		if code, err = otp.Generate(s.Limits.Digits); err != nil {
			return store.Code{}, err
		}
	}
	purpose := purposeOf(f.Kind)
	ttl := s.Limits.CodeTTL
	if f.Kind == KindReset {
		ttl = s.Limits.RecoveryCodeTTL
	}
	cd := store.Code{ID: keys.ID(), FlowID: f.ID, Purpose: purpose, Channel: f.Channel, RecipientKey: recipientKey,
		Hash: s.codeMAC(f, purpose, f.Channel, recipientKey, code), IP: throttle.Source(c.IP), CreatedAt: now, ExpiresAt: now.Add(ttl)}
	if err := q.CreateCode(ctx, cd); err != nil {
		return cd, err
	}
	job := codeJob{Flow: f, CodeID: cd.ID, Code: code, ExpiresAt: cd.ExpiresAt, Language: lang, IP: c.IP, UserAgent: c.UserAgent,
		DeviceHash: deviceHash(c), Owner: owner, Send: send, At: now}
	if s.Later == nil {
		return cd, s.sendCode(ctx, q, job)
	}
	plain, err := json.Marshal(job)
	if err != nil {
		return cd, fmt.Errorf("encoding a code to send: %w", err)
	}
	return cd, s.Later.Defer(ctx, q, s.Keys.Seal(plain, laterAD))
}

// RunLater does work that a request left for later (see Later).
func (s *Service) RunLater(ctx context.Context, payload []byte) error {
	plain, err := s.Keys.Open(payload, laterAD)
	if err != nil {
		return fmt.Errorf("opening deferred work: %w", err)
	}
	var job codeJob
	if err := json.Unmarshal(plain, &job); err != nil {
		return fmt.Errorf("reading deferred work: %w", err)
	}
	return s.Store.InTx(ctx, func(q store.Queries) error { return s.sendCode(ctx, q, job) })
}

// sendCode queues the message carrying a code, unless it is held back as
// unsolicited; the owner's activity shows either.
func (s *Service) sendCode(ctx context.Context, q store.Queries, j codeJob) error {
	f, now := j.Flow, j.At
	c := Client{IP: j.IP, UserAgent: j.UserAgent}
	// The instance that answered and the durable job may both get here:
	// the first to claim the code writes its mail. A code that is not
	// sent is claimed too, so that the work after the answer is a write
	// either way.
	if err := q.DispatchCode(ctx, j.CodeID, s.Now().UTC()); errors.Is(err, store.ErrConflict) || err == nil && !j.Send {
		return nil
	} else if err != nil {
		return err
	}
	cur, err := q.CurrentCode(ctx, f.ID)
	if errors.Is(err, store.ErrNotFound) || err == nil && cur.ID != j.CodeID {
		return nil // replaced by a newer code, or the flow is gone
	}
	if err != nil {
		return err
	}
	purpose := purposeOf(f.Kind)
	recipientKey := s.Keys.Identifier(f.Channel, f.Recipient)
	if err := q.Lock(ctx, "recipient:"+recipientKey); err != nil {
		return err
	}
	if !j.Owner {
		held, err := s.holdBack(ctx, q, f, recipientKey, j.Language, c, j.DeviceHash, now)
		if err != nil {
			return err
		}
		if held != "" {
			// The code was never sent: it stops working, and the owner
			// sees what was held back, and from where.
			if err := q.ReplaceCodes(ctx, f.ID, now); err != nil {
				return err
			}
			return activity.Record(ctx, q, now, store.Event{AccountID: f.AccountID, Kind: activity.CodeSent, Result: held,
				Method: f.Channel, IP: c.IP, Device: s.device(c), FlowID: f.ID, Reasons: []string{purpose}})
		}
	}
	req := notify.Request{Kind: notify.KindCode, Channel: f.Channel, To: f.Recipient, Language: j.Language, AccountID: f.AccountID, FlowID: f.ID,
		Purpose: purpose, Code: j.Code, ExpiresAt: j.ExpiresAt, RequestedAt: now, IP: c.IP, Device: s.device(c), Place: s.place(c.IP, j.Language)}
	if guarded(purpose) && f.Channel == notify.Email {
		tok, err := s.notMeLink(ctx, q, f, c, j.DeviceHash, now)
		if err != nil {
			return err
		}
		req.NotMeToken = tok
	}
	if f.Kind == KindReset {
		tok, err := s.notMineLink(ctx, q, f, now)
		if err != nil {
			return err
		}
		req.NotMineToken = tok
	}
	if _, err := s.Composer.Queue(ctx, q, req); err != nil {
		return err
	}
	return activity.Record(ctx, q, now, store.Event{AccountID: f.AccountID, Kind: activity.CodeSent, Result: activity.Sent,
		Method: f.Channel, IP: c.IP, Device: s.device(c), FlowID: f.ID, Reasons: []string{purpose}})
}
