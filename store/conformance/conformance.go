// Package conformance is the behaviour every store.Store backend must show.
// Each backend's tests call Run with a function that opens an empty store.
package conformance

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wardhq/ward/authenticator"
	"github.com/wardhq/ward/jobs"
	"github.com/wardhq/ward/openid"
	"github.com/wardhq/ward/passkey"
	"github.com/wardhq/ward/recovery"
	"github.com/wardhq/ward/store"
	"github.com/wardhq/ward/totp"
)

// Opener returns a new, empty, migrated store; it registers its own cleanup.
type Opener func(t *testing.T) store.Store

// Run runs the whole suite.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"Accounts", testAccounts},
		{"Contacts", testContacts},
		{"TimesAreUTCAndExact", testTimes},
		{"FlowsAdvanceOnce", testFlows},
		{"Codes", testCodes},
		{"OneCodeManyVerifiersExactlyOneWins", testCodeRace},
		{"FailureCounters", testFailureCounters},
		{"FailureCountersConcurrent", testFailureCountersConcurrent},
		{"CodeFailuresBurstStopsAtTheLimit", testCodeFailureBurst},
		{"LockSerialisesCheckThenAct", testLock},
		{"RateHitsCountEveryRequestOnce", testRateHits},
		{"Messages", testMessages},
		{"ReadsOfTheDashboard", testDashboardReads},
		{"Authenticators", testAuthenticators},
		{"AuthenticatorCodeUsedOnceUnderABurst", testAuthenticatorBurst},
		{"RecoveryCodes", testRecoveryCodes},
		{"RecoveryCodeUsedOnceUnderABurst", testRecoveryBurst},
		{"Passkeys", testPasskeys},
		{"PasskeyCeremonyTakenOnceUnderABurst", testCeremonyBurst},
		{"OpenIDProvider", testOpenID},
		{"OpenIDCodeAndRefreshUsedOnceUnderABurst", testOpenIDBursts},
		{"PairedAuthenticatorsAndPrompts", testPairedAuthenticators},
		{"PromptAnsweredOnceUnderABurst", testPromptBurst},
		{"Sessions", testSessions},
		{"Devices", testDevices},
		{"ReadWithWhetherTheDeviceIsKnown", testKnownDeviceReads},
		{"ReadsAheadComeBackAsTheReads", testReadAhead},
		{"Events", testEvents},
		{"LinkTokens", testLinkTokens},
		{"TransactionsAreAllOrNothing", testTx},
		{"ConflictFailsItsTransaction", testConflictFailsTx},
		{"TransactionsStayApartUnderABurst", testTxBurst},
		{"DeleteExpired", testDeleteExpired},
		{"RiskHistory", testRiskHistory},
		{"SuppressionsAndAliases", testSuppressionsAndAliases},
		{"Tasks", testTasks},
		{"TaskClaimedOnceUnderABurst", testTaskBurst},
		{"TaskReplacedOnlyByItsClaim", testTaskReplace},
		{"TxOfACallerWhoLeftFailsAlone", testTxCancelledBurst},
		{"TaskWrittenOnlyWithItsTransaction", testTaskTx},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

var t0 = time.Date(2026, 11, 22, 10, 2, 3, 456789000, time.UTC)

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func ptr(t time.Time) *time.Time { return &t }

// oneWins runs try n times at once: exactly one may succeed, and every
// other must fail with lose.
func oneWins(t *testing.T, what string, n int, lose error, try func() error) {
	t.Helper()
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			switch err := try(); {
			case err == nil:
				wins.Add(1)
			case !errors.Is(err, lose):
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%s: %d of %d at once succeeded, want 1", what, wins.Load(), n)
	}
}

func newAccount(t *testing.T, s store.Store, id string) store.Account {
	t.Helper()
	a := store.Account{ID: id, Email: id + "@example.com", Language: "ja", CreatedAt: t0}
	must(t, s.CreateAccount(context.Background(), a))
	return a
}

func testAccounts(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := store.Account{ID: "a1", Email: "Alice@example.com", Phone: "+819012345678", PasswordHash: "$argon2id$x", Language: "ja", CreatedAt: t0,
		Skeleton: "alice@example.com"}
	must(t, s.CreateAccount(ctx, a))
	if got, err := s.AccountBySkeleton(ctx, "alice@example.com"); err != nil || got.ID != "a1" || got.Skeleton != a.Skeleton {
		t.Fatalf("by skeleton: %+v %v", got, err)
	}
	if _, err := s.AccountBySkeleton(ctx, "bob@example.com"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown skeleton: %v, want ErrNotFound", err)
	}
	got, err := s.AccountByEmail(ctx, "Alice@example.com")
	must(t, err)
	if got.ID != "a1" || got.Phone != a.Phone || got.PasswordHash != a.PasswordHash || got.Language != "ja" || !got.CreatedAt.Equal(t0) || got.DisabledAt != nil {
		t.Fatalf("read back %+v, want %+v", got, a)
	}
	if _, err := s.AccountByEmail(ctx, "nobody@example.com"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown email: %v, want ErrNotFound", err)
	}
	if err := s.CreateAccount(ctx, store.Account{ID: "a2", Email: "Alice@example.com", Language: "en", CreatedAt: t0}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate email: %v, want ErrConflict", err)
	}
	must(t, s.UpdateAccountPassword(ctx, "a1", "$argon2id$y", t0))
	must(t, s.SetAccountDisabled(ctx, "a1", ptr(t0.Add(time.Hour))))
	got, err = s.AccountByID(ctx, "a1")
	must(t, err)
	if got.PasswordHash != "$argon2id$y" || got.DisabledAt == nil || !got.DisabledAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("after updates: %+v", got)
	}
	must(t, s.SetAccountDisabled(ctx, "a1", nil))
	if got, _ = s.AccountByID(ctx, "a1"); got.DisabledAt != nil {
		t.Fatal("account still disabled after enabling")
	}
	if err := s.UpdateAccountPassword(ctx, "nope", "x", t0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("update of unknown account: %v", err)
	}
	must(t, s.SetAccountTwoStep(ctx, "a1", ptr(t0)))
	if got, _ = s.AccountByID(ctx, "a1"); got.TwoStepAt == nil || !got.TwoStepAt.Equal(t0) {
		t.Fatalf("two-step not on: %+v", got.TwoStepAt)
	}
	must(t, s.SetAccountTwoStep(ctx, "a1", nil))
	if got, _ = s.AccountByID(ctx, "a1"); got.TwoStepAt != nil {
		t.Fatal("two-step still on after turning it off")
	}
}

func testContacts(t *testing.T, s store.Store) {
	ctx := context.Background()
	newAccount(t, s, "a1")
	must(t, s.CreateContact(ctx, store.Contact{ID: "c2", AccountID: "a1", Kind: store.ContactPhone, Value: "+819012345678", CreatedAt: t0.Add(time.Second)}))
	must(t, s.CreateContact(ctx, store.Contact{ID: "c1", AccountID: "a1", Kind: store.ContactEmail, Value: "a1@example.com", Primary: true, VerifiedAt: ptr(t0), CreatedAt: t0.Add(2 * time.Second)}))
	if err := s.CreateContact(ctx, store.Contact{ID: "c3", AccountID: "a1", Kind: store.ContactEmail, Value: "a1@example.com", CreatedAt: t0}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate contact: %v", err)
	}
	cs, err := s.ContactsByAccount(ctx, "a1")
	must(t, err)
	if len(cs) != 2 || cs[0].ID != "c1" || !cs[0].Primary || cs[0].VerifiedAt == nil || cs[1].VerifiedAt != nil {
		t.Fatalf("contacts, primary first: %+v", cs)
	}
	c, err := s.ContactByID(ctx, "c2")
	must(t, err)
	if c.Value != "+819012345678" || c.Kind != store.ContactPhone {
		t.Fatalf("contact: %+v", c)
	}
	must(t, s.DeleteContact(ctx, "c2"))
	if _, err := s.ContactByID(ctx, "c2"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted contact: %v", err)
	}
	if err := s.DeleteContact(ctx, "c2"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleting twice: %v", err)
	}
}

func testTimes(t *testing.T, s store.Store) {
	ctx := context.Background()
	tokyo := time.FixedZone("JST", 9*3600)
	local := time.Date(2026, 11, 23, 1, 2, 3, 456789000, tokyo) // same instant as 2026-11-22 16:02:03.456789 UTC
	must(t, s.CreateAccount(ctx, store.Account{ID: "tz", Email: "tz@example.com", Language: "ja", CreatedAt: local}))
	got, err := s.AccountByID(ctx, "tz")
	must(t, err)
	if !got.CreatedAt.Equal(local) || got.CreatedAt.Location() != time.UTC {
		t.Fatalf("time read back as %v (%v), want %v in UTC", got.CreatedAt, got.CreatedAt.Location(), local.UTC())
	}
	// Ordering and comparisons follow the instant, not the written zone.
	must(t, s.AppendEvent(ctx, store.Event{ID: "e1", AccountID: "tz", At: local, Kind: "k", Result: "r"}))
	must(t, s.AppendEvent(ctx, store.Event{ID: "e2", AccountID: "tz", At: local.UTC().Add(-time.Minute), Kind: "k", Result: "r"}))
	evs, err := s.Events(ctx, "tz", time.Time{}, 10)
	must(t, err)
	if len(evs) != 2 || evs[0].ID != "e1" {
		t.Fatalf("events not newest first across zones: %+v", evs)
	}
}

func testFlows(t *testing.T, s store.Store) {
	ctx := context.Background()
	f := store.Flow{ID: "f1", TokenHash: "th1", Kind: "sign_in", State: "code_sent", Subject: "u:x", Recipient: "a@example.com",
		Channel: "email", IP: "203.0.113.5", DeviceID: "d1", CreatedAt: t0, ExpiresAt: t0.Add(15 * time.Minute), UpdatedAt: t0}
	must(t, s.CreateFlow(ctx, f))
	got, err := s.FlowByTokenHash(ctx, "th1")
	must(t, err)
	if got != f {
		t.Fatalf("flow read back %+v, want %+v", got, f)
	}
	if _, err := s.FlowByTokenHash(ctx, "th2"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown flow: %v", err)
	}
	must(t, s.SetFlowRecipient(ctx, "f1", "sms", "+819012345678"))
	oneWins(t, "an advance of one flow", 20, store.ErrConflict, func() error { return s.AdvanceFlow(ctx, "f1", "code_sent", "done", t0) })
	got, _ = s.FlowByTokenHash(ctx, "th1")
	if got.State != "done" || got.Recipient != "+819012345678" || got.Channel != "sms" {
		t.Fatalf("flow after advance: %+v", got)
	}

	// Ending a flow moves it from whichever of the states it is in, and
	// leaves one that is elsewhere.
	f.ID, f.TokenHash, f.State = "f2", "th2", "code_ok"
	must(t, s.CreateFlow(ctx, f))
	for _, c := range []struct {
		id    string
		from  []string
		ended bool
	}{
		{"f2", []string{"code_sent", "code_ok"}, true},
		{"f2", []string{"code_sent", "code_ok"}, false}, // cancelled now
		{"f1", []string{"code_sent", "code_ok"}, false}, // done
		{"no-such-flow", []string{"code_sent"}, false},
		{"f1", nil, false},
	} {
		ended, err := s.EndFlow(ctx, c.id, c.from, "cancelled", t0.Add(time.Minute))
		if err != nil || ended != c.ended {
			t.Fatalf("ending %s from %v: %v %v, want %v", c.id, c.from, ended, err, c.ended)
		}
	}
	if got, _ := s.FlowByTokenHash(ctx, "th2"); got.State != "cancelled" || !got.UpdatedAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("ended flow: %+v", got)
	}
	if got, _ := s.FlowByTokenHash(ctx, "th1"); got.State != "done" {
		t.Fatalf("a done flow was ended: %+v", got)
	}
}

