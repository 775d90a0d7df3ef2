package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/mail"
	"net/textproto"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
	"github.com/wneessen/go-mail/smtp"

	"github.com/wardhq/ward/dkim"
)

// SMTP delivers mail through a relay, DKIM-signed when it has keys. It
// keeps a few connections open between messages; each is used by one
// sender at a time. go-mail writes the message and opens connections
// (TLS, AUTH); the message's bytes, once written and signed, are what is
// sent: they are written once, and no RSET follows each message.
type SMTP struct {
	host, username, password, tls string
	port                          int
	dkim                          *dkim.Keys
	idle                          chan *smtp.Client
	// Signed, when set, is told how long each mail's signing took.
	Signed func(took time.Duration)
}

// NewSMTP returns a sender for the relay at host:port. tls is starttls,
// implicit or none. keys may be nil (no DKIM signature).
func NewSMTP(host string, port int, username, password, tls string, keys *dkim.Keys) *SMTP {
	return &SMTP{host: host, port: port, username: username, password: password, tls: tls, dkim: keys, idle: make(chan *smtp.Client, 32)}
}

func (s *SMTP) dialer() (*gomail.Client, error) {
	opts := []gomail.Option{gomail.WithPort(s.port)}
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
	m, err := s.prepare(r)
	if err != nil {
		return "", &PermanentError{Err: err}
	}
	if err := s.send(ctx, m); err != nil {
		if replyCode(err) >= 500 {
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
	m, err := (&SMTP{dkim: keys}).prepare(r)
	return m.raw, err
}

// prepared is one mail as it goes to the relay: its envelope, and its
// bytes with their DKIM signatures.
type prepared struct {
	from string
	to   []string
	raw  []byte
}

// prepare writes r as MIME and signs it with every DKIM key.
func (s *SMTP) prepare(r Rendered) (prepared, error) {
	m := gomail.NewMsg()
	if err := m.From(r.From); err != nil {
		return prepared{}, fmt.Errorf("sender address: %w", err)
	}
	if err := m.To(r.To); err != nil {
		return prepared{}, fmt.Errorf("recipient address: %w", err)
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
		// A fixed boundary writes the message the same way each time: the
		// dev mailbox's copy of it is the one that was sent.
		m.SetBoundary("ward-" + r.ID)
	}
	from, err := m.GetSender(false)
	if err != nil {
		return prepared{}, fmt.Errorf("sender address: %w", err)
	}
	to, err := m.GetRecipients()
	if err != nil {
		return prepared{}, fmt.Errorf("recipient address: %w", err)
	}
	var body bytes.Buffer
	if _, err := m.WriteTo(&body); err != nil {
		return prepared{}, fmt.Errorf("writing mail %s: %w", r.ID, err)
	}
	if s.dkim == nil {
		return prepared{from: from, to: to, raw: body.Bytes()}, nil
	}
	start := time.Now()
	sigs, err := s.dkim.Signatures(body.Bytes())
	if err != nil {
		return prepared{}, err
	}
	if s.Signed != nil {
		s.Signed(time.Since(start))
	}
	var raw bytes.Buffer
	for _, sig := range sigs {
		raw.WriteString("DKIM-Signature: " + sig + "\r\n")
	}
	raw.Write(body.Bytes())
	return prepared{from: from, to: to, raw: raw.Bytes()}, nil
}

// send uses an open connection when one is idle. A reused connection the
// relay has meanwhile closed fails without an SMTP reply, or with 421 (the
// relay closing it); only then is the message tried once more on a new
// connection (a reply such as 550 is the relay's answer to the message
// and stands). Once the relay has accepted the message (250 to its end),
// it is sent, whatever happens to the connection after: a relay that
// hung up then fails the next message's MAIL on that connection, which
// goes out on a new one.
func (s *SMTP) send(ctx context.Context, m prepared) error {
	select {
	case c := <-s.idle:
		err := s.sendOn(c, m)
		if code := replyCode(err); err == nil || code >= 400 && code != 421 {
			return err
		}
	default:
	}
	d, err := s.dialer()
	if err != nil {
		return &PermanentError{Err: fmt.Errorf("mail relay settings: %w", err)}
	}
	c, err := d.DialToSMTPClientWithContext(ctx)
	if err != nil {
		return fmt.Errorf("connecting to the mail relay: %w", err)
	}
	return s.sendOn(c, m)
}

// sendOn sends m on the connection c, keeping c for the next message if
// all went well and closing it otherwise: with a QUIT after a reply from
// the relay, at once after a broken exchange (a QUIT written into an
// unfinished message would be read as its text, and waited on).
func (s *SMTP) sendOn(c *smtp.Client, m prepared) error {
	err := transfer(c, m)
	switch {
	case err == nil:
		s.putIdle(c)
	case replyCode(err) > 0:
		quit(c)
	default:
		c.Close()
	}
	return err
}

// transfer is one SMTP transaction: the envelope, then the message. A
// relay that offers pipelining gets it in one round trip (with chunking)
// or two, instead of four: each is a wait for a relay that may be far.
func transfer(c *smtp.Client, m prepared) error {
	if err := c.UpdateDeadline(gomail.DefaultTimeout); err != nil {
		return fmt.Errorf("mail relay connection: %w", err)
	}
	// With several recipients, one refused among accepted ones would have
	// the message delivered to the rest and then sent again: each is
	// asked in turn instead. ward's mail has one.
	if ok, _ := c.Extension("PIPELINING"); ok && len(m.to) == 1 {
		return pipelined(c, m)
	}
	if err := c.Mail(m.from); err != nil {
		return fmt.Errorf("mail relay refused the sender: %w", err)
	}
	for _, to := range m.to {
		if err := c.Rcpt(to); err != nil {
			return fmt.Errorf("mail relay refused the recipient: %w", err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("mail relay refused the message: %w", err)
	}
	if _, err := w.Write(m.raw); err != nil {
		w.Close()
		return fmt.Errorf("sending the message to the mail relay: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("mail relay refused the message: %w", err)
	}
	return nil
}

// pipelined sends the envelope and the message without waiting for each
// reply (RFC 2920): MAIL, RCPT and, when the relay offers chunking (RFC
// 3030), BDAT with the whole message, then reads the three replies; else
// MAIL, RCPT and DATA, then the message once DATA is accepted. Every
// reply is read, so the connection stays in step whatever the relay
// answered, and the first refusal is the one reported (unless the
// connection ends before all are read).
func pipelined(c *smtp.Client, m prepared) error {
	if strings.ContainsAny(m.from+m.to[0], "\r\n") {
		return errors.New("an envelope address holds a line break")
	}
	chunking, _ := c.Extension("CHUNKING")
	mail := "MAIL FROM:" + m.from
	// As go-mail's own MAIL does.
	if ok, _ := c.Extension("8BITMIME"); ok {
		mail += " BODY=8BITMIME"
	}
	if ok, _ := c.Extension("SMTPUTF8"); ok {
		mail += " SMTPUTF8"
	}
	// One write: a message longer than the connection's buffer would
	// otherwise go out in two.
	flight := make([]byte, 0, len(mail)+len(m.to[0])+len(m.raw)+40)
	flight = append(flight, mail+"\r\nRCPT TO:"+m.to[0]+"\r\n"...)
	if chunking {
		flight = append(flight, "BDAT "+strconv.Itoa(len(m.raw))+" LAST\r\n"...)
		flight = append(flight, m.raw...)
	} else {
		flight = append(flight, "DATA\r\n"...)
	}
	w := c.Text.W
	if _, err := w.Write(flight); err != nil {
		return fmt.Errorf("sending the message to the mail relay: %w", err)
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("sending the message to the mail relay: %w", err)
	}
	// The first refusal is the answer, unless a later reply ends the
	// connection (see ends): then no more replies can be read.
	var first error
	reply := func(what string, code int) error {
		_, _, err := c.Text.ReadResponse(code)
		if err != nil && (first == nil || ends(err)) {
			first = fmt.Errorf("mail relay refused the %s: %w", what, err)
		}
		return err
	}
	if ends(reply("sender", 250)) || ends(reply("recipient", 25)) {
		return first
	}
	if chunking {
		reply("message", 250)
		return first
	}
	if reply("message", 354) != nil {
		return first // no message follows a refused DATA
	}
	// DATA was accepted. After a refused sender or recipient, the relay
	// must still be given a message: an empty one, which it cannot
	// deliver to anyone (RFC 2920, 3.1).
	dw := c.Text.DotWriter()
	if first == nil {
		if _, err := dw.Write(m.raw); err != nil {
			return fmt.Errorf("sending the message to the mail relay: %w", err)
		}
	}
	if err := dw.Close(); err != nil {
		return fmt.Errorf("sending the message to the mail relay: %w", err)
	}
	reply("message", 250)
	return first
}

// ends says whether err leaves the connection with no more replies to
// read: it broke (no reply at all), or the relay is closing it (421).
func ends(err error) bool {
	code := replyCode(err)
	return err != nil && (code == 0 || code == 421)
}

// replyCode is the relay's SMTP reply code in err (0: none, such as a
// broken connection).
func replyCode(err error) int {
	var te *textproto.Error
	if errors.As(err, &te) {
		return te.Code
	}
	return 0
}

func quit(c *smtp.Client) {
	if c.Quit() != nil {
		c.Close()
	}
}

func (s *SMTP) putIdle(c *smtp.Client) {
	select {
	case s.idle <- c:
	default:
		quit(c)
	}
}

// Close closes the idle connections.
func (s *SMTP) Close() {
	for {
		select {
		case c := <-s.idle:
			quit(c)
		default:
			return
		}
	}
}

// HeaderVerification carries the id of the message as ward recorded it.
const HeaderVerification = "X-Ward-Verification"

func domainOf(from string) string {
	if a, err := mail.ParseAddress(from); err == nil {
		from = a.Address
	}
	if at := strings.LastIndexByte(from, '@'); at >= 0 {
		return from[at+1:]
	}
	return "localhost"
}
