package flow_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wardhq/ward/flow"
	"github.com/wardhq/ward/internal/testdb"
	"github.com/wardhq/ward/notify"
	"github.com/wardhq/ward/store"
)

var stranger = flow.Client{IP: "198.51.100.23", UserAgent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/139.0.0.0 Safari/537.36"}

func guarded(e *env) {
	e.svc.Unsolicited = flow.Unsolicited{SuppressFor: 24 * time.Hour, FloodAfter: 5}
}

func kinds(t *testing.T, st store.Store, addr string) map[string]int {
	t.Helper()
	ms, err := st.MessagesTo(context.Background(), addr, 1000)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, m := range ms {
		out[m.Kind]++
	}
	return out
}

// signedInBefore gives the owner a known device, as a past sign-in does.
func signedInBefore(t *testing.T, e *env, addr string) (sessionToken string) {
	t.Helper()
	ctx := context.Background()
	p, err := e.svc.StartCodeSignIn(ctx, client, addr, "en")
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.svc.Verify(ctx, client, p.Token, e.lastCode(addr))
	if err != nil {
		t.Fatal(err)
	}
	return res.Session.Token
}

// A stranger asks for 50 codes for one address over a day: the owner gets
// the day's first few, one digest saying who asked, and nothing more,
// while the stranger's answers never change. The owner's own device still
// gets a code.
func TestAFloodOfCodesBecomesOneDigest(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		guarded(e)
		e.account("hana@example.com", "")
		signedInBefore(t, e, "hana@example.com")
		before := kinds(t, e.st, "hana@example.com")[notify.KindCode]
		var first *flow.Pending
		for i := 0; i < 50; i++ {
			e.clk.Add(12 * time.Minute) // 50 requests within the same day, under the hourly limit
			p, err := e.svc.StartCodeSignIn(ctx, stranger, "hana@example.com", "en")
			if err != nil {
				flowErr(t, err, flow.ErrRateLimited) // the address's daily quota, the same for any address
				continue
			}
			if first == nil {
				first = p
			} else if p.Destination != first.Destination {
				t.Fatalf("answers changed: %+v vs %+v", p, first)
			}
		}
		got := kinds(t, e.st, "hana@example.com")
		if got[notify.KindCode]-before > 5 || got[notify.KindCodeDigest] != 1 {
			t.Fatalf("the owner received %v (codes before the flood: %d)", got, before)
		}
		digest, _ := e.st.MessagesTo(ctx, "hana@example.com", 1)
		r, err := e.composer.Render(digest[0])
		if err != nil || !strings.Contains(r.Text, "198.51.100.23") || !strings.Contains(r.Subject, "stopped") {
			t.Fatalf("digest: %v\n%s", err, r.Text)
		}
		// The owner, on their own device, still gets a code and signs in.
		p, err := e.svc.StartCodeSignIn(ctx, client, "hana@example.com", "en")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Verify(ctx, client, p.Token, e.lastCode("hana@example.com")); err != nil {
			t.Fatalf("the owner could not sign in during the flood: %v", err)
		}
	})
}

var notMeLink = regexp.MustCompile(`/not-me/([A-Za-z0-9_-]+)`)

func notMeToken(t *testing.T, e *env, addr string) string {
	t.Helper()
	ms, _ := e.st.MessagesTo(context.Background(), addr, 1)
	r, err := e.composer.Render(ms[0])
	if err != nil {
		t.Fatal(err)
	}
	m := notMeLink.FindStringSubmatch(r.Text)
	if m == nil {
		t.Fatalf("no \"this wasn't me\" link:\n%s", r.Text)
	}
	return m[1]
}

