package flow_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wardhq/ward/account"
	"github.com/wardhq/ward/config"
	"github.com/wardhq/ward/flow"
	"github.com/wardhq/ward/internal/testclock"
	"github.com/wardhq/ward/internal/testdb"
	"github.com/wardhq/ward/keys"
	"github.com/wardhq/ward/notify"
	"github.com/wardhq/ward/session"
	"github.com/wardhq/ward/store"
	"github.com/wardhq/ward/store/sqlstore"
	"github.com/wardhq/ward/throttle"
)

type env struct {
	t        testing.TB
	st       store.Store
	clk      *testclock.Clock
	svc      *flow.Service
	accounts *account.Service
	composer *notify.Composer
}

// backends runs fn on each store, one request at a time. A query that
// reaches past an open transaction fails there: on PostgreSQL it would need
// a second connection, and under load the pool runs dry (the deadlock of
// issue 10, D1).
func backends(t *testing.T, fn func(t *testing.T, e *env)) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) { fn(t, newEnv(t, strict(db))) })
}

// bursts runs fn on each store for tests that send many requests at once.
func bursts(t *testing.T, fn func(t *testing.T, e *env)) {
	testdb.Each(t, func(t *testing.T, db *sqlstore.DB) { fn(t, newEnv(t, db)) })
}

func strict(db *sqlstore.DB) *sqlstore.DB { db.ForbidOutsideTx(); return db }

func newEnv(t testing.TB, st store.Store) *env {
	clk := testclock.New(time.Date(2026, 11, 22, 1, 0, 0, 0, time.UTC))
	k, err := keys.New(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	pol := account.DefaultPasswordPolicy()
	pw, err := account.NewPasswords(pol, 2)
	if err != nil {
		t.Fatal(err)
	}
	comp, err := notify.NewComposer(k, "ward <no-reply@ward.test>", "https://ward.test", clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	svc := &flow.Service{Store: st, Keys: k, Passwords: pw, Composer: comp, Throttle: config.Default().Throttle(), Risk: flow.NewDeviceOrIP{},
		Limits: config.Default().FlowLimits(), Now: clk.Now, Brand: "ward",
		Sessions: &session.Manager{Store: st, Idle: time.Hour, Absolute: 24 * time.Hour, Now: clk.Now}}
	return &env{t: t, st: st, clk: clk, svc: svc, composer: comp, accounts: &account.Service{Store: st, Passwords: pw, Now: clk.Now}}
}

func (e *env) account(email, password string) store.Account {
	e.t.Helper()
	a, err := e.accounts.Create(context.Background(), account.NewAccount{Email: email, Password: password, Language: "en"})
	if err != nil {
		e.t.Fatal(err)
	}
	return a
}

// lastMail is the text of the newest message to addr.
func (e *env) lastMail(addr string) string {
	e.t.Helper()
	ms, err := e.st.MessagesTo(context.Background(), addr, 1)
	if err != nil || len(ms) == 0 {
		e.t.Fatalf("no message to %s: %v", addr, err)
	}
	r, err := e.composer.Render(ms[0])
	if err != nil {
		e.t.Fatal(err)
	}
	return r.Text
}

var codeRE = regexp.MustCompile(`\b(\d{6})\b`)

// lastCode reads the newest code mailed to addr, as the person would.
func (e *env) lastCode(addr string) string {
	e.t.Helper()
	text := e.lastMail(addr)
	m := codeRE.FindStringSubmatch(text)
	if m == nil {
		e.t.Fatalf("no code in message:\n%s", text)
	}
	return m[1]
}

func flowErr(t *testing.T, err error, code string) *flow.Error {
	t.Helper()
	var fe *flow.Error
	if !errors.As(err, &fe) || fe.Code != code {
		t.Fatalf("got error %v, want %s", err, code)
	}
	return fe
}

var client = flow.Client{IP: "203.0.113.5", UserAgent: "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Safari/537.36", DeviceToken: "device-1"}

func TestCodeSignIn(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		e.account("hana@example.jp", "")
		p, err := e.svc.StartCodeSignIn(ctx, client, "  hana@EXAMPLE.jp ", "en")
		if err != nil {
			t.Fatal(err)
		}
		if p.Destination != "h***@example.jp" || p.Channel != "email" {
			t.Fatalf("pending: %+v", p)
		}
		code := e.lastCode("hana@example.jp")
		e.clk.Add(time.Second)
		// Typed on a Japanese keyboard, with a space from grouping.
		wide := ""
		for i, r := range code {
			if i == 3 {
				wide += "　"
			}
			wide += string(r - '0' + '０')
		}
		res, err := e.svc.Verify(ctx, client, p.Token, wide)
		if err != nil {
			t.Fatal(err)
		}
		if res.Session == nil || res.Session.Token == "" {
			t.Fatal("no session after the right code")
		}
		if _, err := e.svc.Sessions.Authenticate(ctx, res.Session.Token, client.IP); err != nil {
			t.Fatalf("new session does not authenticate: %v", err)
		}
		// Single use.
		_, err = e.svc.Verify(ctx, client, p.Token, code)
		flowErr(t, err, flow.ErrFlowInvalid)
		evs, _ := e.st.Events(ctx, res.Session.Session.AccountID, time.Time{}, 10)
		if len(evs) != 2 || evs[0].Kind != "sign_in" || evs[0].Result != "success" || evs[0].Method != "email_code" || evs[1].Kind != "code_sent" {
			t.Fatalf("activity: %+v", evs)
		}
	})
}

