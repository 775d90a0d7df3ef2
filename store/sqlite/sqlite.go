// Package sqlite opens ward's embedded SQLite store (pure Go, no cgo).
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"

	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/wardhq/ward/store/sqlstore"
)

// Open opens (creating if needed) the database file at path and applies
// migrations when migrate is true.
func Open(ctx context.Context, path string, migrate bool) (*sqlstore.DB, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("creating database folder: %w", err)
		}
	}
	// IMMEDIATE transactions take the write lock at BEGIN, so two writers
	// never deadlock upgrading a read lock; WAL lets readers go on meanwhile.
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(ON)")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("opening SQLite database %s: %w", path, err)
	}
	// One writer at a time is SQLite's model; a single pooled connection
	// makes Go queue callers instead of spinning on SQLITE_BUSY.
	db.SetMaxOpenConns(1)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("opening SQLite database %s: %w", path, err)
	}
	s := sqlstore.New(db, sqlstore.Dialect{Goose: goose.DialectSQLite3, IsUniqueViolation: isUnique})
	if migrate {
		if err := s.Migrate(ctx); err != nil {
			db.Close()
			return nil, err
		}
	}
	return s, nil
}

func isUnique(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		c := se.Code()
		return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}