// "This wasn't me" ends the flow, stops codes asked for from that source
// (but not from the owner's own device), and shows in the owner's activity.
func TestThisWasntMe(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		guarded(e)
		a := e.account("riko@example.com", "")
		signedInBefore(t, e, "riko@example.com")
		e.clk.Add(time.Minute)
		p, err := e.svc.StartCodeSignIn(ctx, stranger, "riko@example.com", "en")
		if err != nil {
			t.Fatal(err)
		}
		code := e.lastCode("riko@example.com")
		tok := notMeToken(t, e, "riko@example.com")
		info, err := e.svc.DescribeUnsolicited(ctx, tok, "en")
		if err != nil || info.IP != stranger.IP || info.Destination != "r***@example.com" {
			t.Fatalf("describe: %+v %v", info, err)
		}
		// Reading the link changed nothing.
		if _, err := e.svc.DescribeUnsolicited(ctx, tok, "en"); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.ReportUnsolicited(ctx, client, tok, "en"); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Verify(ctx, stranger, p.Token, code); err == nil {
			t.Fatal("the reported flow still signs in")
		}
		if _, err := e.svc.ReportUnsolicited(ctx, client, tok, "en"); err == nil {
			t.Fatal("a used link worked twice")
		}
		sent := kinds(t, e.st, "riko@example.com")[notify.KindCode]
		e.clk.Add(5 * time.Minute)
		q, err := e.svc.StartCodeSignIn(ctx, stranger, "riko@example.com", "en")
		if err != nil || q.Destination != p.Destination {
			t.Fatalf("a suppressed request must look the same: %+v %v", q, err)
		}
		// Same /24, another IP, no device: suppressed too.
		other := stranger
		other.IP = "198.51.100.99"
		e.clk.Add(2 * time.Minute)
		if _, err := e.svc.StartCodeSignIn(ctx, other, "riko@example.com", "en"); err != nil {
			t.Fatal(err)
		}
		if got := kinds(t, e.st, "riko@example.com")[notify.KindCode]; got != sent {
			t.Fatalf("codes were sent to the reporting address from the reported source: %d → %d", sent, got)
		}
		e.clk.Add(2 * time.Minute)
		mine, err := e.svc.StartCodeSignIn(ctx, client, "riko@example.com", "en")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Verify(ctx, client, mine.Token, e.lastCode("riko@example.com")); err != nil {
			t.Fatalf("the owner's own device was suppressed: %v", err)
		}
		evs, _ := e.st.Events(ctx, a.ID, time.Time{}, 50)
		var reported, suppressed bool
		for _, ev := range evs {
			reported = reported || ev.Kind == "unsolicited_reported" && ev.IP == stranger.IP
			suppressed = suppressed || ev.Result == "suppressed"
		}
		if !reported || !suppressed {
			t.Fatalf("activity lacks the report or the suppressed requests: %+v", evs)
		}
	})
}

// With sign-in by the public address turned off, requests naming it send
// nothing and answer exactly as for an address with no account; the alias
// signs in.
func TestAliasLockdown(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		e.account("mio@example.com", "")
		signedInBefore(t, e, "mio@example.com")
		sessions, _ := e.st.SessionsByAccount(ctx, mustAccount(t, e, "mio@example.com").ID, e.clk.Now())
		al, err := e.svc.SetAliasOnly(ctx, client, sessions[0], true)
		if err != nil || !regexp.MustCompile(`^[a-z]+-[a-z]+-\d{4}$`).MatchString(al.Alias) || !al.AliasOnly {
			t.Fatalf("alias: %+v %v", al, err)
		}
		before := kinds(t, e.st, "mio@example.com")
		e.clk.Add(2 * time.Minute)
		pub, err := e.svc.StartCodeSignIn(ctx, stranger, "mio@example.com", "en")
		if err != nil {
			t.Fatal(err)
		}
		unknown, err := e.svc.StartCodeSignIn(ctx, stranger, "mia@example.com", "en")
		if err != nil {
			t.Fatal(err)
		}
		if pub.Destination != "m***@example.com" || pub.Destination != unknown.Destination || pub.ExpiresAt != unknown.ExpiresAt {
			t.Fatalf("public %+v and unknown %+v differ", pub, unknown)
		}
		if _, err := e.svc.StartReset(ctx, stranger, "mio@example.com", "en"); err != nil {
			t.Fatal(err)
		}
		if got := kinds(t, e.st, "mio@example.com"); got[notify.KindCode] != before[notify.KindCode] {
			t.Fatalf("mail was sent for the locked public address: %v → %v", before, got)
		}
		p, err := e.svc.StartCodeSignIn(ctx, client, strings.ToUpper(al.Alias), "en")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Verify(ctx, client, p.Token, e.lastCode("mio@example.com")); err != nil {
			t.Fatalf("sign-in by alias: %v", err)
		}
		// An idle session cannot turn the lockdown off.
		e.clk.Add(time.Hour)
		_, err = e.svc.SetAliasOnly(ctx, client, sessions[0], false)
		flowErr(t, err, flow.ErrStepUpRequired)
	})
}

