package openid

import (
	"strings"
	"testing"
	"time"
)

const goodFile = `
- id: shop
  name: Shop
  redirect_uris: [https://shop.example/callback]
  post_logout_uris: [https://shop.example/]
  backchannel_logout_uri: https://shop.example/backchannel
  secret_sha256: 2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b
- id: cli
  name: Command line
  public: true
  third_party: true
  redirect_uris: [http://127.0.0.1/callback]
`

func TestParseClients(t *testing.T) {
	list, err := ParseClients([]byte(goodFile), false, time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Public() || !list[0].FirstParty || list[0].BackchannelLogoutURI == "" || !list[1].Public() || list[1].FirstParty {
		t.Fatalf("clients: %+v", list)
	}
	for name, text := range map[string]string{
		"no id":             `- {name: A, redirect_uris: [https://a.example/cb], public: true}`,
		"twice":             "- {id: a, name: A, redirect_uris: [https://a.example/cb], public: true}\n- {id: a, name: B, redirect_uris: [https://b.example/cb], public: true}",
		"no name":           `- {id: a, redirect_uris: [https://a.example/cb], public: true}`,
		"no redirect":       `- {id: a, name: A, public: true}`,
		"http redirect":     `- {id: a, name: A, redirect_uris: [http://a.example/cb], public: true}`,
		"fragment":          `- {id: a, name: A, redirect_uris: ["https://a.example/cb#x"], public: true}`,
		"no secret":         `- {id: a, name: A, redirect_uris: [https://a.example/cb]}`,
		"the secret itself": `- {id: a, name: A, redirect_uris: [https://a.example/cb], secret_sha256: hunter2}`,
		"public w/ secret":  `- {id: a, name: A, redirect_uris: [https://a.example/cb], public: true, secret_sha256: 2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b}`,
		"unknown key":       `- {id: a, name: A, redirect_uris: [https://a.example/cb], public: true, scopes: [x]}`,
	} {
		if _, err := ParseClients([]byte(text), false, time.Unix(0, 0)); err == nil {
			t.Errorf("%s: accepted", name)
		} else if !strings.Contains(err.Error(), "clients file") {
			t.Errorf("%s: %v does not say where", name, err)
		}
	}
}
