// Package notify composes the mail and SMS ward sends and delivers them
// through a durable outbox: a message is queued in the same transaction as
// the code or event it announces, and a worker sends it afterwards.
package notify

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"fmt"
	htmltemplate "html/template"
	"strings"
	"text/template"
	"time"

	"github.com/wardhq/ward/catalog"
	"github.com/wardhq/ward/jobs"
	"github.com/wardhq/ward/keys"
	"github.com/wardhq/ward/store"
)

// Message kinds.
const (
	KindCode            = "code"
	KindPasswordChanged = "password_changed"
	// KindCodeDigest replaces the codes an address would get after too
	// many requests in a day: one mail saying what was asked and from where.
	KindCodeDigest = "code_digest"
	// KindPromptDigest tells, once a day, of approval requests from new
	// places that no longer ring the phone: how many, and from where.
	KindPromptDigest = "prompt_digest"
	// KindNewSignIn tells every contact about a sign-in from a new device
	// or country.
	KindNewSignIn = "new_sign_in"
	// KindSecurityChanged tells the other contacts that a contact was
	// added or removed.
	KindSecurityChanged = "security_changed"
)

// Channels.
const (
	Email = "email"
	SMS   = "sms"
)

//go:embed templates/*.txt templates/*.html
var templateFS embed.FS

// Request is a message to queue.
type Request struct {
	Kind      string
	Channel   string
	To        string
	Language  string
	AccountID string
	FlowID    string
	// Purpose of the code (otp.Purpose*), for code messages.
	Purpose string
	// Code and NotMineToken are secrets: sealed at rest, erased once sent.
	Code         string
	NotMineToken string
	// NotMeToken is the "this wasn't me" link of a code mail.
	NotMeToken string
	ExpiresAt  time.Time
	// Who asked: shown in the message so the reader can tell if it was them.
	RequestedAt time.Time
	IP          string
	Device      string
	// Place is the approximate place of IP, in the recipient's language.
	Place string
	// Count and Sources describe the requests a digest stands for.
	Count   int
	Sources []string
	// Change is what a security_changed notice tells of.
	Change *Change
	// ConfirmToken is the link that confirms a new contact for recovery.
	ConfirmToken string
}

// data is what a message keeps in the clear.
type data struct {
	Purpose     string    `json:"purpose,omitempty"`
	ExpiresAt   time.Time `json:"expires_at,omitzero"`
	RequestedAt time.Time `json:"requested_at"`
	IP          string    `json:"ip,omitempty"`
	Device      string    `json:"device,omitempty"`
	Place       string    `json:"place,omitempty"`
	Count       int       `json:"count,omitempty"`
	Sources     []string  `json:"sources,omitempty"`
	Change      *Change   `json:"change_of,omitempty"`
	// OldChange is how messages queued before Change existed wrote it:
	// "added|removed:kind:masked value".
	OldChange string `json:"change,omitempty"`
}

// Change is a change to an account's security info: a contact or a
// sign-in method added or removed, two-step verification turned on or
// off, recovery codes made or used.
type Change struct {
	// What is ChangeAdded, ChangeRemoved or ChangeUsed; for two-step
	// verification added is on and removed is off.
	What string `json:"what"`
	// Kind is what changed: a contact's kind (email, phone) or one of the
	// Change kinds below; Value is the contact's masked address or the
	// method's name.
	Kind  string `json:"kind"`
	Value string `json:"value"`
}

// What a Change did.
const (
	ChangeAdded   = "added"
	ChangeRemoved = "removed"
	ChangeUsed    = "used"
)

// Kinds of Change besides contacts.
const (
	ChangeTOTP          = "totp"
	ChangePasskey       = "passkey"
	ChangeTwoStep       = "two_step"
	ChangeRecoveryCodes = "recovery_codes"
	ChangePush          = "push"
)

// change reads the message's change, in either way it was written.
func (d data) change() *Change {
	if d.Change != nil {
		return d.Change
	}
	if what, rest, ok := strings.Cut(d.OldChange, ":"); ok {
		kind, value, _ := strings.Cut(rest, ":")
		return &Change{What: what, Kind: kind, Value: value}
	}
	return nil
}

// Secrets are what a message carries that is kept only sealed, and only
// until it is sent: the code and the tokens of its links.
type Secrets struct {
	Code    string `json:"code,omitempty"`
	NotMine string `json:"not_mine,omitempty"`
	NotMe   string `json:"not_me,omitempty"`
	Confirm string `json:"confirm,omitempty"`
}

// Rendered is a message ready to hand to a channel.
type Rendered struct {
	ID        string
	Channel   string
	To        string
	From      string
	Subject   string
	Text      string
	HTML      string // empty for SMS
	Code      string
	CreatedAt time.Time
}

