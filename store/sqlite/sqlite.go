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
	// One writer at a time is SQLite's model: the writer pool has a single
	// connection, so Go queues writers instead of spinning on SQLITE_BUSY,
	// and IMMEDIATE transactions take the write lock at BEGIN. In WAL mode
	// readers do not wait for the writer, so reads get a pool of their own.
	w, err := openPool(ctx, path, 1, "_txlock=immediate")
	if err != nil {
		return nil, err
	}
	d := sqlstore.Dialect{Goose: goose.DialectSQLite3, IsUniqueViolation: isUnique, CacheStatements: true}
	if migrate {
		if err := sqlstore.New(w, d).Migrate(ctx); err != nil {
			w.Close()
			return nil, err
		}
	}
	r, err := openPool(ctx, path, 4, "_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return nil, err
	}
	return sqlstore.NewSplit(w, r, d), nil
}

func openPool(ctx context.Context, path string, conns int, extra string) (*sql.DB, error) {
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(ON)")
	// A larger page cache keeps the hot indexes in memory. (A memory map
	// was tried and cost more: it is remapped as the file grows.)
	q.Add("_pragma", "cache_size(-32768)")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode()+"&"+extra)
	if err != nil {
		return nil, fmt.Errorf("opening SQLite database %s: %w", path, err)
	}
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	db.SetConnMaxLifetime(0)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("opening SQLite database %s: %w", path, err)
	}
	return db, nil
}

func isUnique(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		c := se.Code()
		return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}
