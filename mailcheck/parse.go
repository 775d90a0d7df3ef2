package mailcheck

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/transform"
)

// Limits that keep a hostile message from costing more than a normal one.
const (
	maxInput    = 10 << 20
	maxDepth    = 12
	maxParts    = 200
	maxLinks    = 500
	maxPartSize = 4 << 20
)

// Message is what the check reads from a mail: decoded headers, the text
// a reader sees, the links, and the attachments. Parsing is best effort and
// never fails: broken MIME yields whatever could be read.
type Message struct {
	// HasHeaders is false when only a body was given.
	HasHeaders bool
	Header     textproto.MIMEHeader
	Raw        []byte

	FromName    string
	FromAddress string
	ReplyTo     []string
	ReturnPath  string
	To          []string
	Subject     string

	Text      string // visible text of all parts, decoded to UTF-8
	text      strings.Builder
	textParts int
	// scratch holds one buffer per nesting level for reading parts: a
	// part is done with before its next sibling is read, and everything
	// kept from it is copied out (as strings). Dropped when Parse ends.
	scratch []*bytes.Buffer
	lower   *string // the scanned text in lower case, made once
	Links   []Link
	Forms   int
	// PasswordFields counts inputs for a password or card number.
	PasswordFields int
	Scripts        int
	DataURIs       int
	// PictureOnly: an HTML part shows pictures and almost no words, so
	// what it says cannot be read by a filter (or by this check).
	PictureOnly bool
	// Calendar: the mail carries a calendar invitation, whose text is read
	// with the body (callback phishing hides its number in one).
	Calendar    bool
	Attachments []Attachment
}

// Link is a hyperlink as the reader sees it.
type Link struct {
	Href string
	Text string // the anchor's visible text; empty for bare URLs in text
}

// Attachment is a named part.
type Attachment struct {
	Name        string
	ContentType string
	// Encrypted is a ZIP archive whose entries need a password: filters
	// cannot look inside, which is why phishing sends them.
	Encrypted bool
}

var headerLine = regexp.MustCompile(`^[!-9;-~]+:`)

// Parse reads a whole message (or a pasted body without headers).
func Parse(raw []byte) *Message {
	if len(raw) > maxInput {
		raw = raw[:maxInput]
	}
	if bytes.HasPrefix(raw, []byte("From ")) { // an mbox separator line, not a header
		if _, rest, ok := bytes.Cut(raw, []byte("\n")); ok {
			raw = rest
		}
	}
	m := &Message{Raw: raw, Header: textproto.MIMEHeader{}}
	first, _, _ := bytes.Cut(bytes.TrimLeft(raw, "\r\n"), []byte("\n"))
	if !headerLine.Match(bytes.TrimSpace(first)) || bytes.HasPrefix(bytes.TrimSpace(first), []byte("http")) {
		if looksQP(raw) {
			// The source of a body, pasted as it travelled: soft line
			// breaks would split its links and codes.
			raw = decodeTransfer("quoted-printable", raw)
		}
		m.addText("text/plain", "", raw)
		m.finish()
		return m
	}
	src := bytes.NewReader(raw)
	buf := bufio.NewReader(src)
	tp := textproto.NewReader(buf)
	h, err := tp.ReadMIMEHeader()
	if len(h) == 0 {
		m.addText("text/plain", "", raw)
		m.finish()
		return m
	}
	m.HasHeaders = true
	m.Header = capHeader(h)
	body := []byte{}
	if err == nil {
		body = raw[len(raw)-src.Len()-buf.Buffered():] // no copy of the body
	}
	m.readHeaders()
	m.walk(h, body, 0)
	m.finish()
	return m
}

// Mail servers refuse lines over 998 characters and rarely pass headers
// of more than a few kilobytes; nothing ward reads in a header needs more.
const (
	maxHeaderValue  = 4096
	maxHeaderValues = 50
)

// capHeader bounds what the check reads of each header, so a huge field
// (a From: of megabytes of encoded words) costs no more than a real one.
func capHeader(h textproto.MIMEHeader) textproto.MIMEHeader {
	for k, vs := range h {
		if len(vs) > maxHeaderValues {
			vs = vs[:maxHeaderValues]
		}
		for i, v := range vs {
			if len(v) > maxHeaderValue {
				vs[i] = strings.ToValidUTF8(v[:maxHeaderValue], "")
			}
		}
		h[k] = vs
	}
	return h
}

var qpEscape = regexp.MustCompile(`=(?:[0-9A-F]{2}|\r?\n)`)