func TestCodeErrorsThePersonCanActOn(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		e.account("ken@example.com", "")
		p, _ := e.svc.StartCodeSignIn(ctx, client, "ken@example.com", "en")
		code := e.lastCode("ken@example.com")
		wrong := fmt.Sprintf("%06d", (atoi(code)+1)%1000000)

		_, err := e.svc.Verify(ctx, client, p.Token, "12345")
		fe := flowErr(t, err, flow.ErrInvalidInput)
		if fe.Message != "Codes are 6 digits." || fe.Key != "input_code_digits" {
			t.Fatalf("message %q", fe.Message)
		}
		_, err = e.svc.Verify(ctx, client, p.Token, wrong)
		fe = flowErr(t, err, flow.ErrWrongCode)
		if fe.AttemptsLeft == nil || *fe.AttemptsLeft != 4 {
			t.Fatalf("attempts left: %v", fe.AttemptsLeft)
		}
		// A malformed entry with 6 digits in it was a guess: it counts.
		_, err = e.svc.Verify(ctx, client, p.Token, wrong+"x")
		if fe = flowErr(t, err, flow.ErrWrongCode); *fe.AttemptsLeft != 3 {
			t.Fatalf("attempts left after a malformed guess: %d", *fe.AttemptsLeft)
		}
		e.clk.Add(10 * time.Minute)
		_, err = e.svc.Verify(ctx, client, p.Token, code)
		flowErr(t, err, flow.ErrCodeExpired)
		p2, err := e.svc.Resend(ctx, client, p.Token)
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.Resend(ctx, client, p.Token)
		if fe = flowErr(t, err, flow.ErrRateLimited); !fe.RetryAt.Equal(p2.ResendAfter) {
			t.Fatalf("resend cooldown retry at %v, want %v", fe.RetryAt, p2.ResendAfter)
		}
		// The old code stopped working when the new one was sent.
		if newCode := e.lastCode("ken@example.com"); newCode != code {
			_, err = e.svc.Verify(ctx, client, p.Token, code)
			flowErr(t, err, flow.ErrWrongCode)
		}
		for range 5 {
			_, err = e.svc.Verify(ctx, client, p.Token, wrong)
		}
		flowErr(t, err, flow.ErrTooManyAttempts)
		_, err = e.svc.Verify(ctx, client, p.Token, e.lastCode("ken@example.com"))
		flowErr(t, err, flow.ErrTooManyAttempts)
		e.clk.Add(6 * time.Minute)
		_, err = e.svc.Verify(ctx, client, p.Token, code)
		flowErr(t, err, flow.ErrFlowExpired)
	})
}

