// Package config reads ward's configuration: defaults, then one YAML file,
// then WARD_* environment variables, each key checked with a message that
// names it.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/mail"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/wardhq/ward/flow"
	"github.com/wardhq/ward/internal/editdist"
	"github.com/wardhq/ward/risk"
	"github.com/wardhq/ward/throttle"
)

// Duration is a time.Duration written as "10m" or "90s".
type Duration time.Duration

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// Config is every setting. The doc tags are the reference (docs/CONFIG.md).
type Config struct {
	Listen    string `yaml:"listen" doc:"Address the HTTP server listens on."`
	PublicURL string `yaml:"public_url" doc:"URL people reach ward at; links in mail use it. Plain http is allowed only for localhost."`
	DataDir   string `yaml:"data_dir" doc:"Folder for the embedded database and the generated secret key."`

	Brand struct {
		Name   string `yaml:"name" doc:"The product name in the header of every page and mail, and the name authenticator apps and the mail check use. Empty: mail_check.brand, else the host of public_url (ward on localhost)."`
		Logo   string `yaml:"logo" doc:"An image file (PNG, JPEG, WebP or SVG, at most 256 KiB) shown beside the name. Empty: ward's shield."`
		Accent string `yaml:"accent" doc:"The colour of buttons, links and the mail header's rule, as #rrggbb; white text on it must have a contrast of at least 4.5:1. Empty: ward's blue."`
	} `yaml:"brand"`
	SecretKey      string   `yaml:"secret_key" doc:"Root secret (base64, 32+ bytes). Empty: generated in data_dir on first start. Set the same value on every instance sharing a database."`
	AdminToken     string   `yaml:"admin_token" doc:"Bearer token for /api/v1/admin (creating accounts from an app). Empty: the admin API is off."`
	TrustedProxies []string `yaml:"trusted_proxies" doc:"CIDRs of reverse proxies whose X-Forwarded-For is believed (comma-separated in the environment)."`
	LogLevel       string   `yaml:"log_level" doc:"debug, info, warn or error."`
	LogFormat      string   `yaml:"log_format" doc:"json (one JSON object a line, for log collectors) or text."`
	AccessLog      bool     `yaml:"access_log" doc:"Log one line per HTTP request: method, route pattern, status, duration, client IP, request id (never paths, tokens or codes)."`

	Database struct {
		Driver string `yaml:"driver" doc:"sqlite or postgres."`
		DSN    string `yaml:"dsn" doc:"sqlite: file path (default data_dir/ward.db); postgres: postgres://user@host:5432/db URL."`
	} `yaml:"database"`

	Mail struct {
		From string `yaml:"from" doc:"The one sender every message comes from."`
		SMTP struct {
			Host     string `yaml:"host" doc:"Mail relay host. Empty: the dev mailbox at /dev/mail is used and codes are printed to the console."`
			Port     int    `yaml:"port" doc:"Mail relay port."`
			Username string `yaml:"username" doc:"Relay user name (empty: no authentication)."`
			Password string `yaml:"password" doc:"Relay password."`
			TLS      string `yaml:"tls" doc:"starttls, implicit or none (none only for a relay on localhost)."`
		} `yaml:"smtp"`
		OutboxLease Duration `yaml:"outbox_lease" doc:"How long a claimed background task (a delivery, the work after a request) belongs to its instance: a crashed instance's tasks are run again by any instance after this; a task is cancelled at half of it."`
		DKIM        struct {
			Domain     string   `yaml:"domain" doc:"Domain mail is signed for (d=). Empty: the domain of mail.from."`
			Dir        string   `yaml:"dir" doc:"Folder of DKIM keys. Empty: data_dir/dkim. Keys are made there on first start; ward dkim keygen rotates them."`
			Algorithms []string `yaml:"algorithms" doc:"Signatures on each mail: ed25519, rsa or both (RSA-2048 costs ~1.2 ms of CPU a mail made by Go, ~0.5 ms by OpenSSL; some receivers check only RSA)."`
			OpenSSL    bool     `yaml:"openssl" doc:"Make RSA signatures with the system's OpenSSL (libcrypto 3 or 1.1, found at start) instead of Go: the same signatures at a quarter to half the CPU. Go signs when there is none, and in a ward built without cgo (CGO_ENABLED=0 or -tags noopenssl)."`
		} `yaml:"dkim"`
	} `yaml:"mail"`

	OIDC struct {
		ClientsFile string `yaml:"clients_file" doc:"YAML list of the apps that sign people in with ward (OpenID Connect), applied at every start: id, name, redirect_uris, post_logout_uris, public, third_party, backchannel_logout_uri, secret_sha256 (hex SHA-256 of a confidential app's secret). Empty: only apps registered with ward client create."`
	} `yaml:"oidc"`

	SMS struct {
		Twilio struct {
			AccountSID          string `yaml:"account_sid" doc:"Twilio account SID. Empty: no SMS gateway (SMS go to the dev mailbox while mail does too)."`
			AuthToken           string `yaml:"auth_token" doc:"Twilio auth token."`
			From                string `yaml:"from" doc:"Sending number in E.164 (or use messaging_service_sid)."`
			MessagingServiceSID string `yaml:"messaging_service_sid" doc:"Twilio Messaging Service SID, instead of from."`
			BaseURL             string `yaml:"base_url" doc:"API base URL (change only to test against a local server)."`
		} `yaml:"twilio"`
	} `yaml:"sms"`

	Codes struct {
		Digits         int      `yaml:"digits" doc:"Digits in a one-time code, 6 to 8."`
		TTL            Duration `yaml:"ttl" doc:"How long a code works."`
		RecoveryTTL    Duration `yaml:"recovery_ttl" doc:"How long a password-reset code works (at most 24h)."`
		MaxFailures    int      `yaml:"max_failures" doc:"Wrong entries allowed per code before a new code is needed."`
		ResendCooldown Duration `yaml:"resend_cooldown" doc:"Wait between two codes for one flow."`
	} `yaml:"codes"`

	Limits struct {
		PerRecipientHour int `yaml:"per_recipient_hour" doc:"Codes one address or phone may receive per hour (0: no limit)."`
		PerRecipientDay  int `yaml:"per_recipient_day" doc:"Codes one address or phone may receive per day (0: no limit)."`
		PerIPHour        int `yaml:"per_ip_hour" doc:"Codes one IP may request per hour (0: no limit)."`
		// Request rates per source (an IPv4 address, an IPv6 /64).
		PasswordPerIPMinute  int `yaml:"password_per_ip_minute" doc:"Password sign-ins one IP (IPv6: /64) may try per minute; more get 429 (0: no limit)."`
		MailCheckPerIPMinute int `yaml:"mail_check_per_ip_minute" doc:"Mail checks one IP (IPv6: /64) may ask for per minute (0: no limit)."`
		LinksPerIPMinute     int `yaml:"links_per_ip_minute" doc:"\"This wasn't me\", \"not my account\" and delivery-status requests one IP (IPv6: /64) may make per minute (0: no limit)."`
	} `yaml:"limits"`

	Lockout struct {
		FreeFailures int      `yaml:"free_failures" doc:"Consecutive failures per account and factor before waits begin."`
		FirstWait    Duration `yaml:"first_wait" doc:"First wait after the free failures."`
		Step         int      `yaml:"step" doc:"The wait doubles every this many further failures."`
		MaxWait      Duration `yaml:"max_wait" doc:"Longest wait."`
		DisableAt    int      `yaml:"disable_at" doc:"Consecutive failures that turn the factor off until the owner turns it on by another route (at most 100)."`
	} `yaml:"lockout"`

	Sessions struct {
		Idle     Duration `yaml:"idle" doc:"A session unused this long ends."`
		Absolute Duration `yaml:"absolute" doc:"A session ends this long after sign-in, used or not."`
		FreshFor Duration `yaml:"fresh_for" doc:"Changes to security info need a sign-in or code confirmation this recent; older sessions are asked for a code first."`
	} `yaml:"sessions"`

	Authenticator struct {
		PromptsPerHour int `yaml:"prompts_per_hour" doc:"Approval requests one account's ward Authenticator gets in an hour, at most; then sign-ins must use another way (push fatigue)."`
	} `yaml:"authenticator"`

	Contacts struct {
		RecoveryWait Duration `yaml:"recovery_wait" doc:"A newly added email or phone cannot recover the account for this long, unless the owner confirms it from an existing contact."`
	} `yaml:"contacts"`

	Flows struct {
		TTL Duration `yaml:"ttl" doc:"How long a sign-in or reset may take from start to finish."`
	} `yaml:"flows"`

	Risk struct {
		GeoIPCity        string   `yaml:"geoip_city" doc:"Path of a MaxMind GeoLite2/GeoIP2 City database (.mmdb). Empty: places are unknown; IP, device and velocity signals still work."`
		GeoIPASN         string   `yaml:"geoip_asn" doc:"Path of a MaxMind GeoLite2/GeoIP2 ASN database (.mmdb), for the network (ASN) signal."`
		NetworksFile     string   `yaml:"networks_file" doc:"File of anonymising or hosting networks, one CIDR per line with an optional label (\"Tor exit\"); a sign-in from them is flagged."`
		StepUp           []string `yaml:"step_up" doc:"Reasons that ask for a code: new_device, new_ip, new_country, new_network, impossible_travel, anonymizer, ip_many_accounts, ip_failures, account_failures."`
		Block            []string `yaml:"block" doc:"Reasons that block the sign-in (same names as step_up)."`
		SuppressFor      Duration `yaml:"suppress_for" doc:"After \"this wasn't me\" on a code mail, how long codes to that address requested from the same IP, network or device are not sent."`
		FloodAfter       int      `yaml:"flood_after" doc:"Codes one address gets per day before the rest are replaced by one digest mail (then nothing until the next day). A signed-in owner's step-up codes are not counted."`
		Window           Duration `yaml:"window" doc:"How far back the velocity signals (ip_many_accounts, ip_failures, account_failures) count."`
		StuffingAccounts int      `yaml:"stuffing_accounts" doc:"Distinct accounts one IP may try within the window before ip_many_accounts (counted among its 1,000 newest sign-in attempts; at most 1000)."`
		IPFailures       int      `yaml:"ip_failures" doc:"Failed sign-ins from one IP within the window before ip_failures (counted among its 1,000 newest sign-in attempts; at most 1000)."`
		AccountFailures  int      `yaml:"account_failures" doc:"Wrong passwords and codes on one account within the window before account_failures."`
		TravelSpeedKmH   int      `yaml:"travel_speed_kmh" doc:"Speed above which two sign-ins' places mean impossible_travel."`
		TravelMinKm      int      `yaml:"travel_min_km" doc:"Distances shorter than this never count as impossible_travel (GeoIP places are approximate)."`
	} `yaml:"risk"`

	MailCheck struct {
		Brand            string   `yaml:"brand" doc:"The name a mail must prove is ward's own when it uses it. Empty: brand.name (kept for configs written before brand.name)."`
		Domains          []string `yaml:"domains" doc:"Domains ward's mail comes from, guarded against lookalikes. Empty: the DKIM domain and the domain of mail.from."`
		Protect          []string `yaml:"protect" doc:"Other brands whose imitations are called phishing: \"well-known\" (the built-in list of about 200 brands phishing imitates most, Microsoft's fuller profile included), \"microsoft\" alone, or \"Name=domain domain\"."`
		TrustedReceivers []string `yaml:"trusted_receivers" doc:"Receiving mail servers (authserv-ids, e.g. mx.google.com) whose Authentication-Results headers are believed; others are ignored, as anyone can write them."`
		DNS              bool     `yaml:"dns" doc:"Look up other senders' DKIM keys in DNS. Off: only ward's own signatures are checked."`
	} `yaml:"mail_check"`

	Passwords struct {
		MinLength     int `yaml:"min_length" doc:"Shortest password accepted (at least 8)."`
		MaxLength     int `yaml:"max_length" doc:"Longest password accepted (at least 128)."`
		MinScore      int `yaml:"min_score" doc:"Lowest zxcvbn strength score accepted, 0 to 4."`
		MemoryKiB     int `yaml:"memory_kib" doc:"argon2id memory in KiB (at least 19456)."`
		Time          int `yaml:"time" doc:"argon2id passes (at least 2)."`
		Threads       int `yaml:"threads" doc:"argon2id lanes."`
		MaxConcurrent int `yaml:"max_concurrent" doc:"Passwords hashed at once; more wait, so a burst cannot exhaust memory (each takes memory_kib). 0: one per CPU core, which is all the hashing the machine can do at once anyway."`
	} `yaml:"passwords"`
	Metrics struct {
		Listen string `yaml:"listen" doc:"Address of a separate listener for Prometheus metrics at /metrics (and pprof if on), e.g. 127.0.0.1:9090. Empty: none."`
		Token  string `yaml:"token" doc:"When set, /metrics is also served on the public listener to requests with this bearer token."`
		Pprof  bool   `yaml:"pprof" doc:"Serve Go's profiler at /debug/pprof/ on the metrics listener."`
	} `yaml:"metrics"`
	Shutdown struct {
		Grace   Duration `yaml:"grace" doc:"On SIGTERM, how long /readyz answers 503 while requests are still served, so that load balancers stop sending new ones."`
		Timeout Duration `yaml:"timeout" doc:"Then, how long requests and deliveries in progress may take to finish before the process exits anyway."`
	} `yaml:"shutdown"`
}

