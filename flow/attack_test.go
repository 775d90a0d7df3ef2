package flow_test

// The attacks of issue 10, replayed as parallel bursts on both stores:
// each test failed before its fix.

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wardhq/ward/flow"
	"github.com/wardhq/ward/jobs"
	"github.com/wardhq/ward/notify"
	"github.com/wardhq/ward/throttle"
)

// burst runs fn n times at once and waits for all of them.
func burst(n int, fn func(i int)) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() { <-start; fn(i) })
	}
	close(start)
	wg.Wait()
}

// codeMessages counts the code mails and digests queued to addr.
func codeMessages(t *testing.T, e *env, addr string) (codes, digests int) {
	t.Helper()
	ms, err := e.st.MessagesTo(context.Background(), addr, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		switch m.Kind {
		case notify.KindCode:
			codes++
		case notify.KindCodeDigest:
			digests++
		}
	}
	return codes, digests
}

// D1: on PostgreSQL, 200 sign-ins at once for one account (and 100 for
// 100 accounts) on a pool of 32 connections all get an answer, quickly.
func TestParallelCodeRequestsAllGetAnAnswer(t *testing.T) {
	bursts(t, func(t *testing.T, e *env) {
		e.account("kaito@example.com", "")
		for i := range 100 {
			e.account(fmt.Sprintf("user%d@example.com", i), "")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		for _, tc := range []struct {
			name  string
			email func(i int) string
		}{
			{"one account", func(int) string { return "kaito@example.com" }},
			{"many accounts", func(i int) string { return fmt.Sprintf("user%d@example.com", i%100) }},
		} {
			var answered, refused atomic.Int32
			began := time.Now()
			burst(200, func(i int) {
				c := flow.Client{IP: fmt.Sprintf("198.51.100.%d", i%200+1), UserAgent: "burst", DeviceToken: fmt.Sprintf("dev-%d", i)}
				_, err := e.svc.StartCodeSignIn(ctx, c, tc.email(i), "en")
				var fe *flow.Error
				switch {
				case err == nil:
					answered.Add(1)
				case errors.As(err, &fe) && fe.Code == flow.ErrRateLimited:
					refused.Add(1)
				default:
					t.Errorf("%s: request %d: %v", tc.name, i, err)
				}
			})
			if ctx.Err() != nil || answered.Load()+refused.Load() != 200 {
				t.Fatalf("%s: %d answered, %d refused of 200 (%v)", tc.name, answered.Load(), refused.Load(), ctx.Err())
			}
			t.Logf("%s: 200 parallel requests answered in %v (%d accepted, %d rate-limited)", tc.name, time.Since(began).Round(time.Millisecond),
				answered.Load(), refused.Load())
		}
	})
}

// D2: 100 wrong codes at once on one code count as 5 (the per-code
// limit), not 100, and do not turn the factor off.
func TestBurstOfWrongCodesCountsOnlyTheCodeLimit(t *testing.T) {
	bursts(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		e.account("nao@example.com", "")
		p, err := e.svc.StartCodeSignIn(ctx, client, "nao@example.com", "en")
		if err != nil {
			t.Fatal(err)
		}
		wrong := wrongOf(e.lastCode("nao@example.com"))
		var wrongAnswers atomic.Int32
		burst(100, func(int) {
			_, err := e.svc.Verify(ctx, client, p.Token, wrong)
			var fe *flow.Error
			if !errors.As(err, &fe) {
				t.Errorf("a wrong code got %v", err)
				return
			}
			switch fe.Code {
			case flow.ErrWrongCode:
				wrongAnswers.Add(1)
			case flow.ErrTooManyAttempts, flow.ErrFactorLocked:
			default:
				t.Errorf("a wrong code got %v", err)
			}
		})
		sub := "a:" + mustAccount(t, e, "nao@example.com").ID
		fc, err := e.st.FailureCounter(ctx, sub, throttle.FactorEmailCode)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("100 parallel wrong codes: %d counted on the factor, %d answered wrong_code", fc.Consecutive, wrongAnswers.Load())
		if fc.Consecutive != 5 || fc.DisabledAt != nil || wrongAnswers.Load() > 5 {
			t.Fatalf("a burst of 100 wrong codes counted %d failures (disabled %v), %d wrong_code answers; want 5", fc.Consecutive, fc.DisabledAt,
				wrongAnswers.Load())
		}
	})
}

