package mailcheck_test

import (
	"bytes"
	"io"
	"mime/quotedprintable"
	"net/mail"
	"slices"
	"strings"
	"testing"

	msgdkim "github.com/emersion/go-msgauth/dkim"

	"github.com/wardhq/ward/internal/testdb"
	"github.com/wardhq/ward/mailcheck"
)

// Forgeries built from a genuine ward mail (issue 10, D10): a person who
// reads "genuine" does what the mail says, so none of these may get it.
func TestForgeriesOfOwnMailAreNotGenuine(t *testing.T) {
	for _, engine := range testdb.Engines() {
		name, open := engine.Name, engine.Open
		for _, lang := range []string{"en", "ja"} {
			t.Run(name+"/"+lang, func(t *testing.T) {
				raw, ch, _ := sentIn(t, open(t), lang, "password_reset", "482913")
				if r := check(t, ch, raw); r.Verdict != mailcheck.Genuine {
					t.Fatalf("the mail as sent: %v %v", r.Verdict, codes(r))
				}
				// The receiving server's trace header comes first; a forger
				// adds theirs right below it.
				received, rest, _ := bytes.Cut(raw, []byte("\r\n"))
				insert := func(h string) []byte {
					return slices.Concat(received, []byte("\r\n"+h+"\r\n"), rest)
				}
				for what, forged := range map[string][]byte{
					"a Reply-To to another domain":     insert("Reply-To: help@examp1e-support.com"),
					"a second From above the real one": insert("From: Example ID <security@examp1e.com>"),
					"a Cc added":                       insert("Cc: mallory@example.org"),
				} {
					r := check(t, ch, forged)
					if r.Verdict != mailcheck.Phishing || r.Sent != nil {
						t.Errorf("%s: %v %v", what, r.Verdict, codes(r))
					}
				}
				// The added header also breaks the signature itself: every
				// header a reader sees is signed once more than it occurs.
				vs, _ := ch.Own.Verify(insert("Reply-To: help@examp1e-support.com"))
				if len(vs) == 0 || slices.ContainsFunc(vs, func(v *msgdkim.Verification) bool { return v.Err == nil }) {
					t.Error("a Reply-To added to a signed mail leaves its signature valid")
				}

				msg, _ := mail.ReadMessage(bytes.NewReader(raw))
				body, _ := io.ReadAll(msg.Body)
				text := textPart(t, body)
				if r := check(t, ch, []byte(text)); r.Verdict != mailcheck.Genuine {
					t.Fatalf("the pasted text as sent: %v %v\n%s", r.Verdict, codes(r), text)
				}
				// Quoted by a mail app: "> " before every line, lines rewrapped.
				quoted := "> " + strings.ReplaceAll(strings.TrimSpace(text), "\n", "\n> ")
				if r := check(t, ch, []byte(quoted)); r.Verdict != mailcheck.Genuine {
					t.Errorf("the pasted text quoted: %v %v", r.Verdict, codes(r))
				}
				changed := strings.Replace(text, "Chrome on macOS", "Chrome on Windows", 1)
				if changed == text {
					t.Fatal("test mail has no device line")
				}
				r := check(t, ch, []byte(changed))
				if r.Verdict != mailcheck.Phishing || r.Sent != nil || !has(r, "own_body_altered") || !has(r, "own_body_text_added") {
					t.Errorf("one word changed: %v %v", r.Verdict, codes(r))
				}
				added := text + "\nconfirm your password at http://evil.example/login within 24 hours\n"
				r = check(t, ch, []byte(added))
				if r.Verdict != mailcheck.Phishing || r.Sent != nil {
					t.Errorf("a sentence added: %v %v", r.Verdict, codes(r))
				}
				link := slices.IndexFunc(r.Reasons, func(x mailcheck.Reason) bool { return x.Code == "own_body_link_added" })
				if link < 0 || r.Reasons[link].Args[0] != "http://evil.example/login" {
					t.Errorf("the added link is not named: %v", r.Reasons)
				}
				if loc := r.Localize(lang); !strings.Contains(loc.Reasons[link].Text, "http://evil.example/login") {
					t.Errorf("localized reason: %q", loc.Reasons[link].Text)
				}

				// The body pasted still in quoted-printable, soft line
				// breaks inside its links: decoded first, then proven.
				var qp bytes.Buffer
				w := quotedprintable.NewWriter(&qp)
				w.Write([]byte(text))
				w.Close()
				if !bytes.Contains(qp.Bytes(), []byte("=\r\n")) {
					t.Fatal("the test body has no soft line break")
				}
				if r := check(t, ch, qp.Bytes()); r.Verdict != mailcheck.Genuine {
					t.Errorf("pasted in quoted-printable: %v %v", r.Verdict, codes(r))
				}
			})
		}
	}
}
