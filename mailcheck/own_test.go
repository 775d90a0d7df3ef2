package mailcheck_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"mime/quotedprintable"
	"net/mail"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wardhq/ward/dkim"
	"github.com/wardhq/ward/internal/testdb"
	"github.com/wardhq/ward/internal/testsmtp"
	"github.com/wardhq/ward/keys"
	"github.com/wardhq/ward/mailcheck"
	"github.com/wardhq/ward/notify"
	"github.com/wardhq/ward/store"
)

// sent delivers one real ward mail through a real SMTP exchange and
// returns it as the recipient's mailbox holds it, with a checker that
// knows ward's keys and records.
func sent(t *testing.T, st store.Store, purpose, code string) ([]byte, *mailcheck.Checker, store.Message) {
	t.Helper()
	return sentIn(t, st, "en", purpose, code)
}

func sentIn(t *testing.T, st store.Store, lang, purpose, code string) ([]byte, *mailcheck.Checker, store.Message) {
	t.Helper()
	ctx := context.Background()
	w := newWard(t, st)
	m, err := w.comp.Queue(ctx, st, notify.Request{Kind: notify.KindCode, Channel: notify.Email, To: "hana@example.jp", Language: lang,
		Purpose: purpose, Code: code, NotMineToken: "n0t-m1ne-t0ken-abcdefgh", ExpiresAt: time.Now().Add(10 * time.Minute),
		RequestedAt: time.Now(), IP: "203.0.113.5", Device: "Chrome on macOS"})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.out.DeliverOne(ctx, m.ID, 1, true); err != nil {
		t.Fatal(err)
	}
	m, _ = st.MessageByID(ctx, m.ID)
	// The receiving server adds its trace headers on top.
	raw := append([]byte("Received: from mx.example.net by mail.example.jp; "+time.Now().Format(time.RFC1123Z)+"\r\n"), w.relay.Received()[0]...)
	return raw, w.check, m
}

// testWard is ward's sending side — composer, outbox, a real SMTP relay,
// DKIM keys — and a checker that knows its keys and records.
type testWard struct {
	comp  *notify.Composer
	out   *notify.Outbox
	relay *testsmtp.Relay
	check *mailcheck.Checker
}

func newWard(t *testing.T, st store.Store) testWard {
	t.Helper()
	k, _ := keys.New(bytes.Repeat([]byte{7}, 32))
	comp, err := notify.NewComposer(k, "Example Security <security@example.com>", "https://id.example.com", time.Now)
	if err != nil {
		t.Fatal(err)
	}
	dk, err := dkim.LoadOrCreate(t.TempDir(), "example.com")
	if err != nil {
		t.Fatal(err)
	}
	relay := testsmtp.Start(t)
	out := &notify.Outbox{Store: st, Composer: comp, Sender: notify.NewSMTP(relay.Host, relay.Port, "", "", "none", dk),
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: time.Now}
	ch := &mailcheck.Checker{
		Own: &mailcheck.Own{Brand: mailcheck.Brand{Name: "Example ID", Names: []string{"Example ID"}, Domains: []string{"example.com"}},
			Verify: dk.Verify, Messages: st, Digest: k.ContentDigest, Render: func(m store.Message, s notify.Secrets) (string, string, error) {
				r, err := comp.RenderWith(m, s)
				return r.Text, r.HTML, err
			}},
		Brands: []mailcheck.Brand{mailcheck.Microsoft()},
	}
	return testWard{comp: comp, out: out, relay: relay, check: ch}
}

func check(t *testing.T, ch *mailcheck.Checker, raw []byte) mailcheck.Report {
	t.Helper()
	r, err := ch.Check(context.Background(), raw)
	if err != nil {
		t.Fatal(err)
	}
	saysEveryReason(t, r)
	return r
}

func codes(r mailcheck.Report) []string {
	var out []string
	for _, x := range r.Reasons {
		out = append(out, x.Code)
	}
	return out
}

