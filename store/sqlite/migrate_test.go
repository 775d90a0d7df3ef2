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
