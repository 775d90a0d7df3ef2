package instance_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wardhq/ward/account"
	"github.com/wardhq/ward/config"
	"github.com/wardhq/ward/instance"
	"github.com/wardhq/ward/internal/testdb"
	"github.com/wardhq/ward/internal/testsmtp"
	"github.com/wardhq/ward/notify"
	"github.com/wardhq/ward/store"
)

// A delivery in progress when ward is told to stop (SIGTERM cancels
// Serve's context) completes and is recorded once: the queue drains
// before anything closes.
func TestStopLetsADeliveryInProgressFinish(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) { stopDuringDelivery(t, engine) })
	}
}

func stopDuringDelivery(t *testing.T, engine string) {
	{
		relay := testsmtp.Start(t)
		held := relay.Slow()
		c := config.Default()
		c.DataDir = t.TempDir()
		c.Mail.From = "Example Security <security@mail.example.com>"
		c.Shutdown.Grace = 0 // nothing routes traffic here
		c.Mail.SMTP.Host, c.Mail.SMTP.Port, c.Mail.SMTP.TLS = relay.Host, relay.Port, "none"
		if engine == "postgres" {
			c.Database.Driver, c.Database.DSN = "postgres", testdb.PostgresDSN(t)
		}
		in, err := instance.New(context.Background(), c, slog.New(slog.NewTextHandler(io.Discard, nil)), instance.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer in.Store.Close()
		if _, err := in.Accounts.Create(context.Background(), account.NewAccount{Email: "rio@example.jp"}); err != nil {
			t.Fatal(err)
		}
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		ctx, sigterm := context.WithCancel(context.Background())
		served := make(chan error, 1)
		go func() { served <- in.Serve(ctx, ln) }()
		res, err := http.Post("http://"+ln.Addr().String()+"/api/v1/sign-in/code", "application/json",
			bytes.NewReader([]byte(`{"email":"rio@example.jp"}`)))
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("start: %v %v", err, res)
		}
		var p struct{ Flow string }
		json.NewDecoder(res.Body).Decode(&p)
		res.Body.Close()
		select {
		case <-held: // the relay has the mail's DATA and has not answered
		case <-time.After(20 * time.Second):
			t.Fatal("no delivery reached the relay")
		}
		sigterm()
		go func() { time.Sleep(300 * time.Millisecond); relay.Release() }()
		select {
		case err := <-served:
			if err != nil {
				t.Fatalf("Serve: %v", err)
			}
		case <-time.After(60 * time.Second):
			t.Fatal("Serve did not return")
		}
		ms, err := in.Store.MessagesTo(context.Background(), "rio@example.jp", 10)
		if err != nil || len(ms) != 1 {
			t.Fatalf("messages: %v %v", ms, err)
		}
		if ms[0].Kind != notify.KindCode || ms[0].Status != store.MessageSent || ms[0].Attempts != 1 || len(relay.Received()) != 1 {
			t.Fatalf("the delivery in progress at stop: status %s after %d attempts, relay got %d", ms[0].Status, ms[0].Attempts, len(relay.Received()))
		}
	}
}