// A conditional write that fails its transaction on a conflict (a code
// used, a flow moved) fails it: InTx returns the conflict and keeps
// nothing, whether the conflict came back from the write itself or (on
// PostgreSQL, which sends it with the next statement) from the statement
// after it or the commit, and even when fn let it pass or answered it in
// its own words.
func testConflictFailsTx(t *testing.T, s store.Store) {
	ctx := context.Background()
	must(t, s.CreateFlow(ctx, store.Flow{ID: "f1", TokenHash: "th1", Kind: "sign_in", State: "done", Subject: "u:x", Channel: "email",
		CreatedAt: t0, ExpiresAt: t0.Add(15 * time.Minute), UpdatedAt: t0}))
	must(t, s.CreateCode(ctx, newCode("used", "f1", t0)))
	must(t, s.UseCode(ctx, "used", t0.Add(time.Minute), 5))
	writes := map[string]func(q store.Queries) error{
		"using a used code":          func(q store.Queries) error { return q.UseCode(ctx, "used", t0.Add(2*time.Minute), 5) },
		"advancing a flow moved on":  func(q store.Queries) error { return q.AdvanceFlow(ctx, "f1", "code_sent", "done", t0) },
		"advancing a flow not there": func(q store.Queries) error { return q.AdvanceFlow(ctx, "no-such-flow", "code_sent", "done", t0) },
	}
	own := errors.New("answered in fn's own words")
	n := 0
	for name, write := range writes {
		for _, after := range []string{"a read", "nothing"} {
			for _, fnDoes := range []string{"returns it", "lets it pass", "answers otherwise"} {
				n++
				id := fmt.Sprintf("ev-%d", n)
				err := s.InTx(ctx, func(q store.Queries) error {
					if err := q.AppendEvent(ctx, store.Event{ID: id, AccountID: "cf", At: t0, Kind: "k", Result: "r"}); err != nil {
						return err
					}
					errs := []error{write(q)}
					if after == "a read" {
						_, err := q.FlowByTokenHash(ctx, "th1")
						errs = append(errs, err)
					}
					for _, err := range errs {
						switch {
						case err == nil || fnDoes == "lets it pass":
						case fnDoes == "answers otherwise":
							return own
						default:
							return err
						}
					}
					return nil
				})
				if !errors.Is(err, store.ErrConflict) {
					t.Errorf("%s, then %s, when fn %s: InTx returned %v, want a conflict", name, after, fnDoes, err)
				}
			}
		}
	}
	if evs, err := s.Events(ctx, "cf", time.Time{}, 100); err != nil || len(evs) != 0 {
		t.Fatalf("a transaction that met a conflict kept %d events (%v)", len(evs), err)
	}
	if got, _ := s.FlowByTokenHash(ctx, "th1"); got.State != "done" {
		t.Fatalf("flow changed by failed transactions: %+v", got)
	}
}

func newCode(id, flow string, at time.Time) store.Code {
	return store.Code{ID: id, FlowID: flow, Purpose: "sign_in", Channel: "email", RecipientKey: "rk", Hash: "h-" + id, IP: "203.0.113.5",
		CreatedAt: at, ExpiresAt: at.Add(10 * time.Minute)}
}

func testCodes(t *testing.T, s store.Store) {
	ctx := context.Background()
	c1 := newCode("k1", "f1", t0)
	must(t, s.CreateCode(ctx, c1))
	got, err := s.CurrentCode(ctx, "f1")
	must(t, err)
	if got != c1 {
		t.Fatalf("code read back %+v, want %+v", got, c1)
	}
	for i := 1; i <= 3; i++ {
		n, err := s.AddCodeFailure(ctx, "k1", 5)
		must(t, err)
		if n != i {
			t.Fatalf("failure count %d, want %d", n, i)
		}
	}
	must(t, s.ReplaceCodes(ctx, "f1", t0.Add(time.Minute)))
	if _, err := s.CurrentCode(ctx, "f1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("replaced code still current: %v", err)
	}
	if err := s.UseCode(ctx, "k1", t0.Add(time.Minute), 5); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("a replaced code must not be usable: %v", err)
	}
	c2 := newCode("k2", "f1", t0.Add(time.Minute))
	must(t, s.CreateCode(ctx, c2))
	if got, _ := s.CurrentCode(ctx, "f1"); got.ID != "k2" || got.Failures != 0 {
		t.Fatalf("current code after resend: %+v", got)
	}
	if err := s.UseCode(ctx, "k2", c2.ExpiresAt, 5); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("an expired code must not be usable: %v", err)
	}
	for range 5 {
		_, err := s.AddCodeFailure(ctx, "k2", 5)
		must(t, err)
	}
	if _, err := s.AddCodeFailure(ctx, "k2", 5); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("a sixth failure on a code at its limit was counted: %v", err)
	}
	if _, err := s.AddCodeFailure(ctx, "k1", 5); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("a failure on a replaced code was counted: %v", err)
	}
	if err := s.UseCode(ctx, "k2", t0.Add(2*time.Minute), 5); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("a code with 5 failures must not be usable: %v", err)
	}
	if got, err := s.DispatchCode(ctx, "k2", t0); err != nil || got.ID != "k2" || got.FlowID != "f1" || got.ReplacedAt != nil {
		t.Fatalf("claiming the current code's mail: %+v %v", got, err)
	}
	if _, err := s.DispatchCode(ctx, "k2", t0); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("a code's mail was claimed twice: %v", err)
	}
	if got, err := s.DispatchCode(ctx, "k1", t0); err != nil || got.ReplacedAt == nil {
		t.Fatalf("claiming a replaced code's mail: %+v %v, want it, marked replaced", got, err)
	}
	if _, err := s.DispatchCode(ctx, "no-such-code", t0); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("claiming a code that is gone: %v", err)
	}
	c3 := newCode("k3", "f1", t0.Add(2*time.Minute))
	must(t, s.CreateCode(ctx, c3))
	must(t, s.UseCode(ctx, "k3", t0.Add(3*time.Minute), 5))
	if err := s.UseCode(ctx, "k3", t0.Add(3*time.Minute), 5); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("a code must be single use: %v", err)
	}
	if got, _ := s.CurrentCode(ctx, "f1"); got.UsedAt == nil {
		t.Fatal("used code has no used_at")
	}
	n, err := s.CountCodesToRecipient(ctx, "rk", t0.Add(time.Minute))
	must(t, err)
	if n != 2 {
		t.Fatalf("codes to recipient since t0+1m: %d, want 2", n)
	}
	n, err = s.CountCodesFromIP(ctx, "203.0.113.5", t0)
	must(t, err)
	if n != 3 {
		t.Fatalf("codes from IP: %d, want 3", n)
	}
	if n, _ := s.CountCodesFromIP(ctx, "198.51.100.1", t0); n != 0 {
		t.Fatalf("codes from another IP: %d", n)
	}
}

