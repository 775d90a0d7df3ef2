package testsmtp

import (
	"bytes"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Rounds is a proxy in front of a Relay that counts, for each mail
// transaction, how many times the sender had to wait for the relay's
// answer (its round trips). It holds the relay's replies back while the
// sender is sending, and lets them through only once what the sender
// sent must be answered before it may go on: a command, or with
// pipelining a DATA, the message's end, or a last BDAT chunk. A sender
// that waits for a reply the proxy holds back stalls; after stallAfter
// the proxy lets the replies through and counts a stall, so a test fails
// rather than hangs. It can hide keywords of the relay's EHLO answer (as
// PIPELINING or CHUNKING), to play a relay without them.
type Rounds struct {
	Host string
	Port int

	relay string
	hide  []string
	ln    net.Listener
	wg    sync.WaitGroup

	mu     sync.Mutex
	trips  []int // per transaction, in order
	stalls int
	conns  []net.Conn
}

const stallAfter = 2 * time.Second

// Rounds starts a counting proxy in front of r, hiding the named EHLO
// keywords, until the test ends.
func (r *Relay) Rounds(t testing.TB, hide ...string) *Rounds {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Rounds{Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port, relay: net.JoinHostPort(r.Host, strconv.Itoa(r.Port)), hide: hide, ln: ln}
	p.wg.Go(p.accept)
	t.Cleanup(func() {
		ln.Close()
		p.mu.Lock()
		for _, c := range p.conns {
			c.Close()
		}
		p.mu.Unlock()
		p.wg.Wait()
	})
	return p
}

// Trips returns the round trips of each transaction so far, and how many
// times a sender stalled waiting for a reply inside a pipelined group.
func (p *Rounds) Trips() (trips []int, stalls int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.trips), p.stalls
}

func (p *Rounds) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", p.relay)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, s)
		p.mu.Unlock()
		x := &exchange{p: p, client: c, pipelining: !slices.Contains(p.hide, "PIPELINING"), tx: -1, awaiting: []string{"greeting"}}
		p.wg.Go(func() { x.fromClient(s); s.Close() })
		p.wg.Go(func() { x.fromRelay(s); c.Close() })
	}
}

// exchange is one connection through the proxy.
type exchange struct {
	p          *Rounds
	client     net.Conn
	pipelining bool // offered to the sender

	// Under p.mu:
	tx      int    // index in p.trips of the transaction under way, -1: none
	holding bool   // the relay's replies wait in held
	held    []byte // replies held back
	gen     int    // counts holds, so that a late stall timer does nothing
	// What the sender's bytes are in the middle of: commands, a DATA
	// message, or a BDAT chunk of chunk more bytes (last: the last one).
	inData bool
	// awaiting are the commands whose replies have not come, in order
	// (the first is the relay's greeting): DATA's 354 starts a message.
	awaiting  []string
	chunk     int
	lastChunk bool
	line      []byte // a line not yet ended: a command, or of a message
}