// PasswordHashers is how many passwords are hashed at once
// (passwords.max_concurrent, 0 meaning one per CPU core).
func (c Config) PasswordHashers() int {
	if c.Passwords.MaxConcurrent > 0 {
		return c.Passwords.MaxConcurrent
	}
	return runtime.NumCPU()
}

// MemoryLimit is the soft limit ward serve gives Go's garbage collector
// when GOMEMLIMIT is not set: room for the hashes that may run at once
// (each takes passwords.memory_kib) and a quarter more for their
// garbage, over 40 MiB for the rest (ward's heap idles at about 11).
// Without it the heap grows to twice what a burst of hashes holds before
// the collector runs; with much less room than this it runs for every
// hash and hands each one's pages back to the system, to take them again
// for the next (measured in docs/OPERATIONS.md, "Memory").
func (c Config) MemoryLimit() int64 {
	hashes := int64(c.PasswordHashers()) * int64(c.Passwords.MemoryKiB) << 10
	return 40<<20 + hashes*5/4
}

// Default returns ward's defaults: it runs with no configuration at all.
func Default() Config {
	var c Config
	c.Listen = "127.0.0.1:8080"
	c.PublicURL = "http://localhost:8080"
	c.DataDir = "./ward-data"
	c.LogLevel = "info"
	c.LogFormat = "json"
	c.AccessLog = true
	c.Shutdown.Grace = Duration(5 * time.Second)
	c.Shutdown.Timeout = Duration(30 * time.Second)
	c.Database.Driver = "sqlite"
	c.Mail.From = "ward <no-reply@localhost>"
	c.Mail.SMTP.Port = 587
	c.Mail.SMTP.TLS = "starttls"
	c.Mail.OutboxLease = Duration(time.Minute)
	c.Mail.DKIM.Algorithms = []string{"ed25519", "rsa"}
	c.Mail.DKIM.OpenSSL = true
	c.Codes.Digits = 6
	c.MailCheck.Protect = []string{"well-known"}
	c.Risk.StepUp = []string{"new_device", "new_ip", "new_country", "new_network", "impossible_travel", "anonymizer", "ip_failures", "account_failures"}
	c.Risk.Block = []string{"ip_many_accounts"}
	c.Risk.SuppressFor = Duration(24 * time.Hour)
	c.Risk.FloodAfter = 5
	c.Risk.Window = Duration(10 * time.Minute)
	c.Risk.StuffingAccounts, c.Risk.IPFailures, c.Risk.AccountFailures = 10, 20, 5
	c.Risk.TravelSpeedKmH, c.Risk.TravelMinKm = 900, 500
	c.Sessions.FreshFor = Duration(10 * time.Minute)
	c.Contacts.RecoveryWait = Duration(7 * 24 * time.Hour)
	c.Authenticator.PromptsPerHour = 5
	c.MailCheck.DNS = true
	c.Codes.TTL = Duration(10 * time.Minute)
	c.Codes.RecoveryTTL = Duration(10 * time.Minute)
	c.Codes.MaxFailures = 5
	c.Codes.ResendCooldown = Duration(60 * time.Second)
	c.Limits.PerRecipientHour = 5
	c.Limits.PerRecipientDay = 20
	c.Limits.PerIPHour = 60
	c.Limits.PasswordPerIPMinute = 20
	c.Limits.MailCheckPerIPMinute = 30
	c.Limits.LinksPerIPMinute = 30
	c.Lockout.FreeFailures = 9
	c.Lockout.FirstWait = Duration(30 * time.Second)
	c.Lockout.Step = 10
	c.Lockout.MaxWait = Duration(time.Hour)
	c.Lockout.DisableAt = 100
	c.Sessions.Idle = Duration(time.Hour)
	c.Sessions.Absolute = Duration(24 * time.Hour)
	c.Flows.TTL = Duration(15 * time.Minute)
	c.Passwords.MinLength = 8
	c.Passwords.MaxLength = 256
	c.Passwords.MinScore = 2
	c.Passwords.MemoryKiB = 19 * 1024
	c.Passwords.Time = 2
	c.Passwords.Threads = 1
	c.Passwords.MaxConcurrent = 0
	return c
}

