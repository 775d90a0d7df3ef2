package notify_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/mail"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/wardhq/ward/catalog"
	"github.com/wardhq/ward/dkim"
	"github.com/wardhq/ward/internal/testclock"
	"github.com/wardhq/ward/internal/testdb"
	"github.com/wardhq/ward/internal/testsmtp"
	"github.com/wardhq/ward/jobs"
	"github.com/wardhq/ward/keys"
	"github.com/wardhq/ward/notify"
	"github.com/wardhq/ward/store"
	"github.com/wardhq/ward/store/sqlstore"
)

func composer(t testing.TB, now func() time.Time) *notify.Composer {
	k, _ := keys.New(bytes.Repeat([]byte{7}, 32))
	c, err := notify.NewComposer(k, "Example Security <security@example.com>", "https://id.example.com", now)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var t0 = time.Date(2026, 11, 22, 1, 2, 0, 0, time.UTC)

func sample(kind, channel, lang, purpose string) notify.Request {
	return notify.Request{Kind: kind, Channel: channel, To: "hana@example.jp", Language: lang, Purpose: purpose, Code: "123456",
		NotMineToken: "tok", ExpiresAt: t0.Add(10 * time.Minute), RequestedAt: t0, IP: "203.0.113.5", Device: "Chrome 140 on macOS",
		Place: map[string]string{"en": "Tokyo, Japan", "ja": "日本 東京"}[lang]}
}

// Every message kind renders in both languages and follows the rules a
// person can trust: it says what the code is for and when it expires,
// who asked, never asks for a password, has no urgent wording, and (by
// mail) no link needed to use the code.
func TestEveryTemplateRendersAndPassesLint(t *testing.T) {
	st := testdb.SQLite(t)
	c := composer(t, func() time.Time { return t0 })
	ctx := context.Background()
	urgent := regexp.MustCompile(`(?i)urgent|immediately|suspend|within 24 hours|verify your account|至急|緊急|停止`)
	for _, lang := range []string{"en", "ja"} {
		for _, ch := range []string{notify.Email, notify.SMS} {
			for _, purpose := range []string{"sign_in", "step_up", "password_reset", "verify_contact", "confirm_change"} {
				req := sample(notify.KindCode, ch, lang, purpose)
				if purpose != "password_reset" {
					req.NotMineToken = "" // flow adds the link to reset mail only
				}
				anyone := purpose == "sign_in" || purpose == "password_reset" // codes anyone can ask for by typing an address
				if anyone {
					req.NotMeToken = "notme"
				}
				m, err := c.Queue(ctx, st, req)
				if err != nil {
					t.Fatal(err)
				}
				r, err := c.Render(m)
				if err != nil {
					t.Fatalf("%s %s %s: %v", lang, ch, purpose, err)
				}
				if !strings.Contains(r.Text, "123456") || !strings.Contains(r.Text, catalog.Time(lang, nil, t0.Add(10*time.Minute))) {
					t.Errorf("%s %s %s: code or expiry missing:\n%s", lang, ch, purpose, r.Text)
				}
				if urgent.MatchString(r.Subject + r.Text) {
					t.Errorf("%s %s %s: urgent wording:\n%s", lang, ch, purpose, r.Text)
				}
				if ch == notify.SMS {
					if !strings.HasSuffix(strings.TrimSpace(r.Text), "@id.example.com #123456") {
						t.Errorf("SMS %s does not end with the origin-bound line:\n%s", lang, r.Text)
					}
					continue
				}
				if !strings.Contains(r.Text, "203.0.113.5") || !strings.Contains(r.Text, "Chrome 140 on macOS") {
					t.Errorf("%s %s: who asked is missing:\n%s", lang, purpose, r.Text)
				}
				// The only links are "this wasn't me" on codes anyone can
				// ask for, "not my account" on resets, and the footer's
				// "is this mail really from us?" on every mail.
				links := regexp.MustCompile(`https?://\S+`).FindAllString(r.Text, -1)
				want := []string{}
				if anyone {
					want = append(want, "https://id.example.com/not-me/notme")
				}
				if purpose == "password_reset" {
					want = append(want, "https://id.example.com/not-my-account/tok")
				}
				want = append(want, "https://id.example.com/check-mail")
				if !slices.Equal(links, want) {
					t.Errorf("%s %s: links %v, want %v", lang, purpose, links, want)
				}
				if !strings.Contains(r.Text, "Tokyo") && !strings.Contains(r.Text, "東京") {
					t.Errorf("%s %s: the place of the request is missing:\n%s", lang, purpose, r.Text)
				}
				// The HTML part says the same, and has no form, script or
				// other link.
				if !strings.Contains(r.HTML, "123456") || !strings.Contains(r.HTML, `lang="`+lang+`"`) ||
					regexp.MustCompile(`(?i)<(form|script|iframe|img)`).MatchString(r.HTML) {
					t.Errorf("%s %s HTML:\n%s", lang, purpose, r.HTML)
				}
				hrefs := regexp.MustCompile(`href="([^"]*)"`).FindAllStringSubmatch(r.HTML, -1)
				if len(hrefs) != len(want) {
					t.Errorf("%s %s HTML links %v, want %v", lang, purpose, hrefs, want)
				}
				if r.From != "Example Security <security@example.com>" {
					t.Errorf("sender %q", r.From)
				}
			}
			for _, kind := range []string{notify.KindPasswordChanged, notify.KindNewSignIn, notify.KindCodeDigest, notify.KindPromptDigest} {
				if (kind == notify.KindCodeDigest || kind == notify.KindPromptDigest) && ch == notify.SMS {
					continue // digests replace mail; an SMS flood is stopped by the limits
				}
				req := sample(kind, ch, lang, "")
				req.Count, req.Sources = 12, []string{"198.51.100.7 · Frankfurt, Germany · Chrome on Windows"}
				m, _ := c.Queue(ctx, st, req)
				r, err := c.Render(m)
				if err != nil || r.Text == "" || urgent.MatchString(r.Subject+r.Text) {
					t.Errorf("%s %s %s: %v\n%s", kind, lang, ch, err, r.Text)
				}
				if (kind == notify.KindCodeDigest || kind == notify.KindPromptDigest) && (!strings.Contains(r.Text, "12") || !strings.Contains(r.Text, "198.51.100.7")) {
					t.Errorf("digest %s: %s", lang, r.Text)
				}
				if kind == notify.KindNewSignIn && ch == notify.Email && !strings.Contains(r.Text, "/account/secure") {
					t.Errorf("new sign-in %s lacks the way to secure the account:\n%s", lang, r.Text)
				}
			}
		}
	}
	// Japanese mail is in Japanese, in Japan time.
	m, _ := c.Queue(ctx, st, sample(notify.KindCode, notify.Email, "ja", "sign_in"))
	r, _ := c.Render(m)
	if !strings.Contains(r.Text, "サインイン") || !strings.Contains(r.Text, "2026年11月22日 10:12（JST）") {
		t.Errorf("Japanese mail:\n%s", r.Text)
	}
}

func TestCodesAreSealedAtRest(t *testing.T) {
	st := testdb.SQLite(t)
	c := composer(t, func() time.Time { return t0 })
	m, err := c.Queue(context.Background(), st, sample(notify.KindCode, notify.Email, "en", "sign_in"))
	if err != nil {
		t.Fatal(err)
	}
	stored, _ := st.MessageByID(context.Background(), m.ID)
	if bytes.Contains(stored.Secret, []byte("123456")) || bytes.Contains(stored.Data, []byte("123456")) || len(stored.Secret) == 0 {
		t.Fatal("the code is readable in the database")
	}
	// Sealed to its own record: moved to another message it does not open.
	stored.ID = "another"
	if _, err := c.Render(stored); err == nil {
		t.Fatal("a sealed code opened under another message id")
	}
}

func outbox(t testing.TB, st store.Store, r *testsmtp.Relay, clk *testclock.Clock, logs io.Writer) (*notify.Outbox, *notify.Composer, *dkim.Keys) {
	c := composer(t, clk.Now)
	keys := dkimKeys(t)
	return &notify.Outbox{Store: st, Composer: c, Sender: notify.NewSMTP(r.Host, r.Port, "", "", "none", keys),
		Log: slog.New(slog.NewTextHandler(logs, nil)), Now: clk.Now}, c, keys
}

func codeRequest(clk *testclock.Clock) notify.Request {
	req := sample(notify.KindCode, notify.Email, "en", "sign_in")
	req.NotMineToken = ""
	req.ExpiresAt = clk.Now().Add(10 * time.Minute)
	return req
}

func TestDeliveryThroughARealRelay(t *testing.T) { testdb.Each(t, testDeliveryThroughARealRelay) }

func testDeliveryThroughARealRelay(t *testing.T, st *sqlstore.DB) {
	ctx := context.Background()
	clk := testclock.New(time.Now().UTC())
	var logs bytes.Buffer
	r := testsmtp.Start(t, &smtp.SMTPError{Code: 451, Message: "try later"}, nil)
	o, c, keys := outbox(t, st, r, clk, &logs)
	m, _ := c.Queue(ctx, st, codeRequest(clk))

	if err := o.DeliverOne(ctx, m.ID, 1, false); err == nil {
		t.Fatal("a 451 must ask for another try")
	}
	got, _ := st.MessageByID(ctx, m.ID)
	if got.Status != store.MessageRetrying || !strings.Contains(got.LastError, "451") || !got.NextAt.Equal(clk.Now().Add(notify.Backoff(1)).Truncate(time.Microsecond)) ||
		len(r.Received()) != 0 || got.Secret == nil {
		t.Fatalf("after a 451: %+v", got)
	}
	if err := o.DeliverOne(ctx, m.ID, 2, false); err != nil {
		t.Fatal(err)
	}
	got, _ = st.MessageByID(ctx, m.ID)
	if got.Status != store.MessageSent || got.SentAt == nil || got.Secret != nil || got.Attempts != 2 || len(r.Received()) != 1 {
		t.Fatalf("after retry: %+v, %d received", got, len(r.Received()))
	}
	// A job that runs again (after a crash) does not send it twice.
	if err := o.DeliverOne(ctx, m.ID, 3, false); err != nil || len(r.Received()) != 1 {
		t.Fatalf("second run of a done job: %v, %d received", err, len(r.Received()))
	}
	raw := r.Received()[0]
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if msg.Header.Get("Message-Id") != "<"+m.ID+"@example.com>" || !strings.Contains(msg.Header.Get("From"), "security@example.com") ||
		msg.Header.Get("X-Ward-Verification") != m.ID {
		t.Fatalf("headers: %v", msg.Header)
	}
	if !bytes.Contains(raw, []byte("123456")) {
		t.Fatal("the code did not reach the recipient")
	}
	// Both DKIM signatures (ed25519 and RSA) verify against the published
	// keys, for the From domain, cover the verification header, and sign
	// the whole body (no l= tag).
	vs, err := keys.Verify(raw)
	if err != nil || len(vs) != 2 {
		t.Fatalf("DKIM: %v, %d signatures", err, len(vs))
	}
	for _, v := range vs {
		if v.Err != nil || v.Domain != "example.com" || !slices.Contains(v.HeaderKeys, "X-Ward-Verification") {
			t.Errorf("DKIM signature %+v: %v", v, v.Err)
		}
	}
	if regexp.MustCompile(`DKIM-Signature:[^\n]*(\n[ \t][^\n]*)*[;\s]l=`).Match(raw) {
		t.Fatal("a signature limits the signed body length (l=)")
	}
	tampered := bytes.Replace(raw, []byte("123456"), []byte("654321"), 1)
	if vs, _ := keys.Verify(tampered); len(vs) == 0 || vs[0].Err == nil {
		t.Fatal("a tampered mail still verifies")
	}
	// With a relay, no code reaches a log.
	if strings.Contains(logs.String(), "123456") {
		t.Fatalf("a code reached the log:\n%s", logs.String())
	}
}

func TestPermanentFailureAndExpiry(t *testing.T) { testdb.Each(t, testPermanentFailureAndExpiry) }

func testPermanentFailureAndExpiry(t *testing.T, st *sqlstore.DB) {
	ctx := context.Background()
	clk := testclock.New(time.Now().UTC())
	r := testsmtp.Start(t, &smtp.SMTPError{Code: 550, Message: "no such user"}, &smtp.SMTPError{Code: 451, Message: "later"})
	o, c, _ := outbox(t, st, r, clk, io.Discard)
	m, _ := c.Queue(ctx, st, codeRequest(clk))
	if err := o.DeliverOne(ctx, m.ID, 1, false); err != nil {
		t.Fatalf("a 550 is final, not retried: %v", err)
	}
	got, _ := st.MessageByID(ctx, m.ID)
	if got.Status != store.MessageFailed || !strings.Contains(got.LastError, "550") || got.Secret != nil {
		t.Fatalf("after a 550: %+v", got)
	}
	// A temporary failure on the last attempt is final too.
	m, _ = c.Queue(ctx, st, codeRequest(clk))
	if err := o.DeliverOne(ctx, m.ID, 12, true); err != nil {
		t.Fatal(err)
	}
	if got, _ = st.MessageByID(ctx, m.ID); got.Status != store.MessageFailed || got.Secret != nil {
		t.Fatalf("after the last attempt: %+v", got)
	}
	// A code that expires before it can be delivered is not sent.
	req := codeRequest(clk)
	req.ExpiresAt = clk.Now().Add(time.Minute)
	m, _ = c.Queue(ctx, st, req)
	clk.Add(2 * time.Minute)
	o.DeliverOne(ctx, m.ID, 1, false)
	got, _ = st.MessageByID(ctx, m.ID)
	if got.Status != store.MessageExpired || got.Secret != nil || len(r.Received()) != 0 {
		t.Fatalf("expired message: %+v", got)
	}
}

func TestRelayDownThenUp(t *testing.T) { testdb.Each(t, testRelayDownThenUp) }

func testRelayDownThenUp(t *testing.T, st *sqlstore.DB) {
	ctx := context.Background()
	clk := testclock.New(time.Now().UTC())
	r := testsmtp.Down(t)
	o, c, _ := outbox(t, st, r, clk, io.Discard)
	m, _ := c.Queue(ctx, st, codeRequest(clk))
	if err := o.DeliverOne(ctx, m.ID, 1, false); err == nil {
		t.Fatal("a relay that is down must ask for another try")
	}
	if got, _ := st.MessageByID(ctx, m.ID); got.Status != store.MessageRetrying {
		t.Fatalf("relay down: %+v", got)
	}
	if !r.Up() {
		t.Skip("SKIP: the relay's port was taken meanwhile by another program")
	}
	if err := o.DeliverOne(ctx, m.ID, 2, false); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.MessageByID(ctx, m.ID); got.Status != store.MessageSent || len(r.Received()) != 1 {
		t.Fatalf("relay back up: %+v", got)
	}
}

// A kept connection that the relay closed while it sat idle is replaced:
// the next message goes out on a new one, once.
func TestKeptConnectionClosedByTheRelay(t *testing.T) {
	ctx := context.Background()
	st := testdb.SQLite(t)
	clk := testclock.New(time.Now().UTC())
	r := testsmtp.Start(t)
	o, c, _ := outbox(t, st, r, clk, io.Discard)
	first, _ := c.Queue(ctx, st, codeRequest(clk))
	if err := o.DeliverOne(ctx, first.ID, 1, false); err != nil {
		t.Fatal(err)
	}
	r.Stop() // closes the connection ward keeps
	if !r.Up() {
		t.Skip("SKIP: the relay's port was taken meanwhile by another program")
	}
	second, _ := c.Queue(ctx, st, codeRequest(clk))
	if err := o.DeliverOne(ctx, second.ID, 1, false); err != nil {
		t.Fatalf("the message after the relay closed the kept connection: %v", err)
	}
	if got, _ := st.MessageByID(ctx, second.ID); got.Status != store.MessageSent || got.Attempts != 1 {
		t.Fatalf("second message: %+v", got)
	}
	if n := len(r.Received()); n != 2 {
		t.Fatalf("relay received %d messages, want 2", n)
	}
}

// A relay that hangs up right after accepting a message (ward's RSET on
// that connection fails): the message is in, so it is recorded as sent
// and not sent again; the next one goes out on a new connection.
func TestRelayHangingUpAfterAcceptingAMessage(t *testing.T) {
	ctx := context.Background()
	st := testdb.SQLite(t)
	clk := testclock.New(time.Now().UTC())
	r := testsmtp.Start(t)
	r.HangUpAfterData()
	o, c, _ := outbox(t, st, r, clk, io.Discard)
	first, _ := c.Queue(ctx, st, codeRequest(clk))
	if err := o.DeliverOne(ctx, first.ID, 1, false); err != nil {
		t.Fatalf("a message the relay accepted before hanging up: %v", err)
	}
	if got, _ := st.MessageByID(ctx, first.ID); got.Status != store.MessageSent {
		t.Fatalf("first message: %+v", got)
	}
	if n := len(r.Received()); n != 1 {
		t.Fatalf("relay received %d messages, want the one, once", n)
	}
	second, _ := c.Queue(ctx, st, codeRequest(clk))
	if err := o.DeliverOne(ctx, second.ID, 1, false); err != nil {
		t.Fatalf("the message after the relay hung up: %v", err)
	}
	if n := len(r.Received()); n != 2 {
		t.Fatalf("relay received %d messages, want 2", n)
	}
}

// A code mail reaches the relay in one round trip when the relay offers
// pipelining and chunking (MAIL, RCPT and BDAT with the message, sent
// together), in two with pipelining alone (the message after DATA's 354),
// and one per command when it offers neither: each round trip is a wait
// when the relay is far. The relay gets the message ward signed, whole,
// each time, and the kept connection carries the next one.
func TestMailGoesInAsFewRoundTripsAsTheRelayAllows(t *testing.T) {
	for _, tc := range []struct {
		hide  []string
		trips int
	}{{nil, 1}, {[]string{"CHUNKING"}, 2}, {[]string{"PIPELINING"}, 4}, {[]string{"PIPELINING", "CHUNKING"}, 4}} {
		t.Run("without "+strings.Join(tc.hide, ","), func(t *testing.T) {
			r := testsmtp.Start(t)
			p := r.Rounds(t, tc.hide...)
			s, rd, keys := relayed(t, p.Host, p.Port)
			for range 2 {
				if _, err := s.Send(context.Background(), rd); err != nil {
					t.Fatal(err)
				}
			}
			trips, stalls := p.Trips()
			if stalls != 0 || !slices.Equal(trips, []int{tc.trips, tc.trips}) {
				t.Fatalf("round trips per mail %v (stalled waiting for a held reply %d times), want %d each", trips, stalls, tc.trips)
			}
			raw, err := notify.RawMessage(rd, keys)
			if err != nil {
				t.Fatal(err)
			}
			got := r.Received()
			if len(got) != 2 || !bytes.Equal(got[0], raw) || !bytes.Equal(got[1], raw) {
				t.Fatalf("the relay received %d messages, not the one ward signed", len(got))
			}
		})
	}
}

// A recipient the relay refuses inside a pipelined group is the error
// reported (a 550 is permanent, a 421 worth another try), not the refusal
// of the message that followed it; nothing is delivered, and the next
// message goes out (on the same connection after a 550, whose replies
// were all read; on a new one after a 421, which ends a connection).
func TestRefusedRecipientWhilePipelining(t *testing.T) {
	for _, hide := range []string{"", "CHUNKING"} {
		for _, code := range []int{550, 421} {
			t.Run(fmt.Sprintf("%d without %s", code, hide), func(t *testing.T) {
				r := testsmtp.Start(t)
				r.AnswerRecipients(&smtp.SMTPError{Code: code, Message: "no such user"})
				p := r.Rounds(t, hide)
				s, rd, _ := relayed(t, p.Host, p.Port)
				_, err := s.Send(context.Background(), rd)
				var perm *notify.PermanentError
				if errors.As(err, &perm) != (code == 550) || !strings.Contains(fmt.Sprint(err), "refused the recipient") || !strings.Contains(fmt.Sprint(err), "no such user") {
					t.Fatalf("refused recipient: %v", err)
				}
				if n := len(r.Received()); n != 0 {
					t.Fatalf("the relay received %d messages for a refused recipient", n)
				}
				if _, err := s.Send(context.Background(), rd); err != nil || len(r.Received()) != 1 {
					t.Fatalf("the next message: %v, received %d", err, len(r.Received()))
				}
				if _, stalls := p.Trips(); stalls != 0 {
					t.Fatalf("stalled %d times", stalls)
				}
			})
		}
	}
}

// relayed is a sender to the relay at host:port and a code mail for it.
func relayed(t *testing.T, host string, port int) (*notify.SMTP, notify.Rendered, *dkim.Keys) {
	st := testdb.SQLite(t)
	clk := testclock.New(time.Now().UTC())
	c := composer(t, clk.Now)
	keys := dkimKeys(t)
	s := notify.NewSMTP(host, port, "", "", "none", keys)
	t.Cleanup(s.Close)
	m, err := c.Queue(context.Background(), st, codeRequest(clk))
	if err != nil {
		t.Fatal(err)
	}
	rd, err := c.Render(m)
	if err != nil {
		t.Fatal(err)
	}
	return s, rd, keys
}

// dkimKeys are new keys for example.com, the RSA one signed for by
// OpenSSL in a build that has it (cgo on Linux), as ward serve does.
func dkimKeys(t testing.TB) *dkim.Keys {
	k, err := dkim.LoadOrCreate(t.TempDir(), "example.com")
	if err != nil {
		t.Fatal(err)
	}
	k.UseOpenSSL()
	return k
}

// A security notice names the change it tells of, whether the message was
// queued with a typed Change or, before it existed, as "what:kind:value".
func TestSecurityNoticeNamesTheChange(t *testing.T) {
	c := composer(t, func() time.Time { return t0 })
	st := testdb.SQLite(t)
	m, err := c.Queue(context.Background(), st, notify.Request{Kind: notify.KindSecurityChanged, Channel: notify.Email, To: "hana@example.jp",
		Language: "en", RequestedAt: t0, Change: &notify.Change{What: notify.ChangeAdded, Kind: "phone", Value: "+81********78"}})
	if err != nil {
		t.Fatal(err)
	}
	old := m
	old.Data = []byte(`{"requested_at":"2026-11-22T01:02:00Z","change":"added:phone:+81********78"}`)
	for _, msg := range []store.Message{m, old} {
		r, err := c.Render(msg)
		if err != nil || !strings.Contains(r.Text, "+81********78") {
			t.Fatalf("notice does not name the change (%v):\n%s", err, r.Text)
		}
	}
}

// Every mail, of every kind and in both languages, opens with the brand
// and ends with where to check that it is genuine, in its text and in
// its HTML: people learn what the real mail looks like.
func TestEveryMailCarriesTheBrand(t *testing.T) {
	files, err := filepath.Glob("templates/*.email.*")
	if err != nil || len(files) < 16 {
		t.Fatalf("templates: %v %d", err, len(files))
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		lang, kind := "en", "txt"
		if strings.Contains(f, ".ja.") {
			lang = "ja"
		}
		if strings.HasSuffix(f, ".html") {
			kind = "html"
		}
		for _, part := range []string{"head", "foot"} {
			if want := `{{template "` + part + "." + lang + "." + kind + `" .}}`; !strings.Contains(string(b), want) {
				t.Errorf("%s lacks %s", f, want)
			}
		}
	}
	st := testdb.SQLite(t)
	c := composer(t, func() time.Time { return t0 })
	c.Brand, c.Accent = "Acme ID", "#7a1fa2"
	for _, lang := range []string{"en", "ja"} {
		m, err := c.Queue(context.Background(), st, sample(notify.KindCode, notify.Email, lang, "sign_in"))
		if err != nil {
			t.Fatal(err)
		}
		r, err := c.Render(m)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(r.Text, "Acme ID") || !strings.Contains(r.Text, "https://id.example.com/check-mail") {
			t.Errorf("%s text: no brand header or check link:\n%s", lang, r.Text)
		}
		if !strings.Contains(r.HTML, "Acme ID") || !strings.Contains(r.HTML, `href="https://id.example.com/check-mail"`) || !strings.Contains(r.HTML, "#7a1fa2") {
			t.Errorf("%s HTML: no brand header, accent or check link:\n%s", lang, r.HTML)
		}
	}
}

// BenchmarkSendToRelay is one code mail from rendered to accepted by a
// relay on a kept connection: written as MIME, signed (ed25519, and RSA:
// by OpenSSL in a build with cgo) and sent over SMTP.
func BenchmarkSendToRelay(b *testing.B) {
	ctx := context.Background()
	st := testdb.SQLite(b)
	clk := testclock.New(time.Now().UTC())
	r := testsmtp.Start(b)
	c := composer(b, clk.Now)
	keys := dkimKeys(b)
	s := notify.NewSMTP(r.Host, r.Port, "", "", "none", keys)
	defer s.Close()
	m, err := c.Queue(ctx, st, codeRequest(clk))
	if err != nil {
		b.Fatal(err)
	}
	rd, err := c.Render(m)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Send(ctx, rd); err != nil {
			b.Fatal(err)
		}
	}
}

