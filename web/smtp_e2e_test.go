package web_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"net/mail"
	"regexp"
	"testing"
	"time"

	"github.com/wardhq/ward/config"
	"github.com/wardhq/ward/dkim"
	"github.com/wardhq/ward/instance"
	"github.com/wardhq/ward/internal/testdb"
	"github.com/wardhq/ward/internal/testsmtp"
)

// A whole sign-in with the code read from a real SMTP exchange: the mail
// is DKIM-signed for the From domain and verifies against ward's keys.
func TestSignInWithCodeFromRealSMTP(t *testing.T) {
	for _, driver := range []string{"sqlite", "postgres"} {
		t.Run(driver, func(t *testing.T) {
			relay := testsmtp.Start(t)
			c := config.Default()
			c.DataDir, c.LogLevel = t.TempDir(), "error"
			c.Shutdown.Grace = 0 // nothing routes traffic here
			c.AdminToken = "admin-token-for-tests-0123456789"
			c.Mail.From = "Example Security <security@mail.example.com>"
			c.Mail.SMTP.Host, c.Mail.SMTP.Port, c.Mail.SMTP.TLS = relay.Host, relay.Port, "none"
			if driver == "postgres" {
				c.Database.Driver, c.Database.DSN = "postgres", testdb.PostgresDSN(t)
			}
			var logs bytes.Buffer
			in, err := instance.New(context.Background(), c, slog.New(slog.NewTextHandler(&logs, nil)), instance.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer in.Store.Close()
			ctx, cancel := context.WithCancel(context.Background())
			ln, _ := net.Listen("tcp", "127.0.0.1:0")
			done := make(chan struct{})
			go func() { in.Serve(ctx, ln); close(done) }()
			defer func() { cancel(); <-done }()
			w := &ward{t: t, in: in, srv: &httptest.Server{URL: "http://" + ln.Addr().String()}, admin: c.AdminToken}

			w.createAccount("yuki@example.jp", "")
			r := w.do(nil, "POST", "/api/v1/sign-in/code", map[string]string{"email": "yuki@example.jp"})
			if r.status != 200 {
				t.Fatalf("start: %d %s", r.status, r.raw)
			}
			var raw []byte
			for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
				if got := relay.Received(); len(got) > 0 {
					raw = got[0]
					break
				}
			}
			if raw == nil {
				t.Fatal("no mail reached the relay")
			}
			keys, err := dkim.LoadOrCreate(c.DKIMDir(), c.DKIMDomain())
			if err != nil {
				t.Fatal(err)
			}
			vs, err := keys.Verify(raw)
			if err != nil || len(vs) != 2 || vs[0].Err != nil || vs[1].Err != nil || vs[0].Domain != "mail.example.com" {
				t.Fatalf("DKIM: %v %+v", err, vs)
			}
			msg, _ := mail.ReadMessage(bytes.NewReader(raw))
			body, _ := io.ReadAll(msg.Body)
			code := regexp.MustCompile(`(?m)^\s+(\d{6})\s*$`).FindSubmatch(body)
			if code == nil {
				t.Fatalf("no code in:\n%s", body)
			}
			r = w.do(nil, "POST", "/api/v1/flows/verify", map[string]string{"flow": r.body["flow"].(string), "code": string(code[1])})
			if r.status != 200 || r.body["state"] != "signed_in" {
				t.Fatalf("verify: %d %s", r.status, r.raw)
			}
			if bytes.Contains(logs.Bytes(), code[1]) {
				t.Fatal("with a relay configured, the code reached the log")
			}
			for _, p := range []string{"/dev/mail", "/dev/mail.json", "/dev/mail.json?to=hiro@example.jp"} {
				if r := w.do(nil, "GET", p, nil); r.status != 404 {
					t.Fatalf("%s is served with a relay configured: %d", p, r.status)
				}
			}
		})
	}
}
