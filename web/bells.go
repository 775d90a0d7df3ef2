package web

import "sync"

// bells wakes waiters by key: each long poll of the dev mailbox waits for
// its own flow's mail, so a message wakes only those waiting for it.
type bells struct {
	mu sync.Mutex
	m  map[string]*bell
}

type bell struct {
	// ch is closed when the bell rings, and v is then what it brought.
	ch      chan struct{}
	v       any
	waiters int
}

// wait returns the bell for key, and what to call when no longer waiting
// (a bell nobody waits for is forgotten).
func (b *bells) wait(key string) (*bell, func()) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.m == nil {
		b.m = map[string]*bell{}
	}
	e := b.m[key]
	if e == nil {
		e = &bell{ch: make(chan struct{})}
		b.m[key] = e
	}
	e.waiters++
	return e, func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		e.waiters--
		if e.waiters == 0 && b.m[key] == e {
			delete(b.m, key)
		}
	}
}

// ring wakes everyone waiting for key, bringing them v.
func (b *bells) ring(key string, v any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if e := b.m[key]; e != nil {
		e.v = v
		close(e.ch)
		delete(b.m, key)
	}
}
