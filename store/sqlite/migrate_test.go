package sqlite_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/wardhq/ward/store/sqlite"
)

// Migration 7 takes the record an event is about out of its reasons,
// where earlier versions packed it ("contact:ID", "event:ID").
func TestEventRefsMoveOutOfReasons(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "ward.db"), false)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.MigrateTo(ctx, 6); err != nil {
		t.Fatal(err)
	}
	for _, row := range [][2]string{
		{"e1", `["h***@example.jp","contact:c42"]`},
		{"e2", `["event:e1"]`},
		{"e3", `["not_me:event:e9"]`},
		{"e4", `["alias_only:true"]`},
		{"e5", `["new_device","new_ip"]`},
	} {
		if _, err := db.SQL().ExecContext(ctx, `INSERT INTO events (id, account_id, at, kind, result, method, ip, device_id, device, flow_id, reasons)
			VALUES (?, 'a1', 1, 'k', 'success', '', '', '', '', '', ?)`, row[0], row[1]); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	evs, err := db.Events(ctx, "a1", time.Time{}, 10)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]struct {
		ref     string
		reasons []string
	}{
		"e1": {"c42", []string{"h***@example.jp"}},
		"e2": {"e1", nil},
		"e3": {"e9", nil},
		"e4": {"", []string{"alias_only_on"}},
		"e5": {"", []string{"new_device", "new_ip"}},
	}
	for _, e := range evs {
		w := want[e.ID]
		if e.Ref != w.ref || !slices.Equal(e.Reasons, w.reasons) {
			t.Errorf("%s after migration 7: ref %q reasons %q, want %q %q", e.ID, e.Ref, e.Reasons, w.ref, w.reasons)
		}
	}
	if len(evs) != len(want) {
		t.Fatalf("%d events after migration, want %d", len(evs), len(want))
	}
}

// Migration 16: the work River still held when ward stopped using it
// (deliveries, work left for later) becomes tasks; finished jobs do not.
func TestRiverJobsBecomeTasks(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "ward.db"), false)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.MigrateTo(ctx, 15); err != nil {
		t.Fatal(err)
	}
	// The columns of River's river_job that the import reads.
	if _, err := db.SQL().ExecContext(ctx, `CREATE TABLE river_job (id INTEGER PRIMARY KEY, kind TEXT, args BLOB, state TEXT)`); err != nil {
		t.Fatal(err)
	}
	for _, j := range [][3]string{
		{"ward_deliver_message", `{"message_id":"m1"}`, "available"},
		{"ward_deliver_message", `{"message_id":"m2"}`, "retryable"},
		{"ward_later", `{"payload":"c2VhbGVk"}`, "running"},
		{"ward_deliver_message", `{"message_id":"m3"}`, "completed"},
	} {
		if _, err := db.SQL().ExecContext(ctx, `INSERT INTO river_job (kind, args, state) VALUES (?, ?, ?)`, j[0], j[1], j[2]); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := db.ClaimTasks(ctx, time.Now().Add(time.Minute), time.Now().Add(time.Hour), 10)
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	for _, g := range got {
		seen = append(seen, g.Kind+":"+string(g.Payload))
	}
	slices.Sort(seen)
	if want := []string{"deliver:m1", "deliver:m2", "later:sealed"}; !slices.Equal(seen, want) {
		t.Fatalf("tasks after migration 16: %q, want %q", seen, want)
	}
}
