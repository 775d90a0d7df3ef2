package notify_test

import (
	"context"
	"testing"
	"time"

	"github.com/wardhq/ward/internal/testclock"
	"github.com/wardhq/ward/internal/testdb"
	"github.com/wardhq/ward/notify"
	"github.com/wardhq/ward/store"
)

// BenchmarkRender is one code mail rendered from its stored row (secret
// opened, text and HTML written), and its text alone (what the dev
// mailbox shows and logs), in English and Japanese.
func BenchmarkRender(b *testing.B) {
	ctx := context.Background()
	st := testdb.SQLite(b)
	clk := testclock.New(time.Now().UTC())
	c := composer(b, clk.Now)
	for _, r := range []struct {
		name   string
		render func(store.Message) (notify.Rendered, error)
	}{{"whole", c.Render}, {"text", c.RenderText}} {
		for _, lang := range []string{"en", "ja"} {
			b.Run(r.name+"/"+lang, func(b *testing.B) {
				req := codeRequest(clk)
				req.Language = lang
				m, err := c.Queue(ctx, st, req)
				if err != nil {
					b.Fatal(err)
				}
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
