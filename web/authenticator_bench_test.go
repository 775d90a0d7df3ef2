package web_test

import (
	"bufio"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wardhq/ward/config"
)

// BenchmarkApprovalToSignInPage measures how long after the phone's
// approval the waiting sign-in page's stream says so (over HTTP, SQLite).
// Each round signs in with the password (untimed), asks for approval,
// opens the page's event stream, and times approve → "approved" event.
// Run with -benchtime 40x (prompts per hour are bounded).
func BenchmarkApprovalToSignInPage(b *testing.B) {
	w := startAtLocalhost(b, "sqlite", func(c *config.Config) { c.Authenticator.PromptsPerHour, c.Limits.PasswordPerIPMinute = 60, 10000 })
	const email, password = "bench@example.jp", "correct horse battery staple"
	w.createAccount(email, password)
	c := browserish()
	w.twoFactors(c, email, password)
	dev, _ := w.pairPhone(c)
	phone := dev.key
	w.do(c, "PUT", "/api/v1/account/two-step", map[string]any{"on": true})
	var took []time.Duration
	for b.Loop() {
		b.StopTimer()
		other := browserish()
		r := w.do(other, "POST", "/api/v1/sign-in/password", map[string]string{"email": email, "password": password})
		flowTok, _ := r.body["flow"].(string)
		r = w.do(other, "POST", "/api/v1/flows/second-step/push", map[string]string{"flow": flowTok})
		number, _ := r.body["number"].(string)
		if number == "" {
			b.Fatalf("push: %s", r.raw)
		}
		res, err := http.Get(w.srv.URL + "/api/v1/flows/second-step/push/events?flow=" + flowTok)
		if err != nil {
			b.Fatal(err)
		}
		events := bufio.NewScanner(res.Body)
		next := func() string {
			for events.Scan() {
				if data, ok := strings.CutPrefix(events.Text(), "data: "); ok {
					return data
				}
			}
			return ""
		}
		if s := next(); s != "pending" {
			b.Fatalf("first event %q", s)
		}
		ps := dev.prompts()
		t0 := time.Now()
		b.StartTimer()
		if r := dev.answer(phone, ps[0]["id"].(string), ps[0]["nonce"].(string), "approve", number); r.status != 200 {
			b.Fatalf("approve: %s", r.raw)
		}
		if s := next(); s != "approved" {
			b.Fatalf("event %q", s)
		}
		took = append(took, time.Since(t0))
		b.StopTimer()
		res.Body.Close()
		b.StartTimer()
	}
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "ms-median")
	b.ReportMetric(float64(took[len(took)*99/100].Microseconds())/1000, "ms-p99")
}
