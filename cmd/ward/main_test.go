package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wardhq/ward/loadtest"
	"github.com/wardhq/ward/notify"
)

func ward(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return out.String() + errb.String(), err
}

func TestAccountCommands(t *testing.T) {
	t.Setenv("WARD_DATA_DIR", t.TempDir())
	out, err := ward(t, "a long and decent passphrase\n", "account", "create", "--email", "Sachiko@Example.JP", "--phone", "+81 90 1234 5678", "--password-stdin")
	if err != nil || !strings.Contains(out, "sachiko@example.jp") {
		t.Fatalf("create: %v %s", err, out)
	}
	if _, err := ward(t, "", "account", "create", "--email", "sachiko@example.jp"); err == nil {
		t.Fatal("a second account with the same email was created")
	}
	if _, err := ward(t, "", "account", "create", "--email", "bad"); err == nil || !strings.Contains(err.Error(), "email") {
		t.Fatalf("bad email: %v", err)
	}
	out, err = ward(t, "", "account", "show", "sachiko@example.jp")
	if err != nil || !strings.Contains(out, "password:  true") || !strings.Contains(out, "phone +819012345678 (verified)") {
		t.Fatalf("show: %v\n%s", err, out)
	}
	if out, err = ward(t, "", "account", "sign-out", "sachiko@example.jp"); err != nil || !strings.Contains(out, "0 sessions ended") {
		t.Fatalf("sign-out: %v %s", err, out)
	}
	if out, err = ward(t, "", "account", "disable", "sachiko@example.jp"); err != nil {
		t.Fatalf("disable: %v %s", err, out)
	}
	if out, _ = ward(t, "", "account", "show", "sachiko@example.jp"); !strings.Contains(out, "disabled since") {
		t.Fatalf("after disable:\n%s", out)
	}
	if _, err := ward(t, "", "account", "show", "nobody@example.jp"); err == nil {
		t.Fatal("show of an unknown account succeeded")
	}
	if out, err = ward(t, "", "migrate"); err != nil || !strings.Contains(out, "database is at migration 19") {
		t.Fatalf("migrate: %v %s", err, out)
	}
}

func TestBadConfigStartsNothing(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "ward.yaml")
	os.WriteFile(cfg, []byte("listen: 127.0.0.1:0\ndata_dir: "+dir+"/data\ncodes:\n  digits: 4\n"), 0o600)
	_, err := ward(t, "", "serve", "--config", cfg)
	if err == nil || !strings.Contains(err.Error(), "codes.digits") {
		t.Fatalf("bad config: %v", err)
	}
	if _, statErr := os.Stat(filepath.Join(dir, "data")); statErr == nil {
		t.Fatal("a bad config still created the data folder")
	}
	// A public address without a mail relay would put everyone's codes in
	// the dev mailbox for anyone to read: it does not start.
	t.Setenv("WARD_PUBLIC_URL", "https://ward.example.com")
	if _, err := ward(t, "", "serve", "--config", cfg); err == nil || !strings.Contains(err.Error(), "mail.smtp.host") {
		t.Fatalf("https without a relay: %v", err)
	}
	os.WriteFile(cfg, []byte("listen: 127.0.0.1:0\ndata_dir: "+dir+"/data\n"), 0o600)
	if _, err := ward(t, "", "serve", "--config", cfg); err == nil || !strings.Contains(err.Error(), "mail.smtp.host") {
		t.Fatalf("https without a relay: %v", err)
	}
	if _, statErr := os.Stat(filepath.Join(dir, "data")); statErr == nil {
		t.Fatal("a config without a relay still created the data folder")
	}
	t.Setenv("WARD_PUBLIC_URL", "http://localhost:8080")
	t.Setenv("WARD_CODES_TTL", "forever")
	if _, err := ward(t, "", "serve"); err == nil || !strings.Contains(err.Error(), "WARD_CODES_TTL") {
		t.Fatalf("bad environment: %v", err)
	}
	if _, err := ward(t, "", "frobnicate"); !errors.Is(err, errUsage) || !strings.Contains(err.Error(), `unknown command "frobnicate"`) {
		t.Fatalf("unknown command: %v", err)
	}
	if !strings.Contains(usage, "--driver-only URL --admin-token T") {
		t.Error("the usage does not say that --driver-only needs --admin-token")
	}
}