func atoi(s string) int {
	n := 0
	for _, r := range s {
		n = n*10 + int(r-'0')
	}
	return n
}

func wrongOf(code string) string { return fmt.Sprintf("%06d", (atoi(code)+1)%1000000) }

// Spec: 3 wrong, resend, 97 wrong → the factor is disabled. Neither a
// resend nor a new flow resets the count; waits grow along the way.
func TestHundredConsecutiveFailuresDisableTheFactor(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		e.svc.Limits.PerRecipientHour, e.svc.Limits.PerRecipientDay = 100, 100
		a := e.account("mio@example.com", "")
		p, _ := e.svc.StartCodeSignIn(ctx, client, "mio@example.com", "en")
		counted, perCode, waits := 0, 0, 0
		var last error
		for counted < 100 {
			if counted == 3 || perCode == 5 {
				e.clk.Add(61 * time.Second)
				_, err := e.svc.Resend(ctx, client, p.Token)
				if fe := (*flow.Error)(nil); errors.As(err, &fe) && fe.Code == flow.ErrFactorLocked {
					// No code is mailed while the factor rests.
					e.clk.Add(fe.RetryAt.Sub(e.clk.Now()))
					_, err = e.svc.Resend(ctx, client, p.Token)
				}
				if fe := (*flow.Error)(nil); errors.As(err, &fe) && fe.Code == flow.ErrFlowExpired {
					p, err = e.svc.StartCodeSignIn(ctx, client, "mio@example.com", "en")
				}
				if err != nil {
					t.Fatalf("new code after %d failures: %v", counted, err)
				}
				perCode = 0
			}
			_, last = e.svc.Verify(ctx, client, p.Token, wrongOf(e.lastCode("mio@example.com")))
			var fe *flow.Error
			if !errors.As(last, &fe) {
				t.Fatalf("guess %d: %v", counted+1, last)
			}
			switch fe.Code {
			case flow.ErrFactorLocked:
				waits++
				e.clk.Add(fe.RetryAt.Sub(e.clk.Now()))
				continue
			case flow.ErrFlowExpired, flow.ErrCodeExpired:
				perCode = 5 // not counted; get a fresh code below
				continue
			}
			counted++
			perCode++
		}
		flowErr(t, last, flow.ErrFactorDisabled)
		if waits < 5 {
			t.Fatalf("only %d waits on the way to 100 failures", waits)
		}
		// From a device that never signed in, no code is mailed any more:
		// it could not be used. The owner signs in on a known device, or
		// resets (TestStrangerFailuresDoNotLockTheOwnerOut).
		e.clk.Add(24 * time.Hour)
		before, _ := e.st.MessagesTo(ctx, "mio@example.com", 500)
		_, err := e.svc.StartCodeSignIn(ctx, client, "mio@example.com", "en")
		flowErr(t, err, flow.ErrFactorDisabled)
		if after, _ := e.st.MessagesTo(ctx, "mio@example.com", 500); len(after) != len(before) {
			t.Fatal("a code was mailed while the factor is off")
		}
		evs, _ := e.st.Events(ctx, a.ID, time.Time{}, 500)
		disabled := 0
		for _, ev := range evs {
			if ev.Kind == "factor_disabled" {
				disabled++
			}
		}
		if disabled != 1 {
			t.Fatalf("%d factor_disabled events, want 1", disabled)
		}
	})
}

