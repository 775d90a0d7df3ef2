package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wardhq/ward/store/sqlite"
)

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func get(t *testing.T, url string, header ...string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// An operator's view of a running ward: health, metrics on their own
// listener (and behind a token on the public one), one JSON access line
// per request naming its route and request id, and on SIGTERM a graceful
// stop: /readyz turns 503 while requests are still served, then the
// process exits 0.
func TestOperatorsView(t *testing.T) {
	metricsAddr := freeAddr(t)
	h := &helper{t: t, addr: freeAddr(t), env: []string{
		"WARD_DATA_DIR=" + t.TempDir(), "WARD_ADMIN_TOKEN=admin-token-for-tests-0123456789",
		"WARD_METRICS_LISTEN=" + metricsAddr, "WARD_METRICS_TOKEN=metrics-token-0123456789", "WARD_METRICS_PPROF=true",
		"WARD_SHUTDOWN_GRACE=1s", "WARD_LOG_FORMAT=json",
	}}
	h.start()
	defer h.kill()
	base := "http://" + h.addr
	if s, body := get(t, base+"/healthz"); s != 200 || body != "ok\n" {
		t.Fatalf("/healthz: %d %q", s, body)
	}
	if s, body := get(t, base+"/readyz"); s != 200 || !strings.Contains(body, `"database":"ok"`) || !strings.Contains(body, `"outbox":"ok"`) {
		t.Fatalf("/readyz: %d %s", s, body)
	}
	if s := h.post("/api/v1/admin/accounts", "admin-token-for-tests-0123456789", map[string]string{"email": "mei@example.jp"}); s != 201 {
		t.Fatalf("create account: %d", s)
	}
	if s := h.post("/api/v1/admin/accounts", "wrong-token", map[string]string{"email": "x@example.jp"}); s != 401 {
		t.Fatalf("a wrong admin token: %d", s)
	}
	res, err := http.Post(base+"/api/v1/sign-in/code", "application/json", strings.NewReader(`{"email":"mei@example.jp"}`))
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("start: %v %v", err, res)
	}
	res.Body.Close()
	requestID := res.Header.Get("X-Request-Id")
	// The code mail is written after the answer, and the dev mailbox
	// takes it in that commit (no delivery task): wait for its delivery
	// to be counted.
	var metrics string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		var s int
		s, metrics = get(t, "http://"+metricsAddr+"/metrics")
		if s == 200 && strings.Contains(metrics, `ward_deliveries_total{channel="email",status="sent"} 1`) {
			break
		}
	}
	for _, want := range []string{
		`ward_http_requests_total{method="POST",route="POST /api/v1/sign-in/code",status="200"} 1`,
		`ward_events_total{kind="code_sent",method="email",result="sent"} 1`,
		`ward_deliveries_total{channel="email",status="sent"} 1`,
		`ward_tasks_total{kind="later",outcome="done"} 1`,
		"ward_outbox_tasks 0", `ward_security_events_total{event="admin_token_failed",outcome="refused"} 1`, "ward_task_wait_seconds_bucket", `go_sql_open_connections{db_name="writer"}`, "go_goroutines", "process_cpu_seconds_total",
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(metrics, `ward_tasks_total{kind="deliver"`) {
		t.Error("a delivery task ran for mail the dev mailbox took in its own commit")
	}
	if t.Failed() {
		t.Fatalf("metrics:\n%s", grepLines(metrics, "ward_"))
	}
	if s, _ := get(t, "http://"+metricsAddr+"/debug/pprof/cmdline"); s != 200 {
		t.Errorf("pprof: %d", s)
	}
	if s, _ := get(t, base+"/metrics"); s != 401 {
		t.Errorf("/metrics on the public listener without the token: %d", s)
	}
	if s, _ := get(t, base+"/metrics", "Authorization", "Bearer metrics-token-0123456789"); s != 200 {
		t.Errorf("/metrics with the token: %d", s)
	}
	if s, _ := get(t, base+"/debug/pprof/cmdline"); s == 200 {
		t.Error("pprof is served on the public listener")
	}

	h.cmd.Process.Signal(syscall.SIGTERM)
	sawStopping := false
	for deadline := time.Now().Add(900 * time.Millisecond); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		s, body := get(t, base+"/readyz")
		if s == 503 && strings.Contains(body, `"status":"stopping"`) {
			sawStopping = true
			if s, _ := get(t, base+"/sign-in"); s != 200 {
				t.Errorf("during the grace period a page answered %d", s)
			}
			break
		}
	}
	if !sawStopping {
		t.Error("/readyz did not turn 503 after SIGTERM")
	}
	done := make(chan error, 1)
	go func() { done <- h.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("ward exited with %v after SIGTERM:\n%s", err, h.logs.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("ward did not exit after SIGTERM")
	}
	var access map[string]any
	sc := bufio.NewScanner(bytes.NewReader(h.logs.Bytes()))
	for sc.Scan() {
		var line map[string]any
		if json.Unmarshal(sc.Bytes(), &line) == nil && line["log"] == "access" && line["request_id"] == requestID {
			access = line
		}
	}
	if access == nil || access["route"] != "POST /api/v1/sign-in/code" || access["status"] != 200.0 || access["method"] != "POST" ||
		access["ip"] != "127.0.0.1" || access["duration_ms"] == nil {
		t.Fatalf("access line of request %s: %v\n%s", requestID, access, h.logs.String())
	}
}

func grepLines(s, prefix string) string {
	var out []string
	for l := range strings.SplitSeq(s, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// ward backup copies the database of a running ward; the copy opens and
// holds what was there.
func TestBackupWhileServing(t *testing.T) {
	dir := t.TempDir()
	h := &helper{t: t, addr: freeAddr(t), env: []string{"WARD_DATA_DIR=" + dir, "WARD_ADMIN_TOKEN=admin-token-for-tests-0123456789"}}
	h.start()
	defer h.kill()
	if s := h.post("/api/v1/admin/accounts", "admin-token-for-tests-0123456789", map[string]string{"email": "sora@example.jp"}); s != 201 {
		t.Fatalf("create account: %d", s)
	}
	t.Setenv("WARD_DATA_DIR", dir)
	dest := filepath.Join(t.TempDir(), "copy.db")
	var out bytes.Buffer
	if err := run(context.Background(), []string{"backup", dest}, nil, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "secret.key") {
		t.Errorf("the output does not say to keep the secret key: %s", out.String())
	}
	if err := run(context.Background(), []string{"backup", dest}, nil, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("a second backup over the first: %v", err)
	}
	cp, err := sqlite.Open(context.Background(), dest, false)
	if err != nil {
		t.Fatal(err)
	}
	defer cp.Close()
	if a, err := cp.AccountByEmail(context.Background(), "sora@example.jp"); err != nil || a.ID == "" {
		t.Fatalf("the copy lacks the account: %v", err)
	}
}
