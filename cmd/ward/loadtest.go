package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/wardhq/ward/config"
	"github.com/wardhq/ward/dkim"
	"github.com/wardhq/ward/instance"
	"github.com/wardhq/ward/keys"
	"github.com/wardhq/ward/loadtest"
	"github.com/wardhq/ward/store"
)

func loadtestCmd(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	driverOnly := fs.String("driver-only", "", "URL of a running ward to drive (empty: start one as a child process); its mail relay must be --sink, or use --dev-mailbox")
	sinkAddr := fs.String("sink", "127.0.0.1:0", "address of the SMTP sink ward relays the code mail to")
	devMailbox := fs.Bool("dev-mailbox", false, "read codes from ward's dev mailbox over HTTP instead: no SMTP and no DKIM, so not the complete sign-in")
	metricsURL := fs.String("metrics", "", "with --driver-only: ward's /metrics URL, to report its CPU time per sign-in")
	levels := fs.String("concurrency", "1,8,32", "comma-separated concurrency levels")
	dur := fs.Duration("duration", 10*time.Second, "how long each level runs")
	warm := fs.Duration("warm-up", 3*time.Second, "sign in this long at the first level before measuring, uncounted (0: measure from cold)")
	naccts := fs.Int("accounts", 2000, "accounts to sign in as")
	pg := fs.String("postgres", "", "without --driver-only: run ward on this PostgreSQL DSN instead of SQLite")
	admin := fs.String("admin-token", os.Getenv("WARD_ADMIN_TOKEN"), "with --driver-only: ward's admin token, to create the accounts")
	password := fs.Bool("password", false, "sign in with a password (argon2id) instead of a mailed code, and report ward's memory")
	busy := fs.Duration("busy", 0, "with --password: first sign in with mailed codes this long at concurrency 32, uncounted, so that ward's caches and its record of the address are a busy server's")
	instances := fs.Int("instances", 1, "with --postgres: run this many ward processes on the one database, the traffic shared between them")
	killAfter := fs.Duration("kill-one-after", 0, "with --instances 2 or more: SIGKILL the last instance this long into the first level; the others must deliver its mail")
	dbLatency := fs.Duration("database-latency", 0, "with --postgres: hold every byte between ward and PostgreSQL this long each way, as a network between two machines would (e.g. 1ms; the round trip it makes is measured and printed)")
	relayLatency := fs.Duration("relay-latency", 0, "hold every byte between ward and the SMTP sink this long each way, as a mail relay on another machine would (e.g. 10ms; the round trips per code mail are printed)")
	cpuProfile := fs.String("cpu-profile", "", "write a CPU profile of the one ward this command starts (not with --driver-only or --instances) over the last level to this file (for go tool pprof)")
	dashboard := fs.Int("dashboard", 0, "instead of sign-ins, load the security dashboard of one account with this many activity rows (in-process ward)")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	var conc []int
	for f := range strings.SplitSeq(*levels, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return fmt.Errorf("--concurrency: %q is not a positive number", f)
		}
		if n > *naccts {
			// Each worker signs in to accounts of its own.
			return fmt.Errorf("--concurrency %d: more than the %d accounts (--accounts)", n, *naccts)
		}
		conc = append(conc, n)
	}
	if *cpuProfile != "" && (*driverOnly != "" || *instances > 1) {
		return errors.New("--cpu-profile profiles the one ward this command starts: not with --driver-only or --instances")
	}
	if *busy > 0 && !*password {
		return errors.New("--busy runs code sign-ins before password ones: with --password")
	}
	if *relayLatency > 0 && (*devMailbox || *driverOnly != "") {
		return errors.New("--relay-latency puts the SMTP sink away from the ward this command starts: not with --dev-mailbox or --driver-only")
	}
	if *dashboard > 0 {
		if *driverOnly != "" {
			return fmt.Errorf("--dashboard needs the in-process ward (no --driver-only): it writes the activity rows itself")
		}
		return loadDashboard(ctx, *pg, *dashboard, conc, *dur, stdout)
	}
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}, Timeout: 30 * time.Second}
	dr := &loadtest.Driver{Client: hc}
	if *password {
		dr.Password = "load test: correct horse battery staple 42"
	}
	if !*devMailbox {
		sink, err := loadtest.StartSink(*sinkAddr)
		if err != nil {
			return err
		}
		defer sink.Close()
		dr.Sink = sink
	}
	token := *admin
	var single *childWard // the one ward this command started, if so
	switch {
	case *driverOnly != "":
		dr.Target = strings.TrimRight(*driverOnly, "/")
		if *metricsURL != "" {
			dr.CPU = loadtest.MetricsCPU(*metricsURL)
			dr.Allocs = loadtest.MetricsAllocs(*metricsURL)
		}
		if dr.Sink != nil {
			fmt.Fprintf(stdout, "driving %s; its mail relay must be the SMTP sink at %s:%d (mail.smtp.tls none)\n", dr.Target, dr.Sink.Host, dr.Sink.Port)
		}
	default:
		if *instances > 1 && *pg == "" {
			return errors.New("--instances: several instances share a PostgreSQL database (--postgres)")
		}
		dsn := *pg
		if *dbLatency > 0 {
			far, trips, stop, err := farDatabase(*pg, *dbLatency)
			if err != nil {
				return err
			}
			defer stop()
			dsn, dr.Trips = far, trips
			rt, err := databaseRoundTrip(ctx, far)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "PostgreSQL %v away each way (a proxy in this process holds every byte): a round trip takes %.2f ms\n",
				*dbLatency, float64(rt)/float64(time.Millisecond))
		}
		var extra []string
		if *cpuProfile != "" {
			extra = append(extra, "WARD_METRICS_PPROF=true")
		}
		if *relayLatency > 0 {
			far, err := farRelay(dr.Sink, *relayLatency, stdout)
			if err != nil {
				return err
			}
			defer far.Close()
			extra = append(extra, "WARD_MAIL_SMTP_HOST="+far.Host, "WARD_MAIL_SMTP_PORT="+far.Port)
		}
		wards, err := startWards(ctx, dsn, dr.Sink, *instances, extra...)
		if err != nil {
			return err
		}
		defer func() {
			for _, w := range wards {
				w.Stop()
			}
		}()
		if localDatabase(*pg) {
			dr.Database = "postgres"
		}
		for _, w := range wards {
			dr.Targets = append(dr.Targets, w.URL)
			fmt.Fprintf(stdout, "ward started as its own process at %s (%s)\n", w.URL, map[bool]string{true: "postgres", false: "sqlite"}[*pg != ""])
		}
		dr.Target, token = wards[0].URL, wards[0].admin
		dr.CPU = func() (time.Duration, error) {
			var sum time.Duration
			for _, w := range wards {
				if c, err := w.CPU(); err == nil {
					sum += c
				}
			}
			return sum, nil
		}
		dr.Allocs = func() (int64, error) {
			var sum int64
			for _, w := range wards {
				n, err := loadtest.MetricsAllocs(w.metrics)()
				if err != nil {
					return 0, err
				}
				sum += n
			}
			return sum, nil
		}
		if *instances > 1 {
			return driveInstances(ctx, dr, wards, token, *naccts, conc, *dur, *warm, *killAfter, stdout)
		}
		single = wards[0]
	}
	switch {
	case dr.Password != "":
		fmt.Fprintln(stdout, "password sign-in (argon2id): the known device signs in with the password alone; a new one is also asked for a code")
	case dr.Sink == nil:
		fmt.Fprintln(stdout, "codes read from the dev mailbox: no SMTP and no DKIM; this is not the complete sign-in")
	default:
		fmt.Fprintln(stdout, "complete sign-in: start → code mail with both DKIM signatures over SMTP → code read at the sink → verify → session")
	}
	if *driverOnly == "" && dr.Sink != nil {
		// The ward started here is this binary, on this machine.
		if v, err := dkim.OpenSSL(); err == nil {
			fmt.Fprintf(stdout, "RSA signatures made by %s\n", v)
		} else {
			fmt.Fprintf(stdout, "RSA signatures made by Go: %v\n", err)
		}
	}
	if d, err := loadtest.Yardstick(); err == nil {
		fmt.Fprintf(stdout, "this machine: one RSA-2048 signature takes %.2f ms on one core (compare figures only between runs where this is alike)\n",
			float64(d)/float64(time.Millisecond))
	}
	emails, err := loadtest.CreateAccounts(ctx, hc, dr.Target, token, dr.Password, *naccts)
	if err != nil {
		return err
	}
	dr.Accounts = emails
	memory := func(when string) {
		if single == nil {
			return
		}
		if m, err := single.Memory(); err == nil {
			mb := func(n int64) float64 { return float64(n) / (1 << 20) }
			fmt.Fprintf(stdout, "    ward's memory %s: resident %.0f MB (its own %.0f, mapped from files %.0f), at most %.0f MB so far\n",
				when, mb(m.Now), mb(m.Anon), mb(m.File), mb(m.Peak))
		}
	}
	memory("before the load")
	if *busy > 0 {
		// SQLite's page caches fill and stay full, outside Go's memory
		// limit; a password load on a fresh database would not show them.
		pw, n := dr.Password, min(32, len(dr.Accounts))
		dr.Password = ""
		r := dr.Run(ctx, n, *busy)
		dr.Password = pw
		fmt.Fprintf(stdout, "busy first, not counted: %d sign-ins with a mailed code in %.1fs at concurrency %d, errors %d\n",
			r.SignIns, r.Elapsed.Seconds(), n, r.Errors)
		memory("after them")
	}
	warmUp(ctx, dr, conc[0], *warm, stdout)
	for i, n := range conc {
		var profiled chan error
		if *cpuProfile != "" && single != nil && i == len(conc)-1 {
			profiled = make(chan error, 1)
			go func() { profiled <- single.cpuProfile(ctx, *dur, *cpuProfile) }()
		}
		fmt.Fprintln(stdout, dr.Run(ctx, n, *dur))
		if profiled != nil {
			if err := <-profiled; err != nil {
				return err
			}
			fmt.Fprintf(stdout, "    ward's CPU profile over this level: %s\n", *cpuProfile)
		}
		memory("after it")
	}
	if single != nil {
		took, err := single.restart(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "start with the data folder just used: %.0f ms to the first answer of /healthz\n", float64(took)/float64(time.Millisecond))
		time.Sleep(2 * time.Second)
		memory("idle, 2 s after that start")
	}
	return nil
}