// 101 wrong guesses from rotating IPs: the account's factor is disabled
// all the same, because the count is per account, not per IP.
func TestRotatingIPsDoNotEscapeTheLimit(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		e.svc.Limits.PerRecipientHour, e.svc.Limits.PerRecipientDay = 1000, 1000
		e.account("sora@example.com", "")
		var last error
		for i := 0; i < 101; i++ {
			c := flow.Client{IP: fmt.Sprintf("198.51.100.%d", i%250+1), UserAgent: "bot"}
			p, err := e.svc.StartCodeSignIn(ctx, c, "sora@example.com", "en")
			if err != nil {
				t.Fatalf("start %d: %v", i, err)
			}
			_, last = e.svc.Verify(ctx, c, p.Token, wrongOf(e.lastCode("sora@example.com")))
			var fe *flow.Error
			if errors.As(last, &fe) && !fe.RetryAt.IsZero() {
				e.clk.Add(fe.RetryAt.Sub(e.clk.Now()))
			}
			if errors.As(last, &fe) && fe.Code == flow.ErrFactorDisabled {
				if i != 99 {
					t.Fatalf("disabled at guess %d, want the 100th", i+1)
				}
				_, last = e.svc.Verify(ctx, c, p.Token, e.lastCode("sora@example.com"))
				break
			}
		}
		flowErr(t, last, flow.ErrFactorDisabled)
	})
}

func TestOneCodeManyParallelVerifiesOneWins(t *testing.T) {
	bursts(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		e.account("rin@example.com", "")
		p, _ := e.svc.StartCodeSignIn(ctx, client, "rin@example.com", "en")
		code := e.lastCode("rin@example.com")
		var wins atomic.Int32
		var wg sync.WaitGroup
		for range 100 {
			wg.Go(func() {
				res, err := e.svc.Verify(ctx, client, p.Token, code)
				if err == nil && res.Session != nil {
					wins.Add(1)
					return
				}
				var fe *flow.Error
				if !errors.As(err, &fe) || fe.Code != flow.ErrFlowInvalid {
					t.Errorf("loser got %v, want flow_invalid", err)
				}
			})
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("%d verifications won, want exactly 1", wins.Load())
		}
	})
}

func TestCodesAreBoundToTheirFlow(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		e.account("aoi@example.com", "")
		p1, _ := e.svc.StartCodeSignIn(ctx, client, "aoi@example.com", "en")
		c1 := e.lastCode("aoi@example.com")
		e.clk.Add(time.Second)
		p2, _ := e.svc.StartReset(ctx, client, "aoi@example.com", "en")
		c2 := e.lastCode("aoi@example.com")
		if c1 != c2 {
			_, err := e.svc.Verify(ctx, client, p2.Token, c1)
			flowErr(t, err, flow.ErrWrongCode)
			_, err = e.svc.Verify(ctx, client, p1.Token, c2)
			flowErr(t, err, flow.ErrWrongCode)
		}
		_, err := e.svc.Verify(ctx, client, "not-a-flow", c1)
		flowErr(t, err, flow.ErrFlowInvalid)
	})
}

func TestUnknownIdentifierLooksTheSame(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		e.account("known@example.com", "")
		k, err := e.svc.StartCodeSignIn(ctx, client, "known@example.com", "en")
		if err != nil {
			t.Fatal(err)
		}
		u, err := e.svc.StartCodeSignIn(ctx, client, "kname@example.com", "en")
		if err != nil {
			t.Fatal(err)
		}
		if k.Destination != "k***@example.com" || u.Destination != k.Destination || k.ExpiresAt != u.ExpiresAt || k.ResendAfter != u.ResendAfter {
			t.Fatalf("known %+v and unknown %+v differ", k, u)
		}
		if ms, _ := e.st.MessagesTo(ctx, "kname@example.com", 10); len(ms) != 0 {
			t.Fatal("a message was queued for an unknown address")
		}
		// Wrong guesses behave the same too.
		_, ek := e.svc.Verify(ctx, client, k.Token, "000000")
		_, eu := e.svc.Verify(ctx, client, u.Token, "000000")
		if ek.Error() != eu.Error() {
			t.Fatalf("known: %v, unknown: %v", ek, eu)
		}
	})
}

