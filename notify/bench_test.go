package notify_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/wardhq/ward/dkim"
	"github.com/wardhq/ward/internal/testdb"
	"github.com/wardhq/ward/internal/testsmtp"
	"github.com/wardhq/ward/notify"
	"github.com/wardhq/ward/store"
)

// BenchmarkDelivery measures messages delivered per second from the
// outbox to a local SMTP server, DKIM-signed, on each store. The report's
// msgs/s is the figure; ns/op is the time per message.
func BenchmarkDelivery(b *testing.B) {
	for _, algs := range []string{"ed25519+rsa", "ed25519"} {
		for _, driver := range []string{"sqlite", "postgres"} {
			b.Run(driver+"/"+algs, func(b *testing.B) {
				var st store.Store
				if driver == "sqlite" {
					st = testdb.SQLite(b)
				} else {
					st = testdb.Postgres(b)
				}
				relay := testsmtp.Start(b)
				keys, err := dkim.LoadOrCreate(b.TempDir(), "example.com")
				if err != nil {
					b.Fatal(err)
				}
				if algs == "ed25519" {
					keys.Only([]string{"ed25519"})
				}
				clk := &clock{t: time.Now().UTC()}
				c := composer(b, clk.Now)
				sender := notify.NewSMTP(relay.Host, relay.Port, "", "", "none", keys)
				defer sender.Close()
				o := &notify.Outbox{Store: st, Composer: c, Sender: sender, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: clk.Now}
				ctx := context.Background()
				req := codeRequest(clk)
				req.ExpiresAt = clk.Now().Add(time.Hour)
				b.StopTimer()
				st.InTx(ctx, func(q store.Queries) error {
					for i := range b.N {
						req.To = fmt.Sprintf("r%d@example.org", i)
						if _, err := c.Queue(ctx, q, req); err != nil {
							return err
						}
					}
					return nil
				})
				b.StartTimer()
				start := time.Now()
				sent := 0
				for sent < b.N {
					n, err := o.Drain(ctx)
					if err != nil {
						b.Fatal(err)
					}
					if n == 0 {
						b.Fatalf("%d of %d sent, none due", sent, b.N)
					}
					sent += n
				}
				b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
				if got := len(relay.Received()); got != b.N {
					b.Fatalf("relay received %d of %d", got, b.N)
				}
			})
		}
	}
}