func TestOwnMail(t *testing.T) {
	for _, engine := range testdb.Engines() {
		name, open := engine.Name, engine.Open
		t.Run(name, func(t *testing.T) {
			t.Run("a mail ward sent is genuine and says to whom, when and why", func(t *testing.T) {
				raw, ch, m := sent(t, open(t), "password_reset", "482913")
				r := check(t, ch, raw)
				if r.Verdict != mailcheck.Genuine || r.Sent == nil || r.Sent.To != "h***@example.jp" || r.Sent.Purpose != "password_reset" ||
					!r.Sent.At.Equal(*m.SentAt) {
					t.Fatalf("got %+v (%v)", r, codes(r))
				}
				// With LF line endings, as many clients save .eml files.
				lf := bytes.ReplaceAll(raw, []byte("\r\n"), []byte("\n"))
				if r := check(t, ch, lf); r.Verdict != mailcheck.Genuine {
					t.Fatalf("LF copy: %v %v", r.Verdict, codes(r))
				}
				ja := r.Localize("ja")
				if !strings.Contains(ja.Reasons[0].Text, "送信記録") {
					t.Fatalf("Japanese reason: %q", ja.Reasons[0].Text)
				}
			})
			t.Run("a changed word, a changed recipient or a copied token is phishing", func(t *testing.T) {
				raw, ch, m := sent(t, open(t), "sign_in", "482913")
				for what, bad := range map[string][]byte{
					"code changed":   bytes.Replace(raw, []byte("482913"), []byte("000000"), 1),
					"sent elsewhere": bytes.Replace(raw, []byte("To: <hana@example.jp>"), []byte("To: <mallory@example.org>"), 1),
					"forged with the real token": []byte("From: Example ID <security@example.com>\r\nTo: hana@example.jp\r\nSubject: Your code\r\n" +
						notify.HeaderVerification + ": " + m.ID + "\r\n\r\nEnter your password at https://examp1e.com/login\r\n"),
					"forged with an unknown token": []byte("From: Example ID <security@example.com>\r\nTo: hana@example.jp\r\nSubject: Your code\r\n" +
						notify.HeaderVerification + ": 0190aaaa-bbbb-7ccc-8ddd-eeeeffff0000\r\n\r\nEnter your password at https://examp1e.com/login\r\n"),
				} {
					r := check(t, ch, bad)
					if r.Verdict != mailcheck.Phishing || r.Sent != nil {
						t.Errorf("%s: %v %v", what, r.Verdict, codes(r))
					}
					if what == "forged with the real token" || what == "forged with an unknown token" {
						// The same answer whether the token exists or not:
						// the check tells nothing about ward's records.
						if got := codes(r)[0]; got != "own_signature_missing" {
							t.Errorf("%s: first reason %s", what, got)
						}
					}
				}
			})
			t.Run("a pasted body is proven by its reference and code, without headers", func(t *testing.T) {
				raw, ch, _ := sent(t, open(t), "sign_in", "482913")
				msg, _ := mail.ReadMessage(bytes.NewReader(raw))
				body, _ := io.ReadAll(msg.Body)
				text := textPart(t, body)
				r := check(t, ch, []byte(text))
				if r.Verdict != mailcheck.Genuine || r.Sent == nil || codes(r)[0] != "own_body_matches" {
					t.Fatalf("pasted text: %v %v\n%s", r.Verdict, codes(r), text)
				}
				// Typed out with full-width digits and spaces, the code still proves it.
				wide := strings.Replace(text, "482913", "４８２ ９１３", 1)
				if r := check(t, ch, []byte(wide)); r.Verdict != mailcheck.Genuine {
					t.Fatalf("full-width code: %v %v", r.Verdict, codes(r))
				}
				changed := strings.Replace(text, "482913", "482914", 1)
				if r := check(t, ch, []byte(changed)); r.Verdict == mailcheck.Genuine || r.Sent != nil {
					t.Fatalf("a changed code proved genuine: %v", codes(r))
				}
				if r := check(t, ch, []byte("Your code is 482913. Reply with your password.")); r.Verdict == mailcheck.Genuine || r.Sent != nil {
					t.Fatalf("a text without reference proved genuine: %v", codes(r))
				}
			})
		})
	}
}