func testCodeRace(t *testing.T, s store.Store) {
	ctx := context.Background()
	must(t, s.CreateCode(ctx, newCode("race", "f1", t0)))
	var wins, losses atomic.Int32
	var wg sync.WaitGroup
	for i := range 100 {
		wg.Go(func() {
			// Each verifier does what the flow does: one transaction that
			// uses the code and records the outcome.
			err := s.InTx(ctx, func(q store.Queries) error {
				if err := q.UseCode(ctx, "race", t0.Add(time.Minute), 5); err != nil {
					return err
				}
				return q.AppendEvent(ctx, store.Event{ID: fmt.Sprintf("win-%d", i), AccountID: "a", At: t0, Kind: "sign_in", Result: "success"})
			})
			switch {
			case err == nil:
				wins.Add(1)
			case errors.Is(err, store.ErrConflict):
				losses.Add(1)
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 || losses.Load() != 99 {
		t.Fatalf("%d wins and %d losses, want exactly 1 and 99", wins.Load(), losses.Load())
	}
	evs, err := s.Events(ctx, "a", time.Time{}, 200)
	must(t, err)
	if len(evs) != 1 {
		t.Fatalf("%d success events recorded, want 1", len(evs))
	}
}

func lockAt(limit int) func(int) (*time.Time, *time.Time) {
	return func(n int) (*time.Time, *time.Time) {
		if n >= limit {
			return nil, ptr(t0)
		}
		if n >= 3 {
			return ptr(t0.Add(time.Duration(n) * time.Minute)), nil
		}
		return nil, nil
	}
}

func testFailureCounters(t *testing.T, s store.Store) {
	ctx := context.Background()
	if _, err := s.FailureCounter(ctx, "a:1", "password"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("no counter yet: %v", err)
	}
	var c store.FailureCounter
	var err error
	for i := 1; i <= 4; i++ {
		c, err = s.AddFailure(ctx, "a:1", "password", t0, lockAt(5))
		must(t, err)
		if c.Consecutive != i {
			t.Fatalf("consecutive %d, want %d", c.Consecutive, i)
		}
	}
	got, err := s.FailureCounter(ctx, "a:1", "password")
	must(t, err)
	if got.Consecutive != 4 || got.LockedUntil == nil || !got.LockedUntil.Equal(t0.Add(4*time.Minute)) || got.DisabledAt != nil {
		t.Fatalf("counter after 4: %+v", got)
	}
	if other, err := s.AddFailure(ctx, "a:1", "email_code", t0, lockAt(5)); err != nil || other.Consecutive != 1 {
		t.Fatalf("factors are counted apart: %+v %v", other, err)
	}
	c, err = s.AddFailure(ctx, "a:1", "password", t0, lockAt(5))
	must(t, err)
	if c.DisabledAt == nil {
		t.Fatal("5th failure must disable")
	}
	// A disabled factor stays disabled whatever the policy says next.
	c, err = s.AddFailure(ctx, "a:1", "password", t0, func(int) (*time.Time, *time.Time) { return nil, nil })
	must(t, err)
	if c.DisabledAt == nil {
		t.Fatal("disabled factor was enabled by a later failure")
	}
	must(t, s.ResetFailures(ctx, "a:1", "password"))
	if _, err := s.FailureCounter(ctx, "a:1", "password"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("after reset: %v", err)
	}
}

func testFailureCountersConcurrent(t *testing.T, s store.Store) {
	ctx := context.Background()
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			err := s.InTx(ctx, func(q store.Queries) error {
				_, err := q.AddFailure(ctx, "a:2", "email_code", t0, lockAt(1000))
				return err
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	c, err := s.FailureCounter(ctx, "a:2", "email_code")
	must(t, err)
	if c.Consecutive != 50 {
		t.Fatalf("50 concurrent failures counted as %d", c.Consecutive)
	}
}

// 100 wrong entries at once on one code count exactly up to the limit.
func testCodeFailureBurst(t *testing.T, s store.Store) {
	ctx := context.Background()
	must(t, s.CreateCode(ctx, newCode("kb", "fb", t0)))
	var counted atomic.Int32
	var wg sync.WaitGroup
	for range 100 {
		wg.Go(func() {
			_, err := s.AddCodeFailure(ctx, "kb", 5)
			switch {
			case err == nil:
				counted.Add(1)
			case !errors.Is(err, store.ErrConflict):
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if c, _ := s.CurrentCode(ctx, "fb"); counted.Load() != 5 || c.Failures != 5 {
		t.Fatalf("a burst of 100 counted %d failures (stored %d), want 5", counted.Load(), c.Failures)
	}
}

// A count-then-insert under Lock admits exactly the limit, however many
// transactions race; Lock outside a transaction is refused.
func testLock(t *testing.T, s store.Store) {
	ctx := context.Background()
	if err := s.Lock(ctx, "x"); err == nil {
		t.Fatal("Lock outside a transaction succeeded")
	}
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			err := s.InTx(ctx, func(q store.Queries) error {
				if err := q.Lock(ctx, "recipient:rk-lock", "ip:203.0.113.5"); err != nil {
					return err
				}
				n, err := q.CountCodesToRecipient(ctx, "rk-lock", t0.Add(-time.Hour))
				if err != nil || n >= 5 {
					return err
				}
				c := newCode(fmt.Sprintf("lk%d", i), fmt.Sprintf("lf%d", i), t0)
				c.RecipientKey = "rk-lock"
				return q.CreateCode(ctx, c)
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n, err := s.CountCodesToRecipient(ctx, "rk-lock", t0.Add(-time.Hour)); err != nil || n != 5 {
		t.Fatalf("50 racing count-then-insert under Lock made %d codes (%v), want 5", n, err)
	}
}

// 100 requests at once in one window are counted 1 to 100, each once; the
// next window starts again at 1.
func testRateHits(t *testing.T, s store.Store) {
	ctx := context.Background()
	var seen sync.Map
	var wg sync.WaitGroup
	for range 100 {
		wg.Go(func() {
			n, err := s.Hit(ctx, "password:203.0.113.5", t0)
			if err != nil {
				t.Error(err)
				return
			}
			if _, dup := seen.LoadOrStore(n, true); dup {
				t.Errorf("count %d given twice", n)
			}
		})
	}
	wg.Wait()
	if n, err := s.Hit(ctx, "password:203.0.113.5", t0); err != nil || n != 101 {
		t.Fatalf("after 100: %d %v", n, err)
	}
	if n, _ := s.Hit(ctx, "password:203.0.113.5", t0.Add(time.Minute)); n != 1 {
		t.Fatalf("a new window starts at %d", n)
	}
	if n, _ := s.Hit(ctx, "password:198.51.100.1", t0); n != 1 {
		t.Fatalf("another key starts at %d", n)
	}
}

// The reads behind the dashboard, proof of a pasted mail, notification
// settings and a contact's recovery wait.
func testDashboardReads(t *testing.T, s store.Store) {
	ctx := context.Background()
	// A message is found by the reference its body shows.
	must(t, s.EnqueueMessage(ctx, store.Message{ID: "mr", Kind: "code", Channel: "email", Recipient: "r@example.com", Language: "en",
		Status: store.MessageQueued, CreatedAt: t0, NextAt: t0, Ref: "0123456789ab", Digest: "d"}))
	if m, err := s.MessageByRef(ctx, "0123456789ab"); err != nil || m.ID != "mr" || m.Digest != "d" {
		t.Fatalf("message by ref: %+v %v", m, err)
	}
	if _, err := s.MessageByRef(ctx, ""); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("an empty reference names no message: %v", err)
	}
	// Events of one result, paged newest first.
	for i, r := range []string{"success", "wrong_code", "success", "wrong_code", "wrong_code"} {
		must(t, s.AppendEvent(ctx, store.Event{ID: fmt.Sprintf("r%d", i), AccountID: "ar", At: t0.Add(time.Duration(i) * time.Minute), Kind: "sign_in", Result: r}))
	}
	evs, err := s.EventsWithResult(ctx, "ar", "wrong_code", time.Time{}, 2)
	must(t, err)
	if len(evs) != 2 || evs[0].ID != "r4" || evs[1].ID != "r3" {
		t.Fatalf("first page of wrong codes: %+v", evs)
	}
	if evs, _ = s.EventsWithResult(ctx, "ar", "wrong_code", evs[1].At, 2); len(evs) != 1 || evs[0].ID != "r1" {
		t.Fatalf("next page of wrong codes: %+v", evs)
	}
	// Devices of an account.
	for i, id := range []string{"dv1", "dv2"} {
		_, err := s.UpsertDevice(ctx, store.Device{ID: id, AccountID: "ar", TokenHash: "t" + id, FirstSeen: t0.Add(time.Duration(i) * time.Hour),
			LastSeen: t0.Add(time.Duration(i) * time.Hour)})
		must(t, err)
	}
	ds, err := s.DevicesByAccount(ctx, "ar")
	must(t, err)
	if len(ds) != 2 {
		t.Fatalf("devices: %+v", ds)
	}
	if ds, _ := s.DevicesByAccount(ctx, "nobody"); len(ds) != 0 {
		t.Fatalf("another account's devices: %+v", ds)
	}
	// Notification settings: missing means the default; set, then changed.
	prefs, err := s.NotificationPrefs(ctx, "ar")
	must(t, err)
	if len(prefs) != 0 {
		t.Fatalf("fresh account has settings: %v", prefs)
	}
	must(t, s.SetNotificationPref(ctx, "ar", "new_sign_in", "sms", false))
	must(t, s.SetNotificationPref(ctx, "ar", "new_sign_in", "email", true))
	must(t, s.SetNotificationPref(ctx, "ar", "new_sign_in", "sms", true))
	prefs, err = s.NotificationPrefs(ctx, "ar")
	must(t, err)
	if len(prefs) != 2 || !prefs["new_sign_in/sms"] || !prefs["new_sign_in/email"] {
		t.Fatalf("settings: %v", prefs)
	}
	// A contact's recovery wait, set and lifted.
	must(t, s.CreateAccount(ctx, store.Account{ID: "ar", Email: "r@example.com", Language: "en", CreatedAt: t0}))
	must(t, s.CreateContact(ctx, store.Contact{ID: "cr", AccountID: "ar", Kind: store.ContactEmail, Value: "r2@example.com", CreatedAt: t0}))
	must(t, s.SetContactRecoveryAfter(ctx, "cr", ptr(t0.Add(time.Hour))))
	if c, _ := s.ContactByID(ctx, "cr"); c.RecoveryAfter == nil || !c.RecoveryAfter.Equal(t0.Add(time.Hour)) {
		t.Fatalf("recovery wait: %+v", c)
	}
	must(t, s.SetContactRecoveryAfter(ctx, "cr", nil))
	if c, _ := s.ContactByID(ctx, "cr"); c.RecoveryAfter != nil {
		t.Fatalf("recovery wait lifted: %+v", c)
	}
	if err := s.SetContactRecoveryAfter(ctx, "nope", nil); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown contact: %v", err)
	}
}

// authenticators is the store's TOTP part; every backend has it.
func authenticators(t *testing.T, s store.Store) totp.Store {
	t.Helper()
	var ts totp.Store = s
	ctx := context.Background()
	must(t, s.CreateAccount(ctx, store.Account{ID: "at", Email: "t@example.com", Language: "en", CreatedAt: t0}))
	return ts
}

func testAuthenticators(t *testing.T, s store.Store) {
	ctx := context.Background()
	ts := authenticators(t, s)
	a := totp.Authenticator{ID: "ta1", AccountID: "at", Name: "phone", Secret: []byte("sealed\xff\x00secret"), CreatedAt: t0}
	must(t, ts.CreateAuthenticator(ctx, a))
	must(t, ts.CreateAuthenticator(ctx, totp.Authenticator{ID: "ta2", AccountID: "at", Name: "laptop", Secret: []byte("s2"), CreatedAt: t0.Add(time.Second)}))
	list, err := ts.AuthenticatorsByAccount(ctx, "at")
	must(t, err)
	if len(list) != 2 || list[0].ID != "ta1" || string(list[0].Secret) != "sealed\xff\x00secret" || list[0].ConfirmedAt != nil || list[0].LastStep != 0 {
		t.Fatalf("authenticators: %+v", list)
	}
	must(t, ts.ConfirmAuthenticator(ctx, "ta1", t0.Add(time.Minute)))
	if err := ts.ConfirmAuthenticator(ctx, "ta1", t0.Add(2*time.Minute)); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("confirmed twice: %v", err)
	}
	must(t, ts.UseAuthenticatorStep(ctx, "ta1", 100, t0.Add(time.Minute)))
	for _, step := range []int64{100, 99} {
		if err := ts.UseAuthenticatorStep(ctx, "ta1", step, t0.Add(time.Minute)); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("step %d after step 100 was accepted: %v", step, err)
		}
	}
	must(t, ts.UseAuthenticatorStep(ctx, "ta1", 101, t0.Add(2*time.Minute)))
	list, _ = ts.AuthenticatorsByAccount(ctx, "at")
	if list[0].LastStep != 101 || list[0].ConfirmedAt == nil || list[0].LastUsedAt == nil || !list[0].LastUsedAt.Equal(t0.Add(2*time.Minute)) {
		t.Fatalf("after use: %+v", list[0])
	}
	if err := ts.DeleteAuthenticator(ctx, "someone-else", "ta1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("another account removed an authenticator: %v", err)
	}
	must(t, ts.DeleteAuthenticator(ctx, "at", "ta1"))
	if list, _ = ts.AuthenticatorsByAccount(ctx, "at"); len(list) != 1 || list[0].ID != "ta2" {
		t.Fatalf("after removal: %+v", list)
	}
}

// 50 requests at once with one code: the step is recorded once.
func testAuthenticatorBurst(t *testing.T, s store.Store) {
	ctx := context.Background()
	ts := authenticators(t, s)
	must(t, ts.CreateAuthenticator(ctx, totp.Authenticator{ID: "tb", AccountID: "at", Name: "phone", Secret: []byte("x"), CreatedAt: t0}))
	oneWins(t, "one app code", 50, store.ErrConflict, func() error { return ts.UseAuthenticatorStep(ctx, "tb", 5000, t0) })
}

func recoveryCodes(digests ...string) []recovery.Code {
	var out []recovery.Code
	for _, d := range digests {
		out = append(out, recovery.Code{ID: "rc-" + d, AccountID: "at", Digest: d, CreatedAt: t0})
	}
	return out
}

func testRecoveryCodes(t *testing.T, s store.Store) {
	ctx := context.Background()
	authenticators(t, s) // the account
	left := func(want int) {
		t.Helper()
		if n, err := s.RecoveryCodesLeft(ctx, "at"); err != nil || n != want {
			t.Fatalf("codes left %d, %v; want %d", n, err, want)
		}
	}
	left(0)
	must(t, s.InTx(ctx, func(q store.Queries) error { return q.ReplaceRecoveryCodes(ctx, "at", recoveryCodes("d1", "d2", "d3")) }))
	left(3)
	must(t, s.UseRecoveryCode(ctx, "at", "d2", t0))
	if err := s.UseRecoveryCode(ctx, "at", "d2", t0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a code used twice: %v", err)
	}
	if err := s.UseRecoveryCode(ctx, "someone-else", "d1", t0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("another account's code: %v", err)
	}
	left(2)
	// A new set voids the old one, used or not.
	must(t, s.InTx(ctx, func(q store.Queries) error { return q.ReplaceRecoveryCodes(ctx, "at", recoveryCodes("d4", "d2")) }))
	left(2)
	if err := s.UseRecoveryCode(ctx, "at", "d1", t0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a code of the old set: %v", err)
	}
	must(t, s.UseRecoveryCode(ctx, "at", "d2", t0))
}

// 100 requests at once with one recovery code: it is used once.
func testRecoveryBurst(t *testing.T, s store.Store) {
	ctx := context.Background()
	authenticators(t, s)
	must(t, s.InTx(ctx, func(q store.Queries) error { return q.ReplaceRecoveryCodes(ctx, "at", recoveryCodes("burst")) }))
	oneWins(t, "one recovery code", 100, store.ErrNotFound, func() error { return s.UseRecoveryCode(ctx, "at", "burst", t0) })
}

func testPasskeys(t *testing.T, s store.Store) {
	ctx := context.Background()
	authenticators(t, s) // the account
	cred := []byte{0x00, 0xff, 0x10, 0x80}
	p := passkey.Passkey{ID: "pk1", AccountID: "at", Name: "laptop", CredentialID: cred, Credential: []byte(`{"id":"AP8QgA"}`),
		BackupEligible: true, SignCount: 3, CreatedAt: t0}
	must(t, s.CreatePasskey(ctx, p))
	if err := s.CreatePasskey(ctx, passkey.Passkey{ID: "pk2", AccountID: "at", Name: "copy", CredentialID: cred, Credential: []byte(`{}`),
		CreatedAt: t0}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("one credential registered twice: %v", err)
	}
	got, err := s.PasskeyByCredentialID(ctx, cred)
	must(t, err)
	if got.ID != "pk1" || string(got.Credential) != `{"id":"AP8QgA"}` || !got.BackupEligible || got.BackedUp || got.SignCount != 3 ||
		!got.CreatedAt.Equal(t0) || got.LastUsedAt != nil {
		t.Fatalf("read back %+v", got)
	}
	if _, err := s.PasskeyByCredentialID(ctx, []byte{1}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown credential: %v", err)
	}
	used := got
	used.Credential, used.SignCount, used.BackedUp = []byte(`{"n":4}`), 4, true
	must(t, s.UsePasskey(ctx, "pk1", 3, used, t0.Add(time.Minute)))
	// The same assertion counted again (the counter moved on): refused.
	if err := s.UsePasskey(ctx, "pk1", 3, used, t0.Add(time.Minute)); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("a stale counter: %v", err)
	}
	must(t, s.RenamePasskey(ctx, "at", "pk1", "work laptop"))
	if err := s.RenamePasskey(ctx, "someone-else", "pk1", "mine"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("another account renamed a passkey: %v", err)
	}
	list, err := s.PasskeysByAccount(ctx, "at")
	must(t, err)
	if len(list) != 1 || list[0].Name != "work laptop" || list[0].SignCount != 4 || !list[0].BackedUp || string(list[0].Credential) != `{"n":4}` ||
		list[0].LastUsedAt == nil {
		t.Fatalf("after use: %+v", list)
	}
	if err := s.DeletePasskey(ctx, "someone-else", "pk1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("another account removed a passkey: %v", err)
	}
	must(t, s.DeletePasskey(ctx, "at", "pk1"))
	if _, err := s.PasskeyByCredentialID(ctx, cred); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("removed passkey still found: %v", err)
	}

	c := passkey.Ceremony{ID: "c1", TokenHash: "th1", Kind: passkey.KindRegister, AccountID: "at", Ref: "s1", Data: []byte("sealed\x00\xff"),
		ExpiresAt: t0.Add(5 * time.Minute)}
	must(t, s.CreateCeremony(ctx, c))
	must(t, s.CreateCeremony(ctx, passkey.Ceremony{ID: "c2", TokenHash: "th2", Kind: passkey.KindSignIn, Data: []byte("x"), ExpiresAt: t0}))
	taken, err := s.TakeCeremony(ctx, "th1")
	must(t, err)
	if taken.ID != "c1" || taken.Kind != c.Kind || taken.AccountID != "at" || taken.Ref != "s1" || string(taken.Data) != string(c.Data) ||
		!taken.ExpiresAt.Equal(c.ExpiresAt) {
		t.Fatalf("ceremony read back %+v", taken)
	}
	if _, err := s.TakeCeremony(ctx, "th1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a ceremony taken twice: %v", err)
	}
	if _, err := s.DeleteExpired(ctx, t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TakeCeremony(ctx, "th2"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("an expired ceremony outlived DeleteExpired: %v", err)
	}
}

// 100 answers to one ceremony at once: exactly one takes it.
func testCeremonyBurst(t *testing.T, s store.Store) {
	ctx := context.Background()
	must(t, s.CreateCeremony(ctx, passkey.Ceremony{ID: "cb", TokenHash: "burst", Kind: passkey.KindSignIn, Data: []byte("x"), ExpiresAt: t0}))
	oneWins(t, "one passkey ceremony", 100, store.ErrNotFound, func() error {
		_, err := s.TakeCeremony(ctx, "burst")
		return err
	})
}

func testOpenID(t *testing.T, s store.Store) {
	ctx := context.Background()
	c := openid.Client{ID: "app", Name: "App", SecretHash: "h", RedirectURIs: []string{"https://app.example/cb", "https://app.example/cb2"},
		FirstParty: true, BackchannelLogoutURI: "https://app.example/bcl", CreatedAt: t0}
	must(t, s.CreateClient(ctx, c))
	must(t, s.CreateClient(ctx, openid.Client{ID: "spa", Name: "SPA", RedirectURIs: []string{"http://127.0.0.1/cb"}, CreatedAt: t0.Add(time.Second)}))
	if err := s.CreateClient(ctx, c); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("one client id twice: %v", err)
	}
	got, err := s.ClientByID(ctx, "app")
	must(t, err)
	if got.Name != "App" || len(got.RedirectURIs) != 2 || got.RedirectURIs[1] != "https://app.example/cb2" || !got.FirstParty || got.Public() ||
		got.BackchannelLogoutURI != c.BackchannelLogoutURI || len(got.PostLogoutURIs) != 0 || !got.CreatedAt.Equal(t0) {
		t.Fatalf("client read back %+v", got)
	}
	if _, err := s.ClientByID(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown client: %v", err)
	}
	if list, err := s.Clients(ctx); err != nil || len(list) != 2 || list[0].ID != "app" || !list[1].Public() {
		t.Fatalf("clients: %+v %v", list, err)
	}
	// The clients file replaces what it lists, and adds what is new.
	must(t, s.PutClient(ctx, openid.Client{ID: "spa", Name: "SPA 2", RedirectURIs: []string{"http://127.0.0.1/cb2"}, CreatedAt: t0}))
	must(t, s.PutClient(ctx, openid.Client{ID: "cfg", Name: "From config", SecretHash: "h2", RedirectURIs: []string{"https://cfg.example/cb"}, CreatedAt: t0}))
	if got, _ := s.ClientByID(ctx, "spa"); got.Name != "SPA 2" || got.RedirectURIs[0] != "http://127.0.0.1/cb2" {
		t.Fatalf("replaced client: %+v", got)
	}
	if got, err := s.ClientByID(ctx, "cfg"); err != nil || got.SecretHash != "h2" {
		t.Fatalf("added client: %+v %v", got, err)
	}

	g := openid.Grant{ID: "g1", ClientID: "app", Request: []byte(`{"scope":"openid"}`), CreatedAt: t0, ExpiresAt: t0.Add(10 * time.Minute)}
	must(t, s.CreateGrant(ctx, g))
	gg, err := s.GrantByID(ctx, "g1")
	must(t, err)
	if gg.Done || gg.AccountID != "" || !gg.AuthTime.IsZero() || string(gg.Request) != `{"scope":"openid"}` {
		t.Fatalf("grant read back %+v", gg)
	}
	must(t, s.CompleteGrant(ctx, "g1", "a1", "s1", "password+totp", t0.Add(time.Minute)))
	if err := s.CompleteGrant(ctx, "g1", "a2", "s2", "password", t0); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("a grant completed twice: %v", err)
	}
	must(t, s.SetGrantCode(ctx, "g1", "ch1"))
	if err := s.SetGrantCode(ctx, "g1", "ch2"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a second code for one grant: %v", err)
	}
	gg, err = s.GrantByCodeHash(ctx, "ch1")
	must(t, err)
	if !gg.Done || gg.AccountID != "a1" || gg.SessionID != "s1" || gg.Method != "password+totp" || !gg.AuthTime.Equal(t0.Add(time.Minute)) {
		t.Fatalf("grant by code %+v", gg)
	}
	if _, err := s.GrantByCodeHash(ctx, ""); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("empty code: %v", err)
	}
	must(t, s.DeleteGrant(ctx, "g1"))
	if _, err := s.GrantByCodeHash(ctx, "ch1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("exchanged code still found: %v", err)
	}

	tok := func(id, kind, hash, family, client, account string) openid.Token {
		return openid.Token{ID: id, Kind: kind, TokenHash: hash, Family: family, ClientID: client, AccountID: account, SessionID: "s1",
			Scopes: []string{"openid", "email"}, Method: "password", AuthTime: t0, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	}
	must(t, s.CreateToken(ctx, tok("at1", openid.KindAccess, "", "f1", "app", "a1")))
	must(t, s.CreateToken(ctx, tok("rt1", openid.KindRefresh, "rh1", "f1", "app", "a1")))
	must(t, s.CreateToken(ctx, tok("rt2", openid.KindRefresh, "rh2", "f2", "spa", "a1")))
	must(t, s.CreateToken(ctx, tok("rt3", openid.KindRefresh, "rh3", "f3", "app", "a2")))
	rt, err := s.TokenByHash(ctx, "rh1")
	must(t, err)
	if rt.ID != "rt1" || rt.Kind != openid.KindRefresh || rt.Family != "f1" || len(rt.Scopes) != 2 || rt.UsedAt != nil || !rt.ExpiresAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("refresh token read back %+v", rt)
	}
	if _, err := s.TokenByHash(ctx, ""); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("empty hash: %v", err)
	}
	must(t, s.UseRefreshToken(ctx, "rt1", t0))
	if err := s.UseRefreshToken(ctx, "rt1", t0); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("a refresh token used twice: %v", err)
	}
	must(t, s.RevokeFamily(ctx, "f1", t0))
	if at, _ := s.TokenByID(ctx, "at1"); at.RevokedAt == nil {
		t.Fatal("the family's access token outlived its revocation")
	}
	must(t, s.RevokeToken(ctx, "rt2", t0))
	if err := s.UseRefreshToken(ctx, "rt2", t0); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("a revoked refresh token was used: %v", err)
	}
	if n, err := s.RevokeAccountClientTokens(ctx, "a2", "", t0); err != nil || n != 1 {
		t.Fatalf("revoking a2's tokens: %d %v", n, err)
	}
	if apps, err := s.AccountClients(ctx, "a1", t0); err != nil || len(apps) != 0 {
		t.Fatalf("a1 has only revoked tokens, yet lists apps %+v %v", apps, err)
	}
	// Sessions: a step-up hands tokens on; an ended session ends them.
	for _, id := range []string{"s-keep", "s-old", "s-other"} {
		tk := tok("t-"+id, openid.KindRefresh, "h-"+id, "f-"+id, "app", "a3")
		tk.SessionID = id
		must(t, s.CreateToken(ctx, tk))
	}
	must(t, s.MoveSessionTokens(ctx, "s-old", "s-new"))
	if apps, err := s.RevokeSessionTokens(ctx, "a3", "s-new", "", t0); err != nil || len(apps) != 1 || apps[0] != "app" {
		t.Fatalf("revoking one session's tokens: %v %v", apps, err)
	}
	if apps, err := s.RevokeSessionTokens(ctx, "a3", "", "s-keep", t0); err != nil || len(apps) != 1 {
		t.Fatalf("revoking every other session's tokens: %v %v", apps, err)
	}
	if apps, err := s.RevokeSessionTokens(ctx, "a3", "", "s-keep", t0); err != nil || len(apps) != 0 {
		t.Fatalf("nothing left to revoke, yet apps to tell: %v %v", apps, err)
	}
	if kept, _ := s.TokenByID(ctx, "t-s-keep"); kept.RevokedAt != nil {
		t.Fatal("the kept session's token was revoked")
	}
	if apps, err := s.AccountClients(ctx, "a3", t0); err != nil || len(apps) != 1 || apps[0].ID != "app" {
		t.Fatalf("a3's apps: %+v %v", apps, err)
	}
	if apps, _ := s.AccountClients(ctx, "a3", t0.Add(2*time.Hour)); len(apps) != 0 {
		t.Fatalf("expired tokens still list their app: %+v", apps)
	}
	if _, err := s.TokenByID(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown token: %v", err)
	}

	if _, err := s.Consent(ctx, "at", "app"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("no consent yet: %v", err)
	}
	authenticators(t, s) // account "at"
	must(t, s.GrantConsent(ctx, "at", "app", []string{"openid", "email"}, t0))
	must(t, s.GrantConsent(ctx, "at", "app", []string{"openid", "email", "phone"}, t0.Add(time.Minute)))
	if scopes, err := s.Consent(ctx, "at", "app"); err != nil || len(scopes) != 3 {
		t.Fatalf("consent: %v %v", scopes, err)
	}
	must(t, s.RevokeConsent(ctx, "at", "app"))
	if _, err := s.Consent(ctx, "at", "app"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a revoked consent: %v", err)
	}
	must(t, s.CreateKey(ctx, openid.Key{ID: "k1", Alg: "RS256", Private: []byte{0, 1, 0xff}, CreatedAt: t0}))
	must(t, s.CreateKey(ctx, openid.Key{ID: "k2", Alg: "ES256", Private: []byte("p2"), CreatedAt: t0.Add(time.Hour)}))
	must(t, s.RetireKeys(ctx, t0.Add(time.Minute), t0.Add(2*time.Hour)))
	keys, err := s.Keys(ctx)
	must(t, err)
	if len(keys) != 2 || keys[0].ID != "k2" || keys[0].RetiredAt != nil || keys[1].RetiredAt == nil || string(keys[1].Private) != "\x00\x01\xff" {
		t.Fatalf("keys: %+v", keys)
	}
	if _, err := s.DeleteExpired(ctx, t0.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TokenByID(ctx, "at1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("an expired token outlived DeleteExpired: %v", err)
	}
}

// 100 exchanges of one code at once: one deletes its grant; 100 uses of
// one refresh token at once: one rotates it.
func testOpenIDBursts(t *testing.T, s store.Store) {
	ctx := context.Background()
	must(t, s.CreateGrant(ctx, openid.Grant{ID: "gb", ClientID: "app", Request: []byte("{}"), CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}))
	oneWins(t, "one authorization code", 100, store.ErrNotFound, func() error { return s.DeleteGrant(ctx, "gb") })
	must(t, s.CreateToken(ctx, openid.Token{ID: "rb", Kind: openid.KindRefresh, TokenHash: "rbh", Family: "fb", ClientID: "app", AccountID: "a1",
		AuthTime: t0, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}))
	oneWins(t, "one refresh token", 100, store.ErrConflict, func() error { return s.UseRefreshToken(ctx, "rb", t0) })
}

func testPairedAuthenticators(t *testing.T, s store.Store) {
	ctx := context.Background()
	authenticators(t, s) // account "at"
	must(t, s.CreatePairing(ctx, authenticator.Pairing{ID: "pp", AccountID: "at", CodeHash: "ch", Name: "phone", CreatedAt: t0, ExpiresAt: t0.Add(time.Minute)}))
	p, err := s.TakePairing(ctx, "ch")
	must(t, err)
	if p.AccountID != "at" || p.Name != "phone" || !p.ExpiresAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("pairing read back %+v", p)
	}
	if _, err := s.TakePairing(ctx, "ch"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a pairing code used twice: %v", err)
	}
	key := []byte{4, 0, 0xff, 1}
	must(t, s.CreatePairedDevice(ctx, authenticator.Device{ID: "d1", AccountID: "at", Name: "phone", PublicKey: key, TokenHash: "th1", CreatedAt: t0}))
	must(t, s.CreatePairedDevice(ctx, authenticator.Device{ID: "d2", AccountID: "at", Name: "tablet", PublicKey: key, TokenHash: "th2", CreatedAt: t0.Add(time.Second)}))
	d, err := s.PairedDeviceByToken(ctx, "th1")
	must(t, err)
	if d.ID != "d1" || string(d.PublicKey) != string(key) || d.LastUsedAt != nil {
		t.Fatalf("device read back %+v", d)
	}
	must(t, s.TouchPairedDevice(ctx, "d1", t0.Add(time.Minute)))
	sub := authenticator.Subscription{Endpoint: "https://push.example/abc", P256dh: "BPk", Auth: "au"}
	must(t, s.SetDevicePush(ctx, "d1", sub))
	if d, err := s.PairedDeviceByID(ctx, "d1"); err != nil || d.Push != sub {
		t.Fatalf("subscription read back: %+v %v", d.Push, err)
	}
	if _, err := s.PairedDeviceByID(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown device: %v", err)
	}
	if list, err := s.PairedDevices(ctx, "at"); err != nil || len(list) != 2 || list[0].LastUsedAt == nil {
		t.Fatalf("devices: %+v %v", list, err)
	}
	if err := s.DeletePairedDevice(ctx, "someone-else", "d2"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("another account removed a device: %v", err)
	}
	must(t, s.DeletePairedDevice(ctx, "at", "d2"))
	if _, err := s.PairedDeviceByToken(ctx, "th2"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a removed device: %v", err)
	}

	mk := func(id, flow string, at time.Time) authenticator.Prompt {
		return authenticator.Prompt{ID: id, AccountID: "at", FlowID: flow, Number: "42", Nonce: "n-" + id, Context: []byte(`{"app":"ward"}`),
			State: authenticator.Pending, CreatedAt: at, ExpiresAt: at.Add(90 * time.Second)}
	}
	must(t, s.CreatePrompt(ctx, mk("p1", "f1", t0)))
	must(t, s.CreatePrompt(ctx, mk("p2", "f1", t0.Add(time.Second))))
	if latest, err := s.LatestPrompt(ctx, "f1"); err != nil || latest.ID != "p2" || string(latest.Context) != `{"app":"ward"}` {
		t.Fatalf("latest prompt: %+v %v", latest, err)
	}
	if pending, err := s.PendingPrompts(ctx, "at", t0.Add(time.Minute)); err != nil || len(pending) != 2 {
		t.Fatalf("pending: %+v %v", pending, err)
	}
	must(t, s.SetPromptState(ctx, "p1", authenticator.Pending, authenticator.Approved, "d1", t0.Add(10*time.Second)))
	if err := s.SetPromptState(ctx, "p1", authenticator.Pending, authenticator.Denied, "d1", t0.Add(11*time.Second)); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("a prompt answered twice: %v", err)
	}
	must(t, s.SetPromptState(ctx, "p1", authenticator.Approved, authenticator.Used, "", t0.Add(12*time.Second)))
	got, _ := s.PromptByID(ctx, "p1")
	if got.State != authenticator.Used || got.DeviceID != "d1" || got.AnsweredAt == nil {
		t.Fatalf("after use: %+v", got)
	}
	if err := s.SetPromptState(ctx, "p2", authenticator.Pending, authenticator.Approved, "d1", t0.Add(2*time.Minute)); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("an expired prompt was approved: %v", err)
	}
	if n, err := s.CountPrompts(ctx, "at", t0.Add(time.Millisecond)); err != nil || n != 1 {
		t.Fatalf("prompts since: %d %v", n, err)
	}
	if list, err := s.PromptsSince(ctx, "at", t0, 10); err != nil || len(list) != 2 || list[0].ID != "p2" {
		t.Fatalf("prompts since, newest first: %+v %v", list, err)
	}
	if list, _ := s.PromptsSince(ctx, "at", t0, 1); len(list) != 1 {
		t.Fatalf("limit: %d", len(list))
	}
	if _, err := s.LatestPrompt(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("no prompt: %v", err)
	}
}