func TestServeStartsAndStops(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	t.Setenv("WARD_DATA_DIR", t.TempDir())
	t.Setenv("WARD_LISTEN", addr)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var out bytes.Buffer
	go func() { done <- run(ctx, []string{"serve"}, strings.NewReader(""), &out, &out) }()
	var res *http.Response
	var err error
	for range 100 {
		if res, err = http.Get("http://" + addr + "/sign-in"); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("serve: %v", err)
	}
	res.Body.Close()
	// Defect 13: a second ward on the same data folder is refused, saying
	// why, before it touches the database.
	first, second := os.Getenv("WARD_DATA_DIR"), t.TempDir()
	if _, err := ward(t, "", "serve"); err == nil || !strings.Contains(err.Error(), "already serving the data folder") {
		t.Fatalf("a second ward on one data folder: %v", err)
	}
	// Defect 12: a listen address in use names the setting.
	t.Setenv("WARD_DATA_DIR", second)
	if _, err := ward(t, "", "serve"); err == nil || !strings.Contains(err.Error(), "WARD_LISTEN") {
		t.Fatalf("listen address in use: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve ended with %v", err)
	}
	if _, err := os.Stat(filepath.Join(first, "secret.key")); err != nil {
		t.Fatal("no secret key was generated on first start")
	}
}

func TestVersion(t *testing.T) {
	// Without version control stamping (-buildvcs=false) the commit is
	// said to be unknown, never left out.
	if out, err := ward(t, "", "version"); err != nil || !strings.HasPrefix(out, "ward ") || !strings.Contains(out, ", commit ") {
		t.Fatalf("version: %v %q", err, out)
	}
}

func TestDKIMRecords(t *testing.T) {
	t.Setenv("WARD_DATA_DIR", t.TempDir())
	t.Setenv("WARD_MAIL_FROM", "Security <security@example.com>")
	out, err := ward(t, "", "dkim", "records")
	if err != nil || strings.Count(out, "._domainkey.example.com. IN TXT \"v=DKIM1;") != 2 {
		t.Fatalf("records: %v\n%s", err, out)
	}
	out, err = ward(t, "", "dkim", "keygen")
	if err != nil || strings.Count(out, "IN TXT") != 4 || !strings.Contains(out, "new keys") {
		t.Fatalf("keygen: %v\n%s", err, out)
	}
}

func TestClientCommands(t *testing.T) {
	t.Setenv("WARD_DATA_DIR", t.TempDir())
	out, err := ward(t, "", "client", "create", "--name", "Shop", "--redirect-uri", "https://shop.example/callback", "--redirect-uri", "https://shop.example/cb2")
	if err != nil || !strings.Contains(out, "client_id:     app_") || !strings.Contains(out, "client_secret: ") || !strings.Contains(out, "shown this once") {
		t.Fatalf("create: %v\n%s", err, out)
	}
	if out, err = ward(t, "", "client", "create", "--name", "CLI", "--public", "--redirect-uri", "http://127.0.0.1/callback"); err != nil ||
		strings.Contains(out, "client_secret") || !strings.Contains(out, "PKCE") {
		t.Fatalf("public: %v\n%s", err, out)
	}
	if _, err := ward(t, "", "client", "create", "--name", "Bad", "--redirect-uri", "https://shop.example/cb#frag"); err == nil {
		t.Fatal("a redirect URI with a fragment was registered")
	}
	if _, err := ward(t, "", "client", "create", "--redirect-uri", "https://shop.example/cb"); err == nil || !strings.Contains(err.Error(), "--name") {
		t.Fatalf("no name: %v", err)
	}
	if out, err = ward(t, "", "client", "list"); err != nil || !strings.Contains(out, "Shop  confidential") || !strings.Contains(out, "CLI  public") {
		t.Fatalf("list: %v\n%s", err, out)
	}
	if out, err = ward(t, "", "client", "rotate-keys"); err != nil || !strings.Contains(out, "new signing keys") {
		t.Fatalf("rotate: %v\n%s", err, out)
	}
}

// ward check-mail tells scripts its verdict by its exit status (4
// phishing, 3 suspicious, 0 otherwise), and --eval refuses a folder that
// is not there instead of reporting on nothing.
func TestCheckMailExitStatus(t *testing.T) {
	t.Setenv("WARD_DATA_DIR", t.TempDir())
	dir := t.TempDir()
	phish := filepath.Join(dir, "phish.eml")
	os.WriteFile(phish, []byte("From: PayPaI Security <security@paypal-login.example>\r\nTo: you@example.com\r\nSubject: Urgent: your account will be suspended\r\n\r\nConfirm your password and card number within 24 hours: http://bit.ly/x1\r\n"), 0o600)
	plain := filepath.Join(dir, "plain.eml")
	os.WriteFile(plain, []byte("From: Aiko Tanaka <aiko@example.org>\r\nTo: you@example.com\r\nSubject: Lunch on Friday\r\n\r\nShall we meet at noon?\r\n"), 0o600)
	out, err := ward(t, "", "check-mail", phish)
	var status exitStatus
	if !errors.As(err, &status) || status != exitPhishing || !strings.Contains(out, "!") {
		t.Errorf("a phishing mail: %v\n%s", err, out)
	}
	if out, err := ward(t, "", "check-mail", plain); err != nil {
		t.Errorf("an ordinary mail: %v\n%s", err, out)
	}
	if _, err := ward(t, "", "check-mail", "--eval", filepath.Join(dir, "no-such-folder")); err == nil || !strings.Contains(err.Error(), "not a folder") {
		t.Errorf("--eval on a missing folder: %v", err)
	}
}

