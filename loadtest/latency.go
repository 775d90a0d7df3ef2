package loadtest

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Latency is a TCP proxy that holds every byte for a while in each
// direction, as the network between two machines would. On one machine
// the database is a few microseconds away, so a sign-in's round trips to
// it cost only CPU; put the database where operators put it, on another
// machine, and each round trip costs the network's too. The proxy runs in
// the driver's process, so its CPU counts as the driver's.
type Latency struct {
	Addr string // where to connect instead of the target

	ln     net.Listener
	target string
	oneWay time.Duration
	wg     sync.WaitGroup
	trips  atomic.Int64
	mu     sync.Mutex
	conns  map[net.Conn]bool
	closed bool
}

// StartLatency proxies connections on a free local port to target,
// holding each byte oneWay in each direction.
func StartLatency(target string, oneWay time.Duration) (*Latency, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("starting the latency proxy: %w", err)
	}
	l := &Latency{Addr: ln.Addr().String(), ln: ln, target: target, oneWay: oneWay, conns: map[net.Conn]bool{}}
	l.wg.Go(l.accept)
	return l, nil
}

func (l *Latency) accept() {
	for {
		in, err := l.ln.Accept()
		if err != nil {
			return
		}
		out, err := net.Dial("tcp", l.target)
		if err != nil {
			in.Close()
			continue
		}
		if !l.track(in, out) {
			return
		}
		l.wg.Go(func() { l.carry(out, in, &l.trips) })
		l.wg.Go(func() { l.carry(in, out, nil) })
	}
}

// track remembers a pair of connections for Close; false once closed.
func (l *Latency) track(cs ...net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		for _, c := range cs {
			c.Close()
		}
		return false
	}
	for _, c := range cs {
		l.conns[c] = true
	}
	return true
}

// Trips counts what clients sent in one go (one write, as a driver sends
// a statement or a pipeline of them): the round trips they made, as long
// as each waits for the answer before it sends again.
func (l *Latency) Trips() int64 { return l.trips.Load() }

// carry copies src to dst, each chunk written oneWay after it was read
// and in the order read: the delay of a link, not of each message. Sends
// counts the chunks, if given.
func (l *Latency) carry(dst, src net.Conn, sends *atomic.Int64) {
	type chunk struct {
		due time.Time
		b   []byte
	}
	q := make(chan chunk, 4096)
	go func() {
		defer close(q)
		for {
			b := make([]byte, 32<<10)
			n, err := src.Read(b)
			if n > 0 {
				if sends != nil {
					sends.Add(1)
				}
				q <- chunk{time.Now().Add(l.oneWay), b[:n]}
			}
			if err != nil {
				return
			}
		}
	}()
	for c := range q {
		time.Sleep(time.Until(c.due))
		if _, err := dst.Write(c.b); err != nil {
			break
		}
	}
	// The other side learns of the end as it would over a network: after
	// what was on the way.
	src.Close()
	dst.Close()
	for range q {
	}
	l.mu.Lock()
	delete(l.conns, src)
	delete(l.conns, dst)
	l.mu.Unlock()
}

// Close stops accepting and cuts every connection.
func (l *Latency) Close() error {
	l.mu.Lock()
	l.closed = true
	for c := range l.conns {
		c.Close()
	}
	l.mu.Unlock()
	err := l.ln.Close()
	l.wg.Wait()
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}
