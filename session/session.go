// Package session issues and checks server-side sessions. A session token
// is 256 random bits, kept only as a hash; it expires after an idle period
// and after an absolute lifetime, and sign-out ends it on the server.
package session

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/mileusna/useragent"

	"github.com/wardhq/ward/keys"
	"github.com/wardhq/ward/store"
)

// ErrNoSession is returned for a token that names no live session.
var ErrNoSession = errors.New("not signed in")

// Manager issues and checks sessions.
type Manager struct {
	Store    store.Store
	Idle     time.Duration
	Absolute time.Duration
	Now      func() time.Time
}

// Issued is a new session and the token that proves it, given once.
type Issued struct {
	Token   string
	Session store.Session
}

// Start describes who a session is for and where it comes from.
type Start struct {
	AccountID string
	DeviceID  string
	IP        string
	UserAgent string
	Method    string
	StepUp    bool
}

// Issue creates a session inside the caller's transaction.
func (m *Manager) Issue(ctx context.Context, q store.Queries, st Start) (Issued, error) {
	now := m.Now().UTC()
	tok := keys.Token()
	s := store.Session{ID: store.NewID(), TokenHash: keys.HashToken(tok), AccountID: st.AccountID, DeviceID: st.DeviceID, IP: st.IP,
		UserAgent: st.UserAgent, Method: st.Method, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(m.Absolute)}
	if st.StepUp {
		s.StepUpAt = &now
	}
	if err := q.CreateSession(ctx, s); err != nil {
		return Issued{}, err
	}
	return Issued{Token: tok, Session: s}, nil
}

// touchEvery limits last-seen writes to one a minute per session.
const touchEvery = time.Minute

// Authenticate returns the live session a token names, noting its use.
func (m *Manager) Authenticate(ctx context.Context, token, ip string) (store.Session, error) {
	if token == "" {
		return store.Session{}, ErrNoSession
	}
	s, err := m.Store.SessionByTokenHash(ctx, keys.HashToken(token))
	if errors.Is(err, store.ErrNotFound) {
		return s, ErrNoSession
	}
	if err != nil {
		return s, fmt.Errorf("checking session: %w", err)
	}
	now := m.Now().UTC()
	if s.RevokedAt != nil || !now.Before(s.ExpiresAt) || now.Sub(s.LastSeenAt) >= m.Idle {
		return store.Session{}, ErrNoSession
	}
	if now.Sub(s.LastSeenAt) >= touchEvery || s.IP != ip {
		if err := m.Store.TouchSession(ctx, s.ID, now, ip); err != nil {
			return s, fmt.Errorf("noting session use: %w", err)
		}
		s.LastSeenAt, s.IP = now, ip
	}
	return s, nil
}

// Describe names the browser and OS in a User-Agent for people to read.
func Describe(ua string) (browser, os string) {
	if ua == "" {
		return "", ""
	}
	p := useragent.Parse(ua)
	browser = p.Name
	if browser != "" && p.VersionNo.Major > 0 {
		browser += " " + strconv.Itoa(p.VersionNo.Major)
	}
	os = p.OS
	if p.OSVersion != "" && os != "" {
		os += " " + p.OSVersion
	}
	return browser, os
}

// DeviceLabel is "Chrome 140 on macOS 15.1", or what is known of it.
func DeviceLabel(ua string) string { return Label(Describe(ua)) }

// Label names a device by its browser and OS, as Describe gives them.
func Label(b, o string) string {
	switch {
	case b != "" && o != "":
		return b + " on " + o
	case b != "":
		return b
	case o != "":
		return o
	}
	return ""
}