// Parse reads YAML over the defaults, then the environment (a list of
// KEY=value, as os.Environ gives), and validates the result.
func Parse(yamlText []byte, env []string) (Config, error) {
	c := Default()
	if len(bytes.TrimSpace(yamlText)) > 0 {
		if err := applyYAML(&c, yamlText); err != nil {
			return c, err
		}
	}
	if err := applyEnv(&c, env); err != nil {
		return c, err
	}
	return c, c.Validate()
}

// applyYAML sets each key the file names, walking the file's own tree so
// that every error names the key as docs/CONFIG.md writes it (and its
// line), never a Go type; an unknown key comes with the nearest real one.
func applyYAML(c *Config, text []byte) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(text, &doc); err != nil {
		return fmt.Errorf("reading config: %s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if len(doc.Content) == 0 {
		return nil
	}
	leaves, sections := map[string]field{}, map[string]bool{}
	var names []string
	for _, f := range fields(c) {
		leaves[f.key] = f
		names = append(names, f.key)
		for k := f.key; strings.Contains(k, "."); {
			k = k[:strings.LastIndexByte(k, '.')]
			sections[k] = true
		}
	}
	var walk func(n *yaml.Node, prefix string) error
	walk = func(n *yaml.Node, prefix string) error {
		if n.Kind != yaml.MappingNode {
			what := "the file"
			if prefix != "" {
				what = strings.TrimSuffix(prefix, ".")
			}
			return fmt.Errorf("config line %d: %s: expected settings as key: value lines", n.Line, what)
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			key := prefix + k.Value
			if f, ok := leaves[key]; ok {
				if err := setNode(f.v, v); err != nil {
					return fmt.Errorf("config line %d: %s: %w", v.Line, key, err)
				}
				continue
			}
			if sections[key] {
				if err := walk(v, key+"."); err != nil {
					return err
				}
				continue
			}
			msg := fmt.Sprintf("config line %d: unknown setting %s", k.Line, key)
			if near := nearest(key, names, sections); near != "" {
				msg += fmt.Sprintf(" (did you mean %s?)", near)
			}
			return errors.New(msg + "; docs/CONFIG.md lists every setting")
		}
		return nil
	}
	return walk(doc.Content[0], "")
}

