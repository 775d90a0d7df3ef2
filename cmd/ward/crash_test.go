package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wardhq/ward/internal/testdb"
	"github.com/wardhq/ward/internal/testsmtp"
)

// TestMain lets the test binary act as `ward serve`, so that a test can
// kill a real ward process with SIGKILL.
func TestMain(m *testing.M) {
	if os.Getenv("WARD_TEST_HELPER_SERVE") == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		if err := run(ctx, []string{"serve"}, os.Stdin, os.Stdout, os.Stderr); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

type helper struct {
	t    *testing.T
	env  []string
	addr string
	cmd  *exec.Cmd
	logs bytes.Buffer
}

func (h *helper) start() {
	h.t.Helper()
	h.cmd = exec.Command(os.Args[0], "-test.run=^$")
	h.cmd.Env = append(os.Environ(), h.env...)
	h.cmd.Env = append(h.cmd.Env, "WARD_TEST_HELPER_SERVE=1", "WARD_LISTEN="+h.addr)
	h.cmd.Stdout, h.cmd.Stderr = &h.logs, &h.logs
	if err := h.cmd.Start(); err != nil {
		h.t.Fatal(err)
	}
	for range 200 {
		if res, err := http.Get("http://" + h.addr + "/sign-in"); err == nil {
			res.Body.Close()
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	h.t.Fatalf("ward did not start:\n%s", h.logs.String())
}

func (h *helper) kill() {
	h.cmd.Process.Signal(syscall.SIGKILL)
	h.cmd.Wait()
}

func (h *helper) post(path, token string, body any) int {
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", "http://"+h.addr+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// A ward killed with SIGKILL in the middle of handing a code mail to the
// relay loses nothing: after a restart the mail is delivered, once.
func TestKilledMidDeliveryLosesNothing(t *testing.T) {
	for _, driver := range []string{"sqlite", "postgres"} {
		t.Run(driver, func(t *testing.T) {
			relay := testsmtp.Start(t)
			ln, _ := net.Listen("tcp", "127.0.0.1:0")
			addr := ln.Addr().String()
			ln.Close()
			h := &helper{t: t, addr: addr, env: []string{
				"WARD_DATA_DIR=" + t.TempDir(), "WARD_ADMIN_TOKEN=admin-token-for-tests-0123456789",
				"WARD_MAIL_FROM=Security <security@example.com>", "WARD_MAIL_SMTP_HOST=" + relay.Host,
				"WARD_MAIL_SMTP_PORT=" + strconv.Itoa(relay.Port), "WARD_MAIL_SMTP_TLS=none", "WARD_MAIL_OUTBOX_LEASE=2s",
			}}
			if driver == "postgres" {
				h.env = append(h.env, "WARD_DATABASE_DRIVER=postgres", "WARD_DATABASE_DSN="+testdb.PostgresDSN(t))
			}
			h.start()
			defer h.kill()
			if s := h.post("/api/v1/admin/accounts", "admin-token-for-tests-0123456789", map[string]string{"email": "kenji@example.jp"}); s != 201 {
				t.Fatalf("create account: %d", s)
			}
			held := relay.Hold()
			if s := h.post("/api/v1/sign-in/code", "", map[string]string{"email": "kenji@example.jp"}); s != 200 {
				t.Fatalf("start: %d", s)
			}
			select {
			case <-held:
			case <-time.After(10 * time.Second):
				t.Fatalf("the mail never reached the relay:\n%s", h.logs.String())
			}
			h.kill() // mid-delivery: the relay has the message but has not answered
			relay.Release()
			if n := len(relay.Received()); n != 0 {
				t.Fatalf("%d mails accepted before the crash", n)
			}
			h.start()
			// The task is claimed again once the dead instance's lease (2 s)
			// has ended.
			deadline := time.Now().Add(60 * time.Second)
			for len(relay.Received()) == 0 && time.Now().Before(deadline) {
				time.Sleep(50 * time.Millisecond)
			}
			got := relay.Received()
			if len(got) != 1 || !strings.Contains(string(got[0]), "kenji@example.jp") {
				t.Fatalf("after restart %d mails delivered:\n%s", len(got), h.logs.String())
			}
			time.Sleep(3 * time.Second) // a while later: still one
			if n := len(relay.Received()); n != 1 {
				t.Fatalf("%d mails delivered, want 1", n)
			}
		})
	}
}
