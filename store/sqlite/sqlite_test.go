package sqlite_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wardhq/ward/internal/testdb"
	"github.com/wardhq/ward/store"
	"github.com/wardhq/ward/store/conformance"
	"github.com/wardhq/ward/store/sqlite"
)

func TestConformance(t *testing.T) {
	conformance.Run(t, func(t *testing.T) store.Store { return testdb.SQLite(t) })
}

// What is committed reaches the database file without anyone asking: the
// background checkpointer copies the WAL while there is something to
// copy, so that no committing writer has to.
func TestCommitsReachTheDatabaseFile(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ward.db")
	db, err := sqlite.Open(ctx, path, true)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	time.Sleep(time.Second) // the migrations' pages are copied first
	before := fileSize(t, path)
	now := time.Now()
	for i := range 300 {
		id := fmt.Sprintf("f%d-%s", i, strings.Repeat("x", 200))
		if err := db.CreateFlow(ctx, store.Flow{ID: id, TokenHash: id, Kind: "k", State: "s", Subject: "x", CreatedAt: now, ExpiresAt: now.Add(time.Hour), UpdatedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for fileSize(t, path) <= before {
		if time.Now().After(deadline) {
			t.Fatalf("the database file stayed at %d bytes after 300 commits: nothing was checkpointed", before)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func fileSize(t *testing.T, path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}
