package mailcheck_test

import (
	"context"
	"testing"

	"github.com/wardhq/ward/mailcheck"
)

// Any input, however broken, gets a verdict and no panic.
func FuzzCheck(f *testing.F) {
	f.Add([]byte("From: a@b.example\r\nSubject: hi\r\n\r\nhello"))
	f.Add([]byte("Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: text/html\r\n\r\n<a href=\"http://xn--80ak6aa92e.com\">paypal.com</a>\r\n--x--"))
	f.Add([]byte("Subject: =?ISO-2022-JP?B?GyRCJDMkcyQLJEEkTxsoQg==?=\r\nContent-Type: text/plain; charset=iso-2022-jp\r\n\r\n\x1b$B$3$s$K$A$O\x1b(B"))
	f.Add([]byte("Reference: 0123456789ab (id.example.com)\n\n482913"))
	f.Add([]byte("From: \"=?UTF-8?B?TWljcm9zb2Z0==?=\" <a@b.example>, <c@d.example>\r\nSubject: =?UTF-8?B?WW91ciBBY2NvdW50==?=\r\nMailing-List: list x@lists.example; contact\r\nReply-To: x@lists.example\r\n\r\nCall +1 (808) 555-0147 about your order. 2024-05-01 10:00"))
	f.Add([]byte("From: ᴛᴇᴀᴍ <a@mail%relay.example.>\r\nSubject: Iog in micr0soft\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: application/zip; name=a.zip\r\nContent-Transfer-Encoding: base64\r\n\r\nUEsDBBQAAQA=\r\n--b\r\nContent-Type: text/calendar; name=i.ics\r\n\r\nDESCRIPTION:call 1-800-555-0199\r\n--b--"))
	f.Add([]byte("Return-Path: <a@t1.onmicrosoft.com>\r\nFrom: Shop <a@shop.example>\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nUsername: www.x.blogspot.com - 1.3 BTC\r\n  Hi \u2705 +$4,811 ok.me/x,\r\nユーザー名：ok.me/y\r\nYour Password: \"DmVAOW\"\r\n--b\r\nContent-Type: image/jpeg; name=\"a.pdf\"\r\n\r\nAAAA\r\n--b--"))
	ch := &mailcheck.Checker{Brands: mailcheck.WellKnown()}
	f.Fuzz(func(t *testing.T, raw []byte) {
		r, err := ch.Check(context.Background(), raw)
		if err != nil {
			t.Fatal(err)
		}
		if r.Verdict == "" || r.Verdict == mailcheck.Genuine {
			t.Fatalf("verdict %q without ward's records", r.Verdict)
		}
	})
}
