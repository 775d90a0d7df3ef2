package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestNoConfigurationRuns(t *testing.T) {
	c, err := Parse(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:8080" || c.Database.Driver != "sqlite" || !c.DevMode() {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestYAMLThenEnvironment(t *testing.T) {
	y := []byte("codes:\n  ttl: 5m\n  digits: 8\ndatabase:\n  driver: postgres\n  dsn: postgres://a@b/c\ntrusted_proxies: [10.0.0.0/8]\n")
	c, err := Parse(y, []string{"WARD_CODES_DIGITS=7", "WARD_TRUSTED_PROXIES=192.168.0.0/16, 10.1.0.0/16", "PATH=/bin"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Codes.TTL.D() != 5*time.Minute || c.Codes.Digits != 7 || c.Database.Driver != "postgres" || len(c.TrustedProxies) != 2 {
		t.Fatalf("got %+v", c)
	}
}

func TestBadConfigNamesTheKey(t *testing.T) {
	for in, key := range map[string]string{
		"codes:\n  digits: 5\n":                                       "codes.digits",
		"codes:\n  ttl: soon\n":                                       "soon",
		"nope: 1\n":                                                   "nope",
		"database:\n  driver: mysql\n":                                "database.driver",
		"database:\n  driver: postgres\n":                             "database.dsn",
		"public_url: http://ward.example.com\n":                       "public_url",
		"lockout:\n  disable_at: 101\n":                               "lockout.disable_at",
		"passwords:\n  memory_kib: 1024\n":                            "passwords.memory_kib",
		"mail:\n  smtp:\n    host: smtp.example.com\n    tls: none\n": "mail.smtp.tls",
		"public_url: https://ward.example.com\n":                      "mail.smtp.host",
		"listen: 8080\n":                                              "listen",
		"codes: [1, 2]\n":                                             "codes",
	} {
		_, err := Parse([]byte(in), nil)
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("config %q: error %v does not name %q", in, err, key)
		}
	}
	for env, key := range map[string]string{
		"WARD_CODES_DIGITS=six": "WARD_CODES_DIGITS",
		"WARD_CODES_TTL=1":      "codes.ttl",
		"WARD_NO_SUCH=1":        "WARD_NO_SUCH",
	} {
		_, err := Parse(nil, []string{env})
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("env %q: error %v does not name %q", env, err, key)
		}
	}
}

// Defect 11: every config error names the key as docs/CONFIG.md writes
// it, with its line, and a mistyped key comes with the one meant; no Go
// type is ever shown.
func TestConfigErrorsSpeakInKeys(t *testing.T) {
	for in, want := range map[string][]string{
		"listn: :8080\n": {"line 1", "unknown setting listn", "did you mean listen?"},
		"mail:\n  smtp:\n    hots: smtp.example.com\n": {"line 3", "mail.smtp.hots", "did you mean mail.smtp.host?"},
		"codes:\n  tll: 5m\n":                          {"line 2", "codes.tll", "did you mean codes.ttl?"},
		"code:\n  ttl: 5m\n":                           {"line 1", "unknown setting code", "did you mean codes?"},
		"codes:\n  ttl: soon\n":                        {"line 2", "codes.ttl", `"soon" is not a duration`},
		"codes:\n  digits: six\n":                      {"line 2", "codes.digits", `"six" is not a whole number`},
		"mail:\n  smtp: relay.example.com\n":           {"line 2", "mail.smtp", "key: value"},
		"trusted_proxies:\n  a: b\n":                   {"line 2", "trusted_proxies", "list"},
		"zzzzzzzz: 1\n":                                {"unknown setting zzzzzzzz"},
		"risk:\n  ip_failures: 5000\n":                 {"risk", "at most 1000", "newest sign-in attempts"},
	} {
		_, err := Parse([]byte(in), nil)
		if err == nil {
			t.Errorf("config %q was accepted", in)
			continue
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("config %q: error %q does not say %q", in, err, w)
			}
		}
		if strings.Contains(err.Error(), "config.") || strings.Contains(err.Error(), "struct") || strings.Contains(err.Error(), "doc:") {
			t.Errorf("config %q: error %q shows Go types", in, err)
		}
	}
	if _, err := Parse(nil, []string{"WARD_LISTN=:8080"}); err == nil || !strings.Contains(err.Error(), "did you mean WARD_LISTEN?") {
		t.Errorf("a mistyped variable: %v", err)
	}
}

// docs/CONFIG.md is the one place settings are documented; it must match.
func TestReferenceIsUpToDate(t *testing.T) {
	b, err := os.ReadFile("../docs/CONFIG.md")
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != Reference() {
		t.Fatal("docs/CONFIG.md is out of date: run go run ./cmd/ward config reference > docs/CONFIG.md")
	}
}

func FuzzParse(f *testing.F) {
	seeds, _ := os.ReadDir("testdata/seeds")
	for _, s := range seeds {
		b, _ := os.ReadFile("testdata/seeds/" + s.Name())
		f.Add(b)
	}
	f.Add([]byte("codes:\n  ttl: 5m\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := Parse(in, nil)
		if err != nil {
			return
		}
		// Whatever is accepted is valid.
		if err := c.Validate(); err != nil {
			t.Fatalf("accepted invalid config: %v", err)
		}
	})
}

// A brand colour people could not read white text on, or a logo that is
// not an image, stops ward with the key named.
func TestBrandIsChecked(t *testing.T) {
	dir := t.TempDir()
	png := filepath.Join(dir, "logo.png")
	os.WriteFile(png, []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR"), 0o600)
	txt := filepath.Join(dir, "logo.txt")
	os.WriteFile(txt, []byte("not an image"), 0o600)
	for in, want := range map[string]string{
		"brand:\n  accent: '#ffcc00'\n":  "contrast of 1.",
		"brand:\n  accent: blue\n":       "not a colour written #rrggbb",
		"brand:\n  logo: " + txt + "\n":  "use a PNG",
		"brand:\n  logo: /no/such.png\n": "brand.logo",
	} {
		if _, err := Parse([]byte(in), nil); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", in, err, want)
		}
	}
	c, err := Parse([]byte("brand:\n  name: Acme ID\n  accent: '#7a1fa2'\n  logo: "+png+"\n"), nil)
	if err != nil || c.BrandName() != "Acme ID" {
		t.Fatalf("a good brand: %v %q", err, c.BrandName())
	}
	if _, mt, _ := c.BrandLogo(); mt != "image/png" {
		t.Errorf("logo type %q", mt)
	}
}
