package flow_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	ptotp "github.com/pquerna/otp/totp"

	"github.com/wardhq/ward/account"
	"github.com/wardhq/ward/assurance"
	"github.com/wardhq/ward/authenticator"
	"github.com/wardhq/ward/config"
	"github.com/wardhq/ward/flow"
	"github.com/wardhq/ward/internal/testdevice"
	"github.com/wardhq/ward/notify"
	"github.com/wardhq/ward/store"
)

const strongPassword = "correct horse battery staple"

// appCode is the code an authenticator app holding key shows at the
// clock's time.
func (e *env) appCode(key string) string {
	e.t.Helper()
	code, err := ptotp.GenerateCode(strings.ReplaceAll(key, " ", ""), e.clk.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	return code
}

// passwordSession signs in with the password and the mailed code, as on a
// first visit: a fresh session of "password+email_code".
func (e *env) passwordSession(email string) store.Session {
	e.t.Helper()
	ctx := context.Background()
	res, err := e.svc.PasswordSignIn(ctx, client, email, strongPassword)
	if err != nil || res.Pending == nil {
		e.t.Fatalf("password sign-in: %+v %v", res, err)
	}
	e.clk.Add(time.Second)
	done, err := e.svc.Verify(ctx, client, res.Pending.Token, e.lastCode(email))
	if err != nil || done.Session == nil {
		e.t.Fatalf("code: %+v %v", done, err)
	}
	return done.Session.Session
}

// withApp sets up an authenticator app on a fresh session and returns its
// key; the clock moves past the step of the code that confirmed it.
func (e *env) withApp(sess store.Session, name string) (id, key string) {
	e.t.Helper()
	ctx := context.Background()
	en, err := e.svc.StartTOTP(ctx, client, sess, name)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.svc.ConfirmTOTP(ctx, client, sess, en.ID, e.appCode(en.Key)); err != nil {
		e.t.Fatal(err)
	}
	e.clk.Add(30 * time.Second)
	return en.ID, en.Key
}

// twoStep turns two-step verification on for email's account, as its
// owner would: an app set up, a step-up with the password and the app,
// then two-step on. It returns the two-factor session, the app and its
// key, and the recovery codes shown.
func (e *env) twoStep(email string) (sess store.Session, appID, key string, codes []string) {
	e.t.Helper()
	ctx := context.Background()
	sess = e.passwordSession(email)
	appID, key = e.withApp(sess, "phone")
	iss, err := e.svc.StepUp(ctx, client, sess, strongPassword, e.appCode(key))
	if err != nil {
		e.t.Fatal(err)
	}
	e.clk.Add(30 * time.Second)
	if codes, err = e.svc.SetTwoStep(ctx, client, iss.Session, true); err != nil {
		e.t.Fatal(err)
	}
	return iss.Session, appID, key, codes
}

// An authenticator app is set up with the key it shows and one right
// code; from then on, changes to security info need two factors, and a
// step-up with the password and the app gives them.
func TestAuthenticatorAppEnrolmentAndStepUp(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		a := e.account("rin@example.jp", strongPassword)
		sess := e.passwordSession("rin@example.jp")
		if got := assurance.Level(assurance.Factors(sess.Method)); got != assurance.AAL1 {
			t.Fatalf("password and email code reach AAL%d, want AAL1", got)
		}
		en, err := e.svc.StartTOTP(ctx, client, sess, "  my   phone ")
		if err != nil {
			t.Fatal(err)
		}
		if en.Name != "my phone" || len(strings.ReplaceAll(en.Key, " ", "")) != 32 || !strings.HasPrefix(en.URI, "otpauth://totp/") ||
			!strings.Contains(en.URI, "rin@example.jp") || len(en.QR) < 100 {
			t.Fatalf("enrolment: %+v", en)
		}
		list, _ := e.svc.Authenticators(ctx, sess)
		if len(list) != 1 || list[0].ConfirmedAt != nil || list[0].Secret != nil {
			t.Fatalf("before its first code: %+v", list)
		}
		// Until its first code it proves nothing: two-step cannot use it.
		_, err = e.svc.SetTwoStep(ctx, client, sess, true)
		flowErr(t, err, flow.ErrNotReady)
		wrong := "000000"
		if wrong == e.appCode(en.Key) {
			wrong = "111111"
		}
		flowErr(t, e.svc.ConfirmTOTP(ctx, client, sess, en.ID, wrong), flow.ErrWrongCode)
		flowErr(t, e.svc.ConfirmTOTP(ctx, client, sess, "not-mine", e.appCode(en.Key)), flow.ErrInvalidInput)
		code := e.appCode(en.Key)
		if err := e.svc.ConfirmTOTP(ctx, client, sess, en.ID, code); err != nil {
			t.Fatal(err)
		}
		mail := e.lastMail("rin@example.jp")
		if !strings.Contains(mail, `The authenticator app "my phone" was added to your account`) {
			t.Fatalf("the owner was not told:\n%s", mail)
		}
		evs, _ := e.st.Events(ctx, a.ID, time.Time{}, 5)
		if evs[0].Kind != "factor_added" || evs[0].Method != "totp" || evs[0].Ref != en.ID {
			t.Fatalf("activity: %+v", evs[0])
		}
		// The session was proven with one authenticator: changes now ask
		// for two, and an email code is not one of them.
		_, err = e.svc.StartTOTP(ctx, client, sess, "tablet")
		flowErr(t, err, flow.ErrStrongerProof)
		_, err = e.svc.StartReauth(ctx, client, sess)
		flowErr(t, err, flow.ErrStrongerProof)
		// The code that confirmed the app is used up.
		_, err = e.svc.StepUp(ctx, client, sess, strongPassword, code)
		flowErr(t, err, flow.ErrWrongCode)
		e.clk.Add(30 * time.Second)
		_, err = e.svc.StepUp(ctx, client, sess, "not the password", e.appCode(en.Key))
		flowErr(t, err, flow.ErrWrongCredentials)
		// The session holds the password already: the app's code makes two.
		iss, err := e.svc.StepUp(ctx, client, sess, "", e.appCode(en.Key))
		if err != nil {
			t.Fatal(err)
		}
		if iss.Session.Method != "password+email_code+totp" || iss.Session.StepUpAt == nil {
			t.Fatalf("stepped-up session: %+v", iss.Session)
		}
		if _, err := e.svc.Sessions.Authenticate(ctx, iss.Token, client.IP); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.ConfirmTOTP(ctx, client, sess, en.ID, "123456"); err == nil {
			t.Fatal("the replaced session still changes security info")
		}
		strong := iss.Session
		if _, err := e.svc.StartTOTP(ctx, client, strong, "tablet"); err != nil {
			t.Fatalf("a fresh two-factor session adds an app: %v", err)
		}
		if err := e.svc.RemoveTOTP(ctx, client, strong, en.ID); err != nil {
			t.Fatal(err)
		}
		if mail := e.lastMail("rin@example.jp"); !strings.Contains(mail, `"my phone" was removed`) {
			t.Fatalf("removal not told:\n%s", mail)
		}
	})
}

