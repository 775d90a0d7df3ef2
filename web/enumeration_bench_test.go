package web_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/wardhq/ward/account"
	"github.com/wardhq/ward/config"
)

// BenchmarkKnownVsUnknownTiming is the harness of issue 10, D4: it
// alternates requests for addresses with and without an account (each
// address asked once, so no limit or flood guard is reached) and reports
// the medians and 90th percentiles of both and their ratios. A network
// attacker who cannot tell the two apart by time sees ratios near 1.
//
//	go test -run XXX -bench KnownVsUnknown -benchtime 1x ./web
func BenchmarkKnownVsUnknownTiming(b *testing.B) {
	for _, driver := range []string{"sqlite", "postgres"} {
		for _, path := range []string{"/api/v1/sign-in/code", "/api/v1/password-reset"} {
			b.Run(driver+path, func(b *testing.B) {
				for range b.N {
					known, unknown := alternate(b, driver, path, 500)
					kp50, kp90 := percentile(known, 50), percentile(known, 90)
					up50, up90 := percentile(unknown, 50), percentile(unknown, 90)
					b.ReportMetric(kp50, "known-p50-ms")
					b.ReportMetric(up50, "unknown-p50-ms")
					b.ReportMetric(kp90, "known-p90-ms")
					b.ReportMetric(up90, "unknown-p90-ms")
					b.ReportMetric(kp50/up50, "p50-ratio")
					b.ReportMetric(kp90/up90, "p90-ratio")
				}
			})
		}
	}
}

// alternate sends n requests for known and n for unknown addresses, one
// after the other, and returns their times in milliseconds.
func alternate(b *testing.B, driver, path string, n int) (known, unknown []float64) {
	w := start(b, driver, func(c *config.Config) { c.Limits.PerIPHour = 0 })
	ctx := context.Background()
	for i := range n {
		if _, err := w.in.Accounts.Create(ctx, account.NewAccount{Email: fmt.Sprintf("known%d@example.jp", i), Language: "ja"}); err != nil {
			b.Fatal(err)
		}
	}
	send := func(email string) float64 {
		body := []byte(`{"email":"` + email + `"}`)
		req, _ := http.NewRequest("POST", w.srv.URL+path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		began := time.Now()
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		took := time.Since(began)
		if res.StatusCode != 200 {
			b.Fatalf("%s for %s: %d", path, email, res.StatusCode)
		}
		return float64(took.Microseconds()) / 1000
	}
	// A few untimed requests warm up connections and prepared statements.
	for i := range 20 {
		send(fmt.Sprintf("warm%d@example.org", i))
	}
	b.ResetTimer()
	for i := range n {
		known = append(known, send(fmt.Sprintf("known%d@example.jp", i)))
		unknown = append(unknown, send(fmt.Sprintf("nobody%d@example.jp", i)))
	}
	return known, unknown
}

func percentile(xs []float64, p int) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[(len(s)-1)*p/100]
}
