package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/wardhq/ward/openid"
	"github.com/wardhq/ward/openid/provider"
)

// uris is a flag given once per URI.
type uris []string

func (u *uris) String() string     { return strings.Join(*u, " ") }
func (u *uris) Set(v string) error { *u = append(*u, v); return nil }

// clientCmd registers and lists the apps that sign people in with ward
// (OpenID Connect), and rotates the provider's signing keys.
func clientCmd(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errUsage
	}
	fs := flag.NewFlagSet("client", flag.ContinueOnError)
	var reg openid.Registration
	var redirects, logouts uris
	fs.StringVar(&reg.Name, "name", "", "the app's name, shown to people")
	fs.Var(&redirects, "redirect-uri", "a redirect URI, matched exactly (repeat for more)")
	fs.Var(&logouts, "post-logout-uri", "where the app may send people after signing out (repeat for more)")
	fs.BoolVar(&reg.Public, "public", false, "a public app (SPA, mobile, desktop): no secret, PKCE required")
	fs.BoolVar(&reg.ThirdParty, "third-party", false, "someone else's app: people are asked to consent")
	fs.StringVar(&reg.BackchannelLogoutURI, "backchannel-logout-uri", "", "where ward posts a logout token when a session ends")
	c, in, err := openInstance(ctx, fs, args[1:])
	if err != nil {
		return err
	}
	defer in.Store.Close()
	switch args[0] {
	case "create":
		reg.RedirectURIs, reg.PostLogoutURIs = redirects, logouts
		cl, secret, err := openid.Register(ctx, in.Store, reg, c.DevMode(), time.Now())
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "client_id:     %s\n", cl.ID)
		if secret != "" {
			fmt.Fprintf(stdout, "client_secret: %s\n(shown this once; ward keeps only its hash)\n", secret)
		} else {
			fmt.Fprintln(stdout, "public client: no secret; it must use PKCE (S256)")
		}
		fmt.Fprintf(stdout, "issuer:        %s\n", strings.TrimRight(c.PublicURL, "/"))
		return nil
	case "list":
		list, err := in.Store.Clients(ctx)
		if err != nil {
			return err
		}
		for _, cl := range list {
			kind := "confidential"
			if cl.Public() {
				kind = "public"
			}
			fmt.Fprintf(stdout, "%s  %s  %s  %s\n", cl.ID, cl.Name, kind, strings.Join(cl.RedirectURIs, " "))
		}
		return nil
	case "rotate-keys":
		st := &provider.Storage{Store: in.Store, Keys: in.Keys, Now: time.Now}
		if err := st.MakeKeys(ctx); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "new signing keys made; the old ones stay published for %s\n", provider.KeysPublishedFor)
		return nil
	}
	return errUsage
}
