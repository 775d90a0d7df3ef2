package mailcheck_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	msgdkim "github.com/emersion/go-msgauth/dkim"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/transform"

	"github.com/wardhq/ward/mailcheck"
)

func signsOf(t *testing.T, ch *mailcheck.Checker, raw string) mailcheck.Report {
	t.Helper()
	r, err := ch.Check(context.Background(), []byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	saysEveryReason(t, r)
	return r
}

// saysEveryReason fails when a reason has no sentence in the catalog.
func saysEveryReason(t *testing.T, r mailcheck.Report) {
	t.Helper()
	for _, lang := range []string{"en", "ja"} {
		for _, x := range r.Localize(lang).Reasons {
			if strings.HasPrefix(x.Text, "mailcheck_reason_") {
				t.Errorf("reason %s has no %s sentence in the catalog", x.Code, lang)
			}
		}
	}
}

func has(r mailcheck.Report, code string) bool {
	return slices.ContainsFunc(r.Reasons, func(x mailcheck.Reason) bool { return x.Code == code })
}

func mailFrom(from, subject, body string) string {
	return "From: " + from + "\r\nTo: hana@example.jp\r\nSubject: " + subject + "\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" + body
}

// mailAttaching is a mail with a line of text and one attachment, declared
// as ctype and named name; encoding, when set, is its transfer encoding.
func mailAttaching(from, subject, text, ctype, name, encoding, data string) string {
	part := "Content-Type: " + ctype + "; name=\"" + name + "\"\r\n"
	if encoding != "" {
		part += "Content-Transfer-Encoding: " + encoding + "\r\n"
	}
	return "From: " + from + "\r\nTo: hana@example.jp\r\nSubject: " + subject + "\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n" +
		"--b\r\nContent-Type: text/plain\r\n\r\n" + text + "\r\n--b\r\n" + part +
		"Content-Disposition: attachment; filename=\"" + name + "\"\r\n\r\n" + data + "\r\n--b--\r\n"
}

func TestSigns(t *testing.T) {
	ch := &mailcheck.Checker{Brands: []mailcheck.Brand{mailcheck.Microsoft()}}
	cases := []struct {
		name, raw, reason string
		verdict           mailcheck.Verdict
	}{
		{"a brand name in another domain", mailFrom("Microsoft <alerts@microsoft-mail.com>", "Unusual sign-in activity", "<p>Hello</p>"),
			"lookalike_sender_contains", mailcheck.Phishing},
		{"the brand's address as a mailbox name at a free provider", mailFrom("Microsoft account team <accountprotection-microsoft@outlook.com>", "Microsoft account security code", "<p>Your code</p>"),
			"brand_impersonation", mailcheck.Phishing},
		{"the brand as a subdomain of another domain", mailFrom("Security <no-reply@microsoft.com.account-verify.net>", "Verify", "<p>x</p>"),
			"lookalike_sender_contains", mailcheck.Phishing},
		{"a Cyrillic o in punycode", mailFrom("Account <security@xn--micrsoft-1ug.com>", "Notice", "<p>x</p>"),
			"", mailcheck.Phishing},
		{"security-alerts.com speaking for Microsoft", mailFrom("Microsoft Security <noreply@security-alerts.com>", "Your Microsoft account", "<p>x</p>"),
			"brand_impersonation", mailcheck.Phishing},
		{"link text showing one domain and going to another", mailFrom("Shop <news@shop.example>", "News", `<a href="http://198.51.100.7/login">https://www.microsoft.com/account</a>`),
			"link_text_mismatch", mailcheck.Phishing},
		{"a password field inside the mail", mailFrom("IT <it@corp.example>", "Mailbox quota", `<form action="https://x.example/p" method="post"><input type="password" name="pw"></form>`),
			"password_field", mailcheck.Phishing},
		{"credentials and urgency in English", mailFrom("Billing <billing@pay.example>", "Action required", `<p>Your account will be suspended within 24 hours. Confirm your card number at <a href="https://bit.ly/x">our site</a>.</p>`),
			"asks_credentials", mailcheck.Phishing},
		{"credentials and urgency in Japanese", mailFrom("サポート <support@pay.example>", "【重要】アカウント停止のお知らせ", `<p>24時間以内にログインしてカード情報を更新してください。</p>`),
			"asks_credentials", mailcheck.Phishing},
		{"an HTML attachment", "From: Fax <fax@office.example>\r\nSubject: Fax\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n--b\r\nContent-Type: text/html; name=\"fax.html\"\r\nContent-Disposition: attachment; filename=\"fax.html\"\r\n\r\n<form><input type=password></form>\r\n--b--\r\n",
			"risky_attachment", mailcheck.Phishing},
		{"a plain note from a colleague", mailFrom("Aiko Tanaka <aiko@corp.example>", "Lunch on Friday?", `<p>Shall we try the new place? <a href="https://corp.example/menu">menu</a></p>`),
			"", mailcheck.NoProblem},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := signsOf(t, ch, c.raw)
			if r.Verdict != c.verdict || c.reason != "" && !has(r, c.reason) {
				t.Fatalf("got %s %v, want %s with %s", r.Verdict, r.Reasons, c.verdict, c.reason)
			}
			for _, lang := range []string{"en", "ja"} {
				for _, x := range r.Localize(lang).Reasons {
					if x.Text == "" || strings.Contains(x.Text, "%!") {
						t.Errorf("%s reason %s reads %q", lang, x.Code, x.Text)
					}
				}
			}
		})
	}
}