// looksQP reports a text still in quoted-printable form: soft line breaks
// or escapes such as =3D, more than a stray one.
func looksQP(b []byte) bool {
	return bytes.Contains(b, []byte("=\n")) || bytes.Contains(b, []byte("=\r\n")) || len(qpEscape.FindAllIndex(b, 3)) >= 3
}

var wordDecoder = &mime.WordDecoder{CharsetReader: charsetReader}

var encodedWord = regexp.MustCompile(`=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=`)

func decodeHeader(v string) string {
	if d, err := wordDecoder.DecodeHeader(v); err == nil {
		v = d
	}
	// Over-padded base64 and similar slips, which DecodeHeader leaves as
	// they are (and phishing writes to slip past filters): decode word by
	// word, leniently, as mail apps show them.
	if strings.Contains(v, "=?") {
		v = encodedWord.ReplaceAllStringFunc(v, func(w string) string {
			p := encodedWord.FindStringSubmatch(w)
			var raw []byte
			if strings.EqualFold(p[2], "b") {
				raw = decodeTransfer("base64", []byte(p[3]))
			} else {
				raw = decodeTransfer("quoted-printable", []byte(strings.ReplaceAll(p[3], "_", " ")))
			}
			return toUTF8(strings.ToLower(p[1]), raw)
		})
	}
	return strings.Join(strings.Fields(strings.ToValidUTF8(v, "\uFFFD")), " ")
}

var angleAddr = regexp.MustCompile(`<([^<>\s]+@[^<>\s]+)>`)
var bareAddr = regexp.MustCompile(`[^\s<>"',;:()]+@[^\s<>"',;:()]+`)

// address reads one address leniently: real mail has unquoted commas,
// raw UTF-8 and missing brackets that net/mail refuses.
func address(v string) (name, addr string) {
	dec := decodeHeader(v)
	if a, err := (&mail.AddressParser{WordDecoder: wordDecoder}).Parse(v); err == nil {
		// Encoded words inside a quoted name are not decoded by the parser,
		// but mail apps show them decoded.
		return decodeHeader(strings.TrimSpace(a.Name)), strings.ToLower(a.Address)
	}
	if loc := angleAddr.FindStringSubmatchIndex(dec); loc != nil {
		name = strings.Trim(strings.TrimSpace(dec[:loc[0]]), `"' `)
		return name, strings.ToLower(dec[loc[2]:loc[3]])
	}
	if a := bareAddr.FindString(dec); a != "" {
		return strings.TrimSpace(strings.Replace(dec, a, "", 1)), strings.ToLower(a)
	}
	return dec, ""
}

func (m *Message) readHeaders() {
	m.FromName, m.FromAddress = address(m.Header.Get("From"))
	m.Subject = decodeHeader(m.Header.Get("Subject"))
	for _, v := range m.Header.Values("Reply-To") {
		for _, part := range splitAddresses(v) {
			if _, a := address(part); a != "" {
				m.ReplyTo = append(m.ReplyTo, a)
			}
		}
	}
	if _, a := address(m.Header.Get("Return-Path")); a != "" {
		m.ReturnPath = a
	}
	for _, v := range m.Header.Values("To") {
		for _, part := range splitAddresses(v) {
			if _, a := address(part); a != "" {
				m.To = append(m.To, a)
			}
		}
	}
}

func splitAddresses(v string) []string {
	if list, err := (&mail.AddressParser{WordDecoder: wordDecoder}).ParseList(v); err == nil {
		out := make([]string, len(list))
		for i, a := range list {
			out[i] = a.String()
		}
		return out
	}
	return strings.Split(v, ",")
}

