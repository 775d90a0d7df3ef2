package notify_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/wardhq/ward/notify"
)

// fakeTwilio checks each request exactly as Twilio's Messages API
// documents it, and answers as Twilio does.
func fakeTwilio(t *testing.T, status int, reply string) (*httptest.Server, *[]map[string]string) {
	var got []map[string]string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		switch {
		case r.Method != http.MethodPost, r.URL.Path != "/2010-04-01/Accounts/AC0123/Messages.json":
			t.Errorf("request %s %s", r.Method, r.URL.Path)
		case !ok || user != "AC0123" || pass != "secret-token":
			t.Errorf("basic auth %q %q %v", user, pass, ok)
		case r.Header.Get("Content-Type") != "application/x-www-form-urlencoded":
			t.Errorf("content type %q", r.Header.Get("Content-Type"))
		}
		r.ParseForm()
		m := map[string]string{}
		for k := range r.PostForm {
			m[k] = r.PostForm.Get(k)
		}
		got = append(got, m)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		w.Write([]byte(reply))
	}))
	t.Cleanup(srv.Close)
	return srv, &got
}

func TestTwilioSendsAsDocumented(t *testing.T) {
	srv, got := fakeTwilio(t, 201, `{"sid":"SM123","status":"queued"}`)
	tw := &notify.Twilio{BaseURL: srv.URL, AccountSID: "AC0123", AuthToken: "secret-token", From: "+15005550006"}
	text := "123456 is your id.example.com security code.\n\n@id.example.com #123456"
	reply, err := tw.Send(context.Background(), notify.Rendered{Channel: notify.SMS, To: "+819012345678", Text: text})
	if err != nil || !strings.Contains(reply, "SM123") {
		t.Fatalf("send: %q %v", reply, err)
	}
	if len(*got) != 1 || (*got)[0]["To"] != "+819012345678" || (*got)[0]["From"] != "+15005550006" || (*got)[0]["Body"] != text || len((*got)[0]) != 3 {
		t.Fatalf("form sent: %v", *got)
	}
}

func TestTwilioErrors(t *testing.T) {
	for status, permanent := range map[int]bool{400: true, 429: false, 503: false} {
		srv, _ := fakeTwilio(t, status, `{"code":21211,"message":"The 'To' number is not a valid phone number.","status":400}`)
		tw := &notify.Twilio{BaseURL: srv.URL, AccountSID: "AC0123", AuthToken: "secret-token", MessagingServiceSID: "MG1"}
		_, err := tw.Send(context.Background(), notify.Rendered{Channel: notify.SMS, To: "+819012345678", Text: "x"})
		var pe *notify.PermanentError
		if err == nil || errors.As(err, &pe) != permanent {
			t.Errorf("status %d: %v (permanent %v)", status, err, errors.As(err, &pe))
		}
	}
}