// D5: 50 requests at once for one address queue at most the hourly limit
// of code mails (and at most one digest).
func TestParallelRequestsRespectThePerRecipientLimit(t *testing.T) {
	bursts(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		e.account("yui@example.com", "")
		burst(50, func(i int) {
			c := flow.Client{IP: fmt.Sprintf("198.51.100.%d", i+1), UserAgent: "burst"}
			_, err := e.svc.StartCodeSignIn(ctx, c, "yui@example.com", "en")
			var fe *flow.Error
			if err != nil && !(errors.As(err, &fe) && fe.Code == flow.ErrRateLimited) {
				t.Errorf("request %d: %v", i, err)
			}
		})
		codes, digests := codeMessages(t, e, "yui@example.com")
		t.Logf("50 parallel requests for one address: %d code mails, %d digests", codes, digests)
		if codes > e.svc.Limits.PerRecipientHour || digests > 1 {
			t.Fatalf("50 parallel requests queued %d code mails and %d digests; the limit is %d an hour", codes, digests, e.svc.Limits.PerRecipientHour)
		}
	})
}

// 100 resends at once after the cooldown send one code.
func TestParallelResendsSendOneCode(t *testing.T) {
	bursts(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		e.account("ren@example.com", "")
		p, err := e.svc.StartCodeSignIn(ctx, client, "ren@example.com", "en")
		if err != nil {
			t.Fatal(err)
		}
		e.clk.Add(61 * time.Second)
		var ok atomic.Int32
		burst(100, func(int) {
			_, err := e.svc.Resend(ctx, client, p.Token)
			var fe *flow.Error
			switch {
			case err == nil:
				ok.Add(1)
			case !errors.As(err, &fe) || fe.Code != flow.ErrRateLimited:
				t.Errorf("resend: %v", err)
			}
		})
		if codes, _ := codeMessages(t, e, "ren@example.com"); ok.Load() != 1 || codes != 2 {
			t.Fatalf("100 parallel resends: %d accepted, %d code mails in all; want 1 and 2", ok.Load(), codes)
		}
	})
}