// A far relay is put between the sink and the ward the load test starts:
// where it starts none, or sends no mail, the flag is refused, not ignored.
func TestLoadTestRelayLatencyNeedsItsOwnWardAndSink(t *testing.T) {
	for _, args := range [][]string{
		{"loadtest", "--relay-latency", "5ms", "--driver-only", "http://127.0.0.1:1"},
		{"loadtest", "--relay-latency", "5ms", "--dev-mailbox"},
	} {
		if _, err := ward(t, "", args...); err == nil || !strings.Contains(err.Error(), "--relay-latency") {
			t.Errorf("%v: %v", args[3:], err)
		}
	}
}

// The far relay carries mail to the sink and counts its round trips per
// mail received: one for a pipelined mail on a kept connection, plus the
// connection's own (greeting, EHLO).
func TestFarRelayCountsRoundTripsPerMail(t *testing.T) {
	sink, err := loadtest.StartSink("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	sink.Want = nil // unsigned mail
	var out bytes.Buffer
	far, err := farRelay(sink, time.Millisecond, &out)
	if err != nil {
		t.Fatal(err)
	}
	port, _ := strconv.Atoi(far.Port)
	s := notify.NewSMTP(far.Host, port, "", "", "none", nil)
	for range 4 {
		if _, err := s.Send(context.Background(), notify.Rendered{ID: "m1", Channel: notify.Email, From: "ward <security@ward.example>",
			To: "hana@example.jp", Subject: "code", Text: "Your code:\n\n    123456\n", CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	far.Close()
	if got, _ := sink.Received(); got != 4 {
		t.Fatalf("the sink received %d mails, want 4", got)
	}
	// 4 mails, one trip each, and the connection's EHLO (its greeting
	// comes unasked) and QUIT: 6 trips, 1.50 per mail.
	if want := "round trips to the relay: 1.50 per mail received"; !strings.Contains(out.String(), want) {
		t.Fatalf("printed %q, want %q", out.String(), want)
	}
}

// A CPU profile is of the one ward the load test starts: asked for where
// there is none such, it is refused before anything starts, not left out.
func TestLoadTestProfileNeedsItsOwnWard(t *testing.T) {
	for _, args := range [][]string{
		{"loadtest", "--cpu-profile", filepath.Join(t.TempDir(), "cpu.prof"), "--driver-only", "http://127.0.0.1:1"},
		{"loadtest", "--cpu-profile", filepath.Join(t.TempDir(), "cpu.prof"), "--instances", "2", "--postgres", "postgres://127.0.0.1:1/x"},
	} {
		if _, err := ward(t, "", args...); err == nil || !strings.Contains(err.Error(), "--cpu-profile") {
			t.Errorf("%v: %v", args[3:], err)
		}
	}
}

// --busy fills ward with code sign-ins before the password ones are
// measured, so that the memory reported is a busy server's: SQLite's page
// caches fill and stay full, outside Go's memory limit. Without
// --password there is nothing to measure after it, and it is refused.
func TestLoadTestBusyFirst(t *testing.T) {
	if _, err := ward(t, "", "loadtest", "--busy", "1s", "--dev-mailbox"); err == nil || !strings.Contains(err.Error(), "--busy") {
		t.Fatalf("--busy without --password: %v", err)
	}
	if _, err := ward(t, "", "loadtest", "--accounts", "4", "--concurrency", "8"); err == nil || !strings.Contains(err.Error(), "more than the 4 accounts") {
		t.Fatalf("more workers than accounts: %v", err)
	}
	if testing.Short() {
		t.Skip("starts a ward and hashes passwords")
	}
	t.Setenv("WARD_TEST_HELPER_SERVE", "1") // the child is this test binary
	t.Chdir(t.TempDir())
	out, err := ward(t, "", "loadtest", "--password", "--busy", "2s", "--accounts", "4", "--concurrency", "2", "--duration", "1s", "--warm-up", "0")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	m := regexp.MustCompile(`busy first, not counted: (\d+) sign-ins with a mailed code in [0-9.]+s at concurrency 4, errors 0\n\s+ward's memory after them: resident`).FindStringSubmatch(out)
	if m == nil || m[1] == "0" {
		t.Fatalf("no code sign-ins before the password ones:\n%s", out)
	}
	if !regexp.MustCompile(`concurrency   2: +[1-9]\d* sign-ins .* errors 0 `).MatchString(out) {
		t.Fatalf("the password level did not follow:\n%s", out)
	}
}