// setNode sets a leaf from its YAML value: a scalar as the environment's
// text would be, a list as a list.
func setNode(v reflect.Value, n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		return set(v, n.Value)
	case yaml.SequenceNode:
		if _, ok := v.Interface().([]string); ok {
			var parts []string
			for _, item := range n.Content {
				if item.Kind != yaml.ScalarNode {
					return fmt.Errorf("expected a list of values")
				}
				parts = append(parts, item.Value)
			}
			v.Set(reflect.ValueOf(parts))
			return nil
		}
	}
	if _, ok := v.Interface().([]string); ok {
		return fmt.Errorf("expected a list of values")
	}
	return fmt.Errorf("expected one value, not a section or a list")
}

// nearest is the setting or section closest to a mistyped key by edit
// distance, if one is close enough to be what was meant.
func nearest(key string, names []string, sections map[string]bool) string {
	best, dist := "", len(key)/3+2
	try := func(name string) {
		if d := editdist.Distance(key, name); d < dist {
			best, dist = name, d
		}
	}
	for _, n := range names {
		try(n)
	}
	for s := range sections {
		try(s)
	}
	return best
}

// field is one leaf setting, found by walking the struct.
type field struct {
	key string // codes.ttl
	env string // WARD_CODES_TTL
	doc string
	v   reflect.Value
}

