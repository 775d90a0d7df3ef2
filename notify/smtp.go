package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/wardhq/ward/dkim"
)

// SMTP delivers mail through a relay, DKIM-signed when it has keys. It
// keeps a few connections open between messages; each is used by one
// sender at a time.
type SMTP struct {
	host, username, password, tls string
	port                          int
	dkim                          *dkim.Keys
	idle                          chan *gomail.Client
	// Signed, when set, is told how long each mail's signing took.
	Signed func(took time.Duration)
}

// NewSMTP returns a sender for the relay at host:port. tls is starttls,
// implicit or none. keys may be nil (no DKIM signature).
func NewSMTP(host string, port int, username, password, tls string, keys *dkim.Keys) *SMTP {
	return &SMTP{host: host, port: port, username: username, password: password, tls: tls, dkim: keys, idle: make(chan *gomail.Client, 32)}
}

func (s *SMTP) client() (*gomail.Client, error) {
	// No NOOP before each message to ask whether a kept connection still
	// lives: a dead one fails at MAIL, and send tries a new one then. (It
	// was one more round trip for every message.)
	opts := []gomail.Option{gomail.WithPort(s.port), gomail.WithoutNoop()}
	switch s.tls {
	case "implicit":
		opts = append(opts, gomail.WithSSL())
	case "none":
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	}
	if s.username != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthPlain), gomail.WithUsername(s.username), gomail.WithPassword(s.password))
	}
	return gomail.NewClient(s.host, opts...)
}

// Send hands one message to the relay. A 5xx answer is permanent; a 4xx
// or a connection failure is worth retrying.
func (s *SMTP) Send(ctx context.Context, r Rendered) (string, error) {
	if r.Channel != Email {
		return "", &PermanentError{Err: fmt.Errorf("no SMS gateway is configured for %s messages", r.Channel)}
	}
	m, err := s.message(r)
	if err != nil {
		return "", &PermanentError{Err: err}
	}
	if err := s.send(ctx, m); err != nil {
		var se *gomail.SendError
		if errors.As(err, &se) && se.ErrorCode() >= 500 && !se.IsTemp() {
			return "", &PermanentError{Err: err}
		}
		return "", err
	}
	return fmt.Sprintf("accepted by %s", s.host), nil
}

// RawMessage is r as ward's relay sends it, DKIM signatures included:
// what a recipient's mail app shows as the message source. The dev
// mailbox offers it, so ward's own mail can be tried in the mail check.
func RawMessage(r Rendered, keys *dkim.Keys) ([]byte, error) {
	m, err := (&SMTP{dkim: keys}).message(r)
	if err != nil {
		return nil, err
	}
	var raw bytes.Buffer
	if _, err := m.WriteTo(&raw); err != nil {
		return nil, fmt.Errorf("writing mail %s: %w", r.ID, err)
	}
	return raw.Bytes(), nil
}

// message builds r as MIME, signed with every DKIM key.
func (s *SMTP) message(r Rendered) (*gomail.Msg, error) {
	m := gomail.NewMsg()
	if err := m.From(r.From); err != nil {
		return nil, fmt.Errorf("sender address: %w", err)
	}
	if err := m.To(r.To); err != nil {
		return nil, fmt.Errorf("recipient address: %w", err)
	}
	m.Subject(r.Subject)
	// A stable Message-ID makes a retried message recognisably the same one.
	m.SetMessageIDWithValue(r.ID + "@" + domainOf(r.From))
	m.SetDateWithValue(r.CreatedAt)
	// The verification header names the message ward recorded, so a
	// reader (and the genuineness check) can ask whether ward sent it.
	m.SetGenHeader(HeaderVerification, r.ID)
	m.SetBodyString(gomail.TypeTextPlain, r.Text)
	if r.HTML != "" {
		m.AddAlternativeString(gomail.TypeTextHTML, r.HTML)
		// A fixed boundary renders the message the same way each time,
		// which the DKIM signature depends on.
		m.SetBoundary("ward-" + r.ID)
	}
	if s.dkim != nil {
		if err := s.sign(m); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// send uses an open connection when one is idle. A reused connection the
// relay has meanwhile closed fails without an SMTP reply, or with 421 (the
// relay closing it); only then is the message tried once more on a new
// connection (a reply such as 550 is the relay's answer to the message
// and stands). Once the relay has accepted the message (250 to its end),
// it is sent, whatever happens to the connection after: go-mail then
// resets the connection, and a relay that hung up fails that RSET, which
// must not send the message again.
func (s *SMTP) send(ctx context.Context, m *gomail.Msg) error {
	select {
	case c := <-s.idle:
		err := s.sendOn(c, m)
		var se *gomail.SendError
		if err == nil || errors.As(err, &se) && se.ErrorCode() >= 400 && se.ErrorCode() != 421 {
			return err
		}
	default:
	}
	c, err := s.client()
	if err != nil {
		return &PermanentError{Err: fmt.Errorf("mail relay settings: %w", err)}
	}
	if err := c.DialWithContext(ctx); err != nil {
		return err
	}
	return s.sendOn(c, m)
}

// sendOn sends m on the connection c, keeping c for the next message if
// all went well and closing it otherwise.
func (s *SMTP) sendOn(c *gomail.Client, m *gomail.Msg) error {
	err := c.Send(m)
	if err == nil {
		s.putIdle(c)
		return nil
	}
	c.Close()
	if m.IsDelivered() {
		return nil
	}
	return err
}

func (s *SMTP) putIdle(c *gomail.Client) {
	select {
	case s.idle <- c:
	default:
		c.Close()
	}
}

// Close closes the idle connections.
func (s *SMTP) Close() {
	for {
		select {
		case c := <-s.idle:
			c.Close()
		default:
			return
		}
	}
}

// HeaderVerification carries the id of the message as ward recorded it.
const HeaderVerification = "X-Ward-Verification"

// sign adds a DKIM-Signature per key. go-mail writes the message the same
// way twice (fixed Date and Message-ID, one text part), so the signature
// made over the first rendering holds for the one sent.
func (s *SMTP) sign(m *gomail.Msg) error {
	var raw bytes.Buffer
	if _, err := m.WriteTo(&raw); err != nil {
		return fmt.Errorf("rendering mail for DKIM: %w", err)
	}
	start := time.Now()
	sigs, err := s.dkim.Signatures(raw.Bytes())
	if err != nil {
		return err
	}
	if s.Signed != nil {
		s.Signed(time.Since(start))
	}
	// go-mail keeps one value per header name; a folded value that starts
	// a second DKIM-Signature line writes both.
	m.SetGenHeaderPreformatted("DKIM-Signature", strings.Join(sigs, "\r\nDKIM-Signature: "))
	return nil
}

func domainOf(from string) string {
	if a, err := mail.ParseAddress(from); err == nil {
		from = a.Address
	}
	if at := strings.LastIndexByte(from, '@'); at >= 0 {
		return from[at+1:]
	}
	return "localhost"
}