// warmUp signs in for d at concurrency n and counts none of it: the
// first seconds after a start open the database's connections (on
// PostgreSQL, a process and a cold statement cache each) and fill caches,
// which a figure of the steady state should not hold.
func warmUp(ctx context.Context, dr *loadtest.Driver, n int, d time.Duration, stdout io.Writer) {
	if d <= 0 {
		return
	}
	r := dr.Run(ctx, n, d)
	fmt.Fprintf(stdout, "warm-up, not counted: %d sign-ins in %.1fs at concurrency %d, p99 %.0f ms, errors %d\n",
		r.SignIns, r.Elapsed.Seconds(), n, float64(r.P99)/float64(time.Millisecond), r.Errors)
}

// relayProxy is the SMTP sink as ward reaches it through a Latency proxy.
type relayProxy struct {
	Host, Port string
	Close      func()
}

// farRelay puts the sink oneWay away from ward, as a relay on another
// machine is: each round trip of SMTP then costs a wait. When closed, it
// prints the round trips per mail the sink received.
func farRelay(sink *loadtest.Sink, oneWay time.Duration, stdout io.Writer) (relayProxy, error) {
	l, err := loadtest.StartLatency(net.JoinHostPort(sink.Host, strconv.Itoa(sink.Port)), oneWay)
	if err != nil {
		return relayProxy{}, err
	}
	fmt.Fprintf(stdout, "the SMTP sink is %v away each way (a proxy in this process holds every byte)\n", oneWay)
	host, port, _ := net.SplitHostPort(l.Addr)
	return relayProxy{Host: host, Port: port, Close: func() {
		trips := l.Trips()
		l.Close()
		if mails, _ := sink.Received(); mails > 0 {
			// A connection's greeting and EHLO count too, once per
			// connection ward keeps.
			fmt.Fprintf(stdout, "round trips to the relay: %.2f per mail received\n", float64(trips)/float64(mails))
		}
	}}, nil
}