func fields(c *Config) []field {
	var out []field
	var walk func(prefix string, v reflect.Value)
	walk = func(prefix string, v reflect.Value) {
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			key := prefix + f.Tag.Get("yaml")
			if f.Type.Kind() == reflect.Struct {
				walk(key+".", v.Field(i))
				continue
			}
			out = append(out, field{key: key, env: "WARD_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_")), doc: f.Tag.Get("doc"), v: v.Field(i)})
		}
	}
	walk("", reflect.ValueOf(c).Elem())
	return out
}

func applyEnv(c *Config, env []string) error {
	vals := map[string]string{}
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, "WARD_") {
			vals[k] = v
		}
	}
	known := map[string]bool{}
	for _, f := range fields(c) {
		known[f.env] = true
		s, ok := vals[f.env]
		if !ok {
			continue
		}
		if err := set(f.v, s); err != nil {
			return fmt.Errorf("%s (%s): %w", f.key, f.env, err)
		}
	}
	var unknown []string
	for k := range vals {
		if !known[k] && !strings.HasPrefix(k, "WARD_TEST_") {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		msg := fmt.Sprintf("unknown environment variable %s: no such setting", unknown[0])
		var envs []string
		for k := range known {
			envs = append(envs, k)
		}
		if near := nearest(unknown[0], envs, nil); near != "" {
			msg += fmt.Sprintf(" (did you mean %s?)", near)
		}
		return errors.New(msg + "; docs/CONFIG.md lists every setting")
	}
	return nil
}

func set(v reflect.Value, s string) error {
	switch v.Interface().(type) {
	case string:
		v.SetString(s)
	case bool:
		b, err := strconv.ParseBool(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("%q is not true or false", s)
		}
		v.SetBool(b)
	case int:
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("%q is not a whole number", s)
		}
		v.SetInt(int64(n))
	case Duration:
		d, err := time.ParseDuration(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("%q is not a duration like 90s, 10m or 24h", s)
		}
		v.SetInt(int64(d))
	case []string:
		var parts []string
		for p := range strings.SplitSeq(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				parts = append(parts, p)
			}
		}
		v.Set(reflect.ValueOf(parts))
	default:
		return fmt.Errorf("unsupported setting type %s", v.Type())
	}
	return nil
}