// Two-step verification: every sign-in, by password or by mailed code,
// waits for a code from the app or a recovery code. A code works once; a
// recovery code signs in at the lowest level and asks for a review.
func TestTwoStepVerification(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		e.account("sora@example.jp", strongPassword)
		sess, appID, key, codes := e.twoStep("sora@example.jp")
		if len(codes) != 10 {
			t.Fatalf("two-step on: %d codes", len(codes))
		}
		if again, err := e.svc.SetTwoStep(ctx, client, sess, true); err != nil || again != nil {
			t.Fatalf("turning it on twice: %v %v", again, err)
		}
		if mail := e.lastMail("sora@example.jp"); !strings.Contains(mail, "Two-step verification was turned on") {
			t.Fatalf("not told:\n%s", mail)
		}
		// The last second factor stays while two-step is on.
		flowErr(t, e.svc.RemoveTOTP(ctx, client, sess, appID), flow.ErrNotReady)

		res, err := e.svc.PasswordSignIn(ctx, client, "sora@example.jp", strongPassword)
		if err != nil || res.Session != nil || res.State != flow.StateSecondStep || strings.Join(res.Pending.Methods, ",") != "totp,recovery_code" {
			t.Fatalf("password alone: %+v %v", res, err)
		}
		_, err = e.svc.SecondStep(ctx, client, res.Pending.Token, flow.MethodTOTP, "12345")
		flowErr(t, err, flow.ErrInvalidInput)
		code := e.appCode(key)
		done, err := e.svc.SecondStep(ctx, client, res.Pending.Token, flow.MethodTOTP, " "+code[:3]+" "+code[3:])
		if err != nil || done.Session == nil || done.Session.Session.Method != "password+totp" || done.Review {
			t.Fatalf("second step: %+v %v", done, err)
		}
		if _, err := e.svc.SecondStep(ctx, client, res.Pending.Token, flow.MethodTOTP, code); err == nil {
			t.Fatal("a finished sign-in took a second answer")
		}
		// The same code on another sign-in a moment later: refused.
		res, _ = e.svc.PasswordSignIn(ctx, client, "sora@example.jp", strongPassword)
		_, err = e.svc.SecondStep(ctx, client, res.Pending.Token, flow.MethodTOTP, code)
		flowErr(t, err, flow.ErrWrongCode)

		// A recovery code: once, at the lowest level, with a review.
		done, err = e.svc.SecondStep(ctx, client, res.Pending.Token, flow.MethodRecovery, strings.ToUpper(codes[0]))
		if err != nil || !done.Review || done.Session.Session.Method != "password+recovery_code" {
			t.Fatalf("recovery code: %+v %v", done, err)
		}
		if lvl := assurance.Level(assurance.Factors(done.Session.Session.Method)); lvl != assurance.AAL1 {
			t.Fatalf("a recovery code reached AAL%d", lvl)
		}
		if mail := e.lastMail("sora@example.jp"); !strings.Contains(mail, "A recovery code was used to sign in") {
			t.Fatalf("not told:\n%s", mail)
		}
		res, _ = e.svc.PasswordSignIn(ctx, client, "sora@example.jp", strongPassword)
		_, err = e.svc.SecondStep(ctx, client, res.Pending.Token, flow.MethodRecovery, codes[0])
		flowErr(t, err, flow.ErrWrongCode)
		if left, _ := e.svc.RecoveryCodesLeft(ctx, sess); left != 9 {
			t.Fatalf("%d recovery codes left, want 9", left)
		}

		// A code by mail is the first step, never the second.
		p, err := e.svc.StartCodeSignIn(ctx, client, "sora@example.jp", "en")
		if err != nil {
			t.Fatal(err)
		}
		e.clk.Add(time.Second)
		res, err = e.svc.Verify(ctx, client, p.Token, e.lastCode("sora@example.jp"))
		if err != nil || res.Session != nil || res.State != flow.StateSecondStep || res.Pending.Token != p.Token {
			t.Fatalf("code sign-in with two-step on: %+v %v", res, err)
		}
		e.clk.Add(30 * time.Second)
		done, err = e.svc.SecondStep(ctx, client, p.Token, flow.MethodTOTP, e.appCode(key))
		if err != nil || done.Session.Session.Method != "email_code+totp" {
			t.Fatalf("code then app: %+v %v", done, err)
		}

		// Off needs the same two-factor session; then the app may go.
		if _, err := e.svc.SetTwoStep(ctx, client, sess, false); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.RemoveTOTP(ctx, client, sess, appID); err != nil {
			t.Fatal(err)
		}
		res, err = e.svc.PasswordSignIn(ctx, client, "sora@example.jp", strongPassword)
		if err != nil || res.Session == nil {
			t.Fatalf("two-step off, known device: %+v %v", res, err)
		}
	})
}

