package flow

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/wardhq/ward/activity"
	"github.com/wardhq/ward/assurance"
	"github.com/wardhq/ward/audit"
	"github.com/wardhq/ward/authenticator"
	"github.com/wardhq/ward/keys"
	"github.com/wardhq/ward/notify"
	"github.com/wardhq/ward/otp"
	"github.com/wardhq/ward/store"
	"github.com/wardhq/ward/throttle"
	"github.com/wardhq/ward/totp"
)

// Approval prompts to a paired ward Authenticator.
const (
	MethodPush = assurance.Push
	// PromptTTL is how long a prompt waits for its answer.
	PromptTTL = 90 * time.Second
	// PairingTTL is how long a pairing code waits for a device.
	PairingTTL = 10 * time.Minute
	// DefaultPromptsPerHour bounds the prompts one account gets in an
	// hour unless Limits say otherwise; after that the sign-in must use
	// another way (push fatigue).
	DefaultPromptsPerHour = 5
	pairingDigits         = 8
)

// Pairing is a code that pairs a new authenticator, for the dashboard to
// show (as text and in a link) to the person's phone.
type Pairing struct {
	Code      string
	ExpiresAt time.Time
}

// StartPairing makes a pairing code for a new authenticator named name.
// The session must be fresh and, once the account has a second factor,
// proven with two.
func (s *Service) StartPairing(ctx context.Context, c Client, sess store.Session, name string) (*Pairing, error) {
	now := s.Now().UTC()
	if err := s.needFresh(ctx, sess, now); err != nil {
		return nil, err
	}
	name, err := methodName(name, "ward Authenticator")
	if err != nil {
		return nil, err
	}
	code, err := otp.Generate(pairingDigits)
	if err != nil {
		return nil, err
	}
	p := authenticator.Pairing{ID: store.NewID(), AccountID: sess.AccountID, CodeHash: keys.HashToken(code), Name: name, CreatedAt: now,
		ExpiresAt: now.Add(PairingTTL)}
	if err := s.Store.CreatePairing(ctx, p); err != nil {
		return nil, err
	}
	return &Pairing{Code: code, ExpiresAt: p.ExpiresAt}, nil
}

// Paired is a new authenticator: its id, the token it reads its prompts
// with (given once; answering needs its key as well), and the secret of
// the authenticator-app codes it shows offline (given once; ward keeps it
// sealed, as for any authenticator app).
type Paired struct {
	DeviceID   string
	Token      string
	TOTPSecret []byte
}

// Pair registers the public key of the device that typed (or opened) a
// pairing code. Every verified contact is told.
func (s *Service) Pair(ctx context.Context, c Client, code string, publicKey []byte) (*Paired, error) {
	now := s.Now().UTC()
	if ok, at, err := s.Limiter.Allow(ctx, "pairing", c.IP, s.Limits.PasswordPerIP); err != nil {
		return nil, err
	} else if !ok {
		return nil, retryLater(ErrRateLimited, at, "too many pairing attempts from your network; try again later")
	}
	typed, err := otp.Normalize(code, pairingDigits)
	if err != nil {
		e := invalid("input_pairing_digits", pairingDigits)
		e.Field = "code"
		return nil, e
	}
	if _, err := authenticator.ParseKey(publicKey); err != nil {
		e := invalid("input_authenticator_key")
		e.Field = "public_key"
		return nil, e
	}
	tok := keys.Token()
	var out *Paired
	err = s.Store.InTx(ctx, func(q store.Queries) error {
		p, err := q.TakePairing(ctx, keys.HashToken(typed))
		if errors.Is(err, store.ErrNotFound) || err == nil && !now.Before(p.ExpiresAt) {
			return fail(ErrLinkInvalid, "this pairing code is not valid any more; make a new one on your account's page")
		}
		if err != nil {
			return err
		}
		d := authenticator.Device{ID: store.NewID(), AccountID: p.AccountID, Name: p.Name, PublicKey: publicKey, TokenHash: keys.HashToken(tok),
			CreatedAt: now}
		if err := q.CreatePairedDevice(ctx, d); err != nil {
			return err
		}
		// The same app shows authenticator-app codes, offline: an app of
		// its own, under the device's id, set up as it is delivered.
		secret, err := totp.NewSecret()
		if err != nil {
			return err
		}
		app := totp.Authenticator{ID: d.ID, AccountID: p.AccountID, Name: d.Name, Secret: s.Keys.Seal(secret, secretAD(d.ID)), CreatedAt: now,
			ConfirmedAt: &now}
		if err := q.CreateAuthenticator(ctx, app); err != nil {
			return err
		}
		out = &Paired{DeviceID: d.ID, Token: tok, TOTPSecret: secret}
		return s.methodChanged(ctx, q, c, p.AccountID, activity.FactorAdded, notify.ChangeAdded, notify.ChangePush, d.Name, d.ID, now)
	})
	return out, err
}

