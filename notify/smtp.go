package notify

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"

	gomail "github.com/wneessen/go-mail"
)

// SMTP delivers mail through a relay.
type SMTP struct {
	host, username, password, tls string
	port                          int
}

// NewSMTP returns a sender for the relay at host:port. tls is starttls,
// implicit or none.
func NewSMTP(host string, port int, username, password, tls string) *SMTP {
	return &SMTP{host: host, port: port, username: username, password: password, tls: tls}
}

func (s *SMTP) client() (*gomail.Client, error) {
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
	m := gomail.NewMsg()
	if err := m.From(r.From); err != nil {
		return "", &PermanentError{Err: fmt.Errorf("sender address: %w", err)}
	}
	if err := m.To(r.To); err != nil {
		return "", &PermanentError{Err: fmt.Errorf("recipient address: %w", err)}
	}
	m.Subject(r.Subject)
	// A stable Message-ID makes a retried message recognisably the same one.
	m.SetMessageIDWithValue(r.ID + "@" + domainOf(r.From))
	m.SetDateWithValue(r.CreatedAt)
	m.SetBodyString(gomail.TypeTextPlain, r.Text)
	c, err := s.client()
	if err != nil {
		return "", &PermanentError{Err: fmt.Errorf("mail relay settings: %w", err)}
	}
	if err := c.DialAndSendWithContext(ctx, m); err != nil {
		var se *gomail.SendError
		if errors.As(err, &se) && se.ErrorCode() >= 500 && !se.IsTemp() {
			return "", &PermanentError{Err: err}
		}
		return "", err
	}
	return fmt.Sprintf("accepted by %s", s.host), nil
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
