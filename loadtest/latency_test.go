package loadtest

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"
)

// Bytes pass the proxy whole and in order, each way held at least the
// latency asked for (a lower bound: the proxy may only add to it).
func TestLatencyHoldsEachDirection(t *testing.T) {
	echo, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer echo.Close()
	go func() {
		for {
			c, err := echo.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	const oneWay = 20 * time.Millisecond
	l, err := StartLatency(echo.Addr().String(), oneWay)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c, err := net.Dial("tcp", l.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := range 3 {
		msg := bytes.Repeat([]byte{byte('a' + i)}, 100_000) // more than one chunk
		start := time.Now()
		go c.Write(msg)
		got := make([]byte, len(msg))
		if _, err := io.ReadFull(c, got); err != nil {
			t.Fatal(err)
		}
		if rt := time.Since(start); rt < 2*oneWay {
			t.Fatalf("round trip %v through a proxy holding %v each way", rt, oneWay)
		}
		if !bytes.Equal(got, msg) {
			t.Fatalf("round %d: bytes changed on the way", i)
		}
	}
	// A client that waits for each answer makes one round trip per send.
	before := l.Trips()
	for range 10 {
		if _, err := c.Write([]byte("ping")); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(c, make([]byte, 4)); err != nil {
			t.Fatal(err)
		}
	}
	if n := l.Trips() - before; n != 10 {
		t.Fatalf("10 round trips counted as %d", n)
	}
	// Closing the proxy ends the connections through it.
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("a connection through the proxy outlived it")
	}
}