// 50 sign-ins answer with one app code at once: exactly one is signed in.
// 100 answers with one recovery code at once: exactly one.
func TestOneSecondStepCodeManyParallelAnswersOneWins(t *testing.T) {
	bursts(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		e.account("kai@example.jp", strongPassword)
		_, _, key, codes := e.twoStep("kai@example.jp")
		race := func(n int, method, code string) int32 {
			tokens := make([]string, n)
			for i := range tokens {
				res, err := e.svc.PasswordSignIn(ctx, client, "kai@example.jp", strongPassword)
				if err != nil || res.Pending == nil {
					t.Fatalf("sign-in %d: %v", i, err)
				}
				tokens[i] = res.Pending.Token
			}
			var wins atomic.Int32
			var wg sync.WaitGroup
			for _, tok := range tokens {
				wg.Go(func() {
					if res, err := e.svc.SecondStep(ctx, client, tok, method, code); err == nil && res.Session != nil {
						wins.Add(1)
					}
				})
			}
			wg.Wait()
			return wins.Load()
		}
		if w := race(50, flow.MethodTOTP, e.appCode(key)); w != 1 {
			t.Fatalf("one app code signed in %d times", w)
		}
		if w := race(100, flow.MethodRecovery, codes[3]); w != 1 {
			t.Fatalf("one recovery code signed in %d times", w)
		}
	})
}

