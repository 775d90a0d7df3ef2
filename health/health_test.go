package health_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/wardhq/ward/health"
)

func ready(t *testing.T, h *health.Health) (int, map[string]any) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.Ready(rec, httptest.NewRequest("GET", "/readyz", nil))
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	return rec.Code, body
}

// Ready answers 200 only when every check passes, says which failed and
// why, and answers 503 from the moment the process is stopping.
func TestReadiness(t *testing.T) {
	var failing error
	h := &health.Health{Checks: []health.Check{
		{Name: "database", Run: func(context.Context) error { return nil }},
		{Name: "outbox", Run: func(context.Context) error { return failing }},
	}}
	if code, body := ready(t, h); code != http.StatusOK || body["status"] != "ready" {
		t.Fatalf("all passing: %d %v", code, body)
	}
	failing = errors.New("a due task has waited 3m0s with no worker taking it")
	code, body := ready(t, h)
	checks := body["checks"].(map[string]any)
	if code != http.StatusServiceUnavailable || body["status"] != "not ready" || checks["outbox"] != failing.Error() || checks["database"] != "ok" {
		t.Fatalf("one failing: %d %v", code, body)
	}
	failing = nil
	h.Stopping()
	if code, body := ready(t, h); code != http.StatusServiceUnavailable || body["status"] != "stopping" {
		t.Fatalf("stopping: %d %v", code, body)
	}
	rec := httptest.NewRecorder()
	h.Live(rec, httptest.NewRequest("GET", "/healthz", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("a stopping process is still alive: %d", rec.Code)
	}
}