// 100 answers to one prompt at once: one approves it.
func testPromptBurst(t *testing.T, s store.Store) {
	ctx := context.Background()
	authenticators(t, s)
	must(t, s.CreatePrompt(ctx, authenticator.Prompt{ID: "pb", AccountID: "at", FlowID: "f", Number: "07", Nonce: "n", Context: []byte("{}"),
		State: authenticator.Pending, CreatedAt: t0, ExpiresAt: t0.Add(time.Minute)}))
	oneWins(t, "one prompt", 100, store.ErrConflict, func() error {
		return s.SetPromptState(ctx, "pb", authenticator.Pending, authenticator.Approved, "d", t0)
	})
}

func testMessages(t *testing.T, s store.Store) {
	ctx := context.Background()
	m := store.Message{ID: "m1", Kind: "code", Channel: "email", Recipient: "a@example.com", Language: "ja", AccountID: "a1", FlowID: "f1",
		Data: []byte(`{"x":1}`), Secret: []byte("sealed"), Status: store.MessageQueued, CreatedAt: t0, NextAt: t0, ExpiresAt: ptr(t0.Add(10 * time.Minute))}
	must(t, s.EnqueueMessage(ctx, m))
	got, err := s.MessageByID(ctx, "m1")
	must(t, err)
	if string(got.Data) != `{"x":1}` || string(got.Secret) != "sealed" || got.Status != store.MessageQueued || !got.ExpiresAt.Equal(t0.Add(10*time.Minute)) {
		t.Fatalf("message read back: %+v", got)
	}
	m.Attempts = 2
	m.Status, m.Secret, m.Relay, m.SentAt = store.MessageSent, nil, "250 ok", ptr(t0.Add(2*time.Minute))
	must(t, s.UpdateMessage(ctx, m))
	gone := m
	gone.ID = "no-such-message"
	must(t, s.UpdateMessage(ctx, gone))
	if _, err := s.MessageByID(ctx, gone.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("updating a message that is not there made one: %v", err)
	}
	got, _ = s.MessageByID(ctx, "m1")
	if got.Status != store.MessageSent || got.Secret != nil || got.Relay != "250 ok" || got.SentAt == nil || got.Attempts != 2 {
		t.Fatalf("after sent: %+v", got)
	}
	must(t, s.EnqueueMessage(ctx, store.Message{ID: "m2", Kind: "notice", Channel: "email", Recipient: "a@example.com", Language: "en",
		Data: []byte(`{}`), Status: store.MessageQueued, CreatedAt: t0.Add(time.Second), NextAt: t0}))
	to, err := s.MessagesTo(ctx, "a@example.com", 10)
	must(t, err)
	if len(to) != 2 || to[0].ID != "m2" {
		t.Fatalf("messages to, newest first: %+v", to)
	}
	byFlow, err := s.MessagesByFlow(ctx, "f1")
	must(t, err)
	if len(byFlow) != 1 || byFlow[0].ID != "m1" {
		t.Fatalf("messages by flow: %+v", byFlow)
	}
	recent, err := s.RecentMessages(ctx, 1)
	must(t, err)
	if len(recent) != 1 || recent[0].ID != "m2" {
		t.Fatalf("recent messages: %+v", recent)
	}
}

