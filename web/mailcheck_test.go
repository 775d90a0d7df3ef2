package web_test

import (
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
)

const phishingMail = "From: Microsoft account team <accountprotection-microsoft@outlook.com>\r\nTo: hana@example.jp\r\n" +
	"Subject: Microsoft account unusual sign-in activity\r\nContent-Type: text/html\r\n\r\n" +
	`<p>Your account will be suspended. <a href="http://198.51.100.7/">https://account.microsoft.com</a></p>`

func TestMailCheckAPI(t *testing.T) {
	w := start(t, "sqlite")
	c := browserish()
	r := w.do(c, "POST", "/api/v1/mail-check", map[string]string{"message": phishingMail}, "Accept-Language", "ja")
	if r.status != 200 || r.body["verdict"] != "phishing" || !strings.Contains(r.raw, "フィッシング") {
		t.Fatalf("JSON check: %d %s", r.status, r.raw)
	}
	// The raw message as the body works too.
	req, _ := http.NewRequest("POST", w.srv.URL+"/api/v1/mail-check?lang=en", strings.NewReader(phishingMail))
	req.Header.Set("Content-Type", "message/rfc822")
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(b), `"verdict":"phishing"`) || !strings.Contains(string(b), "claims to be from Microsoft") {
		t.Fatalf("raw check: %d %s", res.StatusCode, b)
	}
	if r := w.do(c, "POST", "/api/v1/mail-check", map[string]string{"message": "  "}); r.status != 400 || r.body["field"] != "message" {
		t.Fatalf("empty message: %d %s", r.status, r.raw)
	}
	if r := w.do(c, "POST", "/api/v1/mail-check", map[string]string{"message": phishingMail}, "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"); r.status != 403 {
		t.Fatalf("cross-origin check: %d", r.status)
	}
}

func TestMailCheckPage(t *testing.T) {
	w := start(t, "sqlite")
	c := browserish()
	res, err := c.Get(w.srv.URL + "/check-mail?lang=ja")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(b), `<html lang="ja">`) || !strings.Contains(string(b), `<label for="message">`) {
		t.Fatalf("page: %d %s", res.StatusCode, b)
	}
	// Upload as a .eml file, the way a person saves a mail.
	var body strings.Builder
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", "mail.eml")
	io.WriteString(fw, phishingMail)
	mw.Close()
	req, _ := http.NewRequest("POST", w.srv.URL+"/check-mail?lang=en", strings.NewReader(body.String()))
	req.Header.Set("Content-Type", mw.FormDataContentType())
	res, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(b), "verdict-phishing") || !strings.Contains(string(b), "198.51.100.7") {
		t.Fatalf("upload: %d %s", res.StatusCode, b)
	}
}
