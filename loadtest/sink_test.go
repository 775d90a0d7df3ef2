package loadtest

import (
	"context"
	"errors"
	"fmt"
	"net/smtp"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"
)

func send(t *testing.T, s *Sink, to, raw string) error {
	t.Helper()
	return smtp.SendMail(fmt.Sprintf("%s:%d", s.Host, s.Port), nil, "security@ward.example", []string{to}, []byte(raw))
}

const signed = "DKIM-Signature: v=1; a=ed25519-sha256; d=ward.example; s=e\r\nDKIM-Signature: v=1; a=rsa-sha256; d=ward.example; s=r\r\n"

// The sink hands each recipient the codes of their mail in order, refuses
// mail without both of ward's signatures (and says so), and counts a mail received
// twice (by its Message-Id).
func TestSink(t *testing.T) {
	s, err := StartSink("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	mail := func(id, code string) string {
		return signed + "Message-Id: <" + id + "@ward.example>\r\nSubject: code\r\n\r\nYour code:\r\n\r\n    " + code + "\r\n\r\nbye\r\n"
	}
	for _, m := range []string{mail("m1", "123456"), mail("m2", "654321"), mail("m2", "654321")} {
		if err := send(t, s, "Load-1@example.org", m); err != nil {
			t.Fatal(err)
		}
	}
	if err := send(t, s, "x@example.org", "DKIM-Signature: v=1; a=ed25519-sha256;\r\n\r\n    111111\r\n"); err == nil || !strings.Contains(err.Error(), "rsa-sha256") {
		t.Fatalf("a mail without the RSA signature: %v", err)
	}
	// The refused mail's sign-in would wait out its level: the refusal is
	// reported instead, once.
	if got := s.TakeRefused(); got["the SMTP sink refused a mail not signed with rsa-sha256"] != 1 || len(got) != 1 {
		t.Fatalf("refusals %v", got)
	}
	if got := s.TakeRefused(); len(got) != 0 {
		t.Fatalf("refusals reported twice: %v", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, want := range []string{"123456", "654321", "654321"} {
		if got, err := s.Code(ctx, "load-1@example.org"); err != nil || got != want {
			t.Fatalf("code %q %v, want %q", got, err, want)
		}
	}
	if mails, dups := s.Received(); mails != 3 || dups != 1 {
		t.Fatalf("received %d with %d second copies, want 3 and 1", mails, dups)
	}
	short, cancel2 := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel2()
	if _, err := s.Code(short, "load-1@example.org"); err == nil {
		t.Fatal("a code with no mail")
	}
}

// Errors are counted by what happened, not by what differs each time.
func TestReasons(t *testing.T) {
	for err, want := range map[error]string{
		&apiError{what: "POST /api/v1/flows/verify", status: 401, code: "wrong_code", body: `{"error":"wrong_code","flow":"abc"}`}: "POST /api/v1/flows/verify: 401 wrong_code",
		&url.Error{Op: "Post", URL: "http://127.0.0.1:1234/api/v1/sign-in/code", Err: syscall.ECONNREFUSED}:                        "Post /api/v1/sign-in/code: connection refused (instance down)",
		&url.Error{Op: "Post", URL: "http://127.0.0.1:1234/api/v1/flows/verify", Err: syscall.ECONNRESET}:                          "Post /api/v1/flows/verify: connection lost before the answer (instance killed)",
		errors.New("no code mail to a@b reached the SMTP sink"):                                                                    "no code mail reached the SMTP sink within 10 s",
	} {
		if got := reason(err); got != want {
			t.Errorf("reason(%v) = %q, want %q", err, got, want)
		}
	}
}

// The code is found where ward's text part puts it, alone on an indented
// line, and nowhere else.
func TestCodeIn(t *testing.T) {
	for raw, want := range map[string]string{
		"Your code:\r\n\r\n    123456\r\n\r\nbye\r\n": "123456",
		"Your code:\n\t12345678  \r\n":                "12345678",
		"    1234567":                                 "1234567",
		"123456\r\n":                                  "", // not indented
		"    12345\r\n    123456789\r\n":              "", // too short, too long
		"    123456 is your code\r\n":                 "",
		"Subject: 123456\r\n\r\n  see 654321\r\n":     "",
	} {
		if got := codeIn([]byte(raw)); got != want {
			t.Errorf("codeIn(%q) = %q, want %q", raw, got, want)
		}
	}
}