// Validate checks every value, naming the first bad key.
func (c Config) Validate() error {
	bad := func(key, format string, a ...any) error {
		return fmt.Errorf("%s: %s", key, fmt.Sprintf(format, a...))
	}
	if a := c.Brand.Accent; a != "" {
		if !hexColour.MatchString(a) {
			return bad("brand.accent", "%q is not a colour written #rrggbb", a)
		}
		if r := contrastOnWhite(a); r < 4.5 {
			return bad("brand.accent", "white text on %s has a contrast of %.1f:1, under the 4.5:1 people need to read buttons; choose a darker colour", a, r)
		}
	}
	if _, _, err := c.BrandLogo(); err != nil {
		return err
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		return bad("listen", "%q is not host:port", c.Listen)
	}
	u, err := url.Parse(c.PublicURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return bad("public_url", "%q is not an http(s) URL", c.PublicURL)
	}
	if u.Scheme == "http" && !IsLoopbackHost(u.Hostname()) {
		return bad("public_url", "plain http is allowed only for localhost; use https")
	}
	if c.DataDir == "" {
		return bad("data_dir", "must not be empty")
	}
	if c.AdminToken != "" && len(c.AdminToken) < 24 {
		return bad("admin_token", "must be at least 24 characters")
	}
	for _, p := range c.TrustedProxies {
		if _, err := netip.ParsePrefix(p); err != nil {
			return bad("trusted_proxies", "%q is not a CIDR like 10.0.0.0/8", p)
		}
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return bad("log_level", "must be debug, info, warn or error")
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		return bad("log_format", "must be json or text")
	}
	if c.Metrics.Listen != "" {
		if _, _, err := net.SplitHostPort(c.Metrics.Listen); err != nil {
			return bad("metrics.listen", "%q is not host:port", c.Metrics.Listen)
		}
	}
	if c.Metrics.Token != "" && len(c.Metrics.Token) < 16 {
		return bad("metrics.token", "must be at least 16 characters")
	}
	if c.Metrics.Pprof && c.Metrics.Listen == "" {
		return bad("metrics.pprof", "needs metrics.listen (the profiler is never served on the public listener)")
	}
	if c.Shutdown.Grace.D() < 0 || c.Shutdown.Timeout.D() < time.Second {
		return bad("shutdown.timeout", "must be at least 1s, and shutdown.grace not negative")
	}
	switch c.Database.Driver {
	case "sqlite":
	case "postgres":
		if c.Database.DSN == "" {
			return bad("database.dsn", "postgres needs a DSN such as postgres://ward@db:5432/ward")
		}
	default:
		return bad("database.driver", "must be sqlite or postgres, got %q", c.Database.Driver)
	}
	if c.Authenticator.PromptsPerHour < 1 || c.Authenticator.PromptsPerHour > 60 {
		return bad("authenticator.prompts_per_hour", "must be 1 to 60, got %d", c.Authenticator.PromptsPerHour)
	}
	if a, err := mail.ParseAddress(c.Mail.From); err != nil || !strings.Contains(a.Address, "@") {
		return bad("mail.from", "%q is not an address like \"Example <security@example.com>\"", c.Mail.From)
	}
	reasons := map[string]bool{"new_device": true, "new_ip": true, "new_country": true, "new_network": true, "impossible_travel": true,
		"anonymizer": true, "ip_many_accounts": true, "ip_failures": true, "account_failures": true}
	for key, list := range map[string][]string{"risk.step_up": c.Risk.StepUp, "risk.block": c.Risk.Block} {
		for _, r := range list {
			if !reasons[r] {
				return bad(key, "%q is not a reason ward knows (see docs/CONFIG.md)", r)
			}
		}
	}
	if c.Risk.FloodAfter < 1 {
		return bad("risk.flood_after", "must be at least 1")
	}
	if c.Risk.SuppressFor.D() < time.Minute {
		return bad("risk.suppress_for", "must be at least 1m")
	}
	for _, p := range c.MailCheck.Protect {
		name, domains, ok := strings.Cut(p, "=")
		if !ok && !strings.EqualFold(p, "microsoft") && !strings.EqualFold(p, "well-known") || ok && (strings.TrimSpace(name) == "" || len(strings.Fields(domains)) == 0) {
			return bad("mail_check.protect", "%q is neither well-known, microsoft nor Name=domain domain", p)
		}
	}
	if len(c.Mail.DKIM.Algorithms) == 0 {
		return bad("mail.dkim.algorithms", "name ed25519, rsa or both")
	}
	for _, a := range c.Mail.DKIM.Algorithms {
		if a != "ed25519" && a != "rsa" {
			return bad("mail.dkim.algorithms", "%q is not ed25519 or rsa", a)
		}
	}
	if c.Mail.OutboxLease.D() < time.Second {
		return bad("mail.outbox_lease", "must be at least 1s")
	}
	if c.Mail.SMTP.Host == "" && !IsLoopbackHost(u.Hostname()) {
		// Without a relay every message, codes included, would sit in the
		// dev mailbox, which must never be reachable from outside.
		return bad("mail.smtp.host", "a mail relay is required when public_url is not localhost (the dev mailbox exists only on localhost)")
	}
	if c.Mail.SMTP.Host != "" {
		if c.Mail.SMTP.Port < 1 || c.Mail.SMTP.Port > 65535 {
			return bad("mail.smtp.port", "must be 1 to 65535")
		}
		switch c.Mail.SMTP.TLS {
		case "starttls", "implicit":
		case "none":
			if !IsLoopbackHost(c.Mail.SMTP.Host) {
				return bad("mail.smtp.tls", "none is allowed only for a relay on localhost")
			}
		default:
			return bad("mail.smtp.tls", "must be starttls, implicit or none")
		}
	}
	if tw := c.SMS.Twilio; tw.AccountSID != "" {
		switch {
		case tw.AuthToken == "":
			return bad("sms.twilio.auth_token", "is needed with sms.twilio.account_sid")
		case tw.From == "" && tw.MessagingServiceSID == "":
			return bad("sms.twilio.from", "set from or messaging_service_sid")
		}
		if tw.BaseURL != "" {
			if u, err := url.Parse(tw.BaseURL); err != nil || (u.Scheme != "https" && !(u.Scheme == "http" && IsLoopbackHost(u.Hostname()))) {
				return bad("sms.twilio.base_url", "must be an https URL (http only on localhost)")
			}
		}
	}
	switch {
	case c.Codes.Digits < 6 || c.Codes.Digits > 8:
		return bad("codes.digits", "must be 6 to 8")
	case c.Codes.TTL.D() < time.Minute || c.Codes.TTL.D() > time.Hour:
		return bad("codes.ttl", "must be 1m to 1h")
	case c.Codes.RecoveryTTL.D() < time.Minute || c.Codes.RecoveryTTL.D() > 24*time.Hour:
		return bad("codes.recovery_ttl", "must be 1m to 24h")
	case c.Codes.MaxFailures < 1 || c.Codes.MaxFailures > 10:
		return bad("codes.max_failures", "must be 1 to 10")
	case c.Codes.ResendCooldown.D() < 0:
		return bad("codes.resend_cooldown", "must not be negative")
	case c.Limits.PerRecipientHour < 0 || c.Limits.PerRecipientDay < 0 || c.Limits.PerIPHour < 0 || c.Limits.PasswordPerIPMinute < 0 ||
		c.Limits.MailCheckPerIPMinute < 0 || c.Limits.LinksPerIPMinute < 0:
		return bad("limits", "must not be negative")
	case c.Throttle().Validate() != nil:
		var pe *throttle.PolicyError
		if errors.As(c.Throttle().Validate(), &pe) {
			return bad("lockout."+pe.Field, "%s", pe.Msg)
		}
		return bad("lockout", "%v", c.Throttle().Validate())
	case c.Risk.Window.D() < time.Minute || c.Risk.StuffingAccounts < 1 || c.Risk.IPFailures < 1 || c.Risk.AccountFailures < 1 ||
		c.Risk.TravelSpeedKmH < 1 || c.Risk.TravelMinKm < 0:
		return bad("risk", "window must be at least 1m and the thresholds positive")
	case c.Risk.StuffingAccounts > risk.IPHistory || c.Risk.IPFailures > risk.IPHistory:
		return bad("risk", "stuffing_accounts and ip_failures must be at most %d: they are counted among an IP's %d newest sign-in attempts", risk.IPHistory, risk.IPHistory)
	case c.Sessions.Idle.D() < time.Minute:
		return bad("sessions.idle", "must be at least 1m")
	case c.Sessions.Absolute.D() < c.Sessions.Idle.D():
		return bad("sessions.absolute", "must be at least sessions.idle")
	case c.Flows.TTL.D() < c.Codes.TTL.D():
		return bad("flows.ttl", "must be at least codes.ttl")
	case c.Passwords.MinLength < 8:
		return bad("passwords.min_length", "must be at least 8")
	case c.Passwords.MaxLength < 128 || c.Passwords.MaxLength > 4096:
		return bad("passwords.max_length", "must be 128 to 4096")
	case c.Passwords.MinScore < 0 || c.Passwords.MinScore > 4:
		return bad("passwords.min_score", "must be 0 to 4")
	case c.Passwords.MemoryKiB < 19456:
		return bad("passwords.memory_kib", "must be at least 19456 (19 MiB, OWASP's minimum)")
	case c.Passwords.Time < 2:
		return bad("passwords.time", "must be at least 2")
	case c.Passwords.Threads < 1 || c.Passwords.Threads > 255:
		return bad("passwords.threads", "must be 1 to 255")
	case c.Passwords.MaxConcurrent < 0:
		return bad("passwords.max_concurrent", "must be 0 (one per CPU core) or more")
	}
	return nil
}

