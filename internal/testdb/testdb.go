// Package testdb opens real, empty databases for tests: a SQLite file in
// the test's temp folder, or a fresh schema in the PostgreSQL that
// WARD_TEST_POSTGRES names (the test is skipped, saying so, without it).
package testdb

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wardhq/ward/store"
	"github.com/wardhq/ward/store/postgres"
	"github.com/wardhq/ward/store/sqlite"
	"github.com/wardhq/ward/store/sqlstore"
)

// EnvPostgres names the variable that enables PostgreSQL tests.
const EnvPostgres = "WARD_TEST_POSTGRES"

// SQLite opens a new migrated SQLite store.
func SQLite(t testing.TB) *sqlstore.DB {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "ward.db"), true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// PostgresDSN returns a DSN for a new, empty schema, dropped after the test.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvPostgres)
	if base == "" {
		t.Skipf("SKIP: PostgreSQL tests skipped: set %s (for example postgres://postgres@127.0.0.1:5432/test?sslmode=disable) to run them", EnvPostgres)
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	schema := "ward_test_" + store.NewID()
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatalf("creating test schema: %v", err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", base)
		if err == nil {
			db.Exec("DROP SCHEMA " + schema + " CASCADE")
			db.Close()
		}
	})
	return withSearchPath(base, schema)
}

func withSearchPath(dsn, schema string) string {
	if strings.Contains(dsn, "://") {
		u, err := url.Parse(dsn)
		if err == nil {
			q := u.Query()
			q.Set("search_path", schema)
			u.RawQuery = q.Encode()
			return u.String()
		}
	}
	return fmt.Sprintf("%s search_path=%s", dsn, schema)
}

// Postgres opens a new migrated PostgreSQL store in its own schema.
func Postgres(t testing.TB) *sqlstore.DB {
	t.Helper()
	s, err := postgres.Open(context.Background(), PostgresDSN(t), true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s.DB
}

// Engine is one storage engine tests run on.
type Engine struct {
	Name string
	Open func(testing.TB) *sqlstore.DB
}

// Engines are the engines every storage-touching test runs on; PostgreSQL
// skips, saying so, without WARD_TEST_POSTGRES.
func Engines() []Engine {
	return []Engine{{"sqlite", SQLite}, {"postgres", Postgres}}
}

// Each runs fn on a new database of every engine.
func Each(t *testing.T, fn func(t *testing.T, db *sqlstore.DB)) {
	for _, e := range Engines() {
		t.Run(e.Name, func(t *testing.T) { fn(t, e.Open(t)) })
	}
}
