package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Twilio sends SMS through Twilio's Messages API (POST
// /2010-04-01/Accounts/{AccountSid}/Messages.json, HTTP basic auth with the
// account SID and auth token, form-encoded To, From or
// MessagingServiceSid, and Body).
type Twilio struct {
	BaseURL             string // https://api.twilio.com unless testing
	AccountSID          string
	AuthToken           string
	From                string
	MessagingServiceSID string
	Client              *http.Client
}

type twilioReply struct {
	SID     string `json:"sid"`
	Status  string `json:"status"`
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// Send posts one SMS. Twilio's 4xx answers (bad number, unsubscribed
// recipient) are permanent except 429; 5xx and network errors are retried.
func (t *Twilio) Send(ctx context.Context, r Rendered) (string, error) {
	if r.Channel != SMS {
		return "", &PermanentError{Err: fmt.Errorf("the SMS gateway cannot send %s messages", r.Channel)}
	}
	form := url.Values{"To": {r.To}, "Body": {r.Text}}
	if t.MessagingServiceSID != "" {
		form.Set("MessagingServiceSid", t.MessagingServiceSID)
	} else {
		form.Set("From", t.From)
	}
	base := strings.TrimRight(t.BaseURL, "/")
	if base == "" {
		base = "https://api.twilio.com"
	}
	endpoint := base + "/2010-04-01/Accounts/" + url.PathEscape(t.AccountSID) + "/Messages.json"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return "", &PermanentError{Err: fmt.Errorf("SMS gateway settings: %w", err)}
	}
	req.SetBasicAuth(t.AccountSID, t.AuthToken)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	hc := t.Client
	if hc == nil {
		hc = &http.Client{Timeout: 15 * time.Second}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", fmt.Errorf("reaching the SMS gateway: %w", err)
	}
	defer resp.Body.Close()
	var rep twilioReply
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	json.Unmarshal(body, &rep)
	switch {
	case resp.StatusCode == http.StatusCreated || resp.StatusCode == http.StatusOK:
		return fmt.Sprintf("accepted by the SMS gateway as %s (%s)", rep.SID, rep.Status), nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return "", fmt.Errorf("SMS gateway answered %d: %s", resp.StatusCode, rep.Message)
	}
	return "", &PermanentError{Err: fmt.Errorf("SMS gateway refused the message (%d, code %d): %s", resp.StatusCode, rep.Code, rep.Message)}
}

// Channels sends each message through the sender for its channel.
type Channels map[string]Sender

// Send implements Sender.
func (c Channels) Send(ctx context.Context, r Rendered) (string, error) {
	s, ok := c[r.Channel]
	if !ok {
		return "", &PermanentError{Err: errors.New("no sender is configured for " + r.Channel + " messages")}
	}
	return s.Send(ctx, r)
}
