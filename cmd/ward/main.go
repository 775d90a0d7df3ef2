// Command ward runs the ward account-protection service and its tools.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/wardhq/ward/account"
	"github.com/wardhq/ward/audit"
	"github.com/wardhq/ward/config"
	"github.com/wardhq/ward/dkim"
	"github.com/wardhq/ward/instance"
	"github.com/wardhq/ward/store"
	"github.com/wardhq/ward/store/sqlite"
)

const usage = `ward: account protection with one-time security codes

Usage:
  ward serve [--config FILE]            start the server (no configuration needed)
  ward migrate [--config FILE]          apply database migrations
  ward backup [--config FILE] FILE      copy the SQLite database to FILE while ward runs (PostgreSQL: pg_dump)
  ward account create --email E [--phone P] [--language ja|en] [--password-stdin]
  ward account show EMAIL|ID
  ward account disable|enable EMAIL|ID
  ward account sign-out EMAIL|ID     (ends every session; the account stays usable)
  ward client create --name N --redirect-uri URI... [--public] [--third-party] [--post-logout-uri URI] [--backchannel-logout-uri URI]
                                        register an app that signs people in with ward (OpenID Connect)
  ward client list                      the registered apps
  ward client rotate-keys               new token signing keys (the old ones stay published a day)
  ward loadtest [--concurrency 1,8,32] [--duration 10s] [--postgres DSN] [--dev-mailbox] [--password]
               [--driver-only URL --admin-token T [--sink ADDR] [--metrics URL]]
                                        complete sign-ins (code mail over SMTP with DKIM) per second, latency, errors, CPU
  ward dkim keygen [--config FILE]      make a new DKIM key pair (rotation) and print the DNS records
  ward dkim records [--config FILE]     print the DNS TXT records of every DKIM key
  ward check-mail [--json] [--lang ja|en] FILE|-   is this mail really from us? verdict and reasons
                                        (exit status 0: genuine or no sign, 3: suspicious, 4: phishing)
  ward check-mail --eval DIR...         detection rates over folders of .eml files
  ward config reference                 print the settings reference (docs/CONFIG.md)
  ward version
`

// errUsage is returned for a bad command line.
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr); err != nil {
		var status exitStatus
		if errors.As(err, &status) {
			os.Exit(int(status))
		}
		if errors.Is(err, errUsage) {
			if err != errUsage {
				fmt.Fprintln(os.Stderr, "ward:", strings.TrimPrefix(err.Error(), "usage: "))
			}
			fmt.Fprint(os.Stderr, usage)
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "ward:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errUsage
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], stderr)
	case "migrate":
		return migrate(ctx, args[1:], stdout)
	case "account":
		return accountCmd(ctx, args[1:], stdin, stdout)
	case "loadtest":
		return loadtestCmd(ctx, args[1:], stdout)
	case "backup":
		return backupCmd(ctx, args[1:], stdout)
	case "client":
		return clientCmd(ctx, args[1:], stdout)
	case "dkim":
		return dkimCmd(args[1:], stdout)
	case "check-mail":
		return checkMailCmd(ctx, args[1:], stdin, stdout)
	case "config":
		if len(args) == 2 && args[1] == "reference" {
			_, err := io.WriteString(stdout, config.Reference())
			return err
		}
		return errUsage
	case "version":
		fmt.Fprintln(stdout, "ward", version())
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	return fmt.Errorf("%w: unknown command %q", errUsage, args[0])
}

// version is the module version and the commit ward was built from, as
// Go's build information has them; what it lacks is said plainly.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "version unknown, commit unknown (no build information)"
	}
	v := bi.Main.Version
	if v == "" || v == "(devel)" {
		v = "development build"
	}
	commit, modified, at := "unknown", false, ""
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			commit = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		case "vcs.time":
			at = s.Value
		}
	}
	out := v + ", commit " + commit
	if modified {
		out += " with uncommitted changes"
	}
	if at != "" {
		out += " of " + at
	}
	return out + ", " + bi.GoVersion
}