func testSessions(t *testing.T, s store.Store) {
	ctx := context.Background()
	mk := func(id string) store.Session {
		return store.Session{ID: id, TokenHash: "th-" + id, AccountID: "a1", DeviceID: "d1", IP: "203.0.113.5", UserAgent: "UA", Method: "email_code",
			CreatedAt: t0, LastSeenAt: t0, ExpiresAt: t0.Add(24 * time.Hour)}
	}
	for _, id := range []string{"s1", "s2", "s3"} {
		must(t, s.CreateSession(ctx, mk(id)))
	}
	got, err := s.SessionByTokenHash(ctx, "th-s1")
	must(t, err)
	if got != mk("s1") {
		t.Fatalf("session read back %+v", got)
	}
	must(t, s.TouchSession(ctx, "s2", t0.Add(time.Minute), "198.51.100.7"))
	list, err := s.SessionsByAccount(ctx, "a1", t0)
	must(t, err)
	if len(list) != 3 || list[0].ID != "s2" || list[0].IP != "198.51.100.7" {
		t.Fatalf("sessions, most recently seen first: %+v", list)
	}
	must(t, s.RevokeSession(ctx, "s3", t0))
	if err := s.RevokeSession(ctx, "s3", t0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("revoking twice: %v", err)
	}
	n, err := s.RevokeOtherSessions(ctx, "a1", "s1", t0)
	must(t, err)
	if n != 1 {
		t.Fatalf("revoked %d others, want 1", n)
	}
	list, _ = s.SessionsByAccount(ctx, "a1", t0)
	if len(list) != 1 || list[0].ID != "s1" {
		t.Fatalf("live sessions: %+v", list)
	}
	if list, _ := s.SessionsByAccount(ctx, "a1", t0.Add(25*time.Hour)); len(list) != 0 {
		t.Fatal("expired sessions listed as live")
	}
}