func (x *exchange) fromClient(relay net.Conn) {
	buf := make([]byte, 64<<10)
	for {
		n, err := x.client.Read(buf)
		if n > 0 {
			x.p.mu.Lock()
			x.hold()
			x.read(buf[:n])
			x.p.mu.Unlock()
			if _, werr := relay.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// hold starts holding the relay's replies back, inside a transaction.
func (x *exchange) hold() {
	if x.holding {
		return
	}
	x.holding = true
	x.gen++
	gen := x.gen
	time.AfterFunc(stallAfter, func() {
		x.p.mu.Lock()
		defer x.p.mu.Unlock()
		if x.holding && x.gen == gen {
			x.p.stalls++
			x.release()
		}
	})
}

// release lets the held replies through: the sender may now wait.
func (x *exchange) release() {
	x.holding = false
	x.client.Write(x.held)
	x.held = nil
}

// answered ends a flight: what the sender sent must be answered now.
func (x *exchange) answered() {
	if x.tx >= 0 {
		x.p.trips[x.tx]++
	}
	x.release()
}

// read follows the sender's bytes.
func (x *exchange) read(b []byte) {
	for len(b) > 0 {
		switch {
		case x.chunk > 0:
			n := min(x.chunk, len(b))
			x.chunk -= n
			b = b[n:]
			if x.chunk == 0 && x.lastChunk {
				x.answered()
				x.tx = -1
			}
		default:
			i := bytes.IndexByte(b, '\n')
			if i < 0 {
				x.line = append(x.line, b...)
				return
			}
			x.line = append(x.line, b[:i+1]...)
			b = b[i+1:]
			if !x.inData {
				x.command(strings.ToUpper(strings.TrimSpace(string(x.line))))
			} else if bytes.Equal(x.line, []byte(".\r\n")) {
				x.inData = false
				x.answered()
				x.tx = -1
			}
			x.line = x.line[:0]
		}
	}
}

// command follows one command line of the sender's.
func (x *exchange) command(cmd string) {
	verb, _, _ := strings.Cut(cmd, " ")
	x.awaiting = append(x.awaiting, verb)
	switch {
	case strings.HasPrefix(cmd, "MAIL FROM:"):
		x.p.trips = append(x.p.trips, 0)
		x.tx = len(x.p.trips) - 1
		if !x.pipelining {
			x.answered()
		}
	case strings.HasPrefix(cmd, "RCPT TO:"):
		if !x.pipelining {
			x.answered()
		}
	case cmd == "DATA":
		x.answered()
	case strings.HasPrefix(cmd, "BDAT "):
		f := strings.Fields(cmd)
		x.chunk, _ = strconv.Atoi(f[1])
		x.lastChunk = len(f) > 2 && f[2] == "LAST"
		if x.chunk == 0 && x.lastChunk {
			x.answered()
			x.tx = -1
		}
	default: // EHLO, RSET, QUIT, …: answered before anything else
		x.answered()
	}
}

// fromRelay carries the relay's replies, a whole reply at a time, held
// back while the sender is in the middle of a flight.
func (x *exchange) fromRelay(relay net.Conn) {
	var pending []byte
	buf := make([]byte, 64<<10)
	for {
		n, err := relay.Read(buf)
		pending = append(pending, buf[:n]...)
		for {
			end := replyEnd(pending)
			if end < 0 {
				break
			}
			reply := x.hidden(pending[:end])
			pending = pending[end:]
			x.p.mu.Lock()
			if len(x.awaiting) > 0 {
				x.inData = x.awaiting[0] == "DATA" && bytes.HasPrefix(reply, []byte("354"))
				x.awaiting = x.awaiting[1:]
			}
			if x.holding {
				x.held = append(x.held, reply...)
			} else {
				x.client.Write(reply)
			}
			x.p.mu.Unlock()
		}
		if err != nil {
			return
		}
	}
}

// replyEnd is where the first whole reply in b ends (-1: none yet): after
// the line whose code is followed by a space.
func replyEnd(b []byte) int {
	at := 0
	for {
		i := bytes.IndexByte(b[at:], '\n')
		if i < 0 {
			return -1
		}
		line := b[at : at+i+1]
		at += i + 1
		if len(line) < 4 || line[3] != '-' {
			return at
		}
	}
}

// hidden is the reply without the hidden EHLO keywords.
func (x *exchange) hidden(reply []byte) []byte {
	if len(x.p.hide) == 0 || !bytes.HasPrefix(reply, []byte("250")) {
		return reply
	}
	var kept [][]byte
	for i, line := range bytes.SplitAfter(reply, []byte("\n")) {
		if len(line) < 4 {
			continue
		}
		word, _, _ := strings.Cut(strings.TrimSpace(string(line[4:])), " ")
		if i > 0 && slices.Contains(x.p.hide, strings.ToUpper(word)) {
			continue
		}
		kept = append(kept, bytes.Clone(line))
	}
	for i, line := range kept {
		line[3] = '-'
		if i == len(kept)-1 {
			line[3] = ' '
		}
	}
	return bytes.Join(kept, nil)
}
