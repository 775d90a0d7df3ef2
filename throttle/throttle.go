// Package throttle decides how long a factor (a password, codes by mail,
// codes by SMS) must rest after consecutive failures, and when it is
// disabled outright (NIST SP 800-63B-4 §3.2.2: at most 100 consecutive
// failures per account and factor).
package throttle

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/wardhq/ward/assurance"
)

// Factors that are counted separately.
const (
	FactorPassword     = assurance.Password
	FactorEmailCode    = assurance.EmailCode
	FactorSMSCode      = assurance.SMSCode
	FactorTOTP         = assurance.TOTP
	FactorRecoveryCode = assurance.RecoveryCode
	FactorPush         = assurance.Push
)

// Policy is the schedule of waits and the disabling limit.
type Policy struct {
	// FreeFailures may happen in a row before any wait.
	FreeFailures int
	// FirstWait follows failure FreeFailures+1; each further Step failures
	// double it, up to MaxWait.
	FirstWait time.Duration
	Step      int
	MaxWait   time.Duration
	// DisableAt consecutive failures disables the factor until the owner
	// enables it again by another route.
	DisableAt int
}

// Validate reports a policy that cannot work.
func (p Policy) Validate() error {
	bad := func(field, format string, a ...any) error {
		return &PolicyError{Field: field, Msg: fmt.Sprintf(format, a...)}
	}
	switch {
	case p.DisableAt < 1 || p.DisableAt > 100:
		return bad("disable_at", "must be 1 to 100 (NIST SP 800-63B-4 allows at most 100), got %d", p.DisableAt)
	case p.Step < 1:
		return bad("step", "must be at least 1")
	case p.FreeFailures < 0:
		return bad("free_failures", "must not be negative")
	case p.FirstWait <= 0 || p.MaxWait < p.FirstWait:
		return bad("max_wait", "must be at least first_wait, which must be positive")
	}
	return nil
}

// PolicyError names the setting of a Policy that cannot work.
type PolicyError struct{ Field, Msg string }

func (e *PolicyError) Error() string { return e.Field + ": " + e.Msg }

// After returns the lock that follows the n-th consecutive failure at t:
// the time until which the factor rests, and the time it was disabled.
func (p Policy) After(n int, t time.Time) (lockedUntil, disabledAt *time.Time) {
	if n >= p.DisableAt {
		d := t
		return nil, &d
	}
	if n <= p.FreeFailures {
		return nil, nil
	}
	wait := p.FirstWait
	for i := (n - p.FreeFailures - 1) / p.Step; i > 0 && wait < p.MaxWait; i-- {
		wait *= 2
	}
	wait = min(wait, p.MaxWait)
	u := t.Add(wait)
	return &u, nil
}

// Source is what a per-IP limit counts for ip: an IPv4 address as it is,
// an IPv6 address as its /64, the block one customer is given, so that
// walking through the 2^64 addresses of one network is one source.
func Source(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap()
	if a.Is4() {
		return a.String()
	}
	p, err := a.WithZone("").Prefix(64)
	if err != nil {
		return ip
	}
	return p.String()
}

// Rate is at most N requests Per window (N 0: no limit).
type Rate struct {
	N   int
	Per time.Duration
}

// Hits counts requests in the database, so every instance shares them.
type Hits interface {
	Hit(ctx context.Context, key string, window time.Time) (int, error)
}

// Limiter applies request rates per endpoint and Source.
type Limiter struct {
	Hits Hits
	Now  func() time.Time
}

// Allow counts one request to name from ip's Source and reports whether
// it is within r; when it is not, retryAt is when the window ends.
func (l *Limiter) Allow(ctx context.Context, name, ip string, r Rate) (ok bool, retryAt time.Time, err error) {
	if l == nil || r.N <= 0 || r.Per <= 0 {
		return true, time.Time{}, nil
	}
	window := l.Now().UTC().Truncate(r.Per)
	n, err := l.Hits.Hit(ctx, name+":"+Source(ip), window)
	if err != nil {
		return false, time.Time{}, err
	}
	return n <= r.N, window.Add(r.Per), nil
}
