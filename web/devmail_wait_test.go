package web

import (
	"context"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wardhq/ward/store"
	"github.com/wardhq/ward/store/sqlite"
)

// waiting reports whether anyone waits for key's bell.
func (b *bells) waiting(key string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.m[key] != nil
}

// A long poll of the dev mailbox answers with the flow's mail as soon as
// it is queued, reads the store only before and after its wait (no
// polling), and leaves nothing behind whether or not mail came.
func TestDevMailboxWaitsForTheFlowsMail(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir()+"/ward.db", true)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Now().UTC()
	flowFor := func(id string) store.Flow {
		f := store.Flow{ID: id, TokenHash: "hash-" + id, Kind: "sign_in", State: "code_sent", CreatedAt: now, ExpiresAt: now.Add(time.Hour), UpdatedAt: now}
		if err := st.CreateFlow(ctx, f); err != nil {
			t.Fatal(err)
		}
		return f
	}
	mailFor := func(f store.Flow) {
		m := store.Message{ID: store.NewID(), Kind: "code", Channel: "email", Recipient: "a@example.jp", Language: "en", FlowID: f.ID,
			Data: []byte(`{}`), Status: store.MessageQueued, CreatedAt: now, NextAt: now}
		if err := st.EnqueueMessage(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	reads := &countingMailbox{Mailbox: st}
	s := &Server{Mailbox: reads}

	f := flowFor(store.NewID())
	got := make(chan []store.Message, 1)
	go func() {
		ms, err := s.flowMessages(httptest.NewRequest("GET", "/dev/mail.json?flow=x&wait=10s", nil), f.ID)
		if err != nil {
			t.Error(err)
		}
		got <- ms
	}()
	// Until the request listens and its first look has found nothing:
	// mail queued before that look would be found by it, in one read.
	for !s.mailQueued.waiting(f.ID) || reads.n.Load() < 1 {
		time.Sleep(time.Millisecond)
	}
	mailFor(f)
	s.MailQueued(f.ID)
	if ms := <-got; len(ms) != 1 || ms[0].FlowID != f.ID {
		t.Fatalf("answer %+v, want the flow's one message", ms)
	}
	if n := reads.n.Load(); n != 2 {
		t.Errorf("the store was read %d times, want 2 (before and after the wait)", n)
	}
	if s.mailQueued.waiting(f.ID) {
		t.Error("the flow's bell is kept after its waiter left")
	}

	// No mail within the wait: an empty answer, and no bell left.
	quiet := flowFor(store.NewID())
	ms, err := s.flowMessages(httptest.NewRequest("GET", "/dev/mail.json?flow=y&wait=20ms", nil), quiet.ID)
	if err != nil || len(ms) != 0 {
		t.Fatalf("quiet flow: %v %v", ms, err)
	}
	if s.mailQueued.waiting(quiet.ID) {
		t.Error("a bell is kept for a wait that ended with no mail")
	}

	// Mail already there: answered without waiting for a bell.
	mailFor(quiet)
	ms, err = s.flowMessages(httptest.NewRequest("GET", "/dev/mail.json?flow=y&wait=10s", nil), quiet.ID)
	if err != nil || len(ms) != 1 {
		t.Fatalf("flow with mail: %v %v", ms, err)
	}
}

// countingMailbox counts the flow reads that have returned.
type countingMailbox struct {
	Mailbox
	n atomic.Int64
}

func (c *countingMailbox) MessagesByFlow(ctx context.Context, flowID string) ([]store.Message, error) {
	defer c.n.Add(1)
	return c.Mailbox.MessagesByFlow(ctx, flowID)
}