// A verified phone is a fallback second step: a code by SMS finishes the
// sign-in (restricted, but still two factors after a password). It is not
// what lets two-step verification be turned on.
func TestSecondStepBySMS(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		a, err := e.accounts.Create(ctx, account.NewAccount{Email: "mei@example.jp", Phone: "+819011112222", Password: strongPassword, Language: "en"})
		if err != nil {
			t.Fatal(err)
		}
		sess := e.passwordSession("mei@example.jp")
		_, err = e.svc.SetTwoStep(ctx, client, sess, true)
		flowErr(t, err, flow.ErrNotReady) // a phone alone is not enough
		_, key := e.withApp(sess, "phone")
		iss, err := e.svc.StepUp(ctx, client, sess, "", e.appCode(key))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.SetTwoStep(ctx, client, iss.Session, true); err != nil {
			t.Fatal(err)
		}
		res, err := e.svc.PasswordSignIn(ctx, client, a.Email, strongPassword)
		if err != nil || strings.Join(res.Pending.Methods, ",") != "totp,sms_code,recovery_code" {
			t.Fatalf("methods: %+v %v", res, err)
		}
		_, err = e.svc.SecondStep(ctx, client, res.Pending.Token, flow.MethodSMS, "123456")
		flowErr(t, err, flow.ErrFlowInvalid) // nothing was sent yet
		p, err := e.svc.SendSecondStepSMS(ctx, client, res.Pending.Token)
		if err != nil || p.Channel != "sms" || p.Destination != "+81********22" || !p.SecondStep {
			t.Fatalf("send: %+v %v", p, err)
		}
		e.clk.Add(time.Second)
		code := e.lastCode("+819011112222")
		wrong := "000000"
		if code == wrong {
			wrong = "111111"
		}
		_, err = e.svc.SecondStep(ctx, client, res.Pending.Token, flow.MethodSMS, wrong)
		flowErr(t, err, flow.ErrWrongCode)
		done, err := e.svc.SecondStep(ctx, client, res.Pending.Token, flow.MethodSMS, code)
		if err != nil || done.Session.Session.Method != "password+sms_code" {
			t.Fatalf("SMS second step: %+v %v", done, err)
		}
		if lvl := assurance.Level(assurance.Factors(done.Session.Session.Method)); lvl != assurance.AAL2 {
			t.Fatalf("password and SMS reached AAL%d", lvl)
		}
	})
}