func (m *Message) walk(h textproto.MIMEHeader, body []byte, depth int) {
	if depth > maxDepth || m.parts() >= maxParts {
		return
	}
	ct := h.Get("Content-Type")
	media, params, err := mime.ParseMediaType(ct)
	if err != nil {
		media, params = lenientMediaType(ct)
	}
	if media == "" {
		media = "text/plain"
	}
	name := attachmentName(h, params)
	disp, _, _ := mime.ParseMediaType(h.Get("Content-Disposition"))
	if strings.HasPrefix(media, "text/") || strings.HasPrefix(media, "multipart/") || strings.HasPrefix(media, "message/") || media == "application/xhtml+xml" {
		// Only what is read gets decoded: images and archives are judged
		// by their names.
		body = decodeTransfer(h.Get("Content-Transfer-Encoding"), body)
	}
	switch {
	case strings.HasPrefix(media, "multipart/"):
		b := params["boundary"]
		if b == "" {
			m.addText("text/plain", "", body)
			return
		}
		r := multipart.NewReader(bytes.NewReader(body), b)
		for m.parts() < maxParts {
			p, err := r.NextRawPart()
			if err != nil {
				break
			}
			buf := m.buffer(depth)
			buf.ReadFrom(io.LimitReader(p, maxPartSize))
			m.walk(p.Header, buf.Bytes(), depth+1)
		}
	case media == "message/rfc822" || media == "message/global":
		inner := Parse(body)
		m.addPlain("\n" + inner.Subject + "\n" + inner.Text)
		m.Links = append(m.Links, inner.Links...)
		m.Forms += inner.Forms
		m.PasswordFields += inner.PasswordFields
		m.Scripts += inner.Scripts
		m.DataURIs += inner.DataURIs
		m.PictureOnly = m.PictureOnly || inner.PictureOnly
		m.Attachments = append(m.Attachments, inner.Attachments...)
	case name != "" || disp == "attachment":
		a := Attachment{Name: decodeHeader(name), ContentType: media}
		if ext := extension(a.Name); ext == ".zip" || media == "application/zip" || media == "application/x-zip-compressed" {
			a.Encrypted = encryptedZip(h.Get("Content-Transfer-Encoding"), body)
		}
		m.Attachments = append(m.Attachments, a)
		if media == "text/calendar" {
			m.Calendar = true
		}
		if media == "text/html" || media == "text/plain" || media == "text/calendar" {
			// An attached page is read too: phishing often hides its form there.
			m.addText(media, params["charset"], body)
		}
	case strings.HasPrefix(media, "text/") || media == "application/xhtml+xml":
		m.addText(media, params["charset"], body)
	}
}

// encryptedZip reports whether a ZIP attachment's first entry is
// encrypted (bit 0 of its general purpose flags); only its first bytes
// are decoded.
func encryptedZip(enc string, body []byte) bool {
	head := body[:min(len(body), 96)]
	raw := decodeTransfer(enc, head)
	return len(raw) >= 8 && string(raw[:4]) == "PK\x03\x04" && raw[6]&1 == 1
}

// buffer is the nesting level's scratch buffer, emptied.
func (m *Message) buffer(depth int) *bytes.Buffer {
	for len(m.scratch) <= depth {
		m.scratch = append(m.scratch, new(bytes.Buffer))
	}
	b := m.scratch[depth]
	b.Reset()
	return b
}

func (m *Message) parts() int { return len(m.Attachments) + m.textParts }

func (m *Message) addPlain(s string) {
	m.textParts++
	m.text.WriteString("\n")
	m.text.WriteString(s)
}

func lenientMediaType(ct string) (string, map[string]string) {
	media, rest, _ := strings.Cut(ct, ";")
	params := map[string]string{}
	for _, p := range strings.Split(rest, ";") {
		k, v, ok := strings.Cut(p, "=")
		if ok {
			params[strings.ToLower(strings.TrimSpace(k))] = strings.Trim(strings.TrimSpace(v), `"'`)
		}
	}
	return strings.ToLower(strings.TrimSpace(media)), params
}

func attachmentName(h textproto.MIMEHeader, ctParams map[string]string) string {
	if _, p, err := mime.ParseMediaType(h.Get("Content-Disposition")); err == nil && p["filename"] != "" {
		return p["filename"]
	}
	if _, p := lenientMediaType(h.Get("Content-Disposition")); p["filename"] != "" {
		return p["filename"]
	}
	return ctParams["name"]
}

func decodeTransfer(enc string, body []byte) []byte {
	switch strings.ToLower(strings.TrimSpace(enc)) {
	case "base64":
		clean := make([]byte, 0, len(body))
		for _, c := range body {
			if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' {
				clean = append(clean, c)
			}
		}
		if len(clean)%4 == 1 { // a dangling character cannot decode to a byte
			clean = clean[:len(clean)-1]
		}
		out := make([]byte, base64.RawStdEncoding.DecodedLen(len(clean)))
		n, _ := base64.RawStdEncoding.Decode(out, clean)
		return out[:n]
	case "quoted-printable":
		// Decoded text is never longer than its encoding: one buffer of
		// that size, not ReadAll's doubling.
		var buf bytes.Buffer
		buf.Grow(len(body) + bytes.MinRead) // ReadFrom wants MinRead free to not grow
		_, err := buf.ReadFrom(quotedprintable.NewReader(bytes.NewReader(body)))
		out := buf.Bytes()
		if err != nil && len(out) == 0 {
			return body
		}
		return out
	}
	return body
}

