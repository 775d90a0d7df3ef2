package loadtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
)

// Sink is the mail server ward relays to during a load test: a real SMTP
// exchange (go-smtp), so that what the driver measures includes rendering,
// both DKIM signatures and the relay conversation. It keeps, per
// recipient, the codes of the mail it accepted until a sign-in reads them.
type Sink struct {
	Host string
	Port int
	srv  *smtp.Server
	// Want are the DKIM algorithms every mail must be signed with
	// ("rsa-sha256", "ed25519-sha256"); a mail without one is refused,
	// which the driver sees as an error.
	Want []string

	mu    sync.Mutex
	codes map[string]chan string
	// refused counts the mails turned away, by why: the sign-ins they
	// belonged to wait for a code that never comes.
	refused map[string]int
	// ids counts the mails received by Message-Id: a delivery made twice
	// shows as a count of 2.
	ids map[string]int
}

// Received says how many mails with codes arrived, and how many of those
// were a second copy of a mail already received.
func (s *Sink) Received() (mails, duplicates int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range s.ids {
		mails += n
		duplicates += n - 1
	}
	return mails, duplicates
}

// StartSink listens at addr ("127.0.0.1:0": a free port).
func StartSink(addr string) (*Sink, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("starting the SMTP sink: %w", err)
	}
	s := &Sink{codes: map[string]chan string{}, ids: map[string]int{}, refused: map[string]int{}, Want: []string{"rsa-sha256", "ed25519-sha256"}}
	s.srv = smtp.NewServer(s)
	s.srv.Domain = "sink.loadtest"
	// Connections cut by a killed instance are expected.
	s.srv.ErrorLog = log.New(io.Discard, "", 0)
	s.srv.AllowInsecureAuth = true
	s.srv.MaxMessageBytes = 1 << 20
	s.srv.ReadTimeout, s.srv.WriteTimeout = time.Minute, time.Minute
	tcp := ln.Addr().(*net.TCPAddr)
	s.Host, s.Port = tcp.IP.String(), tcp.Port
	go s.srv.Serve(ln)
	return s, nil
}

// Close stops the sink.
func (s *Sink) Close() error { return s.srv.Close() }

// Drain forgets codes nobody read (those of sign-ins cut off by the end
// of a run), so that the next run reads only its own.
func (s *Sink) Drain() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ch := range s.codes {
		for len(ch) > 0 {
			<-ch
		}
	}
}

func (s *Sink) box(rcpt string) chan string {
	s.mu.Lock()
	defer s.mu.Unlock()
	rcpt = strings.ToLower(rcpt)
	ch, ok := s.codes[rcpt]
	if !ok {
		ch = make(chan string, 16)
		s.codes[rcpt] = ch
	}
	return ch
}

// Code waits for the next code mailed to rcpt.
func (s *Sink) Code(ctx context.Context, rcpt string) (string, error) {
	select {
	case c := <-s.box(rcpt):
		return c, nil
	case <-ctx.Done():
		return "", fmt.Errorf("no code mail to %s reached the SMTP sink", rcpt)
	}
}

// NewSession implements smtp.Backend.
func (s *Sink) NewSession(*smtp.Conn) (smtp.Session, error) { return &sinkSession{sink: s}, nil }

type sinkSession struct {
	sink *Sink
	to   []string
}

func (ss *sinkSession) Mail(string, *smtp.MailOptions) error { return nil }
func (ss *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.to = append(ss.to, to)
	return nil
}
func (ss *sinkSession) Reset()        { ss.to = nil }
func (ss *sinkSession) Logout() error { return nil }

// codeIn finds the code as it stands in ward's text part: 6 to 8 digits
// alone on an indented line. (A scan: an expression over every mail's
// whole text was a tenth of the driver's CPU, which it takes from ward.)
func codeIn(raw []byte) string {
	for len(raw) > 0 {
		line := raw
		if i := bytes.IndexByte(raw, '\n'); i >= 0 {
			line, raw = raw[:i], raw[i+1:]
		} else {
			raw = nil
		}
		rest := bytes.TrimLeft(line, " \t")
		if len(rest) == len(line) {
			continue // not indented
		}
		n := 0
		for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
			n++
		}
		if n >= 6 && n <= 8 && len(bytes.TrimSpace(rest[n:])) == 0 {
			return string(rest[:n])
		}
	}
	return ""
}

var messageID = regexp.MustCompile(`(?mi)^Message-Id:\s*(<[^>\r\n]+>)`)

func (ss *sinkSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	head, _, _ := bytes.Cut(raw, []byte("\r\n\r\n"))
	for _, a := range ss.sink.Want {
		if !bytes.Contains(head, []byte("a="+a+";")) {
			ss.sink.refuse("the SMTP sink refused a mail not signed with " + a)
			return &smtp.SMTPError{Code: 550, Message: "mail is not signed with " + a}
		}
	}
	code := codeIn(raw)
	if code == "" {
		return nil // a notice, not a code: accepted and forgotten
	}
	if len(ss.to) == 0 {
		return errors.New("no recipient")
	}
	if id := messageID.FindSubmatch(head); id != nil {
		ss.sink.mu.Lock()
		ss.sink.ids[string(id[1])]++
		ss.sink.mu.Unlock()
	}
	for _, to := range ss.to {
		select {
		case ss.sink.box(to) <- code:
		default: // nobody is reading this box: keep the newest few only
		}
	}
	return nil
}

func (s *Sink) refuse(why string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refused[why]++
}

// TakeRefused returns the mails refused since it was last called, by
// why.
func (s *Sink) TakeRefused() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.refused
	s.refused = map[string]int{}
	return r
}