// Composer queues and renders messages.
type Composer struct {
	Keys      *keys.Keys
	From      string
	PublicURL string
	// Brand is the service's name in every mail's header and footer, and
	// Accent its colour (#rrggbb) in HTML mail; empty: ward's.
	Brand, Accent string
	Now           func() time.Time
	// Jobs, when set, gets a delivery job for each message queued, and
	// the message as written (store.Message) to hand to its delivery.
	Jobs interface {
		Enqueue(ctx context.Context, tx jobs.Tx, messageID string, hint any) error
	}
	// Queued, when set, is told of each message queued for a flow once
	// its transaction commits (the dev mailbox's waiting readers).
	Queued func(flowID string)
	// DevChannels are the channels the dev mailbox takes. The mailbox is
	// the outbox itself, so a message to one is delivered by the commit
	// that writes it: it is written as sent, with no delivery task and no
	// second write (one of the four write transactions of a code sign-in
	// in dev mode).
	// Stored is told of it once committed, in place of Queued.
	DevChannels map[string]bool
	Stored      func(m store.Message)
	tmpl        *template.Template
	html        *htmltemplate.Template
}

// NewComposer parses the embedded templates.
func NewComposer(k *keys.Keys, from, publicURL string, now func() time.Time) (*Composer, error) {
	funcs := map[string]any{"when": func(lang string, t time.Time) string { return catalog.Time(lang, nil, t) }}
	t, err := template.New("").Funcs(funcs).ParseFS(templateFS, "templates/*.txt")
	if err != nil {
		return nil, fmt.Errorf("parsing message templates: %w", err)
	}
	h, err := htmltemplate.New("").Funcs(funcs).ParseFS(templateFS, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("parsing HTML message templates: %w", err)
	}
	return &Composer{Keys: k, From: from, PublicURL: strings.TrimRight(publicURL, "/"), Now: now, tmpl: t, html: h}, nil
}

// Queue stores r in the outbox inside the caller's transaction.
func (c *Composer) Queue(ctx context.Context, q store.Queries, r Request) (store.Message, error) {
	// The store keeps microseconds: the message handed to its delivery in
	// memory is the one it would read back.
	now := c.Now().UTC().Truncate(time.Microsecond)
	d, err := json.Marshal(data{Purpose: r.Purpose, ExpiresAt: r.ExpiresAt.UTC(), RequestedAt: r.RequestedAt.UTC(), IP: r.IP, Device: r.Device,
		Place: r.Place, Count: r.Count, Sources: r.Sources, Change: r.Change})
	if err != nil {
		return store.Message{}, fmt.Errorf("encoding message data: %w", err)
	}
	m := store.Message{ID: store.NewID(), Kind: r.Kind, Channel: r.Channel, Recipient: r.To, Language: r.Language, AccountID: r.AccountID,
		FlowID: r.FlowID, Data: d, Status: store.MessageQueued, CreatedAt: now, NextAt: now}
	m.Ref = Ref(m.ID)
	m.Digest = c.Keys.ContentDigest(m.ID, r.Code, r.NotMineToken, r.NotMeToken)
	if r.ConfirmToken != "" {
		m.Digest = c.Keys.ContentDigest(m.ID, r.Code, r.NotMineToken, r.NotMeToken, r.ConfirmToken)
	}
	if r.Code != "" || r.NotMineToken != "" || r.NotMeToken != "" || r.ConfirmToken != "" {
		s, _ := json.Marshal(Secrets{Code: r.Code, NotMine: r.NotMineToken, NotMe: r.NotMeToken, Confirm: r.ConfirmToken})
		m.Secret = c.Keys.Seal(s, []byte(m.ID))
	}
	if !r.ExpiresAt.IsZero() {
		e := r.ExpiresAt.UTC().Truncate(time.Microsecond)
		m.ExpiresAt = &e
	}
	dev := c.DevChannels[m.Channel]
	if dev {
		m.Status, m.Relay, m.SentAt = store.MessageSent, DevMailboxReply, &now
	}
	if err := q.EnqueueMessage(ctx, m); err != nil {
		return m, err
	}
	switch {
	case dev:
		if c.Stored != nil {
			q.AfterCommit(func() { c.Stored(m) })
		}
		return m, nil
	case c.Jobs != nil:
		if err := c.Jobs.Enqueue(ctx, q, m.ID, m); err != nil {
			return m, err
		}
	}
	if c.Queued != nil && m.FlowID != "" {
		q.AfterCommit(func() { c.Queued(m.FlowID) })
	}
	return m, nil
}

// Render turns a stored message into its text in the recipient's language.
func (c *Composer) Render(m store.Message) (Rendered, error) { return c.render(m, true) }

// RenderText is Render without the HTML part, which is most of a mail's
// rendering: what the dev mailbox shows and logs.
func (c *Composer) RenderText(m store.Message) (Rendered, error) { return c.render(m, false) }

func (c *Composer) render(m store.Message, html bool) (Rendered, error) {
	var s Secrets
	if len(m.Secret) > 0 {
		plain, err := c.Keys.Open(m.Secret, []byte(m.ID))
		if err != nil {
			return Rendered{}, fmt.Errorf("opening message %s: %w", m.ID, err)
		}
		if err := json.Unmarshal(plain, &s); err != nil {
			return Rendered{}, fmt.Errorf("reading message %s secret: %w", m.ID, err)
		}
	}
	return c.renderWith(m, s, html)
}