// A real Microsoft mail, signed and checked against a fixed TXT table in
// place of DNS, is authenticated; the same mail with a changed body is not.
func TestBrandAuthenticatedByDKIM(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	raw := "From: Microsoft account team <account-security-noreply@accountprotection.microsoft.com>\r\nTo: hana@example.jp\r\n" +
		"Subject: Microsoft account security code\r\nDate: Sun, 22 Nov 2026 10:02:00 +0000\r\nMessage-ID: <1@microsoft.com>\r\n\r\nSecurity code: 482913\r\n"
	var signed bytes.Buffer
	if err := msgdkim.Sign(&signed, strings.NewReader(raw), &msgdkim.SignOptions{Domain: "accountprotection.microsoft.com", Selector: "s1", Signer: priv}); err != nil {
		t.Fatal(err)
	}
	txt := map[string]string{"s1._domainkey.accountprotection.microsoft.com": "v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(pub)}
	ch := &mailcheck.Checker{Brands: []mailcheck.Brand{mailcheck.Microsoft()}, LookupTXT: func(_ context.Context, d string) ([]string, error) {
		if v, ok := txt[d]; ok {
			return []string{v}, nil
		}
		return nil, fmt.Errorf("no TXT for %s", d)
	}}
	r := signsOf(t, ch, signed.String())
	if r.Verdict != mailcheck.NoProblem || !has(r, "brand_authenticated") {
		t.Fatalf("signed Microsoft mail: %s %v", r.Verdict, r.Reasons)
	}
	forged := strings.Replace(signed.String(), "482913", "000000", 1)
	r = signsOf(t, ch, forged)
	if r.Verdict == mailcheck.NoProblem || has(r, "brand_authenticated") || !has(r, "dkim_fail") {
		t.Fatalf("altered Microsoft mail: %s %v", r.Verdict, r.Reasons)
	}
}

// Authentication-Results count only from a receiver the operator trusts:
// anyone can write one saying "pass".
func TestAuthenticationResultsOnlyFromTrustedReceivers(t *testing.T) {
	raw := "Authentication-Results: mx.google.com; dmarc=fail header.from=shop.example; spf=fail smtp.mailfrom=shop.example\r\n" +
		mailFrom("Shop <news@shop.example>", "News", "<p>Hello</p>")
	untrusted := signsOf(t, &mailcheck.Checker{}, raw)
	trusted := signsOf(t, &mailcheck.Checker{TrustedReceivers: []string{"google.com"}}, raw)
	if has(untrusted, "receiver_dmarc_fail") || !has(trusted, "receiver_dmarc_fail") || !has(trusted, "receiver_spf_fail") {
		t.Fatalf("untrusted %v, trusted %v", untrusted.Reasons, trusted.Reasons)
	}
	forgedPass := "Authentication-Results: mx.google.com; dmarc=pass header.from=microsoft.com\r\n" +
		mailFrom("Microsoft <account-security-noreply@accountprotection.microsoft.com>", "Microsoft account security code", "<p>x</p>")
	if r := signsOf(t, &mailcheck.Checker{Brands: []mailcheck.Brand{mailcheck.Microsoft()}}, forgedPass); has(r, "brand_authenticated") {
		t.Fatalf("an untrusted pass authenticated the brand: %v", r.Reasons)
	}
}

func TestParsesRealWorldEncodings(t *testing.T) {
	enc := func(e transform.Transformer, s string) string {
		b, _, err := transform.Bytes(e, []byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	const body = "パスワードを入力してください。至急ご確認ください。"
	for name, raw := range map[string]string{
		"ISO-2022-JP": "From: a@b.example\r\nSubject: =?ISO-2022-JP?B?" + base64.StdEncoding.EncodeToString([]byte(enc(japanese.ISO2022JP.NewEncoder(), "セキュリティ"))) + "?=\r\nContent-Type: text/plain; charset=ISO-2022-JP\r\n\r\n" + enc(japanese.ISO2022JP.NewEncoder(), body),
		"Shift_JIS":   "From: a@b.example\r\nSubject: x\r\nContent-Type: text/plain; charset=Shift_JIS\r\n\r\n" + enc(japanese.ShiftJIS.NewEncoder(), body),
		"EUC-JP":      "From: a@b.example\r\nSubject: x\r\nContent-Type: text/plain; charset=EUC-JP\r\n\r\n" + enc(japanese.EUCJP.NewEncoder(), body),
		"base64 in nested multipart": "From: a@b.example\r\nSubject: x\r\nContent-Type: multipart/mixed; boundary=o\r\n\r\n--o\r\nContent-Type: multipart/alternative; boundary=i\r\n\r\n--i\r\n" +
			"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n" + base64.StdEncoding.EncodeToString([]byte(body)) + "\r\n--i--\r\n--o--\r\n",
		"quoted-printable": "From: a@b.example\r\nSubject: x\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" +
			"=E3=83=91=E3=82=B9=E3=83=AF=E3=83=BC=E3=83=89=E3=82=92=E5=85=A5=E5=8A=9B=E3=81=97=E3=81=A6=E3=81=8F=E3=81=A0=E3=81=95=E3=81=84=E3=80=82=E8=87=B3=E6=80=A5\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			m := mailcheck.Parse([]byte(raw))
			if !strings.Contains(m.Text, "パスワードを入力") {
				t.Fatalf("text %q", m.Text)
			}
			if name == "ISO-2022-JP" && m.Subject != "セキュリティ" {
				t.Fatalf("subject %q", m.Subject)
			}
			r := signsOf(t, &mailcheck.Checker{}, raw)
			if !has(r, "asks_credentials") || !has(r, "urgency") {
				t.Fatalf("Japanese signs not read: %v", r.Reasons)
			}
		})
	}
}

func TestBrokenMIMEIsReadBestEffort(t *testing.T) {
	for _, raw := range []string{
		"",
		"From: \r\n\r\n",
		"Content-Type: multipart/mixed\r\n\r\n--x\r\n",
		"Content-Type: multipart/mixed; boundary=\"x\"\r\n\r\n--x\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!@@@===\r\n",
		"Subject: =?UTF-8?B?not base64?=\r\nContent-Type: text/html\r\n\r\n<a href=\"http://[::1\">x</a><form",
		strings.Repeat("Content-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\n", 50),
	} {
		if _, err := (&mailcheck.Checker{}).Check(context.Background(), []byte(raw)); err != nil {
			t.Fatalf("%q: %v", raw, err)
		}
	}
}

// A From: of megabytes of encoded words (issue 10, D8) is read only as far
// as a mail server would carry it, and the answer repeats at most a short
// excerpt of it.
func TestHugeHeaderIsCappedAndNotEchoed(t *testing.T) {
	word := "=?utf-8?b?" + base64.StdEncoding.EncodeToString([]byte("Microsoft Support Team ")) + "?= "
	name := strings.Repeat(word, 6_800_000/len(word))
	raw := mailFrom(name+"<support@outlook.com>", "Your account", "<p>Hello</p>")
	m := mailcheck.Parse([]byte(raw))
	if got := len(m.Header.Get("From")); got > 4096 {
		t.Fatalf("From read as %d bytes, want at most 4096", got)
	}
	r := signsOf(t, &mailcheck.Checker{Brands: []mailcheck.Brand{mailcheck.Microsoft()}}, raw)
	for _, x := range r.Reasons {
		for _, a := range x.Args {
			if n := len([]rune(a)); n > 80 {
				t.Fatalf("reason %s repeats %d characters of the mail", x.Code, n)
			}
		}
	}
	if r.Verdict == mailcheck.Genuine {
		t.Fatal("a huge From was judged genuine")
	}
}

// A resolver that never answers costs one mail its DNS budget once: every
// look-up for the mail (go-msgauth runs them side by side) shares one
// deadline, the budget's, and one asked after it is refused unasked.
func TestDNSLookupsShareOneBudget(t *testing.T) {
	var mu sync.Mutex
	deadlines := map[time.Time]int{}
	start := time.Now()
	ch := &mailcheck.Checker{DNSBudget: 20 * time.Millisecond, LookupTXT: func(ctx context.Context, d string) ([]string, error) {
		dl, ok := ctx.Deadline()
		mu.Lock()
		if ok {
			deadlines[dl]++
		}
		mu.Unlock()
		<-ctx.Done() // a dead resolver: the answer never comes
		return nil, ctx.Err()
	}}
	var raw strings.Builder
	for _, d := range []string{"a.example", "b.example", "c.example"} {
		fmt.Fprintf(&raw, "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=%s; s=s1; h=from:subject; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=AAAA\r\n", d)
	}
	raw.WriteString("From: Aiko <aiko@a.example>\r\nSubject: hello\r\n\r\nhi\r\n")
	if _, err := ch.Check(context.Background(), []byte(raw.String())); err != nil {
		t.Fatal(err)
	}
	if len(deadlines) != 1 {
		t.Fatalf("the look-ups had %d different deadlines (%v); they must share the mail's one", len(deadlines), deadlines)
	}
	for dl, n := range deadlines {
		if n != 3 || dl.After(start.Add(20*time.Millisecond+time.Second)) {
			t.Fatalf("%d look-ups with deadline %v, %v after the check began", n, dl, dl.Sub(start))
		}
	}
}

// The signs beyond one brand, each in the general form phishing uses it,
// and the ordinary mail that looks a little like it and is not flagged.
func TestSignsBeyondMicrosoft(t *testing.T) {
	ch := &mailcheck.Checker{Brands: mailcheck.WellKnown()}
	zip := base64.StdEncoding.EncodeToString([]byte("PK\x03\x04\x14\x00\x01\x00\x08\x00rest-of-an-encrypted-entry"))
	cases := []struct {
		name, raw, reason string
		flagged           bool
	}{
		{"a brand written with an I for its l", mailFrom("PayPaI Service <service@secure-notice.example>", "Your receipt", "<p>Thanks</p>"),
			"brand_impersonation", true},
		{"a wallet brand from an unrelated domain", mailFrom("Trust WaIIet <hello@promo-mailer.example>", "Claim your airdrop", "<p>x</p>"),
			"brand_impersonation", true},
		{"a parcel service on free mail", mailFrom("Correios Entrega <entregas.brasil@gmail.com>", "Sua encomenda", "<p>x</p>"),
			"official_on_free_mail", true},
		{"a ministry on free mail", mailFrom("Ministry of Finance <refunds.office@outlook.com>", "Tax refund", "<p>x</p>"),
			"official_on_free_mail", true},
		{"a percent sign in the sender's domain", mailFrom("Support <help@mail%relay.example>", "Notice", "<p>x</p>"),
			"from_malformed", false},
		{"two senders in one From", "From: Security <alerts@bank.example>, <collector@elsewhere.example>\r\nTo: hana@example.jp\r\nSubject: Notice\r\n\r\nHello\r\n",
			"from_multiple", true},
		{"a subject disguised with look-alike letters", mailFrom("Team <team@notice.example>", "Someone tried to Iog in To Your Account", "<p>x</p>"),
			"evasion_lookalike", true},
		{"capitals with an l standing for an I", mailFrom("VlAGRA and ClALlS <shop@pharma.example>", "Offer", "<p>x</p>"),
			"evasion_letters", false},
		{"a call-back lure about a charge", mailFrom("Billing Desk <billing@invoices.example>", "Your order", "<p>Your subscription renewed and you were charged $399.99. If you did not authorize this, call +1 (808) 555-0147 today.</p>"),
			"phone_lure", false},
		{"a password-locked archive", mailAttaching("HR <hr@corp.example>", "Salary review", "Password: 4411", "application/zip", "review.zip", "base64", zip),
			"encrypted_archive", true},
		{"an iPhone configuration profile", mailAttaching("IT <it@corp.example>", "Wi-Fi", "Install it.", "application/octet-stream", "wifi.mobileconfig", "", "AAAA"),
			"risky_attachment", true},
		{"an account mail linking to a free site", mailFrom("Mail Admin <admin@corp-mail.example>", "Verify your mailbox", `<p><a href="https://mailbox-verify.pages.dev/">Open</a></p>`),
			"link_free_host", true},
		{"bait typed into a real site's username field", "From: Dive Shop <wordpress@diveshop.example>\r\nTo: hana@example.jp\r\nSubject: [Dive Shop] Login Details\r\n\r\nUsername: www.claim-now.blogspot.com - 1.3 BTC BINANCE\r\n\r\nTo set your password, visit https://diveshop.example/wp-login.php\r\n",
			"injected_bait", true},
		{"bait typed in as the name a real service greets", "From: Events <no-reply@events.example>\r\nTo: hana@example.jp\r\nSubject: Confirm your account\r\n\r\nHi ✅ +$4,811 ➡️ ok.me/rCQE1, one last step to confirm your account.\r\n",
			"injected_bait", true},
		{"sent through a Microsoft 365 tenant with no domain of its own", "Return-Path: <n1@alp19136568.onmicrosoft.com>\r\nFrom: Body Shop <loyalty@bodyshop-rewards.example>\r\nTo: hana@example.jp\r\nSubject: Your rewards are waiting\r\n\r\nClaim your reward, it expires in 72 hours.\r\n",
			"bare_cloud_tenant", true},
		{"a password written out, from a free mailbox", mailFrom("Aurelie <aurelie_1@hotmail.com>", "Registration No.6528788", `<p>Registration on our website is completed! Your Login: "mc_x" Your Password: "DmVAOW"</p>`),
			"mailed_password", false},
		{"a document named .pdf that is declared a picture", mailAttaching("Office <office@corp.example>", "Documents", "See attached.", "image/jpeg", "ae8s6e9.pdf", "", "AAAA"),
			"attachment_disguised", false},
		{"a mail that never closes its head, as browsers read it", mailFrom("Mail Admin <admin@corp-mail.example>", "Notice", "<html><head><title>x</title><meta charset=utf-8><p>Verify your account: enter your password below.</p>"),
			"asks_credentials", false},
		{"words outside the head's title, with no tag after them", mailFrom("Mail Admin <admin@corp-mail.example>", "Notice", "<head><title>x</title> Please confirm your password here"),
			"asks_credentials", false},
		{"a picture in place of words", mailFrom("Abteilung <support@notice.example>", "Ihr Tracking-Code", `<p><a href="https://track.example/c"><img src="https://track.example/i.png"></a></p><p>to unsubscribe click here</p>`),
			"picture_only", false},
		// What looks a little like it and is ordinary:
		{"a greeting naming a brand that is a domain", mailFrom("Hotel Deals <deals@hotels.example>", "Your stay", "<p>Dear Booking.com customer,<br>your booking is confirmed.</p>"),
			"", false},
		{"a username that is an address, and a name with a dot", "From: Shop <no-reply@shop.example>\r\nTo: hana@example.jp\r\nSubject: Your account details\r\n\r\nHi john.smith,\r\nUsername: hana@example.jp\r\nSign in at https://shop.example/\r\n",
			"", false},
		{"a site's own address where it names the account", "From: Shop <no-reply@shop.co.jp>\r\nTo: hana@example.jp\r\nSubject: Your account details\r\n\r\nUsername: https://www.shop.co.jp/hana\r\nSign in at https://shop.co.jp/\r\n",
			"", false},
		{"a mailing list's password reminder", "From: mailman-owner@lists.example\r\nTo: hana@example.jp\r\nSubject: lists.example mailing list memberships reminder\r\n\r\nList: users\r\nYour password: swordfish\r\n",
			"", false},
		{"a newsletter naming its own site via its sending service", mailFrom("CNET News.com Daily <news@newsletter.online.example>", "Today's headlines", `<form action="/search"><input name="q"></form><p><a href="http://clicks.online.example/t?u=news.com">news.com</a></p>`),
			"", false},
		{"a display name that is its own address", mailFrom(`"David&TomGardner@fooladvisor.com" <subscriber@fooladvisor.com>`, "Weekly picks", "<p>x</p>"),
			"", false},
		{"a mailing list answering to itself", "From: Martin <martin@uni.example>\r\nTo: list@lists.example\r\nReply-To: list@lists.example\r\nList-Post: <mailto:list@lists.example>\r\nSubject: Re: meeting\r\n\r\nSee you there.\r\n",
			"", false},
		{"a list member's post about a bank scam, linking to the news", "From: Martin <martin@uni.example>\r\nTo: list@lists.example\r\nReply-To: list@lists.example\r\nMailing-List: list list@lists.example; contact list-owner@lists.example\r\nSubject: Fake bank website cons victims\r\nContent-Type: text/html\r\n\r\n<p>Unclaimed accounts and passwords: <a href=\"https://news.example/story\">the story</a></p>\r\n",
			"", false},
		{"a hobby site on a free host", mailFrom("Aiko Tanaka <aiko@example.org>", "My photos", `<p><a href="https://aiko.github.io/photos">photos</a></p>`),
			"", false},
		{"a well-known brand from its own domain", mailFrom("PayPal <service@paypal.com>", "Your receipt from Shop", "<p>Thanks for your payment.</p>"),
			"", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := signsOf(t, ch, c.raw)
			flagged := r.Verdict == mailcheck.Phishing || r.Verdict == mailcheck.Suspicious
			if c.reason != "" && !has(r, c.reason) || c.flagged && !flagged || c.reason == "" && flagged {
				t.Fatalf("got %s %v, want %s (flagged: %v)", r.Verdict, r.Reasons, c.reason, c.flagged)
			}
		})
	}
}

// A newsletter's picture comes with its words: only a part that says
// almost nothing but the picture is "a picture in place of words".
func TestPictureWithWordsIsOrdinary(t *testing.T) {
	ch := &mailcheck.Checker{Brands: mailcheck.WellKnown()}
	r := signsOf(t, ch, mailFrom("Shop News <news@shop.example>", "November news", `<p><img src="https://shop.example/banner.png"></p><p>The new laptop now comes with a faster processor and a brighter screen, and until the end of the month every order ships free. You get this mail because you signed up at shop.example; unsubscribe at any time.</p>`))
	if has(r, "picture_only") {
		t.Fatalf("a picture with its words was taken for a picture in place of words: %v", r.Reasons)
	}
}