// PairedDevices lists the account's authenticators.
func (s *Service) PairedDevices(ctx context.Context, sess store.Session) ([]authenticator.Device, error) {
	return s.Store.PairedDevices(ctx, sess.AccountID)
}

// RemovePairedDevice unpairs an authenticator.
func (s *Service) RemovePairedDevice(ctx context.Context, c Client, sess store.Session, id string) error {
	return s.removeMethod(ctx, c, sess, notify.ChangePush, id, func(q store.Queries) (string, bool, error) {
		list, err := q.PairedDevices(ctx, sess.AccountID)
		if err != nil {
			return "", false, err
		}
		return named(s, ctx, sess.AccountID, id, "authenticator", list, func(d authenticator.Device) (string, string) { return d.ID, d.Name })
	}, func(q store.Queries) error {
		if err := q.DeletePairedDevice(ctx, sess.AccountID, id); err != nil {
			return err
		}
		// Its codes go with it.
		if err := q.DeleteAuthenticator(ctx, sess.AccountID, id); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		return nil
	})
}

// PushPrompt is what the sign-in page shows while it waits: the number to
// type into the authenticator.
type PushPrompt struct {
	Number    string
	ExpiresAt time.Time
	State     string
}

// BeginPush asks the account's authenticators to approve a sign-in held
// for its second step. One prompt waits at a time per account, and at
// most PromptsPerHour are made in an hour.
func (s *Service) BeginPush(ctx context.Context, c Client, token string) (*PushPrompt, error) {
	now := s.Now().UTC()
	f, err := s.heldFlow(ctx, token, now)
	if err != nil {
		return nil, err
	}
	a, err := s.Store.AccountByID(ctx, f.AccountID)
	if err != nil {
		return nil, err
	}
	known, err := s.knownDevice(ctx, s.Store, f.AccountID, c)
	if err != nil {
		return nil, err
	}
	app := s.Brand
	if c.App != "" {
		app = c.App
	}
	cx, err := json.Marshal(authenticator.Context{App: app, At: now, IP: c.IP, Place: s.place(c.IP, a.Language), Device: s.deviceLabel(c),
		NewDevice: !known, DeviceHash: deviceHash(c)})
	if err != nil {
		return nil, err
	}
	var out *PushPrompt
	err = s.Store.InTx(ctx, func(q store.Queries) error {
		if err := q.Lock(ctx, "prompts:"+f.AccountID); err != nil {
			return err
		}
		devices, err := q.PairedDevices(ctx, f.AccountID)
		if err != nil {
			return err
		}
		if len(devices) == 0 {
			return invalid("input_not_paired")
		}
		// After wrong numbers the factor rests, or is off, like any other.
		if _, err := s.factorUsable(ctx, q, s.subject(f.AccountID, ""), throttle.FactorPush, false, now); err != nil {
			return err
		}
		// After "deny" or "not me", no new prompt from that source rings
		// the phone for a while (push fatigue).
		if held, err := q.Suppressed(ctx, promptKey(f.AccountID), sources(c.IP, deviceHash(c)), now); err != nil {
			return err
		} else if held {
			return fail(ErrBlocked, "sign-ins from here were declined on your authenticator; use another way, or try again later")
		}
		pending, err := q.PendingPrompts(ctx, f.AccountID, now)
		if err != nil {
			return err
		}
		for _, p := range pending {
			if p.FlowID == f.ID {
				out = &PushPrompt{Number: p.Number, ExpiresAt: p.ExpiresAt, State: p.State}
				return nil // asked again: the same prompt
			}
		}
		if len(pending) > 0 {
			return fail(ErrRateLimited, "another sign-in is waiting for your authenticator; answer it or wait a moment")
		}
		if n, err := q.CountPrompts(ctx, f.AccountID, now.Add(-time.Hour)); err != nil {
			return err
		} else if n >= s.promptsPerHour() {
			return retryLater(ErrRateLimited, now.Add(time.Hour), "too many approval requests; use another way to sign in")
		}
		number, err := authenticator.NewNumber()
		if err != nil {
			return err
		}
		p := authenticator.Prompt{ID: store.NewID(), AccountID: f.AccountID, FlowID: f.ID, Number: number, Nonce: keys.Token(), Context: cx,
			State: authenticator.Pending, CreatedAt: now, ExpiresAt: now.Add(PromptTTL)}
		if err := q.CreatePrompt(ctx, p); err != nil {
			return err
		}
		out = &PushPrompt{Number: number, ExpiresAt: p.ExpiresAt, State: p.State}
		ring, err := s.ringOrDigest(ctx, q, a, known, c, now)
		if err != nil {
			return err
		}
		if ring {
			if err := s.ringDevices(ctx, q, devices, p, a.Language); err != nil {
				return err
			}
		}
		return activity.Record(ctx, q, now, store.Event{AccountID: f.AccountID, Kind: activity.PromptSent, Result: activity.Sent,
			Method: MethodPush, IP: c.IP, Device: s.deviceLabel(c), FlowID: f.ID, Ref: p.ID})
	})
	return out, err
}