// farDatabase returns dsn reached through a proxy that holds every byte
// oneWay in each direction, the count of round trips through it, and how
// to stop it.
func farDatabase(dsn string, oneWay time.Duration) (string, func() int64, func(), error) {
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" {
		return "", nil, nil, errors.New("--database-latency: give --postgres as a postgres://host:port/… URL")
	}
	target := u.Host
	if u.Port() == "" {
		target = net.JoinHostPort(u.Hostname(), "5432")
	}
	l, err := loadtest.StartLatency(target, oneWay)
	if err != nil {
		return "", nil, nil, err
	}
	u.Host = l.Addr
	return u.String(), l.Trips, func() { l.Close() }, nil
}

// databaseRoundTrip is the median time of a trivial statement on dsn:
// timers fire late (about 1 ms at least on Linux), so the proxy's delay is
// measured, not taken as asked.
func databaseRoundTrip(ctx context.Context, dsn string) (time.Duration, error) {
	c, err := pgconn.Connect(ctx, dsn)
	if err != nil {
		return 0, fmt.Errorf("reaching PostgreSQL through the latency proxy: %w", err)
	}
	defer c.Close(ctx)
	var times []time.Duration
	for range 21 {
		start := time.Now()
		if _, err := c.Exec(ctx, "SELECT 1").ReadAll(); err != nil {
			return 0, fmt.Errorf("timing PostgreSQL through the latency proxy: %w", err)
		}
		times = append(times, time.Since(start))
	}
	slices.Sort(times)
	return times[len(times)/2], nil
}