func charsetReader(charset string, r io.Reader) (io.Reader, error) {
	e, err := htmlindex.Get(charset)
	if err != nil {
		return nil, err
	}
	return transform.NewReader(r, e.NewDecoder()), nil
}

// toUTF8 decodes body from its declared charset, recognising undeclared
// ISO-2022-JP by its escape sequences; anything else invalid is replaced.
func toUTF8(charset string, body []byte) string {
	if charset == "" && bytes.Contains(body, []byte("\x1b$B")) {
		charset = "iso-2022-jp"
	}
	if charset != "" && !strings.EqualFold(charset, "utf-8") && !strings.EqualFold(charset, "us-ascii") {
		if e, err := htmlindex.Get(charset); err == nil {
			if out, _, err := transform.Bytes(e.NewDecoder(), body); err == nil {
				return string(out)
			}
		}
	}
	if !utf8.Valid(body) && charset == "" {
		if out, _, err := transform.Bytes(japanese.ShiftJIS.NewDecoder(), body); err == nil && utf8.Valid(out) && hasKana(out[:min(len(out), 4096)]) {
			return string(out)
		}
	}
	return strings.ToValidUTF8(string(body), "\uFFFD")
}

// urlsIn finds the web addresses written out in plain text.
func urlsIn(s string) []string {
	lower := strings.ToLower(s)
	var out []string
	for i := 0; i < len(lower) && len(out) < maxLinks; {
		j := strings.IndexAny(lower[i:], "hw")
		if j < 0 {
			break
		}
		j += i
		rest := lower[j:]
		if !(strings.HasPrefix(rest, "http://") || strings.HasPrefix(rest, "https://") || strings.HasPrefix(rest, "www.")) ||
			j > 0 && isWordByte(lower[j-1]) {
			i = j + 1
			continue
		}
		end := strings.IndexAny(rest, " \t\r\n<>\"'()[]{}")
		if end < 0 {
			end = len(rest)
		}
		out = append(out, strings.TrimRight(s[j:j+end], ".,;:!?"))
		i = j + end
	}
	return out
}

func (m *Message) addText(media, charset string, body []byte) {
	if len(body) > maxPartSize {
		body = body[:maxPartSize]
	}
	s := toUTF8(charset, body)
	if media == "text/html" || media == "application/xhtml+xml" || looksHTML(s) {
		m.readHTML(s)
		return
	}
	m.addPlain(s)
	for _, u := range urlsIn(s) {
		if len(m.Links) >= maxLinks {
			break
		}
		m.Links = append(m.Links, Link{Href: u})
	}
}

func looksHTML(s string) bool {
	head := strings.ToLower(s[:min(len(s), 2000)])
	return strings.Contains(head, "<html") || strings.Contains(head, "<body") || strings.Contains(head, "<!doctype html")
}

// knownTag names the tags readHTML acts on, without allocating for the
// thousands of others a newsletter holds ("" for those).
func knownTag(name []byte) string {
	switch string(name) {
	case "a":
		return "a"
	case "area":
		return "area"
	case "br":
		return "br"
	case "p":
		return "p"
	case "div":
		return "div"
	case "tr":
		return "tr"
	case "td":
		return "td"
	case "li":
		return "li"
	case "h1":
		return "h1"
	case "h2":
		return "h2"
	case "h3":
		return "h3"
	case "script":
		return "script"
	case "style":
		return "style"
	case "title":
		return "title"
	case "head":
		return "head"
	case "form":
		return "form"
	case "input":
		return "input"
	case "img":
		return "img"
	case "iframe":
		return "iframe"
	case "embed":
		return "embed"
	case "object":
		return "object"
	}
	return ""
}

