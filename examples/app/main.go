// Command app is a tiny web app that signs people in with ward (OpenID
// Connect, code flow with PKCE), shows what ward says of the sign-in, and
// asks for two factors (acr_values=aal2) before "something sensitive".
//
//	go run ./cmd/ward client create --name Example --public --redirect-uri http://127.0.0.1:8081/callback \
//	    --post-logout-uri http://127.0.0.1:8081/ && go run ./cmd/ward serve
//	go run ./examples/app --client-id <the client_id printed above>
package main

import (
	"context"
	"flag"
	"log"
	"net/http"

	"github.com/wardhq/ward/examples/app/rp"
)

func main() {
	issuer := flag.String("issuer", "http://localhost:8080", "ward's public_url")
	clientID := flag.String("client-id", "", "the client_id 'ward client create' printed")
	secret := flag.String("client-secret", "", "the client secret (none for a public client)")
	listen := flag.String("listen", "127.0.0.1:8081", "where this app listens")
	flag.Parse()
	if *clientID == "" {
		log.Fatal("--client-id is required: register the app with 'ward client create' first")
	}
	a, err := rp.New(context.Background(), *issuer, *clientID, *secret, "http://"+*listen)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("example app on http://%s, signing in with %s", *listen, *issuer)
	log.Fatal(http.ListenAndServe(*listen, a))
}