// The message Queue returns is handed to its delivery in memory instead
// of being read back, so it must be the stored row exactly, times to the
// microsecond included.
func TestQueuedMessageIsTheStoredOne(t *testing.T) {
	testdb.Each(t, func(t *testing.T, st *sqlstore.DB) {
		clk := testclock.New(time.Date(2026, 11, 26, 10, 0, 0, 123456789, time.UTC))
		c := composer(t, clk.Now)
		m, err := c.Queue(context.Background(), st, codeRequest(clk))
		if err != nil {
			t.Fatal(err)
		}
		stored, err := st.MessageByID(context.Background(), m.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(m, stored) {
			t.Fatalf("queued:\n%+v\nstored:\n%+v", m, stored)
		}
	})
}

// queuedCode queues a code mail in lang and returns it as stored.
func queuedCode(t testing.TB, c *notify.Composer, st store.Store, clk *testclock.Clock, lang string) store.Message {
	t.Helper()
	req := codeRequest(clk)
	req.Language = lang
	m, err := c.Queue(context.Background(), st, req)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// RenderText is the message Render writes, without its HTML part.
func TestRenderTextIsRenderWithoutHTML(t *testing.T) {
	st := testdb.SQLite(t)
	clk := testclock.New(time.Now().UTC())
	c := composer(t, clk.Now)
	for _, lang := range []string{"en", "ja"} {
		m := queuedCode(t, c, st, clk, lang)
		whole, err := c.Render(m)
		if err != nil {
			t.Fatal(err)
		}
		text, err := c.RenderText(m)
		if err != nil {
			t.Fatal(err)
		}
		if whole.HTML == "" || text.HTML != "" {
			t.Fatalf("%s: HTML %d bytes in Render, %d in RenderText", lang, len(whole.HTML), len(text.HTML))
		}
		whole.HTML = ""
		if !reflect.DeepEqual(whole, text) {
			t.Fatalf("%s: RenderText\n%+v\nRender\n%+v", lang, text, whole)
		}
	}
}

// BenchmarkRender is one code mail rendered from its stored row (secret
// opened, text and HTML written), and its text alone (what the dev
// mailbox shows and logs), in English and Japanese.
func BenchmarkRender(b *testing.B) {
	st := testdb.SQLite(b)
	clk := testclock.New(time.Now().UTC())
	c := composer(b, clk.Now)
	for _, r := range []struct {
		name   string
		render func(store.Message) (notify.Rendered, error)
	}{{"whole", c.Render}, {"text", c.RenderText}} {
		for _, lang := range []string{"en", "ja"} {
			b.Run(r.name+"/"+lang, func(b *testing.B) {
				m := queuedCode(b, c, st, clk, lang)
				b.ReportAllocs()
				for b.Loop() {
					if _, err := r.render(m); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// A message to a channel the dev mailbox takes is delivered by the
// commit that writes it: stored as sent, with no delivery task, and told
// to Stored once committed (never when its transaction rolls back).
// Other channels are queued for delivery as ever.
func TestDevMailboxTakesItsMessageInItsOwnCommit(t *testing.T) {
	testdb.Each(t, func(t *testing.T, st *sqlstore.DB) {
		ctx := context.Background()
		clk := testclock.New(time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC))
		c := composer(t, clk.Now)
		c.DevChannels = map[string]bool{notify.Email: true}
		var stored []store.Message
		c.Stored = func(m store.Message) { stored = append(stored, m) }
		enqueued := 0
		c.Jobs = enqueueFunc(func() { enqueued++ })

		var m store.Message
		if err := st.InTx(ctx, func(q store.Queries) error {
			var err error
			m, err = c.Queue(ctx, q, codeRequest(clk))
			if len(stored) != 0 {
				t.Error("Stored was told before the commit")
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if len(stored) != 1 || stored[0].ID != m.ID || enqueued != 0 {
			t.Fatalf("stored %d, delivery tasks %d; want the message told once and no task", len(stored), enqueued)
		}
		row, err := st.MessageByID(ctx, m.ID)
		if err != nil {
			t.Fatal(err)
		}
		if row.Status != store.MessageSent || row.Relay != notify.DevMailboxReply || row.SentAt == nil || !row.SentAt.Equal(clk.Now()) {
			t.Fatalf("stored as %s via %q at %v, want sent to the dev mailbox now", row.Status, row.Relay, row.SentAt)
		}
		if !reflect.DeepEqual(row, stored[0]) {
			t.Fatalf("told:\n%+v\nstored:\n%+v", stored[0], row)
		}
		if r, err := c.RenderText(row); err != nil || r.Code != "123456" {
			t.Fatalf("the dev mailbox shows code %q (%v), want 123456", r.Code, err)
		}

		// Rolled back: nothing told, nothing kept.
		errNo := errors.New("no")
		var gone store.Message
		if err := st.InTx(ctx, func(q store.Queries) error {
			gone, _ = c.Queue(ctx, q, codeRequest(clk))
			return errNo
		}); !errors.Is(err, errNo) {
			t.Fatal(err)
		}
		if len(stored) != 1 {
			t.Error("Stored was told of a message whose transaction rolled back")
		}
		if _, err := st.MessageByID(ctx, gone.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("rolled-back message: %v", err)
		}

		// SMS is not the dev mailbox's here: queued for its delivery.
		sms := codeRequest(clk)
		sms.Channel, sms.To = notify.SMS, "+81901234567"
		q, err := c.Queue(ctx, st, sms)
		if err != nil {
			t.Fatal(err)
		}
		if q.Status != store.MessageQueued || enqueued != 1 || len(stored) != 1 {
			t.Fatalf("SMS: %s, delivery tasks %d, told %d; want queued with its task", q.Status, enqueued, len(stored))
		}
	})
}

// enqueueFunc counts the deliveries a Composer asks for.
type enqueueFunc func()

func (f enqueueFunc) Enqueue(context.Context, jobs.Tx, string, any) error { f(); return nil }
