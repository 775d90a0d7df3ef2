package web

import (
	"bytes"
	"html/template"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wardhq/ward/catalog"
	"github.com/wardhq/ward/flow"
	"github.com/wardhq/ward/mailcheck"
	"github.com/wardhq/ward/store"
)

var idAttr = regexp.MustCompile(`\sid="([^"]+)"`)

// sampleView is page's view in lang with sample data for every part it
// can show; T records each message id it lacks in missing.
func sampleView(lang, page string, missing *[]string) *view {
	now := time.Date(2026, 11, 22, 10, 2, 0, 0, time.UTC)
	title := map[string]string{"message": "title", "dev_mail": "dev_mailbox"}[page]
	if title == "" {
		title = page
	}
	v := &view{Brand: brandView{Name: "ward"}, Lang: lang, OtherLang: map[string]string{"en": "ja", "ja": "en"}[lang], TitleKey: title, Email: "hana@example.jp",
		T: func(k string) string {
			out := tr(lang, k)
			if out == k {
				*missing = append(*missing, k)
			}
			return out
		},
		When:   func(t time.Time) string { return catalog.Time(lang, nil, t) },
		Reason: func(r string) string { return reasonText(lang, r) },
		F:      func(key string, args ...string) template.HTML { return sentenceHTML(lang, key, args...) },
		Reasons: func(rs []string) string {
			return strings.Join(rs, tr(lang, "list_sep"))
		},
		Action: "/sign-in/code",
		Reset:  true,
		Pending: &flow.Pending{Token: "tok", Destination: "h***@example.jp", ExpiresAt: now, ResendAfter: now, Reasons: []string{"new_device", "new_country:US"},
			Methods: []string{"totp", "passkey", "push", "sms_code", "recovery_code"}, Channel: "sms"},
		Security: &securityJSON{Paired: []pairedJSON{{ID: "d1", Name: "phone", CreatedAt: now}}, Passkeys: []passkeyJSON{{ID: "p1", Name: "laptop", CreatedAt: now, Synced: true}, {ID: "p2", Name: "key", CreatedAt: now, LastUsedAt: &now}}, TwoStep: true, TwoStepSince: &now, RecoveryCodesLeft: 9, Session: toStrengthJSON("password+totp"), Words: "password and app",
			Authenticators: []authenticatorJSON{{ID: "t1", Name: "phone", CreatedAt: now, Confirmed: true, LastUsedAt: &now}, {ID: "t2", Name: "tablet", CreatedAt: now}}},
		Enrolment: &enrolmentView{TOTPEnrolment: flow.TOTPEnrolment{ID: "t2", Name: "tablet", Key: "JBSW Y3DP"}, QRURI: "data:image/png;base64,AA=="},
		Codes:     []string{"4kq7m-x2c9p", "abcde-fghjk"},
		Push:      &pushJSON{State: "pending", Number: "42"},
		Pairing:   &pairingView{Code: "1234 5678", Link: "http://localhost:8080/authenticator/#pair=12345678", QRURI: "data:image/png;base64,AA==", ExpiresAt: now},
		Account:   store.Account{Email: "hana@example.jp", Language: lang},
		Delivery:  &flow.Delivery{Status: "retrying", Detail: "451 try later", Alternatives: []flow.Alternative{{ID: "c2", Destination: "+81********78"}}},
		Events: []store.Event{{ID: "e1", At: now, Kind: "sign_in", Result: "success", Method: "password", IP: "203.0.113.5", Device: "Chrome on macOS",
			Reasons: []string{"new_device"}}, {ID: "e2", At: now, Kind: "code_sent", Result: "suppressed", Method: "email"}},
		NotMine: &flow.AddressRemoval{Contact: "h***@example.jp"},
		Dash: &dashboard{Filters: activityFilters, Filter: "success", NextBefore: "x", ShowApps: true, Apps: []appJSON{{ID: "app_1", Name: "Shop"}},
			Rows: []activityRow{{Event: store.Event{ID: "e1", At: now, Kind: "sign_in", Result: "step_up_required", Method: "password", IP: "198.51.100.7",
				Reasons: []string{"new_country:DE", "impossible_travel:Tokyo:Frankfurt:40"}}, Place: "Frankfurt, Germany", Unusual: true, SignIn: true},
				{Event: store.Event{ID: "e2", At: now, Kind: "code_sent", Result: "held", Method: "email"}}},
			Devices: []deviceRow{{sessionJSON: sessionJSON{ID: "s2", Device: "Firefox on Linux", IP: "192.0.2.4", LastSeenAt: now}, FirstSeen: now}},
			Flagged: "e1",
			Notices: []noticeRow{{Event: "new_sign_in", Channels: []flow.Notification{{Event: "new_sign_in", Channel: "email", On: true},
				{Event: "new_sign_in", Channel: "sms"}}}, {Event: "security_changed", Channels: []flow.Notification{
				{Event: "security_changed", Channel: "email", On: true, Locked: true}, {Event: "security_changed", Channel: "sms", On: true}}}},
			Contacts: []contactRow{{Contact: store.Contact{ID: "c1", Kind: "email", Value: "hana@example.jp", Primary: true, VerifiedAt: &now}},
				{Contact: store.Contact{ID: "c2", Kind: "phone", Value: "+819012345678"}, Waiting: true, RecoveryFrom: now}},
			Changes: []activityRow{{Event: store.Event{At: now, Kind: "password_changed", IP: "203.0.113.5"}},
				{Event: store.Event{At: now, Kind: "contact_added"}, UndoAction: "/account/contacts/c2/remove", UndoLabel: "Undo"}}},
		NotMe: &flow.UnsolicitedReport{At: now, IP: "198.51.100.7", Place: "Frankfurt, Germany", Destination: "h***@example.jp", Until: now},
		Check: &checkResult{Verdict: mailcheck.Genuine, Headline: "Genuine", Reasons: []mailcheck.Reason{{Code: "own_signature_verified", Text: "x"}},
			Sent: &checkSent{Summary: "Sent by ward"}},
	}
	if page == "continue" {
		// Only this page carries the refresh that goes on to the app.
		v.Continue = &continueView{App: "Shop", URL: "/sample/" + lang + "/sign_in"}
	}
	return v
}

// renderSample is page in lang with sample data, as the browser gets it.
func renderSample(p *pages, lang, page string) (string, []string, error) {
	var missing []string
	var buf bytes.Buffer
	err := p.render(&buf, page, sampleView(lang, page, &missing))
	return buf.String(), missing, err
}

// Every page renders in both languages with sample data, with no missing
// translation and no formatting slip.
func TestEveryPageInBothLanguages(t *testing.T) {
	p, err := newPages()
	if err != nil {
		t.Fatal(err)
	}
	for _, lang := range []string{"en", "ja"} {
		for _, page := range pageNames {
			out, missing, err := renderSample(p, lang, page)
			if err != nil {
				t.Fatalf("%s %s: %v", lang, page, err)
			}
			if len(missing) > 0 {
				t.Errorf("%s %s: no translation for %v", lang, page, missing)
			}
			if !strings.Contains(out, `<html lang="`+lang+`">`) || strings.Contains(out, "%!") {
				t.Errorf("%s %s: bad output", lang, page)
			}
			// An id used twice leaves a label pointing at the wrong field
			// (axe's duplicate-id-aria): every id is unique on its page.
			seen := map[string]bool{}
			for _, m := range idAttr.FindAllStringSubmatch(out, -1) {
				if seen[m[1]] {
					t.Errorf("%s %s: id %q is used twice", lang, page, m[1])
				}
				seen[m[1]] = true
			}
		}
	}
}