// localDatabase says whether the PostgreSQL that dsn names runs on this
// machine, so that its processes' CPU time can be read here.
func localDatabase(dsn string) bool {
	if dsn == "" {
		return false
	}
	cfg, err := pgconn.ParseConfig(dsn)
	if err != nil {
		return false
	}
	h := cfg.Host
	return strings.HasPrefix(h, "/") || h == "localhost" || net.ParseIP(h).IsLoopback()
}

type childWard struct {
	*loadtest.Ward
	admin   string
	dir     string
	metrics string
	exe     string
	env     []string
	log     io.Writer
}

// restart stops ward and starts it again on the same data, and says how
// long the start took.
func (w *childWard) restart(ctx context.Context) (time.Duration, error) {
	w.Ward.Stop()
	start := time.Now()
	nw, err := loadtest.StartWard(ctx, w.exe, w.URL, w.env, w.log)
	if err != nil {
		return 0, err
	}
	took := time.Since(start)
	w.Ward = nw
	return took, nil
}

// cpuProfile asks ward's profiler for a CPU profile over d (less the
// second the driver takes to start and end a level) and writes it to file.
func (w *childWard) cpuProfile(ctx context.Context, d time.Duration, file string) error {
	secs := max(1, int((d-time.Second)/time.Second))
	u := strings.TrimSuffix(w.metrics, "/metrics") + "/debug/pprof/profile?seconds=" + strconv.Itoa(secs)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("profiling ward: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("profiling ward: %s", resp.Status)
	}
	f, err := os.Create(file)
	if err != nil {
		return fmt.Errorf("writing the CPU profile: %w", err)
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return fmt.Errorf("writing the CPU profile: %w", err)
	}
	return f.Close()
}

func (w *childWard) Stop() {
	w.Ward.Stop()
	os.RemoveAll(w.dir)
}

// startWards starts n wards sharing one secret, one set of DKIM keys and
// (for n > 1) one PostgreSQL database, one after the other (the first
// makes the keys).
func startWards(ctx context.Context, pg string, sink *loadtest.Sink, n int, extra ...string) ([]*childWard, error) {
	shared, err := os.MkdirTemp("", "ward-load-keys")
	if err != nil {
		return nil, err
	}
	secret := make([]byte, 32)
	rand.Read(secret)
	env := []string{"WARD_SECRET_KEY=" + base64.StdEncoding.EncodeToString(secret), "WARD_MAIL_DKIM_DIR=" + shared,
		"WARD_ADMIN_TOKEN=" + keys.Token()}
	env = append(env, extra...)
	if n > 1 {
		// A killed instance's mail is taken over after this.
		env = append(env, "WARD_MAIL_OUTBOX_LEASE=5s")
	}
	var out []*childWard
	for range n {
		w, err := startWard(ctx, pg, sink, env)
		if err != nil {
			for _, w := range out {
				w.Stop()
			}
			return nil, err
		}
		out = append(out, w)
	}
	return out, nil
}