func mustAccount(t *testing.T, e *env, email string) store.Account {
	a, err := e.st.AccountByEmail(context.Background(), email)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// A sign-in from a new device tells every verified contact, once the
// account has signed in before; the first sign-in does not.
func TestNewDeviceSignInIsAnnounced(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		e.account("nao@example.com", "")
		signedInBefore(t, e, "nao@example.com")
		if got := kinds(t, e.st, "nao@example.com")[notify.KindNewSignIn]; got != 0 {
			t.Fatalf("the first sign-in was announced %d times", got)
		}
		laptop := client
		laptop.DeviceToken = "device-2"
		laptop.IP = "192.0.2.44"
		e.clk.Add(2 * time.Minute)
		p, _ := e.svc.StartCodeSignIn(ctx, laptop, "nao@example.com", "en")
		code := e.lastCode("nao@example.com")
		e.clk.Add(time.Second) // the notice comes after the code
		if _, err := e.svc.Verify(ctx, laptop, p.Token, code); err != nil {
			t.Fatal(err)
		}
		ms, _ := e.st.MessagesTo(ctx, "nao@example.com", 1)
		r, err := e.composer.Render(ms[0])
		if ms[0].Kind != notify.KindNewSignIn || err != nil || !strings.Contains(r.Text, "192.0.2.44") || !strings.Contains(r.Text, "/account/secure") {
			t.Fatalf("announcement %s: %v\n%s", ms[0].Kind, err, r.Text)
		}
		// The same device again: no news.
		e.clk.Add(2 * time.Minute)
		p, _ = e.svc.StartCodeSignIn(ctx, laptop, "nao@example.com", "en")
		e.svc.Verify(ctx, laptop, p.Token, e.lastCode("nao@example.com"))
		if got := kinds(t, e.st, "nao@example.com")[notify.KindNewSignIn]; got != 1 {
			t.Fatalf("announced %d times", got)
		}
	})
}

// Two ward instances on one PostgreSQL share what they know: a report made
// through one stops codes through the other, and the day's quota and its
// digest are counted once across both.
func TestUnsolicitedDefensesAcrossInstances(t *testing.T) {
	st := testdb.Postgres(t)
	a, b := newEnv(t, st), newEnv(t, st)
	b.clk = a.clk
	b.svc.Now, b.svc.Sessions.Now = a.clk.Now, a.clk.Now
	guarded(a)
	guarded(b)
	ctx := context.Background()
	a.account("sora@example.com", "")
	signedInBefore(t, a, "sora@example.com")
	for i, e := range []*env{a, b, a, b, a, b, a, b} {
		a.clk.Add(16 * time.Minute) // under the hourly limit
		if _, err := e.svc.StartCodeSignIn(ctx, flow.Client{IP: fmt.Sprintf("192.0.2.%d", 10+i)}, "sora@example.com", "en"); err != nil {
			t.Fatal(err)
		}
	}
	got := kinds(t, st, "sora@example.com")
	if got[notify.KindCode] != 5 || got[notify.KindCodeDigest] != 1 {
		t.Fatalf("across two instances the owner received %v", got)
	}
	// Tomorrow: a code through A, reported through B, then A stops.
	a.clk.Add(25 * time.Hour)
	if _, err := a.svc.StartCodeSignIn(ctx, stranger, "sora@example.com", "en"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.svc.ReportUnsolicited(ctx, client, notMeToken(t, a, "sora@example.com"), "en"); err != nil {
		t.Fatal(err)
	}
	sent := kinds(t, st, "sora@example.com")[notify.KindCode]
	a.clk.Add(5 * time.Minute)
	if _, err := a.svc.StartCodeSignIn(ctx, stranger, "sora@example.com", "en"); err != nil {
		t.Fatal(err)
	}
	if kinds(t, st, "sora@example.com")[notify.KindCode] != sent {
		t.Fatal("instance A sent a code its peer's report suppressed")
	}
}