// readHTML collects what a reader of the page sees and what it links to.
func (m *Message) readHTML(s string) {
	z := html.NewTokenizer(strings.NewReader(s))
	var text strings.Builder
	var anchor *Link
	var anchorText strings.Builder
	skip, images, inHead := 0, 0, false
	endHead := func() { inHead, skip = false, max(0, skip-1) }
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			break
		}
		switch tt {
		case html.TextToken:
			if inHead && skip == 1 && len(bytes.TrimSpace(z.Raw())) > 0 {
				endHead() // words outside the head's title begin the body
			}
			if skip == 0 {
				t := z.Text()
				text.Write(t)
				if anchor != nil {
					anchorText.Write(t)
				}
			}
		case html.StartTagToken, html.SelfClosingTagToken, html.EndTagToken:
			name, hasAttr := z.TagName()
			tag := knownTag(name)
			if inHead && (tag == "head" && tt == html.EndTagToken || tt != html.EndTagToken && !headContent(name)) {
				// A head ends at its end tag or, as a browser reads it,
				// at the first thing that belongs to the body: a mail
				// that never closes its head still shows its text.
				endHead()
			}
			if tt == html.EndTagToken {
				switch tag {
				case "script", "style", "title":
					skip = max(0, skip-1)
				case "a":
					if anchor != nil {
						anchor.Text = strings.Join(strings.Fields(anchorText.String()), " ")
						if len(m.Links) < maxLinks {
							m.Links = append(m.Links, *anchor)
						}
						anchor = nil
					}
				case "p", "div", "tr", "li", "td", "h1", "h2", "h3":
					text.WriteString("\n")
				}
				continue
			}
			var attrs map[string]string
			switch tag {
			case "a", "area", "iframe", "embed", "object", "input", "form":
				attrs = map[string]string{}
			default:
				hasAttr = false // nothing to learn from other tags' attributes
			}
			for hasAttr {
				var k, v []byte
				k, v, hasAttr = z.TagAttr()
				attrs[string(k)] = string(v)
			}
			switch tag {
			case "script":
				m.Scripts++
				if tt == html.StartTagToken {
					skip++
				}
			case "style", "title":
				if tt == html.StartTagToken {
					skip++
				}
			case "head":
				if tt == html.StartTagToken && !inHead {
					inHead = true
					skip++
				}
			case "img":
				images++
			case "form":
				m.Forms++
			case "input":
				t, n := strings.ToLower(attrs["type"]), strings.ToLower(attrs["name"]+" "+attrs["id"]+" "+attrs["placeholder"])
				if t == "password" || strings.Contains(n, "pass") || strings.Contains(n, "card") || strings.Contains(n, "cvv") {
					m.PasswordFields++
				}
			case "br":
				text.WriteString("\n")
			case "a", "area":
				if href := strings.TrimSpace(attrs["href"]); href != "" {
					if isDataURI(href) {
						m.DataURIs++
					}
					if tag == "a" && tt == html.StartTagToken {
						anchor = &Link{Href: href}
						anchorText.Reset()
					} else if len(m.Links) < maxLinks {
						m.Links = append(m.Links, Link{Href: href})
					}
				}
			case "iframe", "embed", "object":
				if src := attrs["src"] + attrs["data"]; isDataURI(src) {
					m.DataURIs++
				}
			}
			if strings.HasPrefix(strings.ToLower(strings.TrimSpace(attrs["action"])), "data:") {
				m.DataURIs++
			}
		}
	}
	if anchor != nil && len(m.Links) < maxLinks {
		anchor.Text = strings.Join(strings.Fields(anchorText.String()), " ")
		m.Links = append(m.Links, *anchor)
	}
	t := text.String()
	if images > 0 && fewWords(t, pictureOnlyWords) {
		m.PictureOnly = true
	}
	m.addPlain(t) // the tokenizer has already decoded entities
}

// headContent reports the elements a document's head holds; any other
// element begins its body.
func headContent(name []byte) bool {
	switch string(name) {
	case "head", "title", "style", "script", "meta", "link", "base", "noscript", "template":
		return true
	}
	return false
}

// pictureOnlyWords: an HTML part with fewer words than this and a
// picture says what it says in the picture. A newsletter's footer alone
// (address, why you get it, how to stop) is more.
const pictureOnlyWords = 25

// fewWords reports whether s has fewer than n words.
func fewWords(s string, n int) bool {
	words, in := 0, false
	for _, r := range s {
		letter := unicode.IsLetter(r) || unicode.IsDigit(r)
		if letter && !in {
			if words++; words >= n {
				return false
			}
		}
		in = letter
	}
	return true
}

// isDataURI reports a data: URI that is a document or script rather than
// an inline image, which newsletters use harmlessly.
func isDataURI(s string) bool {
	s = strings.ToLower(strings.TrimSpace(s))
	return strings.HasPrefix(s, "data:") && !strings.HasPrefix(s, "data:image/")
}

func (m *Message) finish() {
	m.Text = m.text.String()
	m.text.Reset()
	m.scratch = nil
}

// hasKana tells Japanese text from bytes that merely decode as Shift_JIS.
func hasKana(b []byte) bool {
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r >= 0x3041 && r <= 0x30FF {
			return true
		}
		b = b[n:]
	}
	return false
}