// The operator's clients file registers its apps at start, and a bad one
// stops ward with a message naming it.
func TestClientsFileIsAppliedAtStart(t *testing.T) {
	c := config.Default()
	c.DataDir = t.TempDir()
	c.OIDC.ClientsFile = filepath.Join(c.DataDir, "clients.yaml")
	if err := os.WriteFile(c.OIDC.ClientsFile, []byte("- {id: shop, name: Shop, public: true, redirect_uris: [https://shop.example/cb]}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	in, err := instance.New(context.Background(), c, slog.New(slog.NewTextHandler(io.Discard, nil)), instance.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cl, err := in.Store.ClientByID(context.Background(), "shop")
	in.Store.Close()
	if err != nil || cl.Name != "Shop" || !cl.Public() {
		t.Fatalf("the file's app: %+v %v", cl, err)
	}
	os.WriteFile(c.OIDC.ClientsFile, []byte("- {id: shop, redirect_uris: [https://shop.example/cb], public: true}\n"), 0o600) // no name
	if _, err := instance.New(context.Background(), c, slog.New(slog.NewTextHandler(io.Discard, nil)), instance.Options{}); err == nil ||
		!strings.Contains(err.Error(), "oidc.clients_file") {
		t.Fatalf("a bad clients file: %v", err)
	}
}

// Two instances on one PostgreSQL share the limits: 100 requests at once
// for one address, half to each instance, mail it exactly the hour's
// share (limits.per_recipient_hour), each code once.
func TestLimitsHoldAcrossInstances(t *testing.T) {
	dsn := testdb.PostgresDSN(t)
	relay := testsmtp.Start(t)
	shared := t.TempDir()
	var urls []string
	for i := range 2 {
		c := config.Default()
		c.DataDir = t.TempDir()
		c.SecretKey = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
		c.Mail.From = "Example Security <security@mail.example.com>"
		c.Mail.DKIM.Dir = shared
		c.Mail.SMTP.Host, c.Mail.SMTP.Port, c.Mail.SMTP.TLS = relay.Host, relay.Port, "none"
		c.Database.Driver, c.Database.DSN = "postgres", dsn
		c.Limits.PerIPHour = 0 // one test client sends everything
		c.Shutdown.Grace = 0
		in, err := instance.New(context.Background(), c, slog.New(slog.NewTextHandler(io.Discard, nil)), instance.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { in.Store.Close() })
		if i == 0 {
			if _, err := in.Accounts.Create(context.Background(), account.NewAccount{Email: "aoi@example.jp"}); err != nil {
				t.Fatal(err)
			}
		}
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		ctx, stop := context.WithCancel(context.Background())
		served := make(chan error, 1)
		go func() { served <- in.Serve(ctx, ln) }()
		t.Cleanup(func() { stop(); <-served })
		urls = append(urls, "http://"+ln.Addr().String())
	}
	var answered [2]int
	results := make(chan int, 100)
	for i := range 100 {
		go func() {
			res, err := http.Post(urls[i%2]+"/api/v1/sign-in/code", "application/json", strings.NewReader(`{"email":"aoi@example.jp"}`))
			if err != nil {
				t.Error(err)
				results <- 0
				return
			}
			res.Body.Close()
			results <- res.StatusCode
		}()
	}
	for range 100 {
		switch <-results {
		case http.StatusOK:
			answered[0]++
		case http.StatusTooManyRequests:
			answered[1]++
		}
	}
	want := config.Default().Limits.PerRecipientHour
	deadline := time.Now().Add(20 * time.Second)
	for len(relay.Received()) < want && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // and no more after that
	if n := len(relay.Received()); n != want || answered[0] != want || answered[1] != 100-want {
		t.Fatalf("%d accepted, %d refused, %d mails; want %d accepted and mailed, the rest refused", answered[0], answered[1], n, want)
	}
}

// A request that finds every PostgreSQL connection taken waits for one,
// and the metrics say so: the first sign of a pool too small for the load.
func TestPoolWaitsAreCounted(t *testing.T) {
	dsn := testdb.PostgresDSN(t)
	if strings.Contains(dsn, "://") {
		dsn += "&pool_max_conns=1"
	} else {
		dsn += " pool_max_conns=1"
	}
	c := config.Default()
	c.DataDir = t.TempDir()
	c.Database.Driver, c.Database.DSN = "postgres", dsn
	in, err := instance.New(context.Background(), c, slog.New(slog.NewTextHandler(io.Discard, nil)), instance.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Store.Close()
	ctx := context.Background()
	// Opening the pool's connection was a wait too (the pool was empty):
	// what counts is what the read below adds. (Read now: a scrape asks
	// the database for the outbox's depth, which needs the connection.)
	waits, waited := series(t, in, `ward_db_connection_waits_total{db_name="pgx"}`), series(t, in, `ward_db_connection_wait_seconds_total{db_name="pgx"}`)
	holding, release := make(chan struct{}), make(chan struct{})
	// Released however the test ends: closing the store waits for the
	// transaction's connection.
	var once sync.Once
	free := func() { once.Do(func() { close(release) }) }
	defer free()
	held := make(chan error, 1)
	go func() {
		held <- in.Store.InTx(ctx, func(q store.Queries) error {
			if _, err := q.AccountByEmail(ctx, "nobody@example.jp"); !errors.Is(err, store.ErrNotFound) {
				return err
			}
			close(holding)
			<-release
			return nil
		})
	}()
	<-holding
	// The pool counts a wait when it ends: the read is let through after
	// a while, and then counted.
	reading, read := make(chan struct{}), make(chan error, 1)
	go func() {
		close(reading)
		_, err := in.Store.AccountByEmail(ctx, "nobody@example.jp")
		read <- err
	}()
	<-reading
	select {
	case err := <-read:
		t.Fatalf("a read got the pool's only connection while a transaction held it: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	free()
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	if err := <-read; !errors.Is(err, store.ErrNotFound) {
		t.Fatal(err)
	}
	if now := series(t, in, `ward_db_connection_waits_total{db_name="pgx"}`); now != waits+1 {
		t.Fatalf("waits for a connection: %v before the read, %v after, want one more", waits, now)
	}
	if now := series(t, in, `ward_db_connection_wait_seconds_total{db_name="pgx"}`); now <= waited {
		t.Fatalf("the wait took no time: %v seconds waited before the read, %v after", waited, now)
	}
}

// series is the value of one metric series of in.
func series(t *testing.T, in *instance.Instance, name string) float64 {
	t.Helper()
	for l := range strings.SplitSeq(scrape(t, in), "\n") {
		if v, ok := strings.CutPrefix(l, name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("metric %s: %v", l, err)
			}
			return f
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

func scrape(t *testing.T, in *instance.Instance) string {
	t.Helper()
	rec := httptest.NewRecorder()
	in.Metrics.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	return rec.Body.String()
}