func TestPasswordSignInStepsUpOnNewDeviceOrIP(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		a := e.account("yui@example.com", "correct horse battery staple")
		res, err := e.svc.PasswordSignIn(ctx, client, "yui@example.com", "correct horse battery staple")
		if err != nil {
			t.Fatal(err)
		}
		e.clk.Add(time.Second)
		if res.Pending == nil || res.Session != nil || len(res.Pending.Reasons) != 2 {
			t.Fatalf("first sign-in must step up for new device and IP: %+v", res)
		}
		done, err := e.svc.Verify(ctx, client, res.Pending.Token, e.lastCode("yui@example.com"))
		if err != nil || done.Session == nil {
			t.Fatalf("step-up: %v", err)
		}
		if done.Session.Session.StepUpAt == nil || done.Session.Session.Method != "password+email_code" {
			t.Fatalf("session: %+v", done.Session.Session)
		}
		// Same device and IP: no code needed.
		res, err = e.svc.PasswordSignIn(ctx, client, "yui@example.com", "correct horse battery staple")
		if err != nil || res.Session == nil {
			t.Fatalf("known device and IP: %+v %v", res, err)
		}
		// Same device, new IP: step up, saying why.
		c2 := client
		c2.IP = "192.0.2.77"
		res, err = e.svc.PasswordSignIn(ctx, c2, "yui@example.com", "correct horse battery staple")
		if err != nil || res.Pending == nil || len(res.Pending.Reasons) != 1 || res.Pending.Reasons[0] != "new_ip" {
			t.Fatalf("new IP: %+v %v", res, err)
		}
		e.clk.Add(time.Second)
		_, err = e.svc.PasswordSignIn(ctx, client, "yui@example.com", "wrong password here")
		fe := flowErr(t, err, flow.ErrWrongCredentials)
		_, err = e.svc.PasswordSignIn(ctx, client, "nobody@example.com", "wrong password here")
		fu := flowErr(t, err, flow.ErrWrongCredentials)
		if fe.Message != fu.Message {
			t.Fatal("unknown email and wrong password answer differently")
		}
		evs, _ := e.st.Events(ctx, a.ID, time.Time{}, 20)
		if evs[0].Result != "wrong_password" {
			t.Fatalf("latest event: %+v", evs[0])
		}
	})
}

func TestPasswordReset(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		a := e.account("emi@example.com", "an old but decent passphrase")
		if _, err := e.accounts.AddContact(ctx, a.ID, "email", "emi.backup@example.org", true); err != nil {
			t.Fatal(err)
		}
		other, err := e.svc.PasswordSignIn(ctx, client, "emi@example.com", "an old but decent passphrase")
		if err != nil {
			t.Fatal(err)
		}
		old, _ := e.svc.Verify(ctx, client, other.Pending.Token, e.lastCode("emi@example.com"))

		p, err := e.svc.StartReset(ctx, client, "emi@example.com", "en")
		if err != nil {
			t.Fatal(err)
		}
		e.clk.Add(61 * time.Second)
		// The person chooses their backup address by typing it in full.
		p2, err := e.svc.ResetVia(ctx, client, p.Token, "EMI.backup@example.org")
		if err != nil {
			t.Fatal(err)
		}
		if p2.Destination != "E***@example.org" && p2.Destination != "e***@example.org" {
			t.Fatalf("destination %q", p2.Destination)
		}
		code := e.lastCode("emi.backup@example.org")
		if _, err := e.svc.Verify(ctx, client, p.Token, code); err != nil {
			t.Fatal(err)
		}
		err = e.svc.CompleteReset(ctx, client, p.Token, "password")
		flowErr(t, err, flow.ErrInvalidInput)
		if err := e.svc.CompleteReset(ctx, client, p.Token, "a brand new long passphrase"); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Sessions.Authenticate(ctx, old.Session.Token, client.IP); !errors.Is(err, session.ErrNoSession) {
			t.Fatal("the old session survived a password reset")
		}
		if err := e.svc.CompleteReset(ctx, client, p.Token, "a brand new long passphrase"); err == nil {
			t.Fatal("a reset flow completed twice")
		}
		res, err := e.svc.PasswordSignIn(ctx, client, "emi@example.com", "a brand new long passphrase")
		if err != nil || (res.Session == nil && res.Pending == nil) {
			t.Fatalf("sign-in with the new password: %v", err)
		}
		// Both contacts were told.
		for _, addr := range []string{"emi@example.com", "emi.backup@example.org"} {
			ms, _ := e.st.MessagesTo(ctx, addr, 10)
			found := false
			for _, m := range ms {
				found = found || m.Kind == notify.KindPasswordChanged
			}
			if !found {
				t.Errorf("%s was not told of the password change", addr)
			}
		}
	})
}

