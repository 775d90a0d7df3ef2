// Package sqlstore implements store.Store on database/sql. The SQLite and
// PostgreSQL backends share it: the schema and queries are written once in
// the SQL both engines accept, and a Dialect holds the few differences.
package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/wardhq/ward/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Dialect is what differs between engines.
type Dialect struct {
	// Goose is goose's name for the engine.
	Goose goose.Dialect
	// Numbered placeholders ($1, $2) instead of '?'.
	Numbered bool
	// IsUniqueViolation recognises the engine's unique-constraint error.
	IsUniqueViolation func(error) bool
}

// DB is a store.Store over a database/sql handle.
type DB struct {
	db *sql.DB
	q  querier
	d  Dialect
}

type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// New wraps db. Call Migrate before use.
func New(db *sql.DB, d Dialect) *DB { return &DB{db: db, q: db, d: d} }

// Migrate applies every embedded migration not yet applied.
func (s *DB) Migrate(ctx context.Context) error {
	p, err := goose.NewProvider(s.d.Goose, s.db, mustSub(), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return fmt.Errorf("preparing migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("applying migrations: %w", err)
	}
	return nil
}

// MigrationVersion reports the newest applied migration.
func (s *DB) MigrationVersion(ctx context.Context) (int64, error) {
	p, err := goose.NewProvider(s.d.Goose, s.db, mustSub(), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return 0, fmt.Errorf("preparing migrations: %w", err)
	}
	return p.GetDBVersion(ctx)
}

func mustSub() fs.FS {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		panic(err) // the embedded folder is fixed at build time
	}
	return sub
}

// Close closes the database.
func (s *DB) Close() error { return s.db.Close() }

// SQL exposes the handle for backend-specific maintenance.
func (s *DB) SQL() *sql.DB { return s.db }

// InTx runs fn in one transaction.
func (s *DB) InTx(ctx context.Context, fn func(store.Queries) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("beginning transaction: %w", err)
	}
	if err := fn(&DB{db: s.db, q: tx, d: s.d}); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("committing transaction: %w", err)
	}
	return nil
}

func (s *DB) rebind(q string) string {
	if !s.d.Numbered {
		return q
	}
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func (s *DB) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	res, err := s.q.ExecContext(ctx, s.rebind(q), args...)
	if err != nil && s.d.IsUniqueViolation(err) {
		return nil, fmt.Errorf("%w: %v", store.ErrConflict, err)
	}
	return res, err
}

func (s *DB) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return s.q.QueryContext(ctx, s.rebind(q), args...)
}

func (s *DB) row(ctx context.Context, q string, args ...any) *sql.Row {
	return s.q.QueryRowContext(ctx, s.rebind(q), args...)
}

// execOne runs an update that must touch exactly one row.
func (s *DB) execOne(ctx context.Context, what string, q string, args ...any) error {
	res, err := s.exec(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	return nil
}

func notFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// Times are kept as UTC microseconds.
func ts(t time.Time) int64 { return t.UTC().UnixMicro() }

func tsPtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return ts(*t)
}

func fromTS(v int64) time.Time { return time.UnixMicro(v).UTC() }

type nullTime struct{ t **time.Time }

func (n nullTime) Scan(v any) error {
	var ni sql.NullInt64
	if err := ni.Scan(v); err != nil {
		return err
	}
	if !ni.Valid {
		*n.t = nil
		return nil
	}
	t := fromTS(ni.Int64)
	*n.t = &t
	return nil
}

type timeCol struct{ t *time.Time }

func (c timeCol) Scan(v any) error {
	var ni sql.NullInt64
	if err := ni.Scan(v); err != nil {
		return err
	}
	*c.t = fromTS(ni.Int64)
	return nil
}

type boolCol struct{ b *bool }

func (c boolCol) Scan(v any) error {
	var ni sql.NullInt64
	if err := ni.Scan(v); err != nil {
		return err
	}
	*c.b = ni.Int64 != 0
	return nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

type jsonStrings struct{ v *[]string }

func (c jsonStrings) Scan(v any) error {
	var s sql.NullString
	if err := s.Scan(v); err != nil {
		return err
	}
	*c.v = nil
	if s.String == "" {
		return nil
	}
	return json.Unmarshal([]byte(s.String), c.v)
}

func stringsJSON(v []string) string {
	if len(v) == 0 {
		return ""
	}
	b, _ := json.Marshal(v)
	return string(b)
}