func (s *Service) promptsPerHour() int {
	if s.Limits.PromptsPerHour > 0 {
		return s.Limits.PromptsPerHour
	}
	return DefaultPromptsPerHour
}

// DevicePrompt is a prompt as an authenticator shows it: who asks, from
// where, and what to sign. The number is not in it: the person reads it
// off the sign-in page.
type DevicePrompt struct {
	ID        string
	Nonce     string
	Context   authenticator.Context
	ExpiresAt time.Time
}

// device finds the authenticator a device token names.
func (s *Service) device(ctx context.Context, token string) (authenticator.Device, error) {
	d, err := s.Store.PairedDeviceByToken(ctx, keys.HashToken(token))
	if errors.Is(err, store.ErrNotFound) {
		return d, fail(ErrAnswerRefused, "this authenticator is not paired any more")
	}
	return d, err
}

// DevicePrompts lists the prompts waiting for an authenticator.
func (s *Service) DevicePrompts(ctx context.Context, token string) ([]DevicePrompt, error) {
	d, err := s.device(ctx, token)
	if err != nil {
		return nil, err
	}
	list, err := s.Store.PendingPrompts(ctx, d.AccountID, s.Now().UTC())
	if err != nil {
		return nil, err
	}
	out := make([]DevicePrompt, 0, len(list))
	for _, p := range list {
		var cx authenticator.Context
		if err := json.Unmarshal(p.Context, &cx); err != nil {
			return nil, err
		}
		cx.DeviceHash = "" // the requester's cookie stays on ward
		out = append(out, DevicePrompt{ID: p.ID, Nonce: p.Nonce, Context: cx, ExpiresAt: p.ExpiresAt})
	}
	return out, nil
}

// AnswerPrompt takes an authenticator's signed answer. Only the device's
// signature over the prompt's own nonce counts; approving needs the
// number the sign-in page shows, and a wrong number ends the prompt and
// counts as a failure of the factor. Of many answers to one prompt, one
// counts.
func (s *Service) AnswerPrompt(ctx context.Context, c Client, token string, payload, sig []byte) (string, error) {
	now := s.Now().UTC()
	d, err := s.device(ctx, token)
	if err != nil {
		return "", err
	}
	ans, err := authenticator.ReadAnswer(d.PublicKey, payload, sig)
	if err != nil {
		s.Audit.Record(ctx, audit.AnswerRefused, "refused", slog.String("device", d.ID), slog.String("reason", err.Error()))
		return "", fail(ErrAnswerRefused, "this answer is not signed by this authenticator")
	}
	p, err := s.Store.PromptByID(ctx, ans.PromptID)
	if err != nil || p.AccountID != d.AccountID || subtle.ConstantTimeCompare([]byte(ans.Nonce), []byte(p.Nonce)) != 1 {
		s.Audit.Record(ctx, audit.AnswerRefused, "refused", slog.String("device", d.ID), slog.String("reason", "another prompt's answer"))
		return "", fail(ErrAnswerRefused, "this answer is for another request")
	}
	to := map[string]string{authenticator.Approve: authenticator.Approved, authenticator.Deny: authenticator.Denied,
		authenticator.NotMe: authenticator.Reported}[ans.Decision]
	wrong := ans.Decision == authenticator.Approve && !authenticator.SameNumber(ans.Number, p.Number)
	if wrong {
		to = authenticator.WrongNumber
	}
	err = s.Store.InTx(ctx, func(q store.Queries) error {
		if err := q.SetPromptState(ctx, p.ID, authenticator.Pending, to, d.ID, now); err != nil {
			return err
		}
		if err := q.TouchPairedDevice(ctx, d.ID, now); err != nil {
			return err
		}
		if wrong {
			if _, err := s.countFailure(ctx, q, s.subject(d.AccountID, ""), throttle.FactorPush, d.AccountID, now); err != nil {
				return err
			}
		}
		var cx authenticator.Context
		json.Unmarshal(p.Context, &cx)
		if err := activity.Record(ctx, q, now, store.Event{AccountID: d.AccountID, Kind: activity.PromptAnswered, Result: to, Method: MethodPush,
			IP: cx.IP, Device: cx.Device, FlowID: p.FlowID, Ref: p.ID}); err != nil {
			return err
		}
		if to == authenticator.Denied || to == authenticator.Reported {
			return s.declined(ctx, q, d.AccountID, p, cx, to == authenticator.Reported, now)
		}
		return nil
	})
	if errors.Is(err, store.ErrConflict) {
		return "", fail(ErrAnswerRefused, "this request was already answered, or has expired")
	}
	if err != nil {
		return "", err
	}
	if wrong {
		e := fail(ErrWrongCode, "that is not the number the sign-in page shows; the request is ended")
		e.Field = "number"
		return "", e
	}
	return to, nil
}