// driveInstances runs the levels against several instances and then
// proves what scale-out must keep: every accepted sign-in's code mail
// delivered once, also when an instance is killed mid-run, and the
// instances' metrics adding up to what the driver saw.
func driveInstances(ctx context.Context, dr *loadtest.Driver, wards []*childWard, token string, naccts int, conc []int, dur, warm, killAfter time.Duration,
	stdout io.Writer) error {
	emails, err := loadtest.CreateAccounts(ctx, dr.Client, dr.Target, token, dr.Password, naccts)
	if err != nil {
		return err
	}
	dr.Accounts = emails
	starts := func() (float64, error) {
		var sum float64
		for _, w := range wards {
			v, err := loadtest.MetricValue(w.metrics, `ward_http_requests_total{method="POST",route="POST /api/v1/sign-in/code",status="200"}`)
			if err != nil {
				return 0, err
			}
			sum += v
		}
		return sum, nil
	}
	warmUp(ctx, dr, conc[0], warm, stdout)
	killed := false
	for i, n := range conc {
		if i == 0 && killAfter > 0 {
			victim := wards[len(wards)-1]
			time.AfterFunc(killAfter, func() {
				victim.Kill()
				fmt.Fprintf(stdout, "killed %s (SIGKILL) %s into the run\n", victim.URL, killAfter)
			})
			killed = true
		}
		before := dr.Started.Load()
		var m0 float64
		if !killed {
			if m0, err = starts(); err != nil {
				return err
			}
		}
		fmt.Fprintln(stdout, dr.Run(ctx, n, dur))
		if !killed {
			m1, err := starts()
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "    accepted sign-ins: driver %d, instances' metrics %d together\n", dr.Started.Load()-before, int64(m1-m0))
		}
	}
	// Every accepted sign-in owes one code mail; a killed instance's are
	// delivered by the others once their lease (5 s) ends.
	want := int(dr.Started.Load())
	deadline := time.Now().Add(30 * time.Second)
	for {
		got, _ := dr.Sink.Received()
		if got >= want || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(2 * time.Second) // a while longer: no late second copies
	got, dups := dr.Sink.Received()
	fmt.Fprintf(stdout, "code mails: %d received for %d accepted sign-ins, %d delivered twice\n", got, want, dups)
	return nil
}

// startWard runs this binary's `ward serve` on a new data folder (with
// extra settings added), with
// every limit that would refuse the driver's own traffic turned off: one
// client at one address makes every request, and the per-IP and
// per-recipient limits and the flood guard (a day's codes to one
// address) would measure themselves, not ward.
func startWard(ctx context.Context, pg string, sink *loadtest.Sink, extra []string) (*childWard, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "ward-load")
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	mln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	maddr := mln.Addr().String()
	mln.Close()
	_, port, _ := net.SplitHostPort(addr)
	admin := keys.Token()
	// The driver signs in to thousands of accounts from one address, in
	// turn, as a large office behind one would. The IP signals are
	// counted as for anyone, their thresholds at their highest
	// (risk.IPHistory), and nothing blocks on them: with 1,000 accounts or
	// more, the newest 1,000 attempts are to as many different ones, which
	// ip_many_accounts would block by default.
	env := []string{"WARD_DATA_DIR=" + dir, "WARD_LISTEN=" + addr, "WARD_PUBLIC_URL=http://localhost:" + port, "WARD_LOG_LEVEL=error",
		"WARD_METRICS_LISTEN=" + maddr, "WARD_SHUTDOWN_GRACE=0s", "WARD_ACCESS_LOG=false",
		"WARD_ADMIN_TOKEN=" + admin, "WARD_LIMITS_PER_IP_HOUR=0", "WARD_LIMITS_PER_RECIPIENT_HOUR=0", "WARD_LIMITS_PER_RECIPIENT_DAY=0",
		"WARD_LIMITS_PASSWORD_PER_IP_MINUTE=0", "WARD_RISK_FLOOD_AFTER=1000000000", "WARD_RISK_STUFFING_ACCOUNTS=1000", "WARD_RISK_IP_FAILURES=1000", "WARD_RISK_BLOCK=", "WARD_MAIL_FROM=ward <security@ward.example>"}
	if sink != nil {
		env = append(env, "WARD_MAIL_SMTP_HOST="+sink.Host, "WARD_MAIL_SMTP_PORT="+strconv.Itoa(sink.Port), "WARD_MAIL_SMTP_TLS=none")
	}
	if pg != "" {
		env = append(env, "WARD_DATABASE_DRIVER=postgres", "WARD_DATABASE_DSN="+pg)
	}
	env = append(env, extra...)
	for _, e := range extra {
		if v, ok := strings.CutPrefix(e, "WARD_ADMIN_TOKEN="); ok {
			admin = v
		}
	}
	log, err := os.Create(filepath.Join(dir, "ward.log"))
	if err != nil {
		return nil, err
	}
	w, err := loadtest.StartWard(ctx, exe, "http://"+addr, env, log)
	if err != nil {
		b, _ := os.ReadFile(log.Name())
		os.RemoveAll(dir)
		return nil, fmt.Errorf("%w\n%s", err, b)
	}
	return &childWard{Ward: w, admin: admin, dir: dir, metrics: "http://" + maddr + "/metrics", exe: exe, env: env, log: log}, nil
}

