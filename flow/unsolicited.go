package flow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/wardhq/ward/account"
	"github.com/wardhq/ward/activity"
	"github.com/wardhq/ward/keys"
	"github.com/wardhq/ward/notify"
	"github.com/wardhq/ward/otp"
	"github.com/wardhq/ward/store"
)

// Unsolicited is how ward answers codes nobody asked for.
type Unsolicited struct {
	// SuppressFor is how long "this wasn't me" stops codes from that source.
	SuppressFor time.Duration
	// FloodAfter is how many codes one address gets per day before the
	// rest are replaced by one digest.
	FloodAfter int
}

// Places names the approximate place of an IP in a language ("" unknown).
type Places interface {
	Describe(ip, lang string) string
}

func (s *Service) place(ip, lang string) string {
	if s.Places == nil {
		return ""
	}
	return s.Places.Describe(ip, lang)
}

// sources are the identities of whoever asks for a code: the IP, its
// network (/24, /48), and the device cookie.
func sources(ip, deviceHash string) []string {
	out := []string{"ip:" + ip}
	if a, err := netip.ParseAddr(ip); err == nil {
		bits := 24
		if a.Unmap().Is6() {
			bits = 48
		}
		if p, err := a.Unmap().Prefix(bits); err == nil {
			out = append(out, "net:"+p.String())
		}
	}
	if deviceHash != "" {
		out = append(out, "dev:"+deviceHash)
	}
	return out
}

func deviceHash(c Client) string {
	if c.DeviceToken == "" {
		return ""
	}
	return keys.HashToken(c.DeviceToken)
}

// guarded reports whether codes of this purpose are subject to the
// unsolicited-code defenses: those anyone can ask for by typing an
// address. A step-up (password proven) or a code to confirm a change is not.
func guarded(purpose string) bool {
	return purpose == otp.PurposeSignIn || purpose == otp.PurposeReset
}

func dayStart(t time.Time) time.Time { return t.UTC().Truncate(24 * time.Hour) }

// holdBack decides whether a code someone asked for is sent. It is not
// when the recipient said "this wasn't me" to this source, or when the
// address has had its day's share of codes: then one digest goes instead,
// and after it nothing until tomorrow. The caller does not ask for a
// request from the owner's own known device, which is always served, and
// answers the same either way.
func (s *Service) holdBack(ctx context.Context, q store.Queries, f store.Flow, recipientKey, lang string, c Client, devHash string, now time.Time) (string, error) {
	if f.AccountID == "" || !guarded(purposeOf(f.Kind)) {
		return "", nil
	}
	st, err := q.RecipientState(ctx, recipientKey, sources(c.IP, devHash), f.Recipient, notify.KindCode, dayStart(now), now)
	switch {
	case err != nil:
		return "", err
	case st.Suppressed:
		return activity.Suppressed, nil
	case s.Unsolicited.FloodAfter <= 0 || st.Sent < s.Unsolicited.FloodAfter:
		return "", nil
	}
	sent := st.Sent
	digests, err := q.CountMessagesTo(ctx, f.Recipient, notify.KindCodeDigest, dayStart(now))
	if err != nil || digests > 0 {
		return activity.Held, err
	}
	recent, err := q.MessagesTo(ctx, f.Recipient, 50)
	if err != nil {
		return "", err
	}
	var srcs []string
	seen := map[string]bool{}
	for _, m := range recent {
		if m.Kind != notify.KindCode || m.CreatedAt.Before(dayStart(now)) {
			continue
		}
		if o := notify.Origin(m); o != "" && !seen[o] && len(srcs) < 10 {
			seen[o] = true
			srcs = append(srcs, o)
		}
	}
	here := notify.OriginOf(c.IP, s.place(c.IP, lang), s.deviceLabel(c))
	if !seen[here] && len(srcs) < 10 {
		srcs = append(srcs, here)
	}
	_, err = s.Composer.Queue(ctx, q, notify.Request{Kind: notify.KindCodeDigest, Channel: f.Channel, To: f.Recipient, Language: lang,
		AccountID: f.AccountID, RequestedAt: now, Count: sent + 1, Sources: srcs})
	return activity.Held, err
}