// Wrong app codes count against the app's own factor, with the usual
// waits: the 100th in a row turns it off for devices that never signed in
// here (a stranger holding the password), until the owner turns it back on.
func TestHundredWrongAppCodesTurnTheAppOff(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		e.account("ren@example.jp", strongPassword)
		_, _, key, _ := e.twoStep("ren@example.jp")
		stranger := flow.Client{IP: "198.51.100.9", UserAgent: "curl/8", DeviceToken: "stranger"}
		counted, waits := 0, 0
		var last error
		held := ""
		for counted < 100 {
			if held == "" {
				// One held sign-in takes many answers, until it expires.
				res, err := e.svc.PasswordSignIn(ctx, stranger, "ren@example.jp", strongPassword)
				if err != nil {
					t.Fatalf("password after %d wrong codes: %v", counted, err)
				}
				held = res.Pending.Token
			}
			_, last = e.svc.SecondStep(ctx, stranger, held, flow.MethodTOTP, wrongOf(e.appCode(key)))
			var fe *flow.Error
			if !errors.As(last, &fe) {
				t.Fatalf("wrong code %d: %v", counted+1, last)
			}
			switch fe.Code {
			case flow.ErrFactorLocked:
				waits++
				e.clk.Add(fe.RetryAt.Sub(e.clk.Now()))
				continue
			case flow.ErrFlowExpired:
				held = ""
				continue
			}
			counted++
		}
		flowErr(t, last, flow.ErrFactorDisabled)
		if waits < 5 {
			t.Fatalf("only %d waits on the way to 100 wrong codes", waits)
		}
		e.clk.Add(time.Minute)
		res, _ := e.svc.PasswordSignIn(ctx, stranger, "ren@example.jp", strongPassword)
		_, err := e.svc.SecondStep(ctx, stranger, res.Pending.Token, flow.MethodTOTP, e.appCode(key))
		flowErr(t, err, flow.ErrFactorDisabled) // even the right code, from there
		// The owner's own device still signs in with the app.
		res, _ = e.svc.PasswordSignIn(ctx, client, "ren@example.jp", strongPassword)
		if done, err := e.svc.SecondStep(ctx, client, res.Pending.Token, flow.MethodTOTP, e.appCode(key)); err != nil || done.Session == nil {
			t.Fatalf("the owner's device: %v", err)
		}
	})
}

// "No, it's not me" on the authenticator ends the sign-in, is recorded
// with the requester's IP, and stops prompts and mailed codes from that
// source; the owner, elsewhere, is not held back.
func TestPushNotMeStopsTheSource(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		e.svc.Unsolicited = config.Default().Unsolicited()
		a := e.account("tomo@example.jp", strongPassword)
		sess, _, _, _ := e.twoStep("tomo@example.jp")
		p, err := e.svc.StartPairing(ctx, client, sess, "phone")
		if err != nil {
			t.Fatal(err)
		}
		phone, _ := testdevice.New()
		paired, err := e.svc.Pair(ctx, client, p.Code, phone.PublicKey())
		if err != nil {
			t.Fatal(err)
		}
		stranger := flow.Client{IP: "198.51.100.23", UserAgent: "curl/8", DeviceToken: "stranger-device"}
		res, err := e.svc.PasswordSignIn(ctx, stranger, "tomo@example.jp", strongPassword)
		if err != nil || !slices.Contains(res.Pending.Methods, flow.MethodPush) {
			t.Fatalf("held sign-in: %+v %v", res, err)
		}
		if _, err := e.svc.BeginPush(ctx, stranger, res.Pending.Token); err != nil {
			t.Fatal(err)
		}
		prompts, _ := e.svc.DevicePrompts(ctx, paired.Token)
		if len(prompts) != 1 || prompts[0].Context.IP != stranger.IP || !prompts[0].Context.NewDevice || prompts[0].Context.DeviceHash != "" {
			t.Fatalf("what the phone sees: %+v", prompts)
		}
		payload, sig, _ := phone.Sign(authenticator.Answer{PromptID: prompts[0].ID, Nonce: prompts[0].Nonce, Decision: authenticator.NotMe})
		if state, err := e.svc.AnswerPrompt(ctx, client, paired.Token, payload, sig); err != nil || state != authenticator.Reported {
			t.Fatalf("not me: %q %v", state, err)
		}
		_, err = e.svc.PushStatus(ctx, stranger, res.Pending.Token)
		flowErr(t, err, flow.ErrBlocked)
		evs, _ := e.st.Events(ctx, a.ID, time.Time{}, 5)
		if !slices.ContainsFunc(evs, func(ev store.Event) bool { return ev.Kind == "unsolicited_reported" && ev.IP == stranger.IP }) {
			t.Fatalf("not recorded with the requester's IP: %+v", evs)
		}
		e.clk.Add(time.Minute)
		res, _ = e.svc.PasswordSignIn(ctx, stranger, "tomo@example.jp", strongPassword)
		_, err = e.svc.BeginPush(ctx, stranger, res.Pending.Token)
		flowErr(t, err, flow.ErrBlocked)
		before, _ := e.st.MessagesTo(ctx, "tomo@example.jp", 100)
		if _, err := e.svc.StartCodeSignIn(ctx, stranger, "tomo@example.jp", "en"); err != nil {
			t.Fatal(err)
		}
		if after, _ := e.st.MessagesTo(ctx, "tomo@example.jp", 100); len(after) != len(before) {
			t.Fatal("a code was mailed to the account from the reported source")
		}
		res, _ = e.svc.PasswordSignIn(ctx, client, "tomo@example.jp", strongPassword)
		if _, err := e.svc.BeginPush(ctx, client, res.Pending.Token); err != nil {
			t.Fatalf("the owner's own sign-in: %v", err)
		}
	})
}

