package risk_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"

	"github.com/wardhq/ward/config"
	"github.com/wardhq/ward/internal/testclock"
	"github.com/wardhq/ward/internal/testdb"
	"github.com/wardhq/ward/risk"
	"github.com/wardhq/ward/store"
	"github.com/wardhq/ward/store/sqlstore"
)

// Places used in the tests: documentation ranges, placed on the map by
// small real MaxMind databases written with mmdbwriter.
var places = []struct {
	cidr, iso, country, countryJa, city, cityJa string
	lat, lon                                    float64
	asn                                         uint32
	org                                         string
}{
	{"203.0.113.0/24", "JP", "Japan", "日本", "Tokyo", "東京", 35.68, 139.69, 64500, "Tokyo Net"},
	{"198.51.100.0/24", "DE", "Germany", "ドイツ", "Frankfurt", "フランクフルト", 50.11, 8.68, 64501, "Frankfurt Net"},
	{"192.0.2.0/24", "JP", "Japan", "日本", "Osaka", "大阪", 34.69, 135.50, 64502, "Osaka Mobile"},
	{"100.64.0.0/16", "US", "United States", "アメリカ", "Ashburn", "アッシュバーン", 39.04, -77.49, 64503, "Cloud Hosting"},
}

func mmdb(t testing.TB, kind string) []byte {
	tree, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: kind, IncludeReservedNetworks: true, RecordSize: 28})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range places {
		_, n, _ := net.ParseCIDR(p.cidr)
		var v mmdbtype.Map
		if kind == "GeoLite2-ASN" {
			v = mmdbtype.Map{"autonomous_system_number": mmdbtype.Uint32(p.asn), "autonomous_system_organization": mmdbtype.String(p.org)}
		} else {
			v = mmdbtype.Map{
				"country":  mmdbtype.Map{"iso_code": mmdbtype.String(p.iso), "names": mmdbtype.Map{"en": mmdbtype.String(p.country), "ja": mmdbtype.String(p.countryJa)}},
				"city":     mmdbtype.Map{"names": mmdbtype.Map{"en": mmdbtype.String(p.city), "ja": mmdbtype.String(p.cityJa)}},
				"location": mmdbtype.Map{"latitude": mmdbtype.Float64(p.lat), "longitude": mmdbtype.Float64(p.lon)},
			}
		}
		if err := tree.Insert(n, v); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if _, err := tree.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func geo(t testing.TB) *risk.Geo {
	g, err := risk.GeoFromBytes(mmdb(t, "GeoLite2-City"), mmdb(t, "GeoLite2-ASN"))
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// signIn records an event as flow does.
func record(t testing.TB, st store.Store, accountID, ip, result string, at time.Time) {
	t.Helper()
	if err := st.AppendEvent(context.Background(), store.Event{ID: store.NewID(), AccountID: accountID, At: at, Kind: "sign_in", Result: result, IP: ip}); err != nil {
		t.Fatal(err)
	}
}

func engine(t testing.TB, st store.Store, clk *testclock.Clock, g *risk.Geo, nets *risk.Networks) *risk.Engine {
	return &risk.Engine{History: st, Geo: g, Networks: nets, Policy: config.Default().RiskPolicy(), Now: clk.Now}
}

func TestPlacesFromARealDatabase(t *testing.T) {
	g := geo(t)
	p := g.Lookup("203.0.113.7")
	if p.Country != "JP" || p.ASN != 64500 || !p.HasLocation || p.Name("en") != "Tokyo, Japan" || p.Name("ja") != "日本 東京" {
		t.Fatalf("%+v %q %q", p, p.Name("en"), p.Name("ja"))
	}
	if p := g.Lookup("8.8.8.8"); p.Known() || p.Name("en") != "" {
		t.Fatalf("an unlisted IP has a place: %+v", p)
	}
	var none *risk.Geo
	if none.Lookup("203.0.113.7").Known() {
		t.Fatal("no database, yet a place")
	}
}

func TestSignals(t *testing.T) {
	testdb.Each(t, func(t *testing.T, st *sqlstore.DB) {
		ctx := context.Background()
		t0 := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
		clk := testclock.New(t0)
		nets := networks(t, "100.64.0.0/16 hosting\n# comment\n192.0.2.128/25 Tor exit\n")
		e := engine(t, st, clk, geo(t), nets)
		acct := store.NewID()
		record(t, st, acct, "203.0.113.7", "success", t0.Add(-48*time.Hour))

		cases := []struct {
			name    string
			ip      string
			after   time.Duration
			known   bool
			want    []string
			stepUp  bool
			blocked bool
		}{
			{"same network, another IP, known device", "203.0.113.9", time.Hour, true, nil, false, false},
			{"another network in the same country", "192.0.2.10", 3 * time.Hour, true, []string{"new_network:AS64502"}, true, false},
			{"a country never seen, too soon after Tokyo", "198.51.100.4", 40 * time.Minute, true,
				[]string{"new_country:DE", "new_network:AS64501", "impossible_travel:Tokyo:Frankfurt:40"}, true, false},
			{"a listed hosting network", "100.64.3.3", 48 * time.Hour, true, []string{"new_country:US", "new_network:AS64503", "anonymizer:hosting"}, true, false},
			{"a new device", "203.0.113.7", time.Hour, false, []string{"new_device"}, true, false},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				clk.Set(t0.Add(-48 * time.Hour).Add(c.after))
				knownIP := c.ip == "203.0.113.7"
				d, err := e.Assess(ctx, risk.Attempt{AccountID: acct, IP: c.ip, KnownDevice: c.known, KnownIP: knownIP})
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(d.Reasons, c.want) || d.StepUp != c.stepUp || d.Block != c.blocked {
					t.Fatalf("got %+v, want %v step-up %v block %v", d, c.want, c.stepUp, c.blocked)
				}
			})
		}
		t.Run("without geo data a new IP is all that can be said", func(t *testing.T) {
			clk.Set(t0)
			d, _ := engine(t, st, clk, nil, nil).Assess(ctx, risk.Attempt{AccountID: acct, IP: "198.51.100.4", KnownDevice: true})
			if !slices.Equal(d.Reasons, []string{"new_ip"}) || !d.StepUp {
				t.Fatalf("%+v", d)
			}
		})
		t.Run("failures on the account", func(t *testing.T) {
			clk.Set(t0)
			for i := 0; i < 5; i++ {
				record(t, st, acct, "203.0.113.50", "wrong_password", t0.Add(-time.Duration(i)*time.Minute))
			}
			d, _ := e.Assess(ctx, risk.Attempt{AccountID: acct, IP: "203.0.113.7", KnownDevice: true, KnownIP: true})
			if !slices.Equal(d.Reasons, []string{"account_failures:5"}) || !d.StepUp {
				t.Fatalf("%+v", d)
			}
		})
	})
}

