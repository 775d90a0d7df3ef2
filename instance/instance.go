// Package instance assembles one running ward from its configuration: the
// store, the keys, the services, the HTTP handler and the outbox worker.
// cmd/ward, the end-to-end tests and the load driver all start ward this way.
package instance

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/mail"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/wardhq/ward/account"
	"github.com/wardhq/ward/activity"
	"github.com/wardhq/ward/audit"
	"github.com/wardhq/ward/authenticator"
	"github.com/wardhq/ward/config"
	"github.com/wardhq/ward/dkim"
	"github.com/wardhq/ward/flow"
	"github.com/wardhq/ward/health"
	"github.com/wardhq/ward/jobs"
	"github.com/wardhq/ward/keys"
	"github.com/wardhq/ward/mailcheck"
	"github.com/wardhq/ward/metrics"
	"github.com/wardhq/ward/notify"
	"github.com/wardhq/ward/openid"
	"github.com/wardhq/ward/openid/provider"
	"github.com/wardhq/ward/passkey"
	"github.com/wardhq/ward/risk"
	"github.com/wardhq/ward/session"
	"github.com/wardhq/ward/store"
	"github.com/wardhq/ward/store/postgres"
	"github.com/wardhq/ward/store/sqlite"
	"github.com/wardhq/ward/store/sqlstore"
	"github.com/wardhq/ward/throttle"
	"github.com/wardhq/ward/web"
)

// Instance is an assembled ward.
type Instance struct {
	Config   config.Config
	Store    *sqlstore.DB
	Keys     *keys.Keys
	Flow     *flow.Service
	Accounts *account.Service
	Outbox   *notify.Outbox
	Jobs     *jobs.Queue
	// MailCheck answers "is this mail really from us?".
	MailCheck *mailcheck.Checker
	Handler   http.Handler
	Log       *slog.Logger
	// Health answers /healthz and /readyz.
	Health *health.Health
	// Metrics are this instance's Prometheus metrics.
	Metrics *metrics.Metrics
	// endStreams ends the web server's live streams.
	endStreams func()
	// release frees what the services hold open (GeoIP readers, idle
	// SMTP connections) once nothing uses them any more.
	release []func()
}

// Options are what tests change besides the config.
type Options struct {
	Now    func() time.Time
	Sender notify.Sender // nil: chosen from the config
	// Audit receives the security event log, JSON lines (nil: not kept;
	// ward serve writes it to standard error).
	Audit io.Writer
}

// OpenStore opens the configured database and applies migrations.
func OpenStore(ctx context.Context, c config.Config) (*sqlstore.DB, error) {
	st, _, err := openBackend(ctx, c)
	return st, err
}

// openBackend opens the configured database, and for PostgreSQL also
// returns the pgx pool under it (its use is a metric).
func openBackend(ctx context.Context, c config.Config) (*sqlstore.DB, *pgxpool.Pool, error) {
	if c.Database.Driver == "postgres" {
		pg, err := postgres.Open(ctx, c.Database.DSN, true)
		if err != nil {
			return nil, nil, err
		}
		return pg.DB, pg.Pool, nil
	}
	st, err := sqlite.Open(ctx, SQLitePath(c), true)
	return st, nil, err
}

// SQLitePath is where the SQLite database of c is.
func SQLitePath(c config.Config) string {
	if c.Database.DSN != "" {
		return c.Database.DSN
	}
	return filepath.Join(c.DataDir, "ward.db")
}

