package openid

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/wardhq/ward/keys"
)

// Registration is what the operator says of a new app.
type Registration struct {
	Name         string
	RedirectURIs []string
	// Public apps (a single-page app, a mobile or desktop app) cannot
	// keep a secret: they get none and must use PKCE.
	Public               bool
	PostLogoutURIs       []string
	BackchannelLogoutURI string
	// ThirdParty apps show the consent screen; the operator's own do not.
	ThirdParty bool
}

// Register adds an app and returns it with its secret, shown this once
// (empty for a public app). Redirect URIs are matched exactly, so each is
// checked here: absolute, no fragment, https unless it is a loopback
// address (RFC 8252) or dev allows plain http.
func Register(ctx context.Context, st Store, reg Registration, dev bool, now time.Time) (Client, string, error) {
	name := strings.TrimSpace(reg.Name)
	if name == "" {
		return Client{}, "", fmt.Errorf("an app needs a name (--name)")
	}
	if len(reg.RedirectURIs) == 0 {
		return Client{}, "", fmt.Errorf("an app needs at least one redirect URI (--redirect-uri)")
	}
	for _, u := range append(append(append([]string{}, reg.RedirectURIs...), reg.PostLogoutURIs...), nonEmpty(reg.BackchannelLogoutURI)...) {
		if err := checkURI(u, dev); err != nil {
			return Client{}, "", err
		}
	}
	id := make([]byte, 12)
	if _, err := rand.Read(id); err != nil {
		return Client{}, "", err
	}
	c := Client{ID: "app_" + hex.EncodeToString(id), Name: name, RedirectURIs: reg.RedirectURIs, PostLogoutURIs: reg.PostLogoutURIs,
		FirstParty: !reg.ThirdParty, BackchannelLogoutURI: reg.BackchannelLogoutURI, CreatedAt: now.UTC()}
	secret := ""
	if !reg.Public {
		secret = keys.Token()
		c.SecretHash = keys.HashToken(secret)
	}
	if err := st.CreateClient(ctx, c); err != nil {
		return Client{}, "", err
	}
	return c, secret, nil
}

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

func checkURI(raw string, dev bool) error {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" {
		return fmt.Errorf("%q is not an absolute URI", raw)
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return fmt.Errorf("%q has a fragment, which a redirect URI may not have", raw)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if ip := net.ParseIP(u.Hostname()); (ip != nil && ip.IsLoopback()) || dev {
			return nil
		}
		return fmt.Errorf("%q: redirect URIs use https (plain http only to a loopback address)", raw)
	}
	return fmt.Errorf("%q: redirect URIs use https", raw)
}
