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
	"time"

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
	w, err := openPool(ctx, path, 1, 4<<10, "_txlock=immediate")
	if err != nil {
		return nil, err
	}
	d := sqlstore.Dialect{Goose: goose.DialectSQLite3, IsUniqueViolation: isUnique, CacheStatements: true, SQLiteOnly: true,
		AfterSweep: "PRAGMA shrink_memory"}
	if migrate {
		if err := sqlstore.New(w, d).Migrate(ctx); err != nil {
			w.Close()
			return nil, err
		}
	}
	// A reader's page cache is dropped whenever another connection has
	// committed (WAL mode), which under load is every few milliseconds, so
	// a large one buys nothing but memory: sixteen of them could hold
	// sixteen copies of the hot pages. The writer's cache stays valid.
	// Each connection also keeps its prepared statements and a copy of the
	// schema: eight readers held 5 MB less than sixteen after 30 s of
	// load, at the same rate (1,190-1,203 against 1,098-1,226 a second at
	// concurrency 32; a reader's query takes well under a millisecond, so
	// eight are seldom all busy).
	r, err := openPool(ctx, path, 8, 256, "_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return nil, err
	}
	cp, err := openPool(ctx, path, 1, 1<<10, "")
	if err != nil {
		w.Close()
		r.Close()
		return nil, err
	}
	s := sqlstore.NewSplit(w, r, d)
	stop := make(chan struct{})
	done := make(chan struct{})
	go checkpoint(cp, stop, done)
	s.OnClose(func() error {
		close(stop)
		<-done
		return cp.Close()
	})
	return s, nil
}

// checkpoint copies the WAL into the database in the background, without
// blocking readers or the writer (PASSIVE). Though it blocks no one, each
// checkpoint held up the sign-ins of its moment, the longer the more it
// had to copy, and more so in a large database. At concurrency 32 with the
// dev mailbox, p99 on a fresh database was 89-112 ms with a checkpoint a
// second, 49-56 ms with four, 41-46 ms with ten; on an 812 MB one 185-188
// and 128-142 ms with one and ten. So while there is something to copy, the
// next checkpoint follows 15 ms after the last: p99 35-37 ms fresh and 83
// ms on the large one, for 2-9% fewer sign-ins a second than ten a second
// (5 ms after the last gave 31-38 and 58-61 ms, for about 10% fewer).
// Idle, one every 250 ms costs nothing measurable (forty a second cost an
// idle ward 1.2% of a core).
func checkpoint(db *sql.DB, stop, done chan struct{}) {
	defer close(done)
	const busy, idle = 15 * time.Millisecond, 250 * time.Millisecond
	t := time.NewTimer(idle)
	defer t.Stop()
	var last [2]int64 // frames in the WAL, frames copied
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		var blocked int
		var now [2]int64
		wait := idle
		if err := db.QueryRow("PRAGMA wal_checkpoint(PASSIVE)").Scan(&blocked, &now[0], &now[1]); err == nil && now != last {
			wait = busy
		}
		last = now
		t.Reset(wait)
	}
}

func openPool(ctx context.Context, path string, conns, cacheKiB int, extra string) (*sql.DB, error) {
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(ON)")
	// Group commit runs each transaction in a savepoint, and a savepoint
	// journals every page it first changes. On disk that journal was a
	// temporary file written page by page (a tenth of ward's CPU under
	// load); in memory it is a copy. Temporary sorts stay in memory too:
	// ward's queries sort a page of rows at most.
	q.Add("_pragma", "temp_store(MEMORY)")
	// SQLite's caches are outside Go's memory limit, and they fill and stay
	// full: at 32 MiB for the writer and 1 MiB a reader, ward held 100 MB
	// of its own after 30 s of load, against 55 MB at 4 MiB and 256 KiB,
	// with no sign-in slower (1,116-1,218 against 1,139-1,284 a second at
	// concurrency 32). Pages it misses are in the system's file cache. (A
	// memory map was tried and cost more: it is remapped as the file grows.)
	q.Add("_pragma", fmt.Sprintf("cache_size(-%d)", cacheKiB))
	// Checkpoints copy the WAL into the database and fsync it. A committing
	// writer would do that work while every other writer waits, so a
	// background checkpointer does it instead (see checkpoint); this
	// automatic one is only a backstop should that fall behind.
	q.Add("_pragma", "wal_autocheckpoint(50000)")
	// Under load the WAL grows to a couple of hundred MiB before a restart
	// (the checkpointer runs beside the writer, so it rarely catches the
	// end). Cutting the file back at each restart made it grow anew: new
	// blocks, whose journaling the checkpoint's fsync then waited on, and
	// the writer with it (stalls of 150 ms; p99 at concurrency 32 went
	// 155 -> 81-89 ms without them). So the file keeps its size, up to
	// 256 MiB.
	q.Add("_pragma", "journal_size_limit(268435456)")
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

// Backup writes a consistent copy of the database at path into dest
// (which must not exist) while ward keeps running: VACUUM INTO reads one
// snapshot in a read transaction, so writers are not held up, and the
// copy is compact. The copy is then checked (PRAGMA quick_check).
func Backup(ctx context.Context, path, dest string) error {
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("backing up %s: %w", path, err)
	}
	if _, err := os.Stat(dest); err == nil {
		return fmt.Errorf("backing up: %s exists; name a new file", dest)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		return fmt.Errorf("backing up %s: %w", path, err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, dest); err != nil {
		os.Remove(dest)
		return fmt.Errorf("backing up %s: %w", path, err)
	}
	if err := os.Chmod(dest, 0o600); err != nil {
		return fmt.Errorf("backing up: %w", err)
	}
	cp, err := sql.Open("sqlite", "file:"+dest+"?mode=ro")
	if err != nil {
		return fmt.Errorf("checking the backup: %w", err)
	}
	defer cp.Close()
	var ok string
	if err := cp.QueryRowContext(ctx, `PRAGMA quick_check`).Scan(&ok); err != nil || ok != "ok" {
		return fmt.Errorf("checking the backup %s: %v %s", dest, err, ok)
	}
	return nil
}