func testDevices(t *testing.T, s store.Store) {
	ctx := context.Background()
	d := store.Device{ID: "d1", AccountID: "a1", TokenHash: "dt", UserAgent: "UA1", Browser: "Chrome 140", OS: "macOS", LastIP: "203.0.113.5", FirstSeen: t0, LastSeen: t0}
	got, err := s.UpsertDevice(ctx, d)
	must(t, err)
	if got != d {
		t.Fatalf("device: %+v", got)
	}
	d2 := d
	d2.ID, d2.LastIP, d2.LastSeen, d2.FirstSeen = "ignored", "198.51.100.7", t0.Add(time.Hour), t0.Add(time.Hour)
	got, err = s.UpsertDevice(ctx, d2)
	must(t, err)
	if got.ID != "d1" || !got.FirstSeen.Equal(t0) || !got.LastSeen.Equal(t0.Add(time.Hour)) || got.LastIP != "198.51.100.7" {
		t.Fatalf("second sighting keeps id and first seen: %+v", got)
	}
	if _, err := s.DeviceByTokenHash(ctx, "a2", "dt"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a device is known per account: %v", err)
	}
	if got, err := s.DeviceByTokenHash(ctx, "a1", "dt"); err != nil || got.ID != "d1" {
		t.Fatalf("device by token: %+v %v", got, err)
	}
}

// A flow, or an account by its email, is read together with whether a
// device cookie names a device of that account: the same row as the plain
// read, and true only for that account's own device.
func testKnownDeviceReads(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := store.Account{ID: "a1", Email: "hana@example.jp", Language: "ja", CreatedAt: t0}
	must(t, s.CreateAccount(ctx, a))
	must(t, s.CreateAccount(ctx, store.Account{ID: "a2", Email: "ken@example.jp", Language: "en", CreatedAt: t0}))
	_, err := s.UpsertDevice(ctx, store.Device{ID: "d1", AccountID: "a1", TokenHash: "mine", FirstSeen: t0, LastSeen: t0})
	must(t, err)
	_, err = s.UpsertDevice(ctx, store.Device{ID: "d2", AccountID: "a2", TokenHash: "theirs", FirstSeen: t0, LastSeen: t0})
	must(t, err)
	f := store.Flow{ID: "f1", TokenHash: "th1", Kind: "sign_in", State: "code_sent", AccountID: "a1", Subject: "u:a1", Recipient: "hana@example.jp",
		Channel: "email", CreatedAt: t0, ExpiresAt: t0.Add(15 * time.Minute), UpdatedAt: t0}
	must(t, s.CreateFlow(ctx, f))
	stranger := f
	stranger.ID, stranger.TokenHash, stranger.AccountID = "f2", "th2", "" // an address with no account
	must(t, s.CreateFlow(ctx, stranger))
	want, err := s.AccountByEmail(ctx, "hana@example.jp")
	must(t, err)
	for _, tc := range []struct {
		device string
		known  bool
	}{{"mine", true}, {"theirs", false}, {"", false}, {"nobody's", false}} {
		got, known, err := s.AccountByEmailOn(ctx, "hana@example.jp", tc.device)
		if err != nil || got != want || known != tc.known {
			t.Errorf("account on device %q: %+v known %v, %v; want %+v known %v", tc.device, got, known, err, want, tc.known)
		}
		fl, known, err := s.FlowByTokenHashOn(ctx, "th1", tc.device)
		if err != nil || fl != f || known != tc.known {
			t.Errorf("flow on device %q: %+v known %v, %v; want known %v", tc.device, fl, known, err, tc.known)
		}
		if fl, known, err := s.FlowByTokenHashOn(ctx, "th2", tc.device); err != nil || fl != stranger || known {
			t.Errorf("a stranger's flow on device %q: %+v known %v, %v", tc.device, fl, known, err)
		}
	}
	if _, _, err := s.AccountByEmailOn(ctx, "nobody@example.jp", "mine"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("no account: %v", err)
	}
	if _, _, err := s.FlowByTokenHashOn(ctx, "th9", "mine"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("no flow: %v", err)
	}
}

// Reads named ahead come back as the reads themselves would: a row, or
// "not found"; a read with other arguments is not answered by them; and
// after the transaction writes, a read is made anew, never answered with
// a row older than that write.
func testReadAhead(t *testing.T, s store.Store) {
	ctx := context.Background()
	a1 := store.Account{ID: "a1", Email: "hana@example.jp", Language: "ja", CreatedAt: t0}
	a2 := store.Account{ID: "a2", Email: "ken@example.jp", Language: "en", CreatedAt: t0}
	must(t, s.CreateAccount(ctx, a1))
	must(t, s.CreateAccount(ctx, a2))
	err := s.InTx(ctx, func(q store.Queries) error {
		q.ReadAhead(ctx, func(q store.Queries) {
			q.AccountByID(ctx, "a1")
			q.AccountByID(ctx, "nobody")
			q.FailureCounter(ctx, "u:a1", "email_code")
		})
		if got, err := q.AccountByID(ctx, "a1"); err != nil || got != a1 {
			t.Errorf("account read ahead: %+v, %v", got, err)
		}
		if _, err := q.AccountByID(ctx, "nobody"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("no account, read ahead: %v", err)
		}
		if got, err := q.AccountByID(ctx, "a2"); err != nil || got != a2 {
			t.Errorf("an account not read ahead: %+v, %v", got, err)
		}
		if _, err := q.AddFailure(ctx, "u:a1", "email_code", t0, func(int) (*time.Time, *time.Time) { return nil, nil }); err != nil {
			return err
		}
		if fc, err := q.FailureCounter(ctx, "u:a1", "email_code"); err != nil || fc.Consecutive != 1 {
			t.Errorf("a counter read ahead, then written: %+v, %v; want the write's", fc, err)
		}
		return nil
	})
	must(t, err)
}

func testEvents(t *testing.T, s store.Store) {
	ctx := context.Background()
	for i := range 25 {
		must(t, s.AppendEvent(ctx, store.Event{ID: fmt.Sprintf("e%02d", i), AccountID: "a1", At: t0.Add(time.Duration(i) * time.Minute),
			Kind: "sign_in", Result: "success", Method: "email_code", IP: "203.0.113.5", DeviceID: "d1", Device: "Chrome on macOS",
			Reasons: []string{"new_device", "new_ip"}}))
	}
	must(t, s.AppendEvent(ctx, store.Event{ID: "f1", AccountID: "a1", At: t0, Kind: "sign_in", Result: "wrong_code", IP: "198.51.100.9", Ref: "c7"}))
	page, err := s.Events(ctx, "a1", time.Time{}, 10)
	must(t, err)
	if len(page) != 10 || page[0].ID != "e24" || len(page[0].Reasons) != 2 || page[0].Reasons[1] != "new_ip" {
		t.Fatalf("first page: %+v", page[0])
	}
	next, err := s.Events(ctx, "a1", page[9].At, 100)
	must(t, err)
	if len(next) != 16 || next[0].ID != "e14" {
		t.Fatalf("second page: %d rows, first %+v", len(next), next)
	}
	if i := slices.IndexFunc(next, func(e store.Event) bool { return e.ID == "f1" }); i < 0 || next[i].Ref != "c7" {
		t.Fatalf("an event's ref read back: %+v", next)
	}
	if ok, _ := s.SignedInFromIP(ctx, "a1", "203.0.113.5"); !ok {
		t.Fatal("signed-in IP not known")
	}
	if ok, _ := s.SignedInFromIP(ctx, "a1", "198.51.100.9"); ok {
		t.Fatal("an IP that only failed counts as known")
	}
}

func testLinkTokens(t *testing.T, s store.Store) {
	ctx := context.Background()
	lt := store.LinkToken{ID: "l1", TokenHash: "lh", Purpose: "not_mine", AccountID: "a1", ContactID: "c1", FlowID: "f1", CreatedAt: t0, ExpiresAt: t0.Add(24 * time.Hour)}
	must(t, s.CreateLinkToken(ctx, lt))
	got, err := s.LinkTokenByHash(ctx, "lh")
	must(t, err)
	if got != lt {
		t.Fatalf("link token: %+v", got)
	}
	if err := s.UseLinkToken(ctx, "l1", t0.Add(25*time.Hour)); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("expired link used: %v", err)
	}
	must(t, s.UseLinkToken(ctx, "l1", t0.Add(time.Hour)))
	if err := s.UseLinkToken(ctx, "l1", t0.Add(time.Hour)); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("link used twice: %v", err)
	}
}