// loadDashboard writes rows activity events (a month of a busy account's
// history) for one account of an in-process ward and loads its dashboard
// at each concurrency.
func loadDashboard(ctx context.Context, pg string, rows int, conc []int, dur time.Duration, stdout io.Writer) error {
	dir, err := os.MkdirTemp("", "ward-load")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	c := config.Default()
	c.DataDir, c.LogLevel = dir, "error"
	c.Shutdown.Grace = 0
	c.AdminToken = keys.Token()
	c.Limits.PerIPHour, c.Limits.PerRecipientHour, c.Limits.PerRecipientDay = 0, 0, 0
	c.Limits.PasswordPerIPMinute, c.Risk.FloodAfter = 0, 0
	if pg != "" {
		c.Database.Driver, c.Database.DSN = "postgres", pg
	}
	in, err := instance.New(ctx, c, slog.New(slog.NewTextHandler(io.Discard, nil)), instance.Options{})
	if err != nil {
		return err
	}
	defer in.Store.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { in.Serve(sctx, ln); close(done) }()
	defer func() { cancel(); <-done }()
	base := "http://" + ln.Addr().String()
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}, Timeout: 30 * time.Second}
	emails, err := loadtest.CreateAccounts(ctx, hc, base, c.AdminToken, "", 1)
	if err != nil {
		return err
	}
	dr := &loadtest.Driver{Target: base, Accounts: emails, Client: hc}
	email := emails[0]
	tok, err := dr.SignIn(ctx, email)
	if err != nil {
		return err
	}
	a, err := in.Store.AccountByEmail(ctx, email)
	if err != nil {
		return err
	}
	results := []string{"success", "wrong_password", "wrong_code", "sent", "step_up_required"}
	now := time.Now()
	for done := 0; done < rows; {
		err := in.Store.InTx(ctx, func(q store.Queries) error {
			for i := 0; i < 1000 && done < rows; i, done = i+1, done+1 {
				e := store.Event{ID: store.NewID(), AccountID: a.ID, At: now.Add(-time.Duration(done) * 30 * 24 * time.Hour / time.Duration(rows)),
					Kind: "sign_in", Result: results[done%len(results)], Method: "password", IP: fmt.Sprintf("203.0.113.%d", done%250),
					Device: "Firefox 140 on Linux", Reasons: []string{"new_device"}}
				if err := q.AppendEvent(ctx, e); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "dashboard of an account with %d activity rows\n", rows)
	for _, n := range conc {
		fmt.Fprintln(stdout, dr.Pages(ctx, "/account", tok, n, dur))
		fmt.Fprintln(stdout, dr.Pages(ctx, "/account?result=wrong_code", tok, n, dur), "(filtered by result)")
	}
	return nil
}