// notMeDetail is what a "this wasn't me" link remembers of the request.
type notMeDetail struct {
	IP         string    `json:"ip"`
	DeviceHash string    `json:"device_hash,omitempty"`
	Device     string    `json:"device,omitempty"`
	At         time.Time `json:"at"`
	Channel    string    `json:"channel"`
	Recipient  string    `json:"recipient"`
}

func (s *Service) notMeLink(ctx context.Context, q store.Queries, f store.Flow, c Client, devHash string, now time.Time) (string, error) {
	d, _ := json.Marshal(notMeDetail{IP: c.IP, DeviceHash: devHash, Device: s.deviceLabel(c), At: now, Channel: f.Channel, Recipient: f.Recipient})
	return newLink(ctx, q, store.LinkToken{Purpose: linkNotMe, AccountID: f.AccountID, FlowID: f.ID, CreatedAt: now,
		ExpiresAt: now.Add(s.Limits.NotMineTTL), Detail: string(d)})
}

// UnsolicitedReport describes a code request its recipient did not make.
type UnsolicitedReport struct {
	At          time.Time
	IP          string
	Place       string
	Device      string
	Destination string
	Until       time.Time
}

func (s *Service) notMe(ctx context.Context, token, lang string, now time.Time) (store.LinkToken, notMeDetail, UnsolicitedReport, error) {
	lt, err := s.link(ctx, token, linkNotMe, now)
	if err != nil {
		return lt, notMeDetail{}, UnsolicitedReport{}, err
	}
	var d notMeDetail
	if err := json.Unmarshal([]byte(lt.Detail), &d); err != nil {
		return lt, d, UnsolicitedReport{}, fmt.Errorf("reading link %s: %w", lt.ID, err)
	}
	return lt, d, UnsolicitedReport{At: d.At, IP: d.IP, Place: s.place(d.IP, lang), Device: d.Device,
		Destination: account.Mask(contactKind(d.Channel), d.Recipient)}, nil
}

// DescribeUnsolicited tells who asked for the code, without acting: mail scanners
// fetch links, and a fetch must change nothing.
func (s *Service) DescribeUnsolicited(ctx context.Context, token, lang string) (UnsolicitedReport, error) {
	_, _, info, err := s.notMe(ctx, token, lang, s.Now().UTC())
	return info, err
}

// ReportUnsolicited acts on "this wasn't me": the flow that sent the code ends,
// codes to that address asked for from the same IP, network or device stop
// for a while, and the owner sees the report in their activity.
func (s *Service) ReportUnsolicited(ctx context.Context, c Client, token, lang string) (UnsolicitedReport, error) {
	now := s.Now().UTC()
	lt, d, info, err := s.notMe(ctx, token, lang, now)
	if err != nil {
		return UnsolicitedReport{}, err
	}
	info.Until = now.Add(s.Unsolicited.SuppressFor)
	recipientKey := s.Keys.Identifier(d.Channel, d.Recipient)
	err = s.Store.InTx(ctx, func(q store.Queries) error {
		if err := useLink(ctx, q, lt, now); err != nil {
			return err
		}
		for _, src := range sources(d.IP, d.DeviceHash) {
			if err := q.Suppress(ctx, recipientKey, src, info.Until, now); err != nil {
				return err
			}
		}
		// The event carries the requester's IP and device: that is what
		// the owner needs to see, not the reporter's.
		return activity.Record(ctx, q, now, store.Event{AccountID: lt.AccountID, Kind: activity.UnsolicitedReported, Result: activity.Success,
			Method: d.Channel, IP: d.IP, Device: d.Device, FlowID: lt.FlowID, Reasons: []string{"not_me"}})
	})
	if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) {
		return UnsolicitedReport{}, fail(ErrLinkInvalid, "this link was already used or has expired")
	}
	return info, err
}