// IsLoopbackHost reports localhost names and loopback addresses.
func IsLoopbackHost(h string) bool {
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// DKIMDomain is the domain mail is signed for.
// BrandName is the name people know the service by: brand.name,
// mail_check.brand, or the host of public_url (ward on a developer's
// machine). Pages, mail and authenticator apps show it.
func (c Config) BrandName() string {
	if c.Brand.Name != "" {
		return c.Brand.Name
	}
	if c.MailCheck.Brand != "" {
		return c.MailCheck.Brand
	}
	u, err := url.Parse(c.PublicURL)
	if err != nil || IsLoopbackHost(u.Hostname()) {
		return "ward"
	}
	return u.Hostname()
}

// BrandLogo reads brand.logo: its content and media type (nil: none).
func (c Config) BrandLogo() ([]byte, string, error) {
	if c.Brand.Logo == "" {
		return nil, "", nil
	}
	b, err := os.ReadFile(c.Brand.Logo)
	if err != nil {
		return nil, "", fmt.Errorf("brand.logo: %w", err)
	}
	if len(b) > 256<<10 {
		return nil, "", fmt.Errorf("brand.logo: %s is %d KiB; a logo is at most 256 KiB", c.Brand.Logo, len(b)>>10)
	}
	mt := http.DetectContentType(b)
	if strings.HasSuffix(strings.ToLower(c.Brand.Logo), ".svg") && bytes.Contains(b, []byte("<svg")) {
		mt = "image/svg+xml"
	}
	switch mt {
	case "image/png", "image/jpeg", "image/webp", "image/svg+xml":
		return b, mt, nil
	}
	return nil, "", fmt.Errorf("brand.logo: %s is %s; use a PNG, JPEG, WebP or SVG image", c.Brand.Logo, mt)
}

// contrastOnWhite is the WCAG contrast ratio of white text on colour hex
// (#rrggbb).
func contrastOnWhite(hex string) float64 {
	lum := func(c float64) float64 {
		c /= 255
		if c <= 0.03928 {
			return c / 12.92
		}
		return math.Pow((c+0.055)/1.055, 2.4)
	}
	var r, g, b int
	fmt.Sscanf(hex, "#%02x%02x%02x", &r, &g, &b)
	l := 0.2126*lum(float64(r)) + 0.7152*lum(float64(g)) + 0.0722*lum(float64(b))
	return 1.05 / (l + 0.05)
}

var hexColour = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

func (c Config) DKIMDomain() string {
	if c.Mail.DKIM.Domain != "" {
		return c.Mail.DKIM.Domain
	}
	from := c.Mail.From
	if a, err := mail.ParseAddress(from); err == nil {
		from = a.Address
	}
	return strings.ToLower(from[strings.LastIndexByte(from, '@')+1:])
}

// DKIMDir is the folder of DKIM keys.
func (c Config) DKIMDir() string {
	if c.Mail.DKIM.Dir != "" {
		return c.Mail.DKIM.Dir
	}
	return filepath.Join(c.DataDir, "dkim")
}

// SMSGateway reports whether an SMS gateway is configured.
func (c Config) SMSGateway() bool { return c.SMS.Twilio.AccountSID != "" }

// The policies of the packages that enforce them are built here, from the
// one set of defaults and settings.

// Throttle is the schedule of waits after failures (lockout.*).
func (c Config) Throttle() throttle.Policy {
	return throttle.Policy{FreeFailures: c.Lockout.FreeFailures, FirstWait: c.Lockout.FirstWait.D(), Step: c.Lockout.Step,
		MaxWait: c.Lockout.MaxWait.D(), DisableAt: c.Lockout.DisableAt}
}

// RiskPolicy is what the risk engine steps up on and blocks (risk.*).
func (c Config) RiskPolicy() risk.Policy {
	return risk.Policy{StepUp: c.Risk.StepUp, Block: c.Risk.Block, Window: c.Risk.Window.D(), StuffingAccounts: c.Risk.StuffingAccounts,
		IPFailureLimit: c.Risk.IPFailures, AccountFailLimit: c.Risk.AccountFailures, TravelSpeedKmH: float64(c.Risk.TravelSpeedKmH),
		TravelMinDistance: float64(c.Risk.TravelMinKm)}
}

// FlowLimits are the knobs of code issuing and checking (codes.*, flows.*,
// limits.*, sessions.fresh_for, contacts.recovery_wait).
func (c Config) FlowLimits() flow.Limits {
	return flow.Limits{Digits: c.Codes.Digits, CodeTTL: c.Codes.TTL.D(), RecoveryCodeTTL: c.Codes.RecoveryTTL.D(), FlowTTL: c.Flows.TTL.D(),
		MaxCodeFailures: c.Codes.MaxFailures, ResendCooldown: c.Codes.ResendCooldown.D(), PerRecipientHour: c.Limits.PerRecipientHour,
		PerRecipientDay: c.Limits.PerRecipientDay, PerIPHour: c.Limits.PerIPHour,
		// A link in a mail works as long as someone may still be reading it.
		NotMineTTL: 7 * 24 * time.Hour,
		FreshFor:   c.Sessions.FreshFor.D(), RecoveryWait: c.Contacts.RecoveryWait.D(),
		PasswordPerIP:  throttle.Rate{N: c.Limits.PasswordPerIPMinute, Per: time.Minute},
		PromptsPerHour: c.Authenticator.PromptsPerHour}
}

// MailCheckRate and LinkRate bound the mail checks and the mail links one
// source may ask for (limits.*_per_ip_minute).
func (c Config) MailCheckRate() throttle.Rate {
	return throttle.Rate{N: c.Limits.MailCheckPerIPMinute, Per: time.Minute}
}

func (c Config) LinkRate() throttle.Rate {
	return throttle.Rate{N: c.Limits.LinksPerIPMinute, Per: time.Minute}
}

// Unsolicited is how codes nobody asked for are answered (risk.*).
func (c Config) Unsolicited() flow.Unsolicited {
	return flow.Unsolicited{SuppressFor: c.Risk.SuppressFor.D(), FloodAfter: c.Risk.FloodAfter}
}

// DevMode reports whether mail goes to the dev mailbox: no relay is set,
// which Validate allows only for a localhost public_url.
func (c Config) DevMode() bool {
	u, err := url.Parse(c.PublicURL)
	return c.Mail.SMTP.Host == "" && err == nil && IsLoopbackHost(u.Hostname())
}

// Reference writes the settings table for docs/CONFIG.md.
func Reference() string {
	c := Default()
	var b strings.Builder
	b.WriteString("# Configuration reference\n\n")
	b.WriteString("ward runs with no configuration. Settings come from, in order: these defaults, the YAML file given with `--config`, and environment variables. Every key below can be set either way; unknown keys and bad values stop ward with a message naming the key.\n\n")
	b.WriteString("This file is generated from `config/config.go` (`go test ./config` fails when it is out of date; `go run ./cmd/ward config reference > docs/CONFIG.md` rewrites it).\n\n")
	b.WriteString("| key | environment | default | meaning |\n|---|---|---|---|\n")
	for _, f := range fields(&c) {
		def := fmt.Sprint(f.v.Interface())
		if d, ok := f.v.Interface().(Duration); ok {
			def = d.D().String()
		}
		if s, ok := f.v.Interface().([]string); ok {
			def = strings.Join(s, ",")
		}
		if def == "" {
			def = "(empty)"
		}
		fmt.Fprintf(&b, "| `%s` | `%s` | `%s` | %s |\n", f.key, f.env, def, f.doc)
	}
	return b.String()
}
