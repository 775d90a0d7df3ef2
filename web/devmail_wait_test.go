package web

import (
	"context"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wardhq/ward/internal/testmail"
	"github.com/wardhq/ward/notify"
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
// polling), and leaves nothing behind whether or not mail came. Mail the
// dev mailbox itself took comes with its bell, rendered: no read after
// the wait.
func TestDevMailboxWaitsForTheFlowsMail(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir()+"/ward.db", true)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	comp := testmail.Composer(t)
	now := time.Now().UTC()
	flowFor := func(id string) store.Flow {
		f := store.Flow{ID: id, TokenHash: "hash-" + id, Kind: "sign_in", State: "code_sent", CreatedAt: now, ExpiresAt: now.Add(time.Hour), UpdatedAt: now}
		if err := st.CreateFlow(ctx, f); err != nil {
			t.Fatal(err)
		}
		return f
	}
	reads := &countingMailbox{Mailbox: st}
	s := &Server{Mailbox: reads, Composer: comp}
	comp.Queued = s.MailQueued
	comp.Stored = func(m store.Message) {
		r, err := comp.RenderText(m)
		if err != nil {
			t.Error(err)
		}
		s.MailStored(m.FlowID, r, m.Status)
	}
	mailFor := func(f store.Flow, channel string) {
		req := notify.Request{Kind: notify.KindCode, Channel: channel, To: "a@example.jp", Language: "en", FlowID: f.ID, Purpose: "sign_in",
			Code: "123456", ExpiresAt: now.Add(10 * time.Minute), RequestedAt: now}
		if err := st.InTx(ctx, func(q store.Queries) error { _, err := comp.Queue(ctx, q, req); return err }); err != nil {
			t.Fatal(err)
		}
	}
	comp.DevChannels = map[string]bool{notify.Email: true}

	for _, c := range []struct {
		channel string
		status  string
		reads   int64
	}{
		{notify.SMS, store.MessageQueued, 2}, // queued for a real channel: read again
		{notify.Email, store.MessageSent, 1}, // the dev mailbox's: brought by its bell
	} {
		reads.n.Store(0)
		f := flowFor(store.NewID())
		got := make(chan []devMail, 1)
		go func() {
			ms, err := s.flowMail(httptest.NewRequest("GET", "/dev/mail.json?flow=x&wait=10s", nil), f.ID)
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
		mailFor(f, c.channel)
		if ms := <-got; len(ms) != 1 || ms[0].Code != "123456" || ms[0].Channel != c.channel || ms[0].Status != c.status {
			t.Fatalf("%s: answer %+v, want the flow's one message, %s", c.channel, ms, c.status)
		}
		if n := reads.n.Load(); n != c.reads {
			t.Errorf("%s: the store was read %d times, want %d", c.channel, n, c.reads)
		}
		if s.mailQueued.waiting(f.ID) {
			t.Errorf("%s: the flow's bell is kept after its waiter left", c.channel)
		}
	}

	// No mail within the wait: an empty answer, and no bell left.
	quiet := flowFor(store.NewID())
	ms, err := s.flowMail(httptest.NewRequest("GET", "/dev/mail.json?flow=y&wait=20ms", nil), quiet.ID)
	if err != nil || len(ms) != 0 {
		t.Fatalf("quiet flow: %v %v", ms, err)
	}
	if s.mailQueued.waiting(quiet.ID) {
		t.Error("a bell is kept for a wait that ended with no mail")
	}

	// Mail already there: answered without waiting for a bell.
	mailFor(quiet, notify.Email)
	ms, err = s.flowMail(httptest.NewRequest("GET", "/dev/mail.json?flow=y&wait=10s", nil), quiet.ID)
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