func TestResetToAnAddressThatIsNotAContactSendsNothing(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		e.account("kai@example.com", "")
		p, _ := e.svc.StartReset(ctx, client, "kai@example.com", "en")
		e.clk.Add(61 * time.Second)
		p2, err := e.svc.ResetVia(ctx, client, p.Token, "attacker@evil.example")
		if err != nil || p2.Destination != "a***@evil.example" {
			t.Fatalf("answer: %+v %v", p2, err)
		}
		e.clk.Add(61 * time.Second)
		if _, err := e.svc.Resend(ctx, client, p.Token); err != nil {
			t.Fatal(err)
		}
		if ms, _ := e.st.MessagesTo(ctx, "attacker@evil.example", 10); len(ms) != 0 {
			t.Fatal("a code went to an address that is not a contact of the account")
		}
	})
}

func TestNotMyAccount(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		a := e.account("owner@example.com", "")
		if _, err := e.accounts.AddContact(ctx, a.ID, "email", "stranger@example.net", true); err != nil {
			t.Fatal(err)
		}
		p, _ := e.svc.StartReset(ctx, client, "owner@example.com", "en")
		e.clk.Add(61 * time.Second)
		e.svc.ResetVia(ctx, client, p.Token, "stranger@example.net")
		ms, _ := e.st.MessagesTo(ctx, "stranger@example.net", 1)
		r, _ := e.composer.Render(ms[0])
		link := regexp.MustCompile(`/not-my-account/([A-Za-z0-9_-]+)`).FindStringSubmatch(r.Text)
		if link == nil {
			t.Fatalf("no not-my-account link in:\n%s", r.Text)
		}
		// Looking changes nothing (mail scanners fetch links).
		for range 3 {
			info, err := e.svc.DescribeAddressRemoval(ctx, link[1])
			if err != nil || info.Primary || info.Contact != "s***@example.net" {
				t.Fatalf("info: %+v %v", info, err)
			}
		}
		if _, err := e.svc.RemoveAddress(ctx, client, link[1]); err != nil {
			t.Fatal(err)
		}
		cs, _ := e.st.ContactsByAccount(ctx, a.ID)
		if len(cs) != 1 || cs[0].Value != "owner@example.com" {
			t.Fatalf("contacts after not-mine: %+v", cs)
		}
		_, err := e.svc.RemoveAddress(ctx, client, link[1])
		flowErr(t, err, flow.ErrLinkInvalid)
		// The reset it came with is cancelled.
		_, err = e.svc.Verify(ctx, client, p.Token, e.lastCode("stranger@example.net"))
		flowErr(t, err, flow.ErrFlowInvalid)
	})
}

func accountFor(email string) account.NewAccount {
	return account.NewAccount{Email: email, Language: "en"}
}