var partBoundary = regexp.MustCompile(`(?m)^--[^\r\n]+\r?$`)

// textPart is the text/plain part of a multipart body, decoded.
func textPart(t *testing.T, body []byte) string {
	for _, part := range partBoundary.Split(string(body), -1) {
		head, content, ok := strings.Cut(part, "\r\n\r\n")
		if !ok || !strings.Contains(strings.ToLower(head), "text/plain") {
			continue
		}
		if strings.Contains(strings.ToLower(head), "quoted-printable") {
			b, _ := io.ReadAll(quotedprintable.NewReader(strings.NewReader(content)))
			return string(b)
		}
		return content
	}
	t.Fatalf("no text part in %s", body)
	return ""
}

// Every kind of mail ward sends, in both languages, is judged genuine as
// the recipient received it; and its pasted text too.
func TestEveryWardMailIsGenuine(t *testing.T) {
	st := testdb.SQLite(t)
	ctx := context.Background()
	w := newWard(t, st)
	comp, out, relay, ch := w.comp, w.out, w.relay, w.check
	var reqs []notify.Request
	for _, lang := range []string{"en", "ja"} {
		for _, purpose := range []string{"sign_in", "step_up", "password_reset", "verify_contact", "confirm_change"} {
			r := notify.Request{Kind: notify.KindCode, Channel: notify.Email, To: "yuki@example.jp", Language: lang, Purpose: purpose,
				Code: fmt.Sprintf("%06d", len(reqs)*7919%1000000), ExpiresAt: time.Now().Add(10 * time.Minute), RequestedAt: time.Now(),
				IP: "203.0.113.5", Device: "Safari on iOS", Place: "Tokyo, Japan"}
			if purpose == "sign_in" || purpose == "password_reset" {
				r.NotMeToken = fmt.Sprintf("notme-token-%02d-abcdefghijkl", len(reqs))
			}
			if purpose == "password_reset" {
				r.NotMineToken = fmt.Sprintf("notmine-token-%02d-abcdefghij", len(reqs))
			}
			reqs = append(reqs, r)
		}
		for _, kind := range []string{notify.KindPasswordChanged, notify.KindNewSignIn, notify.KindCodeDigest} {
			reqs = append(reqs, notify.Request{Kind: kind, Channel: notify.Email, To: "yuki@example.jp", Language: lang, RequestedAt: time.Now(),
				IP: "203.0.113.5", Device: "Safari on iOS", Count: 6, Sources: []string{"198.51.100.7"}})
		}
	}
	for i, r := range reqs {
		m, err := comp.Queue(ctx, st, r)
		if err != nil {
			t.Fatal(err)
		}
		if err := out.DeliverOne(ctx, m.ID, 1, true); err != nil {
			t.Fatal(err)
		}
		raw := relay.Received()[i]
		if rep := check(t, ch, raw); rep.Verdict != mailcheck.Genuine {
			t.Errorf("%s %s %s: %s %v", r.Kind, r.Purpose, r.Language, rep.Verdict, codes(rep))
		}
		msg, _ := mail.ReadMessage(bytes.NewReader(raw))
		body, _ := io.ReadAll(msg.Body)
		text := string(body)
		if strings.HasPrefix(msg.Header.Get("Content-Type"), "multipart/") {
			text = textPart(t, body)
		} else if msg.Header.Get("Content-Transfer-Encoding") == "quoted-printable" {
			b, _ := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(body)))
			text = string(b)
		}
		if rep := check(t, ch, []byte(text)); rep.Verdict != mailcheck.Genuine {
			t.Errorf("pasted text of %s %s %s: %s %v", r.Kind, r.Purpose, r.Language, rep.Verdict, codes(rep))
		}
	}
	t.Logf("%d of %d kinds of ward mail judged genuine, whole and pasted", len(reqs), len(reqs))
}