// pushJob is one Web Push message to a device, left for later in the
// prompt's own transaction: sent after the answer, retried while the
// push service fails, and never lost to a crash.
type pushJob struct {
	DeviceID string `json:"device_id"`
	PromptID string `json:"prompt_id"`
	Language string `json:"lang"`
}

var pushAD = []byte("ward flow: push message")

// ringOrDigest decides whether a new request rings the phone. Requests
// from the owner's known devices always do; from new places, once the
// account has had risk.flood_after requests today, they wait quietly in
// the app and one digest mail a day says how many came, and from where.
func (s *Service) ringOrDigest(ctx context.Context, q store.Queries, a store.Account, known bool, c Client, now time.Time) (bool, error) {
	if known || s.Unsolicited.FloodAfter <= 0 {
		return true, nil
	}
	today, err := q.PromptsSince(ctx, a.ID, dayStart(now), 50)
	if err != nil || len(today) <= s.Unsolicited.FloodAfter {
		return err == nil, err
	}
	if n, err := q.CountMessagesTo(ctx, a.Email, notify.KindPromptDigest, dayStart(now)); err != nil || n > 0 {
		return false, err
	}
	var srcs []string
	seen := map[string]bool{}
	for _, p := range today {
		var cx authenticator.Context
		if json.Unmarshal(p.Context, &cx) != nil || !cx.NewDevice {
			continue
		}
		if o := notify.OriginOf(cx.IP, cx.Place, cx.Device); !seen[o] && len(srcs) < 10 {
			seen[o] = true
			srcs = append(srcs, o)
		}
	}
	_, err = s.Composer.Queue(ctx, q, notify.Request{Kind: notify.KindPromptDigest, Channel: notify.Email, To: a.Email, Language: a.Language,
		AccountID: a.ID, RequestedAt: now, Count: len(today), Sources: srcs})
	return false, err
}

// ringDevices leaves a push message for each device with a subscription.
func (s *Service) ringDevices(ctx context.Context, q store.Queries, devices []authenticator.Device, p authenticator.Prompt, lang string) error {
	if s.Pusher == nil || s.Later == nil {
		return nil
	}
	for _, d := range devices {
		if d.Push.Endpoint == "" {
			continue
		}
		b, err := json.Marshal(pushJob{DeviceID: d.ID, PromptID: p.ID, Language: lang})
		if err != nil {
			return err
		}
		if err := s.Later.Defer(ctx, q, s.Keys.Seal(b, pushAD)); err != nil {
			return fmt.Errorf("leaving a push message: %w", err)
		}
	}
	return nil
}

// runPush sends one push message. The message carries no secret and not
// the number: only that a request waits, for the phone to show and open.
func (s *Service) runPush(ctx context.Context, plain []byte) error {
	var j pushJob
	if err := json.Unmarshal(plain, &j); err != nil {
		return fmt.Errorf("reading a push message: %w", err)
	}
	now := s.Now().UTC()
	p, err := s.Store.PromptByID(ctx, j.PromptID)
	if errors.Is(err, store.ErrNotFound) || err == nil && (p.State != authenticator.Pending || !now.Before(p.ExpiresAt)) {
		return nil // answered or over: nothing to ring for
	}
	if err != nil {
		return err
	}
	d, err := s.Store.PairedDeviceByID(ctx, j.DeviceID)
	if errors.Is(err, store.ErrNotFound) || err == nil && d.Push.Endpoint == "" {
		return nil
	}
	if err != nil {
		return err
	}
	msg, err := json.Marshal(map[string]string{"type": "prompt", "app": s.Brand, "lang": j.Language, "prompt_id": p.ID})
	if err != nil {
		return err
	}
	err = s.Pusher.Send(ctx, d.Push, msg, p.ExpiresAt.Sub(now))
	if errors.Is(err, authenticator.ErrGone) {
		return s.Store.SetDevicePush(ctx, d.ID, authenticator.Subscription{})
	}
	return err
}