func TestDeliveryStatusAndAnotherChannel(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		a := e.account("nao@example.com", "a decent long passphrase")
		phone, err := e.accounts.AddContact(ctx, a.ID, "phone", "+81 90 1111 2222", true)
		if err != nil {
			t.Fatal(err)
		}
		res, err := e.svc.PasswordSignIn(ctx, client, "nao@example.com", "a decent long passphrase")
		if err != nil || res.Pending == nil {
			t.Fatalf("step-up: %v", err)
		}
		d, err := e.svc.Delivery(ctx, res.Pending.Token)
		if err != nil || d.Status != store.MessageQueued || d.Destination != "n***@example.com" || len(d.Alternatives) != 0 {
			t.Fatalf("fresh delivery: %+v %v", d, err)
		}
		// Still not out after a while: the phone is offered.
		e.clk.Add(flow.SlowAfter + 31*time.Second)
		d, _ = e.svc.Delivery(ctx, res.Pending.Token)
		if len(d.Alternatives) != 1 || d.Alternatives[0].ID != phone.ID || d.Alternatives[0].Destination != "+81********22" {
			t.Fatalf("slow delivery alternatives: %+v", d)
		}
		p, err := e.svc.SendVia(ctx, client, res.Pending.Token, phone.ID)
		if err != nil || p.Channel != "sms" {
			t.Fatalf("send via phone: %+v %v", p, err)
		}
		done, err := e.svc.Verify(ctx, client, res.Pending.Token, e.lastCode("+819011112222"))
		if err != nil || done.Session == nil {
			t.Fatalf("verify the SMS code: %v", err)
		}
		// Another account's contact is never accepted.
		b := e.account("other@example.com", "")
		bc, _ := e.st.ContactsByAccount(ctx, b.ID)
		e.clk.Add(time.Hour)
		res, _ = e.svc.PasswordSignIn(ctx, flow.Client{IP: "192.0.2.1"}, "nao@example.com", "a decent long passphrase")
		e.clk.Add(2 * time.Minute)
		_, err = e.svc.SendVia(ctx, client, res.Pending.Token, bc[0].ID)
		flowErr(t, err, flow.ErrInvalidInput)
	})
}

// Before anything is proven, delivery status says the same for every email.
func TestDeliveryStatusRevealsNothingBeforeProof(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		e.account("kaito@example.com", "")
		k, _ := e.svc.StartCodeSignIn(ctx, client, "kaito@example.com", "en")
		u, _ := e.svc.StartCodeSignIn(ctx, client, "kaiko@example.com", "en")
		dk, err1 := e.svc.Delivery(ctx, k.Token)
		du, err2 := e.svc.Delivery(ctx, u.Token)
		if err1 != nil || err2 != nil || !reflect.DeepEqual(dk, du) || dk.Status != "requested" {
			t.Fatalf("known %+v, unknown %+v", dk, du)
		}
	})
}

// A right code clears the wrong ones counted before it on the factor, so
// the next mistake counts from one; a right code with none before it
// leaves no counter behind.
func TestRightCodeClearsTheFactorsFailures(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		a := e.account("rin@example.com", "")
		sub := "a:" + a.ID
		p, err := e.svc.StartCodeSignIn(ctx, client, "rin@example.com", "en")
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			_, err := e.svc.Verify(ctx, client, p.Token, wrongOf(e.lastCode("rin@example.com")))
			flowErr(t, err, flow.ErrWrongCode)
		}
		if fc, err := e.st.FailureCounter(ctx, sub, throttle.FactorEmailCode); err != nil || fc.Consecutive != 2 {
			t.Fatalf("after two wrong codes: %+v %v", fc, err)
		}
		if _, err := e.svc.Verify(ctx, client, p.Token, e.lastCode("rin@example.com")); err != nil {
			t.Fatal(err)
		}
		if _, err := e.st.FailureCounter(ctx, sub, throttle.FactorEmailCode); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("the right code left the counter: %v", err)
		}
		// Again, with no mistake before the right code, from the device
		// now known (counted apart from strangers).
		known := sub + "|known"
		p, err = e.svc.StartCodeSignIn(ctx, client, "rin@example.com", "en")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Verify(ctx, client, p.Token, e.lastCode("rin@example.com")); err != nil {
			t.Fatal(err)
		}
		if _, err := e.st.FailureCounter(ctx, known, throttle.FactorEmailCode); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("a right code with no mistake before it: %v", err)
		}
		// The next mistake counts from one.
		p, _ = e.svc.StartCodeSignIn(ctx, client, "rin@example.com", "en")
		_, err = e.svc.Verify(ctx, client, p.Token, wrongOf(e.lastCode("rin@example.com")))
		flowErr(t, err, flow.ErrWrongCode)
		if fc, err := e.st.FailureCounter(ctx, known, throttle.FactorEmailCode); err != nil || fc.Consecutive != 1 {
			t.Fatalf("the next mistake: %+v %v", fc, err)
		}
	})
}
