package authenticator

import (
	"context"
	"crypto/ecdh"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	webpush "github.com/SherClockHolmes/webpush-go"
)

// ErrGone is a subscription its push service no longer has (404, 410):
// the device should be sent nothing more until it subscribes again.
var ErrGone = errors.New("the push subscription is gone")

// Pusher sends Web Push messages (RFC 8030) to paired devices, encrypted
// for them (RFC 8291) and signed with ward's VAPID key (RFC 8292).
type Pusher struct {
	key *ecdh.PrivateKey
	// Subscriber is who push services may contact about ward (a mailto:
	// or https: URL), in the VAPID token.
	Subscriber string
	HTTP       *http.Client
}

// NewPusher makes the VAPID key from seed (32 bytes or more, secret): the
// same seed gives the same key, so every instance sharing ward's secret
// signs alike and subscriptions survive restarts.
func NewPusher(seed []byte, subscriber string) (*Pusher, error) {
	for i := byte(0); i < 8; i++ {
		h := sha256.Sum256(append(append([]byte("ward vapid "), seed...), i))
		if k, err := ecdh.P256().NewPrivateKey(h[:]); err == nil {
			return &Pusher{key: k, Subscriber: subscriber}, nil
		}
	}
	return nil, errors.New("no VAPID key from this seed")
}

// PublicKey is the VAPID public key browsers subscribe with
// (applicationServerKey), base64url.
func (p *Pusher) PublicKey() string {
	return base64.RawURLEncoding.EncodeToString(p.key.PublicKey().Bytes())
}

// Send posts message to the subscription. A 404 or 410 is ErrGone; any
// other failure is an error to try again later.
func (p *Pusher) Send(ctx context.Context, sub Subscription, message []byte, ttl time.Duration) error {
	client := p.HTTP
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	res, err := webpush.SendNotificationWithContext(ctx, message, &webpush.Subscription{Endpoint: sub.Endpoint,
		Keys: webpush.Keys{Auth: sub.Auth, P256dh: sub.P256dh}}, &webpush.Options{HTTPClient: client, Subscriber: p.Subscriber,
		TTL: int(ttl / time.Second), Urgency: webpush.UrgencyHigh, Topic: "ward-prompt",
		VAPIDPublicKey: p.PublicKey(), VAPIDPrivateKey: base64.RawURLEncoding.EncodeToString(p.key.Bytes())})
	if err != nil {
		return fmt.Errorf("sending a push message: %w", err)
	}
	io.Copy(io.Discard, io.LimitReader(res.Body, 4096))
	res.Body.Close()
	switch {
	case res.StatusCode == http.StatusNotFound || res.StatusCode == http.StatusGone:
		return ErrGone
	case res.StatusCode < 200 || res.StatusCode > 299:
		return fmt.Errorf("the push service answered %s", res.Status)
	}
	return nil
}