func testTx(t *testing.T, s store.Store) {
	ctx := context.Background()
	boom := errors.New("crash in the middle")
	err := s.InTx(ctx, func(q store.Queries) error {
		must(t, q.CreateAccount(ctx, store.Account{ID: "tx", Email: "tx@example.com", Language: "en", CreatedAt: t0}))
		must(t, q.CreateCode(ctx, newCode("txc", "txf", t0)))
		must(t, q.EnqueueMessage(ctx, store.Message{ID: "txm", Kind: "code", Channel: "email", Recipient: "tx@example.com", Language: "en", Data: []byte(`{}`), Status: store.MessageQueued, CreatedAt: t0, NextAt: t0}))
		// Reads inside the transaction see its own writes.
		if _, err := q.AccountByID(ctx, "tx"); err != nil {
			t.Errorf("read inside transaction: %v", err)
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("InTx returned %v, want the function's error", err)
	}
	if _, err := s.AccountByID(ctx, "tx"); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("account survived a rolled-back transaction")
	}
	if _, err := s.CurrentCode(ctx, "txf"); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("code survived a rolled-back transaction")
	}
	if _, err := s.MessageByID(ctx, "txm"); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("message survived a rolled-back transaction")
	}
	must(t, s.InTx(ctx, func(q store.Queries) error {
		return q.CreateAccount(ctx, store.Account{ID: "tx", Email: "tx@example.com", Language: "en", CreatedAt: t0})
	}))
	if _, err := s.AccountByID(ctx, "tx"); err != nil {
		t.Fatalf("committed account: %v", err)
	}
}