// RenderWith renders a message with the given secrets: after sending they
// are erased, and the mail check renders a message again with the secrets
// a pasted copy shows, once they are proven, to compare every word.
func (c *Composer) RenderWith(m store.Message, s Secrets) (Rendered, error) {
	return c.renderWith(m, s, true)
}

func (c *Composer) renderWith(m store.Message, s Secrets, html bool) (Rendered, error) {
	var d data
	if err := json.Unmarshal(m.Data, &d); err != nil {
		return Rendered{}, fmt.Errorf("reading message %s data: %w", m.ID, err)
	}
	lang := m.Language
	if lang != "ja" {
		lang = "en"
	}
	name := m.Kind + "." + m.Channel + "." + lang + ".txt"
	if c.tmpl.Lookup(name) == nil {
		return Rendered{}, fmt.Errorf("no template %s", name)
	}
	v := &view{Lang: lang, Code: s.Code, Purpose: d.Purpose, ExpiresAt: d.ExpiresAt, RequestedAt: d.RequestedAt,
		IP: d.IP, Device: d.Device, Host: hostOf(c.PublicURL), Ref: Ref(m.ID), Place: d.Place, Count: d.Count,
		Sources: d.Sources, SecureURL: c.PublicURL + "/account/secure",
		Brand: c.brand(), Accent: c.accent(), CheckURL: c.PublicURL + "/check-mail"}
	if s.NotMine != "" {
		v.NotMineURL = c.PublicURL + "/not-my-account/" + s.NotMine
	}
	if s.NotMe != "" {
		v.NotMeURL = c.PublicURL + "/not-me/" + s.NotMe
	}
	if s.Confirm != "" {
		v.ConfirmURL = c.PublicURL + "/confirm-contact/" + s.Confirm
	}
	if ch := d.change(); ch != nil {
		v.ChangeWhat, v.ChangeKind, v.ChangeValue = ch.What, ch.Kind, ch.Value
	}
	var buf bytes.Buffer
	if err := c.tmpl.ExecuteTemplate(&buf, name, v); err != nil {
		return Rendered{}, fmt.Errorf("rendering %s: %w", name, err)
	}
	subject, body, _ := strings.Cut(buf.String(), "\n")
	r := Rendered{ID: m.ID, Channel: m.Channel, To: m.Recipient, From: c.From, Subject: strings.TrimPrefix(subject, "Subject: "),
		Text: strings.TrimLeft(body, "\n"), Code: s.Code, CreatedAt: m.CreatedAt}
	htmlName := strings.TrimSuffix(name, ".txt") + ".html"
	if html && c.html.Lookup(htmlName) != nil {
		var hb bytes.Buffer
		if err := c.html.ExecuteTemplate(&hb, htmlName, v); err != nil {
			return Rendered{}, fmt.Errorf("rendering %s: %w", htmlName, err)
		}
		r.HTML = hb.String()
	}
	return r, nil
}

// view is what a message's templates see. A struct, not a map: the
// templates' every field is a reflect lookup, and a map's allocated a
// copy of each value it read (a third of a text render's allocations).
// An empty URL is a link the message does not carry.
type view struct {
	Lang, Code, Purpose                 string
	ExpiresAt, RequestedAt              time.Time
	IP, Device, Place, Host, Ref        string
	Count                               int
	Sources                             []string
	SecureURL, CheckURL, Brand, Accent  string
	NotMineURL, NotMeURL, ConfirmURL    string
	ChangeWhat, ChangeKind, ChangeValue string
}

func (c *Composer) brand() string {
	if c.Brand == "" {
		return "ward"
	}
	return c.Brand
}

func (c *Composer) accent() string {
	if c.Accent == "" {
		return "#0b57d0"
	}
	return c.Accent
}

// Ref is the short reference a message shows in its body: the random end
// of its id (the start is a timestamp).
func Ref(id string) string {
	if len(id) < 12 {
		return id
	}
	return id[len(id)-12:]
}

func hostOf(u string) string {
	u = strings.TrimPrefix(strings.TrimPrefix(u, "https://"), "http://")
	host, _, _ := strings.Cut(u, "/")
	return host
}

// Purpose is what a stored message was sent for: the code's purpose
// (otp.Purpose*) for code messages, else the message kind.
func Purpose(m store.Message) string {
	var d data
	if json.Unmarshal(m.Data, &d) == nil && d.Purpose != "" {
		return d.Purpose
	}
	return m.Kind
}

// Origin describes who asked for a message, for a digest: "203.0.113.5 ·
// Tokyo, Japan · Chrome on macOS".
func Origin(m store.Message) string {
	var d data
	if json.Unmarshal(m.Data, &d) != nil {
		return ""
	}
	return OriginOf(d.IP, d.Place, d.Device)
}

// OriginOf writes an origin from its parts, leaving out the unknown ones.
func OriginOf(ip, place, device string) string {
	var parts []string
	for _, p := range []string{ip, place, device} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, " · ")
}