// loadConfig reads --config (if given) and the environment.
func loadConfig(fs *flag.FlagSet, args []string) (config.Config, error) {
	path := fs.String("config", "", "YAML configuration file")
	if err := fs.Parse(args); err != nil {
		return config.Config{}, errUsage
	}
	var text []byte
	if *path != "" {
		b, err := os.ReadFile(*path)
		if err != nil {
			return config.Config{}, fmt.Errorf("reading config: %w", err)
		}
		text = b
	}
	return config.Parse(text, os.Environ())
}

// openInstance reads the configuration and the command's flags, and opens
// ward for a command that works on its data (no server).
func openInstance(ctx context.Context, fs *flag.FlagSet, args []string) (config.Config, *instance.Instance, error) {
	c, err := loadConfig(fs, args)
	if err != nil {
		return c, nil, err
	}
	in, err := instance.New(ctx, c, slog.New(slog.NewTextHandler(io.Discard, nil)), instance.Options{})
	return c, in, err
}

// logger writes ward's log to w in the configured format; every line
// logged for a request names it (request_id).
func logger(c config.Config, w io.Writer) *slog.Logger {
	var lv slog.Level
	lv.UnmarshalText([]byte(c.LogLevel))
	var h slog.Handler = slog.NewJSONHandler(w, &slog.HandlerOptions{Level: lv})
	if c.LogFormat == "text" {
		h = slog.NewTextHandler(w, &slog.HandlerOptions{Level: lv})
	}
	return slog.New(audit.RequestIDs(h))
}

func serve(ctx context.Context, args []string, stderr io.Writer) error {
	c, err := loadConfig(flag.NewFlagSet("serve", flag.ContinueOnError), args)
	if err != nil {
		return err
	}
	log := logger(c, stderr)
	if c.Database.Driver != "postgres" {
		release, err := lockDataDir(c.DataDir)
		if err != nil {
			return err
		}
		defer release()
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(c.MemoryLimit())
	}
	in, err := instance.New(ctx, c, log, instance.Options{Audit: stderr})
	if err != nil {
		return err
	}
	defer in.Store.Close()
	// Starting leaves garbage (the password dictionaries' parsing, 18 MB
	// of it): hand it back before serving, not minutes later.
	debug.FreeOSMemory()
	ln, err := net.Listen("tcp", c.Listen)
	if err != nil {
		return fmt.Errorf("cannot listen on %s (setting listen / WARD_LISTEN): %w", c.Listen, err)
	}
	log.Info("ward is running", "url", c.PublicURL, "listen", c.Listen, "database", c.Database.Driver)
	if c.DevMode() {
		log.Warn("no mail relay configured: messages go to the dev mailbox at " + c.PublicURL + "/dev/mail and codes are printed here")
	}
	return in.Serve(ctx, ln)
}

func backupCmd(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	c, err := loadConfig(fs, args)
	if err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errUsage
	}
	if c.Database.Driver == "postgres" {
		return errors.New("ward backup copies the embedded SQLite database; back up PostgreSQL with pg_dump (docs/OPERATIONS.md)")
	}
	dest := fs.Arg(0)
	if err := sqlite.Backup(ctx, instance.SQLitePath(c), dest); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backed up %s to %s (checked)\nkeep %s and %s with it: without the secret key the sealed data cannot be read\n",
		instance.SQLitePath(c), dest, filepath.Join(c.DataDir, "secret.key"), c.DKIMDir())
	return nil
}

func migrate(ctx context.Context, args []string, stdout io.Writer) error {
	c, err := loadConfig(flag.NewFlagSet("migrate", flag.ContinueOnError), args)
	if err != nil {
		return err
	}
	st, err := instance.OpenStore(ctx, c)
	if err != nil {
		return err
	}
	defer st.Close()
	v, err := st.MigrationVersion(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "database is at migration %d\n", v)
	return nil
}

