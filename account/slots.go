package account

import (
	"context"
	"fmt"
	"sync"
)

// slots bounds how many passwords are hashed at once, and serves the
// owners' known devices first: when a slot frees, a waiting owner gets it
// before any stranger, so a flood of guesses delays the owner by at most
// one hash. (An extra slot kept for owners did the same but let one more
// hash's 19 MiB be held at once, beyond what the cores can work on.)
type slots struct {
	mu     sync.Mutex
	free   int
	owners []chan struct{}
	others []chan struct{}
}

func newSlots(n int) *slots { return &slots{free: n} }

// acquire waits for a slot and returns what gives it back.
func (s *slots) acquire(ctx context.Context, owner bool) (func(), error) {
	s.mu.Lock()
	if s.free > 0 && (owner || len(s.owners) == 0) {
		s.free--
		s.mu.Unlock()
		return s.release, nil
	}
	ch := make(chan struct{})
	if owner {
		s.owners = append(s.owners, ch)
	} else {
		s.others = append(s.others, ch)
	}
	s.mu.Unlock()
	select {
	case <-ch:
		return s.release, nil
	case <-ctx.Done():
	}
	s.mu.Lock()
	select {
	case <-ch: // granted while giving up: pass it on
		s.mu.Unlock()
		s.release()
	default:
		if owner {
			s.owners = without(s.owners, ch)
		} else {
			s.others = without(s.others, ch)
		}
		s.mu.Unlock()
	}
	return nil, fmt.Errorf("waiting to hash a password: %w", ctx.Err())
}

// release hands the slot to the first waiting owner, else to the first
// waiting stranger, else frees it.
func (s *slots) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case len(s.owners) > 0:
		close(s.owners[0])
		s.owners = s.owners[1:]
	case len(s.others) > 0:
		close(s.others[0])
		s.others = s.others[1:]
	default:
		s.free++
	}
}

func without(q []chan struct{}, ch chan struct{}) []chan struct{} {
	for i, c := range q {
		if c == ch {
			return append(q[:i], q[i+1:]...)
		}
	}
	return q
}
