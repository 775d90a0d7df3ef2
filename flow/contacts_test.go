package flow_test

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wardhq/ward/flow"
	"github.com/wardhq/ward/notify"
	"github.com/wardhq/ward/store"
)

func signedInSession(t *testing.T, e *env, email string) store.Session {
	t.Helper()
	signedInBefore(t, e, email)
	ss, err := e.st.SessionsByAccount(context.Background(), mustAccount(t, e, email).ID, e.clk.Now())
	if err != nil || len(ss) == 0 {
		t.Fatalf("no session: %v", err)
	}
	return ss[0]
}

// Adding a phone: a stale session must confirm it is the owner first; the
// phone is verified by a code sent to it; the other contacts are told,
// with a link that lets the new phone recover the account at once —
// without it, the phone waits before it can.
func TestAddAndRemoveAContact(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		e.account("toma@example.com", "")
		sessTok := signedInBefore(t, e, "toma@example.com")
		sess, err := e.svc.Sessions.Authenticate(ctx, sessTok, client.IP)
		if err != nil {
			t.Fatal(err)
		}
		me := client
		me.Session = sessTok
		e.clk.Add(20 * time.Minute) // no longer fresh
		_, err = e.svc.StartAddContact(ctx, me, sess, "+81 90-1234-5678")
		flowErr(t, err, flow.ErrStepUpRequired)
		p, err := e.svc.StartReauth(ctx, me, sess)
		if err != nil {
			t.Fatal(err)
		}
		// Another browser holding the code cannot confirm it.
		_, err = e.svc.Verify(ctx, client, p.Token, e.lastCode("toma@example.com"))
		flowErr(t, err, flow.ErrFlowInvalid)
		res, err := e.svc.Verify(ctx, me, p.Token, e.lastCode("toma@example.com"))
		if err != nil || res.State != flow.StateConfirmed || res.Session == nil {
			t.Fatalf("reauth: %+v %v", res, err)
		}
		// The proof gives a new session in place of the old (OWASP ASVS 7.2.4).
		if _, err := e.svc.Sessions.Authenticate(ctx, sessTok, client.IP); err == nil {
			t.Fatal("the session that stepped up still works; it should have been replaced")
		}
		sess = res.Session.Session
		e.clk.Add(time.Second) // later mail sorts after the confirmation code
		p, err = e.svc.StartAddContact(ctx, client, sess, "+81 90-1234-5678")
		if err != nil || p.Destination != "+81********78" {
			t.Fatalf("add: %+v %v", p, err)
		}
		code := e.lastCode("+819012345678")
		e.clk.Add(time.Second)
		res, err = e.svc.Verify(ctx, client, p.Token, code)
		if err != nil || res.State != flow.StateContactAdded {
			t.Fatalf("verify new phone: %+v %v", res, err)
		}
		cs, _ := e.svc.Contacts(ctx, sess)
		if len(cs) != 2 || cs[1].Value != "+819012345678" || cs[1].VerifiedAt == nil || cs[1].RecoveryAfter == nil {
			t.Fatalf("contacts: %+v", cs)
		}
		// The account's email was told, with a confirmation link.
		ms, _ := e.st.MessagesTo(ctx, "toma@example.com", 1)
		r, _ := e.composer.Render(ms[0])
		if ms[0].Kind != notify.KindSecurityChanged || !strings.Contains(r.Text, "+81********78") || !strings.Contains(r.Text, "/account/secure") {
			t.Fatalf("notice %s:\n%s", ms[0].Kind, r.Text)
		}
		// Until then, the new phone cannot recover the account.
		reset, err := e.svc.StartReset(ctx, stranger, "toma@example.com", "en")
		if err != nil {
			t.Fatal(err)
		}
		e.clk.Add(2 * time.Minute)
		before, _ := e.st.MessagesTo(ctx, "+819012345678", 10)
		if _, err := e.svc.ResetVia(ctx, stranger, reset.Token, "+819012345678"); err != nil {
			t.Fatal(err)
		}
		if after, _ := e.st.MessagesTo(ctx, "+819012345678", 10); len(after) != len(before) {
			t.Fatal("a contact in its waiting period received a recovery code")
		}
		tok := regexp.MustCompile(`/confirm-contact/([A-Za-z0-9_-]+)`).FindStringSubmatch(r.Text)
		if tok == nil {
			t.Fatalf("no confirmation link:\n%s", r.Text)
		}
		if masked, err := e.svc.ConfirmContact(ctx, client, tok[1]); err != nil || masked != "+81********78" {
			t.Fatalf("confirm: %q %v", masked, err)
		}
		if _, err := e.svc.ConfirmContact(ctx, client, tok[1]); err == nil {
			t.Fatal("the confirmation link worked twice")
		}
		e.clk.Add(2 * time.Minute)
		if _, err := e.svc.ResetVia(ctx, stranger, reset.Token, "+819012345678"); err != nil {
			t.Fatal(err)
		}
		if after, _ := e.st.MessagesTo(ctx, "+819012345678", 10); len(after) != len(before)+1 {
			t.Fatal("the confirmed contact got no recovery code")
		}
		// Removing: not the sign-in email; the phone goes, and is told.
		flowErr(t, e.svc.RemoveContact(ctx, client, sess, cs[0].ID), flow.ErrInvalidInput)
		if err := e.svc.RemoveContact(ctx, client, sess, cs[1].ID); err != nil {
			t.Fatal(err)
		}
		if cs, _ := e.svc.Contacts(ctx, sess); len(cs) != 1 {
			t.Fatalf("after removal: %+v", cs)
		}
		e.account("other@example.com", "")
		otherSess := signedInSession(t, e, "other@example.com")
		flowErr(t, e.svc.RemoveContact(ctx, client, otherSess, cs[0].ID), flow.ErrInvalidInput)
	})
}

// Notices follow the owner's settings, except those an intruder would
// switch off first.
func TestNotificationSettings(t *testing.T) {
	backends(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		e.account("kai@example.com", "")
		sess := signedInSession(t, e, "kai@example.com")
		if err := e.svc.SetNotifications(ctx, client, sess, map[string]bool{"new_sign_in/email": false, "password_changed/email": false}); err != nil {
			t.Fatal(err)
		}
		ns, _ := e.svc.Notifications(ctx, sess)
		for _, n := range ns {
			want := !(n.Event == "new_sign_in" && n.Channel == "email")
			if n.On != want || n.Locked != (n.Channel == "email" && n.Event != "new_sign_in") {
				t.Errorf("%+v", n)
			}
		}
		laptop := client
		laptop.DeviceToken = "device-9"
		e.clk.Add(2 * time.Minute)
		p, _ := e.svc.StartCodeSignIn(ctx, laptop, "kai@example.com", "en")
		if _, err := e.svc.Verify(ctx, laptop, p.Token, e.lastCode("kai@example.com")); err != nil {
			t.Fatal(err)
		}
		if got := kinds(t, e.st, "kai@example.com")[notify.KindNewSignIn]; got != 0 {
			t.Fatalf("a notice the owner turned off was sent %d times", got)
		}
	})
}
