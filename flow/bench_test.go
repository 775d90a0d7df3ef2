package flow_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/wardhq/ward/flow"
	"github.com/wardhq/ward/internal/testdb"
	"github.com/wardhq/ward/internal/testdevice"
	"github.com/wardhq/ward/internal/testpasskey"
	"github.com/wardhq/ward/passkey"
	"github.com/wardhq/ward/store"
)

func benchBackends(b *testing.B, fn func(b *testing.B, e *env)) {
	b.Run("sqlite", func(b *testing.B) { fn(b, newBenchEnv(b, testdb.SQLite(b))) })
	b.Run("postgres", func(b *testing.B) { fn(b, newBenchEnv(b, testdb.Postgres(b))) })
}

func newBenchEnv(b *testing.B, st store.Store) *env {
	e := newEnv(b, st)
	e.svc.Limits.PerRecipientHour, e.svc.Limits.PerRecipientDay, e.svc.Limits.PerIPHour = 0, 0, 0
	return e
}

// BenchmarkCodeIssue measures starting a code sign-in: flow, code, queued
// message and activity event in one transaction.
func BenchmarkCodeIssue(b *testing.B) {
	benchBackends(b, func(b *testing.B, e *env) {
		ctx := context.Background()
		for i := range 100 {
			if _, err := e.accounts.Create(ctx, accountFor(fmt.Sprintf("b%d@example.com", i))); err != nil {
				b.Fatal(err)
			}
		}
		i := 0
		for b.Loop() {
			if _, err := e.svc.StartCodeSignIn(ctx, client, fmt.Sprintf("b%d@example.com", i%100), "en"); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}

// BenchmarkCodeVerify measures checking a right code: the code used, the
// flow closed, a device and session recorded, the event logged.
func BenchmarkCodeVerify(b *testing.B) {
	benchBackends(b, func(b *testing.B, e *env) {
		ctx := context.Background()
		if _, err := e.accounts.Create(ctx, accountFor("v@example.com")); err != nil {
			b.Fatal(err)
		}
		type started struct{ tok, code string }
		var todo []started
		for b.Loop() {
			if len(todo) == 0 {
				b.StopTimer()
				for range 200 {
					e.clk.Add(time.Millisecond) // so the newest mail is the last one sent
					p, err := e.svc.StartCodeSignIn(ctx, client, "v@example.com", "en")
					if err != nil {
						b.Fatal(err)
					}
					todo = append(todo, started{p.Token, e.lastCode("v@example.com")})
				}
				b.StartTimer()
			}
			s := todo[0]
			todo = todo[1:]
			if _, err := e.svc.Verify(ctx, client, s.tok, s.code); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkSecondStepTOTP measures finishing a sign-in held by two-step
// verification with an authenticator app's code: the code checked against
// the app (its step used up), the flow closed, a session issued, the event
// logged. Run it with a count (-benchtime 200x): each round first signs in
// with the password (argon2id, untimed) and waits for the app's next code.
func BenchmarkSecondStepTOTP(b *testing.B) {
	benchBackends(b, func(b *testing.B, e *env) {
		ctx := context.Background()
		e.account("two@example.com", strongPassword)
		_, _, key, _ := e.twoStep("two@example.com")
		for b.Loop() {
			b.StopTimer()
			e.clk.Add(30 * time.Second)
			res, err := e.svc.PasswordSignIn(ctx, client, "two@example.com", strongPassword)
			if err != nil {
				b.Fatal(err)
			}
			code := e.appCode(key)
			b.StartTimer()
			if _, err := e.svc.SecondStep(ctx, client, res.Pending.Token, flow.MethodTOTP, code); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkPasskeySignIn measures a sign-in with a passkey alone, both of
// its requests: the ceremony begun (challenge kept), then the answer
// verified (ES256), the ceremony taken, the passkey's counter moved, a
// session issued and the event logged. The authenticator's signing is
// outside the timer.
func BenchmarkPasskeySignIn(b *testing.B) {
	benchBackends(b, func(b *testing.B, e *env) {
		ctx := context.Background()
		a := e.account("key@example.com", "")
		rp, err := passkey.NewRP("https://ward.example", "ward")
		if err != nil {
			b.Fatal(err)
		}
		e.svc.RP = rp
		k, err := testpasskey.New([]byte(a.ID))
		if err != nil {
			b.Fatal(err)
		}
		cred, _ := k.Credential(testpasskey.Synced)
		raw, _ := json.Marshal(cred)
		if err := e.st.CreatePasskey(ctx, passkey.Passkey{ID: "pk", AccountID: a.ID, Name: "laptop", CredentialID: k.ID, Credential: raw,
			BackupEligible: true, BackedUp: true, CreatedAt: e.clk.Now()}); err != nil {
			b.Fatal(err)
		}
		count := uint32(0)
		for b.Loop() {
			c, err := e.svc.BeginPasskeySignIn(ctx, client)
			if err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			ch, _ := testpasskey.Challenge(c.Options)
			count++
			answer, err := k.Assert(ch, "https://ward.example", "ward.example", count, testpasskey.Synced)
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			if _, err := e.svc.FinishPasskeySignIn(ctx, client, c.Token, answer); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkBeginPush measures starting an approval request for a sign-in
// held for its second step: the limits checked under the account's lock,
// the prompt and its event written. Each round first signs in with the
// password (argon2id, untimed) and lets the previous request expire.
// Run it with a count (-benchtime 200x).
func BenchmarkBeginPush(b *testing.B) {
	benchBackends(b, func(b *testing.B, e *env) {
		ctx := context.Background()
		e.svc.Limits.PromptsPerHour = 1 << 30
		e.account("push@example.com", strongPassword)
		sess, _, _, _ := e.twoStep("push@example.com")
		p, err := e.svc.StartPairing(ctx, client, sess, "phone")
		if err != nil {
			b.Fatal(err)
		}
		phone, _ := testdevice.New()
		if _, err := e.svc.Pair(ctx, client, p.Code, phone.PublicKey()); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			b.StopTimer()
			e.clk.Add(flow.PromptTTL + time.Second)
			res, err := e.svc.PasswordSignIn(ctx, client, "push@example.com", strongPassword)
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			if _, err := e.svc.BeginPush(ctx, client, res.Pending.Token); err != nil {
				b.Fatal(err)
			}
		}
	})
}