// One IP tries 25 accounts in ten minutes; the 26th, with the right
// password, is blocked, and an account it never touched signs in from
// elsewhere as usual.
func TestCredentialStuffing(t *testing.T) {
	testdb.Each(t, func(t *testing.T, st *sqlstore.DB) {
		ctx := context.Background()
		t0 := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
		clk := testclock.New(t0)
		e := engine(t, st, clk, geo(t), nil)
		for i := 0; i < 25; i++ {
			record(t, st, store.NewID(), "198.51.100.66", "wrong_password", t0.Add(-time.Duration(i)*20*time.Second))
		}
		victim := store.NewID()
		record(t, st, victim, "198.51.100.66", "success", t0.Add(-30*24*time.Hour))
		d, err := e.Assess(ctx, risk.Attempt{AccountID: victim, IP: "198.51.100.66", KnownDevice: true, KnownIP: true})
		if err != nil {
			t.Fatal(err)
		}
		if !d.Block || !slices.Contains(d.Reasons, "ip_many_accounts:25") || !slices.Contains(d.Reasons, "ip_failures:25") {
			t.Fatalf("%+v", d)
		}
		clk.Set(t0.Add(11 * time.Minute)) // the window has passed
		if d, _ := e.Assess(ctx, risk.Attempt{AccountID: victim, IP: "198.51.100.66", KnownDevice: true, KnownIP: true}); d.Block {
			t.Fatalf("still blocked after the window: %+v", d)
		}
	})
}

func networks(t testing.TB, text string) *risk.Networks {
	p := filepath.Join(t.TempDir(), "networks.txt")
	os.WriteFile(p, []byte(text), 0o600)
	n, err := risk.LoadNetworks(p)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestNetworksFileErrorsNameTheLine(t *testing.T) {
	p := filepath.Join(t.TempDir(), "networks.txt")
	os.WriteFile(p, []byte("10.0.0.0/8 ok\nnot-a-cidr\n"), 0o600)
	if _, err := risk.LoadNetworks(p); err == nil || !bytes.Contains([]byte(err.Error()), []byte("line 2")) {
		t.Fatalf("%v", err)
	}
}

// The risk decision with a loaded database and 10,000 events on the
// account (the goal: well under 1 ms added to a sign-in).
func BenchmarkAssess(b *testing.B) {
	for _, db := range testdb.Engines() {
		name, open := db.Name, db.Open
		b.Run(name, func(b *testing.B) {
			st := open(b)
			ctx := context.Background()
			t0 := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
			acct := store.NewID()
			err := st.InTx(ctx, func(q store.Queries) error {
				for i := 0; i < 10000; i++ {
					result := "success"
					if i%3 == 0 {
						result = "wrong_password"
					}
					ip := fmt.Sprintf("203.0.113.%d", i%200)
					if err := q.AppendEvent(ctx, store.Event{ID: store.NewID(), AccountID: acct, At: t0.Add(-time.Duration(i) * time.Minute),
						Kind: "sign_in", Result: result, IP: ip}); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
			e := engine(b, st, testclock.New(t0), geo(b), networks(b, "100.64.0.0/16 hosting\n"))
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				start := time.Now()
				if _, err := e.Assess(ctx, risk.Attempt{AccountID: acct, IP: "198.51.100.4", KnownDevice: true}); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(start))
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}
