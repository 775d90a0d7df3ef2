// Package testsmtp runs a real SMTP server (emersion/go-smtp) for tests,
// whose answers to DATA a test can script, and keeps what it accepted.
package testsmtp

import (
	"bytes"
	"io"
	"net"
	"strconv"
	"sync"
	"testing"

	"github.com/emersion/go-smtp"
)

// Relay is a running SMTP server on 127.0.0.1.
type Relay struct {
	Host string
	Port int
	mu   sync.Mutex
	// answers are returned to DATA in turn; nil accepts.
	answers []error
	// rcpts are returned to RCPT in turn; nil accepts.
	rcpts []error
	raw   [][]byte
	srv   *smtp.Server
	// hold, when set, makes DATA wait until it is closed; held reports
	// (once per message) that a DATA is waiting.
	hold chan struct{}
	held chan struct{}
	// accept: a held DATA is accepted once released (a slow relay), not
	// refused (a delivery cut off).
	accept bool
	// hangUp: close the connection once the next message is accepted.
	hangUp bool
}

// HangUpAfterData makes the relay close the connection right after it
// has accepted the next message (its 250 to the message goes out first):
// the message is in, and the sender's next command on that connection
// (RSET) fails.
func (r *Relay) HangUpAfterData() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.hangUp = true
}

// AnswerRecipients has the relay answer the next RCPT commands with
// answers in turn (nil accepts).
func (r *Relay) AnswerRecipients(answers ...error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rcpts = answers
}

// Hold makes every DATA wait, mid-delivery, until Release. The returned
// channel receives once for each DATA that starts waiting.
func (r *Relay) Hold() <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.hold, r.held, r.accept = make(chan struct{}), make(chan struct{}, 16), false
	return r.held
}

// Slow makes every DATA wait until Release and then accepts it: a
// delivery that is still in progress when something else happens.
func (r *Relay) Slow() <-chan struct{} {
	held := r.Hold()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.accept = true
	return held
}

// Release lets held deliveries go on.
func (r *Relay) Release() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.hold != nil {
		close(r.hold)
		r.hold = nil
	}
}

// Start runs a relay until the test ends.
func Start(t testing.TB, answers ...error) *Relay {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &Relay{answers: answers}
	r.serve(ln)
	t.Cleanup(r.Stop)
	return r
}

// Down reserves an address with nothing listening: a relay that is down.
// Up starts it there.
func Down(t testing.TB) *Relay {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &Relay{}
	r.Host, r.Port = "127.0.0.1", ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	t.Cleanup(r.Stop)
	return r
}

// Up starts a relay made by Down; it reports false if the port was taken.
func (r *Relay) Up() bool {
	ln, err := net.Listen("tcp", net.JoinHostPort(r.Host, strconv.Itoa(r.Port)))
	if err != nil {
		return false
	}
	r.serve(ln)
	return true
}

func (r *Relay) serve(ln net.Listener) {
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) { return &session{r: r, c: c}, nil }))
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	r.mu.Lock()
	r.srv = srv
	r.mu.Unlock()
	r.Host, r.Port = "127.0.0.1", ln.Addr().(*net.TCPAddr).Port
	go srv.Serve(ln)
}

// Stop shuts the relay down.
func (r *Relay) Stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.srv != nil {
		r.srv.Close()
		r.srv = nil
	}
}

// Received returns the raw messages accepted so far.
func (r *Relay) Received() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]byte(nil), r.raw...)
}

type session struct {
	r *Relay
	c *smtp.Conn
	// hangUp: the message just accepted ends the connection. go-smtp
	// resets the session after answering DATA, so Reset closes it then.
	hangUp bool
}

func (s *session) Reset() {
	if s.hangUp {
		s.c.Conn().Close() // the socket: Conn.Close would wait for the reset in progress
	}
}
func (s *session) Logout() error                        { return nil }
func (s *session) Mail(string, *smtp.MailOptions) error { return nil }
func (s *session) Rcpt(string, *smtp.RcptOptions) error {
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	if len(s.r.rcpts) == 0 {
		return nil
	}
	a := s.r.rcpts[0]
	s.r.rcpts = s.r.rcpts[1:]
	return a
}

func (s *session) Data(rd io.Reader) error {
	b, err := io.ReadAll(rd)
	if err != nil {
		return err
	}
	s.r.mu.Lock()
	hold, held, accept := s.r.hold, s.r.held, s.r.accept
	s.r.mu.Unlock()
	if hold != nil {
		held <- struct{}{}
		<-hold
		if !accept {
			return &smtp.SMTPError{Code: 451, Message: "held by the test"}
		}
	}
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	if len(s.r.answers) > 0 {
		a := s.r.answers[0]
		s.r.answers = s.r.answers[1:]
		if a != nil {
			return a
		}
	}
	s.r.raw = append(s.r.raw, bytes.Clone(b))
	s.hangUp, s.r.hangUp = s.r.hangUp, false
	return nil
}