// D3: a stranger's failures, enough to turn email codes off, leave the
// owner's known device able to sign in, and a reset from a new device
// (the owner who lost theirs) still works and turns codes back on.
func TestStrangerFailuresDoNotLockTheOwnerOut(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		e.svc.Limits.PerRecipientHour, e.svc.Limits.PerRecipientDay, e.svc.Limits.PerIPHour = 1000, 1000, 1000
		e.svc.Throttle = throttle.Policy{FreeFailures: 9, FirstWait: time.Second, Step: 10, MaxWait: time.Minute, DisableAt: 20}
		e.account("owner@example.com", "")
		// The owner signs in once on their own device.
		p, err := e.svc.StartCodeSignIn(ctx, client, "owner@example.com", "en")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Verify(ctx, client, p.Token, e.lastCode("owner@example.com")); err != nil {
			t.Fatal(err)
		}
		stranger := flow.Client{IP: "192.0.2.66", UserAgent: "curl/8", DeviceToken: "stranger"}
		var last error
		for i := 0; i < 40; i++ {
			p, err := e.svc.StartCodeSignIn(ctx, stranger, "owner@example.com", "en")
			if err != nil {
				last = err
				var fe *flow.Error
				if errors.As(err, &fe) && fe.Code == flow.ErrFactorLocked {
					e.clk.Add(fe.RetryAt.Sub(e.clk.Now()))
					continue
				}
				break
			}
			for range 5 {
				_, last = e.svc.Verify(ctx, stranger, p.Token, "000000")
			}
			e.clk.Add(time.Minute)
		}
		flowErr(t, last, flow.ErrFactorDisabled)

		// The owner's device is not held back by the stranger.
		p, err = e.svc.StartCodeSignIn(ctx, client, "owner@example.com", "en")
		if err != nil {
			t.Fatalf("the owner's known device cannot ask for a code: %v", err)
		}
		if res, err := e.svc.Verify(ctx, client, p.Token, e.lastCode("owner@example.com")); err != nil || res.Session == nil {
			t.Fatalf("the owner's known device cannot sign in: %v", err)
		}
		// A new device (the owner's new phone) can still reset.
		e.clk.Add(time.Second)
		newPhone := flow.Client{IP: "203.0.113.99", UserAgent: client.UserAgent, DeviceToken: "new-phone"}
		_, err = e.svc.StartCodeSignIn(ctx, newPhone, "owner@example.com", "en")
		flowErr(t, err, flow.ErrFactorDisabled)
		r, err := e.svc.StartReset(ctx, newPhone, "owner@example.com", "en")
		if err != nil {
			t.Fatalf("reset refused while codes are off for strangers: %v", err)
		}
		if res, err := e.svc.Verify(ctx, newPhone, r.Token, e.lastCode("owner@example.com")); err != nil || res.State != "code_verified" {
			t.Fatalf("reset code refused: %v", err)
		}
		if err := e.svc.CompleteReset(ctx, newPhone, r.Token, "a brand new passphrase here"); err != nil {
			t.Fatal(err)
		}
		// The reset turned codes back on for every device.
		e.clk.Add(time.Second)
		p, err = e.svc.StartCodeSignIn(ctx, newPhone, "owner@example.com", "en")
		if err != nil {
			t.Fatalf("codes still off after a reset: %v", err)
		}
		if _, err := e.svc.Verify(ctx, newPhone, p.Token, e.lastCode("owner@example.com")); err != nil {
			t.Fatal(err)
		}
	})
}

// D7: 70 code requests from 70 addresses of one IPv6 /64 are one source:
// the per-IP limit (60 an hour) holds.
func TestIPv6NetworkIsOneSource(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		accepted := 0
		for i := range 70 {
			c := flow.Client{IP: fmt.Sprintf("2001:db8:1:2::%x", i+1), UserAgent: "bot"}
			_, err := e.svc.StartCodeSignIn(ctx, c, fmt.Sprintf("nobody%d@example.com", i), "en")
			var fe *flow.Error
			switch {
			case err == nil:
				accepted++
			case !errors.As(err, &fe) || fe.Code != flow.ErrRateLimited:
				t.Fatal(err)
			}
		}
		if accepted != e.svc.Limits.PerIPHour {
			t.Fatalf("%d of 70 requests from one /64 accepted, want %d", accepted, e.svc.Limits.PerIPHour)
		}
		if _, err := e.svc.StartCodeSignIn(ctx, flow.Client{IP: "2001:db8:1:3::1"}, "nobody@example.com", "en"); err != nil {
			t.Fatalf("another /64 is another source: %v", err)
		}
	})
}

// deferred keeps the work a request left for later, as the queue does.
type deferred struct {
	mu       sync.Mutex
	payloads [][]byte
}

func (d *deferred) Defer(_ context.Context, _ jobs.Tx, p []byte) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.payloads = append(d.payloads, p)
	return nil
}