// One prompt waits at a time, and an account gets at most
// Limits.PromptsPerHour in an hour: then the sign-in uses another way.
func TestPromptsAreFewAndOneAtATime(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		e.svc.Limits.PromptsPerHour = 2
		e.account("nene@example.jp", strongPassword)
		sess, _, _, _ := e.twoStep("nene@example.jp")
		p, _ := e.svc.StartPairing(ctx, client, sess, "phone")
		phone, _ := testdevice.New()
		paired, err := e.svc.Pair(ctx, client, p.Code, phone.PublicKey())
		if err != nil {
			t.Fatal(err)
		}
		held := func() string {
			res, err := e.svc.PasswordSignIn(ctx, client, "nene@example.jp", strongPassword)
			if err != nil {
				t.Fatal(err)
			}
			return res.Pending.Token
		}
		first, second := held(), held()
		a, err := e.svc.BeginPush(ctx, client, first)
		if err != nil {
			t.Fatal(err)
		}
		if again, err := e.svc.BeginPush(ctx, client, first); err != nil || again.Number != a.Number {
			t.Fatalf("asking again shows the same request: %+v %v", again, err)
		}
		_, err = e.svc.BeginPush(ctx, client, second)
		flowErr(t, err, flow.ErrRateLimited) // another is waiting
		e.clk.Add(flow.PromptTTL + time.Second)
		if _, err := e.svc.BeginPush(ctx, client, held()); err != nil {
			t.Fatalf("after the first expired: %v", err)
		}
		e.clk.Add(flow.PromptTTL + time.Second)
		_, err = e.svc.BeginPush(ctx, client, held())
		flowErr(t, err, flow.ErrRateLimited) // two an hour
		if prompts, _ := e.svc.DevicePrompts(ctx, paired.Token); len(prompts) != 0 {
			t.Fatalf("prompts the phone still sees: %+v", prompts)
		}
	})
}

// Many requests from new places in a day stop ringing the phone: one
// digest mail says how many came and from where.
func TestRepeatedPromptsFromNewPlacesBecomeADigest(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		e.svc.Unsolicited = config.Default().Unsolicited()
		e.svc.Unsolicited.FloodAfter = 2
		e.svc.Limits.PromptsPerHour = 60
		e.account("ao@example.jp", strongPassword)
		sess, _, _, _ := e.twoStep("ao@example.jp")
		p, _ := e.svc.StartPairing(ctx, client, sess, "phone")
		phone, _ := testdevice.New()
		if _, err := e.svc.Pair(ctx, client, p.Code, phone.PublicKey()); err != nil {
			t.Fatal(err)
		}
		digests := func() int {
			ms, _ := e.st.MessagesTo(ctx, "ao@example.jp", 100)
			n := 0
			for _, m := range ms {
				if m.Kind == notify.KindPromptDigest {
					n++
				}
			}
			return n
		}
		stranger := flow.Client{IP: "203.0.113.77", UserAgent: "curl/8"}
		for i := range 4 {
			e.clk.Add(flow.PromptTTL + time.Second)
			res, err := e.svc.PasswordSignIn(ctx, stranger, "ao@example.jp", strongPassword)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.svc.BeginPush(ctx, stranger, res.Pending.Token); err != nil {
				t.Fatalf("request %d: %v", i+1, err)
			}
			want := 0
			if i >= 2 {
				want = 1 // from the third on: one digest, once
			}
			if got := digests(); got != want {
				t.Fatalf("after request %d: %d digests, want %d", i+1, got, want)
			}
		}
		if mail := e.lastMail("ao@example.jp"); !strings.Contains(mail, "203.0.113.77") {
			t.Fatalf("the digest does not say where from:\n%s", mail)
		}
	})
}