// New assembles ward. Close the returned instance's Store when done.
func New(ctx context.Context, c config.Config, log *slog.Logger, o Options) (*Instance, error) {
	now := o.Now
	if now == nil {
		now = time.Now
	}
	var root []byte
	var err error
	if c.SecretKey != "" {
		root, err = keys.Parse(c.SecretKey)
	} else {
		root, err = keys.LoadOrCreate(filepath.Join(c.DataDir, "secret.key"))
	}
	if err != nil {
		return nil, fmt.Errorf("secret_key: %w", err)
	}
	k, err := keys.New(root)
	if err != nil {
		return nil, fmt.Errorf("secret_key: %w", err)
	}
	pol := account.PasswordPolicy{MinLength: c.Passwords.MinLength, MaxLength: c.Passwords.MaxLength, MinScore: c.Passwords.MinScore,
		MemoryKiB: uint32(c.Passwords.MemoryKiB), Time: uint32(c.Passwords.Time), Threads: uint8(c.Passwords.Threads)}
	pw, err := account.NewPasswords(pol, c.PasswordHashers())
	if err != nil {
		return nil, err
	}
	st, pgPool, err := openBackend(ctx, c)
	if err != nil {
		return nil, err
	}
	comp, err := notify.NewComposer(k, c.Mail.From, c.PublicURL, now)
	if err != nil {
		st.Close()
		return nil, err
	}
	comp.Brand, comp.Accent = c.BrandName(), c.Brand.Accent
	dkimKeys, err := dkim.LoadOrCreate(c.DKIMDir(), c.DKIMDomain())
	if err != nil {
		st.Close()
		return nil, err
	}
	dkimKeys.Only(c.Mail.DKIM.Algorithms)
	if c.Mail.DKIM.OpenSSL && slices.Contains(c.Mail.DKIM.Algorithms, "rsa") {
		if v, err := dkimKeys.UseOpenSSL(); err != nil {
			log.Info("DKIM: Go makes the RSA signatures", "openssl", err.Error())
		} else {
			log.Info("DKIM: OpenSSL makes the RSA signatures", "openssl", v)
		}
	}
	sender := o.Sender
	dev := map[string]bool{}
	met := metrics.New()
	var release []func()
	devBox := notify.DevMailbox{Log: log}
	if sender == nil {
		ch := notify.Channels{}
		if c.DevMode() {
			ch[notify.Email], dev[notify.Email] = devBox, true
		} else {
			relay := notify.NewSMTP(c.Mail.SMTP.Host, c.Mail.SMTP.Port, c.Mail.SMTP.Username, c.Mail.SMTP.Password, c.Mail.SMTP.TLS, dkimKeys)
			relay.Signed = met.DKIMSign
			ch[notify.Email] = relay
			release = append(release, relay.Close)
		}
		switch tw := c.SMS.Twilio; {
		case c.SMSGateway():
			ch[notify.SMS] = &notify.Twilio{BaseURL: tw.BaseURL, AccountSID: tw.AccountSID, AuthToken: tw.AuthToken, From: tw.From,
				MessagingServiceSID: tw.MessagingServiceSID}
		case c.DevMode():
			ch[notify.SMS], dev[notify.SMS] = devBox, true
		}
		sender = ch
	}
	st.OnEvent(func(e store.Event) {
		// Only a sign-in's reasons are the risk checks'; other events
		// keep other things there (a purpose, a masked address).
		var reasons []string
		if e.Kind == activity.SignIn {
			reasons = e.Reasons
		}
		met.Event(e.Kind, e.Result, e.Method, reasons)
	})
	for role, db := range st.Pools() {
		met.DB(role, db)
	}
	if pgPool != nil {
		met.Pool("pgx", func() metrics.PoolStat {
			s := pgPool.Stat()
			return metrics.PoolStat{InUse: int(s.AcquiredConns()), Idle: int(s.IdleConns()), Max: int(s.MaxConns()),
				Waits: s.EmptyAcquireCount(), Waited: s.EmptyAcquireWaitTime()}
		})
	}
	met.Backlog(func(ctx context.Context) (int, time.Time, error) {
		b, err := st.TaskBacklog(ctx, time.Now())
		return b.Due, b.Oldest, err
	})
	out := &notify.Outbox{Store: st, Composer: comp, Sender: sender, Log: log, Now: now, DevChannels: dev, Delivered: met.Delivery}
	var fs *flow.Service // built below; the queue hands it the work it left for later
	queue := jobs.New(st, jobs.Options{Lease: c.Mail.OutboxLease.D(), Log: log, NewID: store.NewID,
		MaxAttempts: notify.MaxAttempts, RetryAfter: out.RetryAfter, Deliver: out.DeliverOne, Done: met.Task,
		Later: func(ctx context.Context, p []byte) error { return fs.RunLater(ctx, p) }})
	comp.Jobs = queue
	geo, err := risk.OpenGeo(c.Risk.GeoIPCity, c.Risk.GeoIPASN)
	if err != nil {
		st.Close()
		return nil, err
	}
	nets, err := risk.LoadNetworks(c.Risk.NetworksFile)
	if err != nil {
		st.Close()
		return nil, err
	}
	engine := &risk.Engine{History: st, Geo: geo, Networks: nets, Policy: c.RiskPolicy(), Now: now}
	sessions := &session.Manager{Store: st, Idle: c.Sessions.Idle.D(), Absolute: c.Sessions.Absolute.D(), Now: now}
	fs = &flow.Service{Store: st, Keys: k, Passwords: pw, Sessions: sessions, Composer: comp, Risk: engine, Places: geo, Now: now, Later: queue,
		Unsolicited: c.Unsolicited(), Throttle: c.Throttle(), Limits: c.FlowLimits(), Brand: c.BrandName()}
	if fs.RP, err = passkey.NewRP(c.PublicURL, c.BrandName()); err != nil {
		st.Close()
		return nil, err
	}
	limiter := &throttle.Limiter{Hits: st, Now: now}
	fs.Limiter = limiter
	// Security events are always counted; written out only where asked.
	secOut := o.Audit
	if secOut == nil {
		secOut = io.Discard
	}
	sec := audit.New(secOut, session.DeviceLabel)
	sec.Observe = met.SecurityEvent
	fs.Audit = sec
	accts := &account.Service{Store: st, Passwords: pw, Now: now}
	var proxies []netip.Prefix
	for _, p := range c.TrustedProxies {
		proxies = append(proxies, netip.MustParsePrefix(p)) // validated by config
	}
	u, _ := url.Parse(c.PublicURL)
	checker := MailChecker(c, st, k, dkimKeys, comp)
	oidcStore := &provider.Storage{Store: st, Keys: k, DevMode: c.DevMode(), Issuer: strings.TrimRight(c.PublicURL, "/"), Now: now}
	fs.Logouts = oidcStore
	if fs.Pusher, err = authenticator.NewPusher([]byte(k.Identifier("vapid", "seed")), c.PublicURL); err != nil {
		st.Close()
		return nil, err
	}
	if err := applyClientsFile(ctx, c, st); err != nil {
		st.Close()
		return nil, err
	}
	oidcProvider, err := provider.New(strings.TrimRight(c.PublicURL, "/"), oidcStore, u.Scheme != "https")
	if err != nil {
		st.Close()
		return nil, err
	}
	logo, logoType, err := c.BrandLogo()
	if err != nil {
		st.Close()
		return nil, err
	}
	srv := &web.Server{PublicURL: c.PublicURL, Brand: web.Brand{Name: c.BrandName(), Accent: c.Brand.Accent, Logo: logo, LogoType: logoType}, OpenID: &web.OpenID{Provider: oidcProvider, Storage: oidcStore, Issuer: strings.TrimRight(c.PublicURL, "/")}, Places: geo, MailCheck: checker, Flow: fs, Accounts: accts, Sessions: sessions, Mailbox: st, Composer: comp, DevMailbox: c.DevMode(),
		SecureCookies: u.Scheme == "https", AdminToken: c.AdminToken, TrustedProxies: proxies, Log: log, Now: now,
		Audit: sec, Limiter: limiter, MailCheckRate: c.MailCheckRate(), LinkRate: c.LinkRate(), Observe: met.Request}
	if c.AccessLog {
		srv.AccessLog = log.With("log", "access")
	}
	if srv.DevMailbox {
		srv.RawMail = func(r notify.Rendered) ([]byte, error) { return notify.RawMessage(r, dkimKeys) }
		comp.Queued = srv.MailQueued
		comp.DevChannels = dev
		comp.Stored = func(m store.Message) {
			r, err := comp.RenderText(m)
			if err != nil {
				log.Error("dev mailbox: message cannot be rendered", "message", m.ID, "err", err)
				return
			}
			devBox.Send(context.Background(), r) // prints its code
			met.Delivery(m.Channel, m.Status)
			if m.FlowID != "" {
				srv.MailStored(m.FlowID, r, m.Status)
			}
		}
	}
	h, err := srv.Handler()
	if err != nil {
		st.Close()
		return nil, err
	}
	hl := &health.Health{Checks: []health.Check{
		{Name: "database", Run: func(ctx context.Context) error {
			pending, err := st.MigrationsPending(ctx)
			if err == nil && pending {
				err = errors.New("migrations are not all applied (run ward migrate)")
			}
			return err
		}},
		{Name: "outbox", Run: func(ctx context.Context) error {
			// Draining: nothing due has waited unclaimed longer than a
			// claim may last (a stuck queue, or no instance working it).
			// A message being retried while the relay is down is not
			// this instance's fault, and taking every instance out of
			// service would not help it.
			b, err := st.TaskBacklog(ctx, time.Now())
			if err == nil && !b.Unclaimed.IsZero() && time.Since(b.Unclaimed) > 2*c.Mail.OutboxLease.D() {
				err = fmt.Errorf("a due task has waited %s with no worker taking it", time.Since(b.Unclaimed).Round(time.Second))
			}
			return err
		}},
	}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", hl.Live)
	mux.HandleFunc("GET /readyz", hl.Ready)
	if c.Metrics.Token != "" {
		mux.Handle("GET /metrics", bearer(c.Metrics.Token, met.Handler()))
	}
	mux.Handle("/", h)
	release = append(release, func() {
		if err := geo.Close(); err != nil {
			log.Warn("closing GeoIP databases", "err", err)
		}
	})
	return &Instance{MailCheck: checker, Config: c, Store: st, Keys: k, Flow: fs, Accounts: accts, Outbox: out, Jobs: queue, Handler: mux, Log: log, Health: hl, Metrics: met, endStreams: srv.EndStreams,
		release: release}, nil
}

// MailChecker assembles the mail check from the configuration: ward's
// own brand proven with its DKIM keys and its record of sent messages,
// plus the protected brands.
func MailChecker(c config.Config, msgs mailcheck.Messages, k *keys.Keys, dk *dkim.Keys, comp *notify.Composer) *mailcheck.Checker {
	render := func(m store.Message, s notify.Secrets) (string, string, error) {
		r, err := comp.RenderWith(m, s)
		return r.Text, r.HTML, err
	}
	name := c.BrandName()
	domains := c.MailCheck.Domains
	if len(domains) == 0 {
		domains = []string{c.DKIMDomain()}
		if a, err := mail.ParseAddress(c.Mail.From); err == nil {
			if _, d, ok := strings.Cut(a.Address, "@"); ok && d != domains[0] {
				domains = append(domains, d)
			}
		}
	}
	ch := &mailcheck.Checker{
		Own: &mailcheck.Own{Brand: mailcheck.Brand{Name: name, Names: []string{name}, Domains: domains}, Verify: dk.Verify, Messages: msgs,
			Digest: k.ContentDigest, Render: render},
		TrustedReceivers: c.MailCheck.TrustedReceivers,
	}
	for _, p := range c.MailCheck.Protect {
		switch {
		case strings.EqualFold(p, "well-known"):
			ch.Brands = append(ch.Brands, mailcheck.WellKnown()...)
			continue
		case strings.EqualFold(p, "microsoft"):
			if !slices.Contains(c.MailCheck.Protect, "well-known") {
				ch.Brands = append(ch.Brands, mailcheck.Microsoft())
			}
			continue
		}
		n, ds, _ := strings.Cut(p, "=") // validated by config
		n = strings.TrimSpace(n)
		ch.Brands = append(ch.Brands, mailcheck.Brand{Name: n, Names: []string{n}, Domains: strings.Fields(ds)})
	}
	if c.MailCheck.DNS {
		ch.LookupTXT = net.DefaultResolver.LookupTXT
	}
	return ch
}

// Serve runs the HTTP server, the metrics listener (metrics.listen), the
// background work and the clean-up of expired records until ctx ends,
// then shuts down gracefully:
//
//  1. /readyz answers 503 while requests are still served for
//     shutdown.grace, so that load balancers stop sending new ones;
//  2. the listener closes and the requests in progress finish;
//  3. the background work stops taking tasks and the running ones
//     (deliveries) finish and are recorded; what is left waits durably
//     for the next start or another instance;
//
// steps 2 and 3 together within shutdown.timeout.
func (in *Instance) Serve(ctx context.Context, ln net.Listener) error {
	var ms *http.Server
	if in.Config.Metrics.Listen != "" {
		mln, err := net.Listen("tcp", in.Config.Metrics.Listen)
		if err != nil {
			return fmt.Errorf("metrics.listen: %w", err)
		}
		ms = &http.Server{Handler: in.metricsHandler(), ReadHeaderTimeout: 10 * time.Second}
		go ms.Serve(mln)
		in.Log.Info("metrics are served", "url", "http://"+mln.Addr().String()+"/metrics", "pprof", in.Config.Metrics.Pprof)
	}
	if err := in.Jobs.Start(ctx); err != nil {
		return fmt.Errorf("starting background work: %w", err)
	}
	sweepCtx, stopSweep := context.WithCancel(ctx)
	defer stopSweep()
	var wg sync.WaitGroup
	wg.Go(func() { in.sweep(sweepCtx) })
	hs := &http.Server{Handler: in.Handler, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second,
		IdleTimeout: 2 * time.Minute, ErrorLog: slog.NewLogLogger(in.Log.Handler(), slog.LevelWarn)}
	if in.endStreams != nil {
		hs.RegisterOnShutdown(in.endStreams)
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	var err error
	select {
	case <-ctx.Done():
		in.Health.Stopping()
		in.Log.Info("shutting down: /readyz answers 503", "grace", in.Config.Shutdown.Grace.D().String())
		select {
		case <-time.After(in.Config.Shutdown.Grace.D()):
		case err = <-errc:
		}
	case err = <-errc:
		in.Health.Stopping()
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	sctx, scancel := context.WithTimeout(context.Background(), in.Config.Shutdown.Timeout.D())
	defer scancel()
	if serr := hs.Shutdown(sctx); serr != nil {
		err = errors.Join(err, fmt.Errorf("stopping the HTTP server: %w", serr))
	}
	if serr := in.Jobs.Stop(sctx); serr != nil {
		err = errors.Join(err, fmt.Errorf("stopping background work: %w", serr))
	}
	if ms != nil {
		ms.Close()
	}
	stopSweep()
	wg.Wait()
	for _, free := range in.release {
		free()
	}
	return err
}

// metricsHandler serves /metrics, and Go's profiler when asked for, on the
// operator's own listener.
func (in *Instance) metricsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", in.Metrics.Handler())
	if in.Config.Metrics.Pprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	return mux
}

func (in *Instance) sweep(ctx context.Context) {
	t := time.NewTicker(10 * time.Minute)
	defer t.Stop()
	for {
		if n, err := in.Store.DeleteExpired(ctx, time.Now()); err != nil && ctx.Err() == nil {
			in.Log.Warn("deleting expired records", "err", err)
		} else if n > 0 {
			in.Log.Debug("deleted expired records", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// applyClientsFile registers the apps of oidc.clients_file, replacing the
// ones it lists: the file is the operator's record of them.
func applyClientsFile(ctx context.Context, c config.Config, st store.Store) error {
	if c.OIDC.ClientsFile == "" {
		return nil
	}
	text, err := os.ReadFile(c.OIDC.ClientsFile)
	if err != nil {
		return fmt.Errorf("oidc.clients_file: %w", err)
	}
	list, err := openid.ParseClients(text, c.DevMode(), time.Now())
	if err != nil {
		return fmt.Errorf("oidc.clients_file: %w", err)
	}
	for _, cl := range list {
		if err := st.PutClient(ctx, cl); err != nil {
			return err
		}
	}
	return nil
}

// bearer admits only requests that carry token (compared in constant
// time).
func bearer(token string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
			http.Error(w, "metrics need the bearer token of metrics.token", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}
