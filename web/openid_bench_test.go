package web_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"golang.org/x/oauth2"

	"github.com/wardhq/ward/keys"
	"github.com/wardhq/ward/openid"
	"github.com/wardhq/ward/openid/provider"
)

// BenchmarkOpenIDCodeExchange measures what an app's back end waits for
// when it exchanges a code, over HTTP: client authentication, the code
// looked up and used up, an access token kept, the ID token signed
// (RS256) with the sign-in's claims. The grants are made beforehand, as
// the sign-in pages would (untimed).
func BenchmarkOpenIDCodeExchange(b *testing.B) {
	for _, driver := range []string{"sqlite", "postgres"} {
		b.Run(driver, func(b *testing.B) {
			w := startAtLocalhost(b, driver)
			w.createAccount("bench@example.jp", "")
			a, err := w.in.Accounts.Find(context.Background(), "bench@example.jp")
			if err != nil {
				b.Fatal(err)
			}
			app := newBenchRP(b, w)
			st := &provider.Storage{Store: w.in.Store, Keys: w.in.Keys, Now: time.Now}
			ctx := context.Background()
			codes := make([]string, 0, 256)
			for b.Loop() {
				if len(codes) == 0 {
					b.StopTimer()
					for range 256 {
						verifier := oauth2.GenerateVerifier()
						ar, err := st.CreateAuthRequest(ctx, &zoidc.AuthRequest{Scopes: []string{"openid", "email"}, ResponseType: zoidc.ResponseTypeCode,
							ClientID: app.ClientID, RedirectURI: appRedirect, Nonce: "n", CodeChallenge: oauth2.S256ChallengeFromVerifier(verifier),
							CodeChallengeMethod: zoidc.CodeChallengeMethodS256}, "")
						if err != nil {
							b.Fatal(err)
						}
						if err := w.in.Store.CompleteGrant(ctx, ar.GetID(), a.ID, "", "password+totp", time.Now()); err != nil {
							b.Fatal(err)
						}
						code := keys.Token()
						if err := st.SaveAuthCode(ctx, ar.GetID(), code); err != nil {
							b.Fatal(err)
						}
						codes = append(codes, code+" "+verifier)
					}
					b.StartTimer()
				}
				var code, verifier string
				fmt.Sscan(codes[0], &code, &verifier)
				codes = codes[1:]
				if _, err := app.Exchange(ctx, code, oauth2.VerifierOption(verifier)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkIDTokenVerify measures an app verifying ward's ID token with
// go-oidc (RS256 signature, issuer, audience, expiry), keys cached.
func BenchmarkIDTokenVerify(b *testing.B) {
	w := startAtLocalhost(b, "sqlite")
	w.createAccount("bench@example.jp", "")
	a, _ := w.in.Accounts.Find(context.Background(), "bench@example.jp")
	app := newBenchRP(b, w)
	st := &provider.Storage{Store: w.in.Store, Keys: w.in.Keys, Now: time.Now}
	ctx := context.Background()
	verifier := oauth2.GenerateVerifier()
	ar, _ := st.CreateAuthRequest(ctx, &zoidc.AuthRequest{Scopes: []string{"openid"}, ResponseType: zoidc.ResponseTypeCode, ClientID: app.ClientID,
		RedirectURI: appRedirect, CodeChallenge: oauth2.S256ChallengeFromVerifier(verifier), CodeChallengeMethod: zoidc.CodeChallengeMethodS256}, "")
	w.in.Store.CompleteGrant(ctx, ar.GetID(), a.ID, "", "password", time.Now())
	code := keys.Token()
	st.SaveAuthCode(ctx, ar.GetID(), code)
	tok, err := app.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		b.Fatal(err)
	}
	p, err := gooidc.NewProvider(ctx, w.srv.URL)
	if err != nil {
		b.Fatal(err)
	}
	v := p.Verifier(&gooidc.Config{ClientID: app.ClientID})
	raw := tok.Extra("id_token").(string)
	if _, err := v.Verify(ctx, raw); err != nil { // fetches and caches the keys
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := v.Verify(ctx, raw); err != nil {
			b.Fatal(err)
		}
	}
}

func newBenchRP(b *testing.B, w *ward) oauth2.Config {
	b.Helper()
	return registerRP(b, w, openid.Registration{Name: "Bench", RedirectURIs: []string{appRedirect}}, gooidc.ScopeEmail).conf
}