// 100 transactions at once, every third failing after its writes and
// one panicking: each keeps its own outcome (a backend may commit
// several together, as SQLite's group commit does), its hooks run once
// for that outcome, and the panic reaches only its own caller.
func testTxBurst(t *testing.T, s store.Store) {
	ctx := context.Background()
	boom := errors.New("refused after writing")
	var mu sync.Mutex
	after, undo := map[int]int{}, map[int]int{}
	var wg sync.WaitGroup
	for i := range 100 {
		wg.Go(func() {
			defer func() {
				if p := recover(); p != nil && i != 50 {
					t.Errorf("transaction %d: a panic reached it: %v", i, p)
				} else if p == nil && i == 50 {
					t.Error("the panic of transaction 50 was lost")
				}
			}()
			err := s.InTx(ctx, func(q store.Queries) error {
				q.AfterCommit(func() { mu.Lock(); after[i]++; mu.Unlock() })
				q.AfterRollback(func() { mu.Lock(); undo[i]++; mu.Unlock() })
				if err := q.CreateAccount(ctx, store.Account{ID: fmt.Sprintf("burst%03d", i), Email: fmt.Sprintf("burst%03d@example.com", i), Language: "en", CreatedAt: t0}); err != nil {
					return err
				}
				if i == 50 {
					panic("transaction 50 panics")
				}
				if i%3 == 0 {
					return boom
				}
				return nil
			})
			if (i%3 == 0) != errors.Is(err, boom) || (i%3 != 0 && err != nil) {
				t.Errorf("transaction %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	for i := range 100 {
		_, err := s.AccountByID(ctx, fmt.Sprintf("burst%03d", i))
		kept := i%3 != 0 && i != 50
		if kept != (err == nil) {
			t.Errorf("transaction %d: kept %v, read %v", i, kept, err)
		}
		if kept && (after[i] != 1 || undo[i] != 0) || !kept && (after[i] != 0 || undo[i] != 1) {
			t.Errorf("transaction %d: after-commit ran %d times, after-rollback %d", i, after[i], undo[i])
		}
	}
}

// 100 transactions at once, every fifth one's caller going away between
// its two writes: those fail with the cancellation and leave nothing, and
// the others (a backend may commit them in the same batch) keep both
// writes.
func testTxCancelledBurst(t *testing.T, s store.Store) {
	var wg sync.WaitGroup
	for i := range 100 {
		wg.Go(func() {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			err := s.InTx(ctx, func(q store.Queries) error {
				if err := q.CreateAccount(ctx, store.Account{ID: fmt.Sprintf("gone%03d", i), Email: fmt.Sprintf("gone%03d@example.com", i),
					Language: "en", CreatedAt: t0}); err != nil {
					return err
				}
				if i%5 == 0 {
					cancel()
				}
				return q.CreateFlow(ctx, store.Flow{ID: fmt.Sprintf("gone-f%03d", i), TokenHash: fmt.Sprintf("gone-t%03d", i), Kind: "k", State: "s",
					Subject: "x", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour), UpdatedAt: t0})
			})
			if (i%5 == 0) != errors.Is(err, context.Canceled) || (i%5 != 0 && err != nil) {
				t.Errorf("transaction %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	ctx := context.Background()
	for i := range 100 {
		_, aerr := s.AccountByID(ctx, fmt.Sprintf("gone%03d", i))
		_, ferr := s.FlowByTokenHash(ctx, fmt.Sprintf("gone-t%03d", i))
		if kept := i%5 != 0; kept != (aerr == nil) || kept != (ferr == nil) {
			t.Errorf("transaction %d: account %v, flow %v; want both kept: %v", i, aerr, ferr, kept)
		}
	}
}

func testDeleteExpired(t *testing.T, s store.Store) {
	ctx := context.Background()
	must(t, s.CreateFlow(ctx, store.Flow{ID: "old", TokenHash: "o", Kind: "k", State: "s", Subject: "x", CreatedAt: t0, ExpiresAt: t0.Add(time.Minute), UpdatedAt: t0}))
	must(t, s.CreateFlow(ctx, store.Flow{ID: "new", TokenHash: "n", Kind: "k", State: "s", Subject: "x", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour), UpdatedAt: t0}))
	must(t, s.CreateCode(ctx, newCode("c-old", "old", t0)))
	_, err := s.DeleteExpired(ctx, t0.Add(30*time.Minute))
	must(t, err)
	if _, err := s.FlowByTokenHash(ctx, "o"); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("expired flow kept")
	}
	if _, err := s.FlowByTokenHash(ctx, "n"); err != nil {
		t.Fatal("live flow deleted")
	}
	// Codes stay two days: the daily per-recipient limit counts them.
	if n, _ := s.CountCodesToRecipient(ctx, "rk", t0); n != 1 {
		t.Fatal("code deleted before the daily limit window passed")
	}
	_, err = s.DeleteExpired(ctx, t0.Add(49*time.Hour))
	must(t, err)
	if n, _ := s.CountCodesToRecipient(ctx, "rk", t0); n != 0 {
		t.Fatal("two-day-old code kept")
	}
	// A sweep after a busy hour deletes more than one statement's worth
	// (the SQL stores delete a thousand rows at a time): all of them go.
	const many = 2500
	for i := range many {
		must(t, s.CreateFlow(ctx, store.Flow{ID: fmt.Sprintf("m%d", i), TokenHash: fmt.Sprintf("m%d", i), Kind: "k", State: "s", Subject: "x",
			CreatedAt: t0, ExpiresAt: t0.Add(time.Minute), UpdatedAt: t0}))
	}
	must(t, s.CreateFlow(ctx, store.Flow{ID: "kept", TokenHash: "kept", Kind: "k", State: "s", Subject: "x", CreatedAt: t0, ExpiresAt: t0.Add(100 * time.Hour), UpdatedAt: t0}))
	n, err := s.DeleteExpired(ctx, t0.Add(50*time.Hour))
	must(t, err)
	if n < many {
		t.Fatalf("a sweep of %d expired flows deleted %d rows", many, n)
	}
	for _, h := range []string{"m0", "m1234", fmt.Sprintf("m%d", many-1)} {
		if _, err := s.FlowByTokenHash(ctx, h); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("expired flow %s kept", h)
		}
	}
	if _, err := s.FlowByTokenHash(ctx, "kept"); err != nil {
		t.Fatal("a live flow was swept with the expired ones")
	}
}

func testRiskHistory(t *testing.T, s store.Store) {
	ctx := context.Background()
	add := func(id, acct, ip, result string, at time.Time) {
		must(t, s.AppendEvent(ctx, store.Event{ID: id, AccountID: acct, At: at, Kind: "sign_in", Result: result, IP: ip}))
	}
	add("s1", "a1", "203.0.113.5", "success", t0.Add(-time.Hour))
	add("s2", "a1", "203.0.113.6", "success", t0.Add(-time.Minute))
	add("f1", "a1", "198.51.100.9", "wrong_password", t0.Add(-2*time.Minute))
	add("f2", "a2", "198.51.100.9", "wrong_password", t0.Add(-3*time.Minute))
	add("f3", "a3", "198.51.100.9", "wrong_code", t0.Add(-20*time.Minute))
	ins, err := s.SignIns(ctx, "a1", 10)
	must(t, err)
	if len(ins) != 2 || ins[0].IP != "203.0.113.6" || !ins[0].At.Equal(t0.Add(-time.Minute)) {
		t.Fatalf("sign-ins: %+v", ins)
	}
	act, err := s.IPActivity(ctx, "198.51.100.9", "a1", t0.Add(-10*time.Minute), 100)
	must(t, err)
	if act != (store.IPActivity{Accounts: 1, Failures: 2}) {
		t.Fatalf("IP activity: %+v", act)
	}
	// Only the newest attempts count, so that a busy network's history
	// does not make every check read all of it.
	add("n1", "a4", "198.51.100.9", "success", t0.Add(-90*time.Second))
	add("n2", "a5", "198.51.100.9", "wrong_code", t0.Add(-30*time.Second))
	act, err = s.IPActivity(ctx, "198.51.100.9", "a1", t0.Add(-10*time.Minute), 3)
	must(t, err)
	if act != (store.IPActivity{Accounts: 2, Failures: 2}) {
		t.Fatalf("IP activity of the newest 3 attempts (n2, n1, f1): %+v", act)
	}
	n, err := s.AccountFailures(ctx, "a1", t0.Add(-10*time.Minute))
	must(t, err)
	if n != 1 {
		t.Fatalf("account failures: %d", n)
	}
}

func testSuppressionsAndAliases(t *testing.T, s store.Store) {
	ctx := context.Background()
	must(t, s.Suppress(ctx, "r1", "ip:198.51.100.9", t0.Add(time.Hour), t0))
	must(t, s.Suppress(ctx, "r1", "ip:198.51.100.9", t0.Add(2*time.Hour), t0)) // a second report extends
	if ok, _ := s.Suppressed(ctx, "r1", []string{"dev:x", "ip:198.51.100.9"}, t0.Add(90*time.Minute)); !ok {
		t.Fatal("not suppressed")
	}
	if ok, _ := s.Suppressed(ctx, "r2", []string{"ip:198.51.100.9"}, t0); ok {
		t.Fatal("another recipient suppressed")
	}
	if ok, _ := s.Suppressed(ctx, "r1", []string{"ip:198.51.100.9"}, t0.Add(3*time.Hour)); ok {
		t.Fatal("suppressed after the end")
	}
	a := newAccount(t, s, "al1")
	b := newAccount(t, s, "al2")
	must(t, s.SetAccountAlias(ctx, a.ID, "quiet-river-0001", true))
	if err := s.SetAccountAlias(ctx, b.ID, "quiet-river-0001", false); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("a taken alias: %v", err)
	}
	got, err := s.AccountByAlias(ctx, "quiet-river-0001")
	must(t, err)
	if got.ID != a.ID || !got.AliasOnly {
		t.Fatalf("by alias: %+v", got)
	}
	if _, err := s.AccountByAlias(ctx, ""); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("empty alias: %v", err)
	}
	m := store.Message{ID: "m-c", Kind: "code", Channel: "email", Recipient: "x@example.com", Language: "en", Data: []byte("{}"), Status: "queued", CreatedAt: t0, NextAt: t0}
	must(t, s.EnqueueMessage(ctx, m))
	if n, _ := s.CountMessagesTo(ctx, "x@example.com", "code", t0.Add(-time.Minute)); n != 1 {
		t.Fatalf("count: %d", n)
	}
	if n, _ := s.CountMessagesTo(ctx, "x@example.com", "code", t0.Add(time.Minute)); n != 0 {
		t.Fatalf("count after: %d", n)
	}

	// Both in one read: what Suppressed and CountMessagesTo say apart.
	must(t, s.EnqueueMessage(ctx, store.Message{ID: "m-d", Kind: "code_digest", Channel: "email", Recipient: "x@example.com", Language: "en",
		Data: []byte("{}"), Status: "queued", CreatedAt: t0, NextAt: t0}))
	for _, c := range []struct {
		key     string
		sources []string
		kind    string
		since   time.Time
		now     time.Time
		want    store.RecipientState
	}{
		{"r1", []string{"dev:x", "ip:198.51.100.9"}, "code", t0.Add(-time.Minute), t0.Add(90 * time.Minute), store.RecipientState{Suppressed: true, Sent: 1}},
		{"r1", []string{"ip:198.51.100.9"}, "code", t0.Add(time.Minute), t0.Add(3 * time.Hour), store.RecipientState{Sent: 0}},
		{"r2", []string{"ip:198.51.100.9"}, "code_digest", t0, t0, store.RecipientState{Sent: 1}},
		{"r1", nil, "code", t0, t0, store.RecipientState{Sent: 1}},
	} {
		got, err := s.RecipientState(ctx, c.key, c.sources, "x@example.com", c.kind, c.since, c.now)
		if err != nil || got != c.want {
			t.Fatalf("state of %s for %v, %s since %v: %+v %v, want %+v", c.key, c.sources, c.kind, c.since, got, err, c.want)
		}
	}
}

func newTask(id string, at time.Time) jobs.Task {
	return jobs.Task{ID: id, Kind: jobs.Deliver, Payload: []byte("m-" + id), RunAt: at, CreatedAt: at}
}

// Tasks are claimed when due, leased, finished or retried only by the
// claim that holds them, and claimed again once a lease ends.
func testTasks(t *testing.T, s store.Store) {
	ctx := context.Background()
	must(t, s.AddTask(ctx, newTask("t1", t0)))
	must(t, s.AddTask(ctx, newTask("t2", t0.Add(time.Minute)))) // a retry, not yet due
	if b, err := s.TaskBacklog(ctx, t0.Add(time.Second)); err != nil || b.Due != 1 || !b.Oldest.Equal(t0) || !b.Unclaimed.Equal(t0) {
		t.Fatalf("backlog: %+v %v", b, err)
	}
	got, err := s.ClaimTasks(ctx, t0, t0.Add(time.Minute), 10)
	if err != nil || len(got) != 1 || got[0].ID != "t1" || got[0].Attempts != 1 || string(got[0].Payload) != "m-t1" || got[0].Kind != jobs.Deliver {
		t.Fatalf("claim: %+v %v", got, err)
	}
	if again, err := s.ClaimTasks(ctx, t0.Add(30*time.Second), t0.Add(2*time.Minute), 10); err != nil || len(again) != 0 {
		t.Fatalf("a leased task was claimed again: %+v %v", again, err)
	}
	// Running (leased) is due but not waiting; once its lease has ended
	// unrenewed, it waits from then.
	if b, err := s.TaskBacklog(ctx, t0.Add(30*time.Second)); err != nil || b.Due != 1 || !b.Unclaimed.IsZero() {
		t.Fatalf("backlog while running: %+v %v", b, err)
	}
	if b, err := s.TaskBacklog(ctx, t0.Add(90*time.Second)); err != nil || b.Due != 2 || !b.Unclaimed.Equal(t0.Add(time.Minute)) {
		t.Fatalf("backlog after the lease: %+v %v", b, err)
	}
	// The lease ends: another instance takes it over as attempt 2, and
	// the first claim can neither finish nor retry it any more.
	got, err = s.ClaimTasks(ctx, t0.Add(time.Minute), t0.Add(2*time.Minute), 10)
	slices.SortFunc(got, func(a, b jobs.Task) int { return strings.Compare(a.ID, b.ID) })
	if err != nil || len(got) != 2 || got[0].ID != "t1" || got[0].Attempts != 2 {
		t.Fatalf("after the lease: %+v %v", got, err)
	}
	if err := s.FinishTask(ctx, "t1", 1); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("a stale claim finished the task: %v", err)
	}
	if err := s.RetryTask(ctx, "t1", 1, t0, "x"); !errors.Is(err, store.ErrConflict) {
		t.Fatal("a stale claim rescheduled the task")
	}
	must(t, s.DropTask(ctx, "t1", 1)) // stale: no error, and the task stays
	must(t, s.RetryTask(ctx, "t1", 2, t0.Add(time.Hour), "451 later"))
	must(t, s.FinishTask(ctx, "t2", 1))
	if b, err := s.TaskBacklog(ctx, t0.Add(2*time.Minute)); err != nil || b.Due != 0 {
		t.Fatalf("backlog with only a later retry: %+v %v", b, err)
	}
	got, err = s.ClaimTasks(ctx, t0.Add(time.Hour), t0.Add(2*time.Hour), 10)
	if err != nil || len(got) != 1 || got[0].Attempts != 3 || got[0].LastError != "451 later" {
		t.Fatalf("the retry: %+v %v", got, err)
	}
	must(t, s.DropTask(ctx, "t1", 3)) // held: deleted
	if got, err := s.ClaimTasks(ctx, t0.Add(3*time.Hour), t0.Add(4*time.Hour), 10); err != nil || len(got) != 0 {
		t.Fatalf("a task dropped by its claim was claimed again: %+v %v", got, err)
	}
}

// A task handed on (jobs.Continue) is rewritten in place, keeping its id,
// only by the claim that holds it: a claim whose lease was taken over
// gets store.ErrConflict and changes nothing, inside a transaction too.
func testTaskReplace(t *testing.T, s store.Store) {
	ctx := context.Background()
	must(t, s.AddTask(ctx, jobs.Task{ID: "r1", Kind: jobs.Later, Payload: []byte("sealed"), RunAt: t0, CreatedAt: t0,
		Attempts: 1, LeaseUntil: t0.Add(time.Minute)}))
	at := t0.Add(time.Second)
	next := jobs.Task{ID: "ignored", Kind: jobs.Deliver, Payload: []byte("m-1"), RunAt: at, CreatedAt: at, Attempts: 1, LeaseUntil: at.Add(time.Minute)}
	if err := s.ReplaceTask(ctx, "r1", 2, next); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("a claim that does not hold the task replaced it: %v", err)
	}
	must(t, s.InTx(ctx, func(q store.Queries) error { return q.ReplaceTask(ctx, "r1", 1, next) }))
	// Leased by its new writer until at+1min: nobody else claims it before.
	if got, err := s.ClaimTasks(ctx, at.Add(30*time.Second), at.Add(2*time.Minute), 10); err != nil || len(got) != 0 {
		t.Fatalf("claimed during the new lease: %+v %v", got, err)
	}
	if b, err := s.TaskBacklog(ctx, at); err != nil || b.Due != 1 || !b.Oldest.Equal(at) {
		t.Fatalf("backlog after the replacement: %+v %v", b, err)
	}
	got, err := s.ClaimTasks(ctx, at.Add(time.Minute), at.Add(2*time.Minute), 10)
	if err != nil || len(got) != 1 || got[0].ID != "r1" || got[0].Kind != jobs.Deliver || string(got[0].Payload) != "m-1" ||
		got[0].Attempts != 2 || !got[0].CreatedAt.Equal(at) {
		t.Fatalf("the replaced task after its lease: %+v %v", got, err)
	}
	// The first claim is stale now: inside a transaction the conflict fails
	// it, and nothing of it is committed.
	err = s.InTx(ctx, func(q store.Queries) error {
		if err := q.AppendEvent(ctx, store.Event{ID: "ev-replace", AccountID: "a-replace", At: at, Kind: "k", Result: "r"}); err != nil {
			return err
		}
		if err := q.ReplaceTask(ctx, "r1", 1, next); err != nil {
			return err
		}
		return q.AppendEvent(ctx, store.Event{ID: "ev-replace-2", AccountID: "a-replace", At: at, Kind: "k", Result: "r"})
	})
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("a stale claim's replacement committed: %v", err)
	}
	if evs, err := s.Events(ctx, "a-replace", time.Time{}, 10); err != nil || len(evs) != 0 {
		t.Fatalf("the failed transaction left %d events (%v)", len(evs), err)
	}
	must(t, s.FinishTask(ctx, "r1", 2))
}

// 100 claimers at once over 50 due tasks: each task is claimed exactly
// once.
func testTaskBurst(t *testing.T, s store.Store) {
	ctx := context.Background()
	for i := range 50 {
		must(t, s.AddTask(ctx, newTask(fmt.Sprintf("b%02d", i), t0)))
	}
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for range 100 {
		wg.Go(func() {
			got, err := s.ClaimTasks(ctx, t0, t0.Add(time.Minute), 3)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			for _, g := range got {
				seen[g.ID]++
			}
		})
	}
	wg.Wait()
	if len(seen) != 50 {
		t.Fatalf("%d of 50 tasks claimed", len(seen))
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("task %s claimed %d times", id, n)
		}
	}
}

// A task exists exactly when its transaction commits, and AfterCommit
// runs only then.
func testTaskTx(t *testing.T, s store.Store) {
	ctx := context.Background()
	ran := 0
	err := s.InTx(ctx, func(q store.Queries) error {
		must(t, q.AddTask(ctx, newTask("rolled", t0)))
		q.AfterCommit(func() { ran++ })
		return errors.New("rolled back")
	})
	if err == nil || ran != 0 {
		t.Fatalf("rollback: %v, after-commit ran %d times", err, ran)
	}
	must(t, s.InTx(ctx, func(q store.Queries) error {
		q.AfterCommit(func() { ran++ })
		if ran != 0 {
			t.Error("AfterCommit ran before the commit")
		}
		return q.AddTask(ctx, newTask("kept", t0))
	}))
	got, err := s.ClaimTasks(ctx, t0, t0.Add(time.Minute), 10)
	if err != nil || len(got) != 1 || got[0].ID != "kept" || ran != 1 {
		t.Fatalf("after commit: %+v %v, after-commit ran %d times", got, err, ran)
	}
}