// D4: the answer comes before the mail is written, the same for a known
// and an unknown address; the work left for later writes one mail however
// often the queue runs it (a job may run twice after a crash).
func TestCodeMailIsWrittenAfterTheAnswerOnce(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		later := &deferred{}
		e.svc.Later = later
		e.account("sara@example.com", "")
		if _, err := e.svc.StartCodeSignIn(ctx, client, "sara@example.com", "en"); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.StartCodeSignIn(ctx, client, "nobody@example.com", "en"); err != nil {
			t.Fatal(err)
		}
		if codes, _ := codeMessages(t, e, "sara@example.com"); codes != 0 || len(later.payloads) != 2 {
			t.Fatalf("before the work runs: %d mails, %d jobs; want 0 and 2 (one for each address)", codes, len(later.payloads))
		}
		for range 2 {
			for _, p := range later.payloads {
				if err := e.svc.RunLater(ctx, p); err != nil {
					t.Fatal(err)
				}
			}
		}
		if codes, _ := codeMessages(t, e, "sara@example.com"); codes != 1 {
			t.Fatalf("%d code mails after the work ran twice, want 1", codes)
		}
		if codes, _ := codeMessages(t, e, "nobody@example.com"); codes != 0 {
			t.Fatal("a mail was written to an address without an account")
		}
		if err := e.svc.RunLater(ctx, []byte("forged")); err == nil {
			t.Fatal("work that ward did not seal was run")
		}
	})
}

// A code replaced before its mail was written is never mailed: only the
// newer code's work writes one.
func TestReplacedCodeIsNotMailed(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		later := &deferred{}
		e.svc.Later = later
		e.account("rina@example.com", "")
		p, err := e.svc.StartCodeSignIn(ctx, client, "rina@example.com", "en")
		if err != nil {
			t.Fatal(err)
		}
		e.clk.Add(61 * time.Second)
		if _, err := e.svc.Resend(ctx, client, p.Token); err != nil {
			t.Fatal(err)
		}
		if len(later.payloads) != 2 {
			t.Fatalf("%d jobs, want one for each code", len(later.payloads))
		}
		if err := e.svc.RunLater(ctx, later.payloads[0]); err != nil {
			t.Fatal(err)
		}
		if codes, _ := codeMessages(t, e, "rina@example.com"); codes != 0 {
			t.Fatalf("%d mails for a code replaced before its mail was written, want 0", codes)
		}
		if err := e.svc.RunLater(ctx, later.payloads[1]); err != nil {
			t.Fatal(err)
		}
		if codes, _ := codeMessages(t, e, "rina@example.com"); codes != 1 {
			t.Fatalf("%d mails for the current code, want 1", codes)
		}
	})
}

// D12: a code flow started before the account was disabled ends with no
// session (OWASP ASVS 7.4.2).
func TestDisabledAccountGetsNoSessionFromAnEarlierFlow(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		a := e.account("jun@example.com", "")
		p, err := e.svc.StartCodeSignIn(ctx, client, "jun@example.com", "en")
		if err != nil {
			t.Fatal(err)
		}
		code := e.lastCode("jun@example.com")
		if err := e.accounts.SetDisabled(ctx, a.ID, true); err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.Verify(ctx, client, p.Token, code)
		flowErr(t, err, flow.ErrAccountDisabled)
		if ss, _ := e.st.SessionsByAccount(ctx, a.ID, e.clk.Now()); len(ss) != 0 {
			t.Fatalf("a disabled account got %d sessions", len(ss))
		}
	})
}

// D12: a session that has not proven its owner lately can neither set a
// first password nor turn a disabled factor back on (ASVS 7.5.1, 6.2.3).
func TestStaleSessionCannotAddAWayIn(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		e.account("ryo@example.com", "")
		sess := signedInSession(t, e, "ryo@example.com")
		e.clk.Add(20 * time.Minute)
		if err := e.svc.ChangePassword(ctx, client, sess, "", "a long and decent passphrase"); err == nil {
			t.Fatal("a stale session set a first password")
		} else {
			flowErr(t, err, flow.ErrStepUpRequired)
		}
		err := e.svc.EnableFactor(ctx, client, sess, throttle.FactorEmailCode)
		flowErr(t, err, flow.ErrStepUpRequired)
		// Fresh, both work.
		fresh := signedInSession(t, e, "ryo@example.com")
		if err := e.svc.ChangePassword(ctx, client, fresh, "", "a long and decent passphrase"); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.EnableFactor(ctx, client, fresh, throttle.FactorEmailCode); err != nil {
			t.Fatal(err)
		}
	})
}
