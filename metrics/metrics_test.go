package metrics

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// A scrape serves every series it can read: one that fails (the outbox's
// depth when the database does not answer) is left out and counted, not
// allowed to fail the rest.
func TestAScrapeServesWhatItCanRead(t *testing.T) {
	m := New()
	m.Backlog(func(context.Context) (int, time.Time, error) {
		return 0, time.Time{}, errors.New("no connection within 2 s")
	})
	m.Request("GET /healthz", "GET", 200, time.Millisecond)
	scrape := func() string {
		rec := httptest.NewRecorder()
		m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		if rec.Code != 200 {
			t.Fatalf("scrape answered %d:\n%s", rec.Code, rec.Body)
		}
		return rec.Body.String()
	}
	scrape()
	// The count of failed reads includes the scrape before this one.
	body := scrape()
	for _, want := range []string{`ward_http_requests_total{method="GET",route="GET /healthz",status="200"} 1`, "go_goroutines ",
		`promhttp_metric_handler_errors_total{cause="gathering"} 1`} {
		if !strings.Contains(body, want) {
			t.Errorf("scrape lacks %s", want)
		}
	}
	if strings.Contains(body, "ward_outbox_tasks ") {
		t.Error("a depth that could not be read is served")
	}
}