// SetPush keeps the push subscription an authenticator's browser gave.
// Endpoints are https (plain http only to a loopback address, as a push
// service under test).
func (s *Service) SetPush(ctx context.Context, token string, sub authenticator.Subscription) error {
	d, err := s.device(ctx, token)
	if err != nil {
		return err
	}
	if sub.Endpoint != "" {
		u, err := url.Parse(sub.Endpoint)
		loopback := err == nil && u.Scheme == "http" && (u.Hostname() == "127.0.0.1" || u.Hostname() == "::1" || u.Hostname() == "localhost")
		if err != nil || !(u.Scheme == "https" || loopback) || u.Host == "" || sub.P256dh == "" || sub.Auth == "" {
			e := invalid("input_push_subscription")
			e.Field = "endpoint"
			return e
		}
	}
	return s.Store.SetDevicePush(ctx, d.ID, sub)
}

// promptKey is what prompt suppressions are kept under for an account.
func promptKey(accountID string) string { return "push:" + accountID }

// declined holds back further prompts from the requester's sources after
// "deny" or "not me"; "not me" also stops codes to the account's email
// from there and is recorded as an unsolicited report, with the
// requester's IP and device, like "this wasn't me" on a code mail.
func (s *Service) declined(ctx context.Context, q store.Queries, accountID string, p authenticator.Prompt, cx authenticator.Context,
	notMe bool, now time.Time) error {
	until := now.Add(s.Unsolicited.SuppressFor)
	keys := []string{promptKey(accountID)}
	if notMe {
		a, err := q.AccountByID(ctx, accountID)
		if err != nil {
			return err
		}
		keys = append(keys, s.Keys.Identifier(notify.Email, a.Email))
	}
	for _, k := range keys {
		for _, src := range sources(cx.IP, cx.DeviceHash) {
			if err := q.Suppress(ctx, k, src, until, now); err != nil {
				return err
			}
		}
	}
	if !notMe {
		return nil
	}
	return activity.Record(ctx, q, now, store.Event{AccountID: accountID, Kind: activity.UnsolicitedReported, Result: activity.Success,
		Method: MethodPush, IP: cx.IP, Device: cx.Device, FlowID: p.FlowID, Reasons: []string{"not_me"}, Ref: p.ID})
}

// PushState is the state of the latest approval request of a held
// sign-in ("pending", "approved", …), read without acting on it.
func (s *Service) PushState(ctx context.Context, token string) (string, error) {
	now := s.Now().UTC()
	f, err := s.heldFlow(ctx, token, now)
	if err != nil {
		return "", err
	}
	p, err := s.Store.LatestPrompt(ctx, f.ID)
	if err != nil {
		return "", err
	}
	if p.State == authenticator.Pending && !now.Before(p.ExpiresAt) {
		return "expired", nil
	}
	return p.State, nil
}

// PushStatus tells a sign-in page waiting on its prompt where it stands,
// and signs the person in once the prompt is approved.
func (s *Service) PushStatus(ctx context.Context, c Client, token string) (*Result, error) {
	now := s.Now().UTC()
	f, err := s.heldFlow(ctx, token, now)
	if err != nil {
		return nil, err
	}
	p, err := s.Store.LatestPrompt(ctx, f.ID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fail(ErrFlowInvalid, "no approval request is waiting; ask for one")
	}
	if err != nil {
		return nil, err
	}
	switch {
	case p.State == authenticator.Pending && now.Before(p.ExpiresAt):
		return &Result{State: authenticator.Pending}, nil
	case p.State == authenticator.Pending:
		return nil, fail(ErrCodeExpired, "the approval request expired; ask for another")
	case p.State == authenticator.Denied || p.State == authenticator.Reported:
		return nil, fail(ErrBlocked, "the request was declined on your authenticator")
	case p.State == authenticator.WrongNumber:
		return nil, fail(ErrWrongCode, "a different number was typed on your authenticator; ask for another request")
	case p.State != authenticator.Approved:
		return nil, fail(ErrFlowInvalid, "this approval request was already used")
	}
	return s.finishSecondStep(ctx, c, token, func(q store.Queries, f store.Flow, now time.Time) (string, error, error) {
		return MethodPush, nil, q.SetPromptState(ctx, p.ID, authenticator.Approved, authenticator.Used, "", now)
	})
}
