package web_test

import (
	"context"
	"strings"
	"testing"
)

// A database that does not answer shows an error page with status 500,
// never a dashboard that looks empty (issue 11, item 2).
func TestFailedReadIsAnErrorNotAnEmptyDashboard(t *testing.T) {
	bothStores(t, func(t *testing.T, w *ward) {
		w.createAccount("nagi@example.jp", "")
		browser := browserish()
		if r := w.signInCode(browser, "nagi@example.jp"); r.status != 200 {
			t.Fatalf("sign-in: %d", r.status)
		}
		if r := w.do(browser, "GET", "/account", nil); r.status != 200 {
			t.Fatalf("dashboard: %d", r.status)
		}
		// The activity log becomes unreadable.
		if _, err := w.in.Store.SQL().ExecContext(context.Background(), "ALTER TABLE events RENAME TO events_gone"); err != nil {
			t.Fatal(err)
		}
		r := w.do(browser, "GET", "/account", nil)
		if r.status != 500 || strings.Contains(r.raw, `id="activity"`) {
			t.Fatalf("with the activity log unreadable the dashboard answered %d:\n%.400s", r.status, r.raw)
		}
		if r := w.do(browser, "GET", "/api/v1/account/activity", nil); r.status != 500 || r.body["error"] != "internal" {
			t.Fatalf("activity API: %d %s", r.status, r.raw)
		}
		if r := w.do(browser, "GET", "/account/secure", nil); r.status != 500 {
			t.Fatalf("secure page: %d", r.status)
		}
	})
}