func accountCmd(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) error {
	if len(args) == 0 {
		return errUsage
	}
	fs := flag.NewFlagSet("account", flag.ContinueOnError)
	email := fs.String("email", "", "primary email (sign-in name)")
	phone := fs.String("phone", "", "phone in E.164, like +819012345678")
	lang := fs.String("language", "ja", "ja or en")
	pwStdin := fs.Bool("password-stdin", false, "read a password from standard input")
	_, in, err := openInstance(ctx, fs, args[1:])
	if err != nil {
		return err
	}
	defer in.Store.Close()
	switch args[0] {
	case "create":
		pw := ""
		if *pwStdin {
			line, err := bufio.NewReader(stdin).ReadString('\n')
			if err != nil && line == "" {
				return fmt.Errorf("reading password: %w", err)
			}
			pw = strings.TrimRight(line, "\r\n")
		}
		a, err := in.Accounts.Create(ctx, account.NewAccount{Email: *email, Phone: *phone, Password: pw, Language: *lang})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "created account %s for %s\n", a.ID, a.Email)
		return nil
	case "show", "disable", "enable", "sign-out":
		if fs.NArg() != 1 {
			return errUsage
		}
		a, err := in.Accounts.Find(ctx, fs.Arg(0))
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("no account %s", fs.Arg(0))
		}
		if err != nil {
			return err
		}
		if args[0] == "sign-out" {
			n, err := in.Flow.SignOutAccount(ctx, a.ID, "")
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "account %s signed out: %d sessions ended\n", a.Email, n)
			return nil
		}
		if args[0] != "show" {
			if err := in.Accounts.SetDisabled(ctx, a.ID, args[0] == "disable"); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "account %s %sd\n", a.Email, args[0])
			return nil
		}
		return showAccount(ctx, in, a, stdout)
	}
	return errUsage
}

func showAccount(ctx context.Context, in *instance.Instance, a store.Account, w io.Writer) error {
	state := "active"
	if a.DisabledAt != nil {
		state = "disabled since " + a.DisabledAt.Format(time.RFC3339)
	}
	fmt.Fprintf(w, "id:        %s\nemail:     %s\nlanguage:  %s\ncreated:   %s\nstate:     %s\npassword:  %v\n",
		a.ID, a.Email, a.Language, a.CreatedAt.Format(time.RFC3339), state, a.PasswordHash != "")
	cs, err := in.Store.ContactsByAccount(ctx, a.ID)
	if err != nil {
		return err
	}
	for _, ct := range cs {
		v := "unverified"
		if ct.VerifiedAt != nil {
			v = "verified"
		}
		fmt.Fprintf(w, "contact:   %s %s (%s)\n", ct.Kind, ct.Value, v)
	}
	return nil
}

func dkimCmd(args []string, stdout io.Writer) error {
	if len(args) == 0 || (args[0] != "keygen" && args[0] != "records") {
		return errUsage
	}
	c, err := loadConfig(flag.NewFlagSet("dkim", flag.ContinueOnError), args[1:])
	if err != nil {
		return err
	}
	if args[0] == "keygen" {
		if _, err := os.Stat(c.DKIMDir()); err == nil {
			sels, err := dkim.Generate(c.DKIMDir(), time.Now())
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "; new keys %s sign from the next start; keep the old records published for a week\n", strings.Join(sels, ", "))
		}
	}
	ks, err := dkim.LoadOrCreate(c.DKIMDir(), c.DKIMDomain())
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "; DNS TXT records to publish for %s (signing now: ", ks.Domain)
	for i, k := range ks.Sign {
		if i > 0 {
			fmt.Fprint(stdout, ", ")
		}
		fmt.Fprint(stdout, k.Selector)
	}
	fmt.Fprintln(stdout, ")")
	for _, k := range ks.All {
		name, value, err := ks.Record(k)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s. IN TXT %s\n", name, txtQuote(value))
	}
	return nil
}

// txtQuote splits a record into the 255-byte strings DNS TXT holds.
func txtQuote(v string) string {
	var parts []string
	for len(v) > 255 {
		parts = append(parts, `"`+v[:255]+`"`)
		v = v[255:]
	}
	return strings.Join(append(parts, `"`+v+`"`), " ")
}
