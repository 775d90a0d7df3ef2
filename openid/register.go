package openid

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

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

// fileClient is one app in the operator's clients file.
type fileClient struct {
	ID                   string   `yaml:"id"`
	Name                 string   `yaml:"name"`
	RedirectURIs         []string `yaml:"redirect_uris"`
	PostLogoutURIs       []string `yaml:"post_logout_uris"`
	Public               bool     `yaml:"public"`
	ThirdParty           bool     `yaml:"third_party"`
	BackchannelLogoutURI string   `yaml:"backchannel_logout_uri"`
	// SecretSHA256 is the hex SHA-256 of the secret (printf %s "$SECRET" |
	// sha256sum): the file never holds the secret itself.
	SecretSHA256 string `yaml:"secret_sha256"`
}

// ParseClients reads the operator's clients file (YAML: a list of apps)
// and checks every entry, naming the first bad one.
func ParseClients(text []byte, dev bool, now time.Time) ([]Client, error) {
	var list []fileClient
	dec := yaml.NewDecoder(bytes.NewReader(text))
	dec.KnownFields(true)
	if err := dec.Decode(&list); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("reading the clients file: %w", err)
	}
	seen := map[string]bool{}
	var out []Client
	for i, f := range list {
		bad := func(format string, a ...any) error {
			return fmt.Errorf("clients file, entry %d (%q): %s", i+1, f.ID, fmt.Sprintf(format, a...))
		}
		switch {
		case f.ID == "" || strings.TrimSpace(f.ID) != f.ID:
			return nil, bad("needs an id")
		case seen[f.ID]:
			return nil, bad("the id is listed twice")
		case strings.TrimSpace(f.Name) == "":
			return nil, bad("needs a name")
		case len(f.RedirectURIs) == 0:
			return nil, bad("needs at least one redirect_uris entry")
		case f.Public && f.SecretSHA256 != "":
			return nil, bad("a public app has no secret")
		case !f.Public && !isSHA256(f.SecretSHA256):
			return nil, bad("a confidential app needs secret_sha256: 64 hex digits (printf %%s \"$SECRET\" | sha256sum)")
		}
		for _, u := range append(append(append([]string{}, f.RedirectURIs...), f.PostLogoutURIs...), nonEmpty(f.BackchannelLogoutURI)...) {
			if err := checkURI(u, dev); err != nil {
				return nil, bad("%v", err)
			}
		}
		seen[f.ID] = true
		out = append(out, Client{ID: f.ID, Name: strings.TrimSpace(f.Name), SecretHash: strings.ToLower(f.SecretSHA256), RedirectURIs: f.RedirectURIs,
			PostLogoutURIs: f.PostLogoutURIs, FirstParty: !f.ThirdParty, BackchannelLogoutURI: f.BackchannelLogoutURI, CreatedAt: now.UTC()})
	}
	return out, nil
}

func isSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}
