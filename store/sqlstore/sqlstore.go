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
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/wardhq/ward/confusable"
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
	// SQLiteOnly includes the migrations' /*sqlite: …*/ clauses.
	SQLiteOnly bool
	// BeginNative, when set, runs transactions on the engine's own driver
	// instead of database/sql (for pgx: no per-call database/sql layer
	// inside transactions); see NativeTx.
	BeginNative func(ctx context.Context) (NativeTx, error)
	// AdvisoryLocks: Lock takes PostgreSQL advisory locks. Without it the
	// engine runs one writing transaction at a time (SQLite), which already
	// serialises every check-then-act, and Lock only checks it is in one.
	AdvisoryLocks bool
	// CacheStatements keeps each query prepared. SQLite parses SQL on
	// every call otherwise (a fifth of its CPU under load); pgx already
	// caches statements per connection.
	CacheStatements bool
	// AfterSweep runs after expired records are deleted. SQLite's is
	// shrink_memory: the sweep reads whole tables into the writer's page
	// cache, which would otherwise stay filled with pages nobody wants.
	AfterSweep string
}

// NativeTx is a transaction on the engine's own driver (pgx for
// PostgreSQL).
type NativeTx interface {
	// Ahead queues q to go to the server ahead of the transaction's next
	// statement, in the same round trip; its result is not read. If it
	// fails, that next statement returns its error, wrapped in what.
	Ahead(what, q string, args ...any)
	// AheadOne queues q like Ahead, but q must touch exactly one row: when
	// it touches none the transaction has met a conflict, and its next
	// statement, every one after and its commit fail with that conflict.
	AheadOne(what, q string, args ...any)
	// AheadRow queues a one-row read to go ahead of the next statement,
	// and keeps its row for QueryRow of the same q and args, until a
	// statement that may write is queued or run.
	AheadRow(q string, args ...any)
	// Conflict is the conflict a statement queued by AheadOne met, if any.
	Conflict() error
	Exec(ctx context.Context, q string, args ...any) (rowsAffected int64, err error)
	Query(ctx context.Context, q string, args ...any) (Rows, error)
	QueryRow(ctx context.Context, q string, args ...any) interface{ Scan(...any) error }
	Commit(ctx context.Context) error
	Rollback(ctx context.Context) error
}

// Rows is what a query returns, from database/sql or a native driver.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Close() error
	Err() error
}

type affected int64

func (a affected) LastInsertId() (int64, error) { return 0, errors.New("not supported") }
func (a affected) RowsAffected() (int64, error) { return int64(a), nil }

// DB is a store.Store over database/sql handles: one for writes and
// transactions, and one (the same, for PostgreSQL) for reads outside them.
type DB struct {
	w, r    *pool
	closers *[]func() error
	watch   *txWatch
	tx      *sql.Tx   // set inside InTx
	native  NativeTx  // set inside InTx when the dialect begins natively
	after   *[]func() // set inside InTx: run once it commits
	undo    *[]func() // set inside InTx: run if it rolls back
	// conflict, set inside InTx, is the first conflict of a write that
	// fails its transaction (execOneAhead): it fails the transaction even
	// if fn let it pass, as it does where the write is sent later.
	conflict *error
	hooks    *hooks
	// rebound holds each query as numbered placeholders write it, once
	// written: rewriting it on every call was 1.5% of ward's CPU on
	// PostgreSQL. Queries are the code's constants (and an IN list of a
	// few lengths), so it stays as small as the statement caches.
	rebound *sync.Map
	d       Dialect
}

// hooks are told of what was committed, for metrics.
type hooks struct {
	event func(store.Event)
}

// OnEvent has fn told of every activity event once it is committed.
// Set it before the store is used.
func (s *DB) OnEvent(fn func(store.Event)) { s.hooks.event = fn }

// AfterCommit runs fn once the transaction commits (never if it rolls
// back); outside a transaction, now.
func (s *DB) AfterCommit(fn func()) {
	if s.after == nil {
		fn()
		return
	}
	*s.after = append(*s.after, fn)
}

// AfterRollback runs fn if the transaction rolls back (or fails to
// commit); outside a transaction, never.
func (s *DB) AfterRollback(fn func()) {
	if s.undo != nil {
		*s.undo = append(*s.undo, fn)
	}
}

// ended runs the functions for how a transaction ended.
func ended(committed bool, after, undo []func()) {
	fns := undo
	if committed {
		fns = after
	}
	for _, f := range fns {
		f()
	}
}

type pool struct {
	db    *sql.DB
	cache *stmtCache // nil: statements are not kept prepared
	// gate, when set, admits one writer at a time in arrival order.
	// database/sql hands a freed connection to a random waiter, which for
	// a one-connection pool under load makes a few callers wait very long.
	gate chan struct{}
	// batch, when set, commits the transactions that wait for the one
	// writer together (group commit).
	batch *batcher
}

func (p *pool) enter(ctx context.Context) error {
	if p.gate == nil {
		return nil
	}
	select {
	case p.gate <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p *pool) leave() {
	if p.gate != nil {
		<-p.gate
	}
}

type stmtCache struct {
	mu sync.Mutex
	m  map[string]*sql.Stmt
	// missed are queries first seen inside a transaction: the writer's one
	// SQLite connection is busy then, so they are prepared after it ends.
	missed map[string]bool
}

func newPool(db *sql.DB, cache bool) *pool {
	p := &pool{db: db}
	if cache {
		p.cache = &stmtCache{m: map[string]*sql.Stmt{}, missed: map[string]bool{}}
	}
	return p
}

// prepared returns the kept prepared statement for q, preparing it now.
func (p *pool) prepared(ctx context.Context, q string) (*sql.Stmt, error) {
	p.cache.mu.Lock()
	st, ok := p.cache.m[q]
	p.cache.mu.Unlock()
	if ok {
		return st, nil
	}
	st, err := p.db.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	p.cache.mu.Lock()
	defer p.cache.mu.Unlock()
	if prev, ok := p.cache.m[q]; ok {
		st.Close()
		return prev, nil
	}
	p.cache.m[q] = st
	return st, nil
}

// warm prepares the queries missed inside transactions.
func (p *pool) warm(ctx context.Context) {
	p.cache.mu.Lock()
	var qs []string
	for q := range p.cache.missed {
		qs = append(qs, q)
	}
	p.cache.missed = map[string]bool{}
	p.cache.mu.Unlock()
	for _, q := range qs {
		p.prepared(ctx, q) // on failure it is prepared again on next use
	}
}

func (p *pool) close() error {
	if p.cache != nil {
		p.cache.mu.Lock()
		for _, st := range p.cache.m {
			st.Close()
		}
		p.cache.mu.Unlock()
	}
	return p.db.Close()
}

// New wraps one handle for everything. Call Migrate before use.
func New(db *sql.DB, d Dialect) *DB {
	p := newPool(db, d.CacheStatements)
	return &DB{w: p, r: p, d: d, closers: new([]func() error), watch: new(txWatch), hooks: new(hooks), rebound: new(sync.Map)}
}

// NewSplit wraps a single-connection writer handle and a handle for
// concurrent reads.
func NewSplit(writer, reader *sql.DB, d Dialect) *DB {
	w := newPool(writer, d.CacheStatements)
	w.gate = make(chan struct{}, 1)
	w.batch = new(batcher)
	return &DB{w: w, r: newPool(reader, d.CacheStatements), d: d, closers: new([]func() error), watch: new(txWatch), hooks: new(hooks), rebound: new(sync.Map)}
}

// ErrOutsideTx is what a query outside the open transaction returns once
// ForbidOutsideTx was called.
var ErrOutsideTx = errors.New("store used outside the open transaction")

// txWatch counts open transactions, for ForbidOutsideTx.
type txWatch struct {
	open   atomic.Int32
	forbid atomic.Bool
}

// ForbidOutsideTx makes every query outside a transaction fail with
// ErrOutsideTx while a transaction is open. It is for tests that use the
// store one caller at a time: there, such a query can only come from code
// inside InTx reaching past its transaction, which on PostgreSQL needs a
// second connection and deadlocks once the pool is full of transactions
// doing the same.
func (s *DB) ForbidOutsideTx() { s.watch.forbid.Store(true) }

// outside checks a query that runs outside any transaction.
func (s *DB) outside() error {
	if s.tx == nil && s.native == nil && s.watch.forbid.Load() && s.watch.open.Load() > 0 {
		return ErrOutsideTx
	}
	return nil
}

// ReadAhead implements store.Queries: fn's reads are recorded by a
// stand-in for the native transaction, then queued on the real one.
func (s *DB) ReadAhead(ctx context.Context, fn func(store.Queries)) {
	if s.native == nil {
		return
	}
	rec := &recorder{}
	r := *s
	r.native = rec
	fn(&r)
	if rec.wrote {
		panic("sqlstore: ReadAhead's fn wrote")
	}
	for _, rd := range rec.reads {
		s.native.AheadRow(rd.q, rd.args...)
	}
}

// recorder is the NativeTx a ReadAhead's fn reads on: it notes each
// one-row read and runs nothing.
type recorder struct {
	reads []struct {
		q    string
		args []any
	}
	wrote bool
}

var errReadAhead = errors.New("sqlstore: a read ahead is not read yet")

func (r *recorder) QueryRow(_ context.Context, q string, args ...any) interface{ Scan(...any) error } {
	r.reads = append(r.reads, struct {
		q    string
		args []any
	}{q, args})
	return errRow{errReadAhead}
}
func (r *recorder) Query(context.Context, string, ...any) (Rows, error) { return nil, errReadAhead }
func (r *recorder) Exec(context.Context, string, ...any) (int64, error) {
	r.wrote = true
	return 0, errReadAhead
}
func (r *recorder) Ahead(string, string, ...any)    { r.wrote = true }
func (r *recorder) AheadOne(string, string, ...any) { r.wrote = true }
func (r *recorder) AheadRow(string, ...any)         {}
func (r *recorder) Conflict() error                 { return nil }
func (r *recorder) Commit(context.Context) error    { return errReadAhead }
func (r *recorder) Rollback(context.Context) error  { return errReadAhead }

// Lock implements store.Queries.
func (s *DB) Lock(ctx context.Context, keys ...string) error {
	if s.tx == nil && s.native == nil {
		return errors.New("taking a lock: not inside a transaction")
	}
	if !s.d.AdvisoryLocks {
		return nil
	}
	keys = slices.Clone(keys)
	slices.Sort(keys)
	for i, k := range keys {
		if i > 0 && k == keys[i-1] {
			continue
		}
		const lock = `SELECT pg_advisory_xact_lock(hashtextextended(?, 0))::text`
		if s.native != nil {
			// Whatever the lock guards comes next: the lock waits to be
			// sent with it.
			s.native.Ahead(fmt.Sprintf("taking lock %q", k), s.rebind(lock), k)
			continue
		}
		var ok string
		if err := s.row(ctx, lock, k).Scan(&ok); err != nil {
			return fmt.Errorf("taking lock %q: %w", k, err)
		}
	}
	return nil
}

// txCtx is the context a statement inside a transaction on database/sql
// (SQLite) runs under: its caller's, checked now, but not watched while
// it runs. Such a statement takes microseconds and holds the one writer
// for every transaction batched with it; interrupted by one caller's
// cancellation, it would have rolled back the whole batch (SQLite rolls
// back a transaction whose write is interrupted), and the driver watched
// for that with a goroutine per statement. A cancelled caller's next
// statement fails, and so does its transaction.
func (s *DB) txCtx(ctx context.Context) (context.Context, error) {
	if s.tx == nil {
		return ctx, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return context.WithoutCancel(ctx), nil
}

// stmt finds where to run q: a prepared statement when statements are
// kept, else nil and the plain handle (the transaction, or a pool).
func (s *DB) stmt(ctx context.Context, q string, write bool) (*sql.Stmt, querier, error) {
	if s.tx != nil {
		if s.w.cache == nil {
			return nil, s.tx, nil
		}
		s.w.cache.mu.Lock()
		st, ok := s.w.cache.m[q]
		if !ok {
			s.w.cache.missed[q] = true
		}
		s.w.cache.mu.Unlock()
		if !ok {
			st, err := s.tx.PrepareContext(ctx, q)
			return st, nil, err
		}
		return s.tx.StmtContext(ctx, st), nil, nil
	}
	p := s.r
	if write {
		p = s.w
	}
	if p.cache == nil {
		return nil, p.db, nil
	}
	st, err := p.prepared(ctx, q)
	return st, nil, err
}

type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Migrate applies every embedded migration not yet applied.
func (s *DB) Migrate(ctx context.Context) error {
	p, err := s.migrations()
	if err != nil {
		return fmt.Errorf("preparing migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("applying migrations: %w", err)
	}
	return nil
}

// MigrateTo applies the migrations up to version v, to test one that
// changes data written by an earlier version.
func (s *DB) MigrateTo(ctx context.Context, v int64) error {
	p, err := s.migrations()
	if err != nil {
		return fmt.Errorf("preparing migrations: %w", err)
	}
	if _, err := p.UpTo(ctx, v); err != nil {
		return fmt.Errorf("applying migrations: %w", err)
	}
	return nil
}

// MigrationVersion reports the newest applied migration.
func (s *DB) MigrationVersion(ctx context.Context) (int64, error) {
	p, err := s.migrations()
	if err != nil {
		return 0, fmt.Errorf("preparing migrations: %w", err)
	}
	return p.GetDBVersion(ctx)
}

// MigrationsPending reports whether this binary knows migrations the
// database has not had (another instance of an older ward may run them
// later; this one must not serve until they are applied).
func (s *DB) MigrationsPending(ctx context.Context) (bool, error) {
	p, err := s.migrations()
	if err != nil {
		return false, fmt.Errorf("preparing migrations: %w", err)
	}
	return p.HasPending(ctx)
}

// migrations are the SQL files and the migrations written in Go.
func (s *DB) migrations() (*goose.Provider, error) {
	return goose.NewProvider(s.d.Goose, s.w.db, s.migrationFS(), goose.WithDisableGlobalRegistry(true),
		goose.WithGoMigrations(goose.NewGoMigration(6, &goose.GoFunc{RunTx: s.addEmailSkeletons}, nil),
			goose.NewGoMigration(7, &goose.GoFunc{RunTx: s.addEventRefs}, nil),
			goose.NewGoMigration(16, &goose.GoFunc{RunTx: s.importRiverJobs}, nil)))
}

// addEmailSkeletons (migration 6) keeps how each account's email looks,
// so that a lookalike of it is refused as a new account. Existing
// lookalikes stay as they are (an index, not a unique one).
func (s *DB) addEmailSkeletons(ctx context.Context, tx *sql.Tx) error {
	if _, err := tx.ExecContext(ctx, `ALTER TABLE accounts ADD COLUMN email_skeleton TEXT NOT NULL DEFAULT ''`); err != nil {
		return err
	}
	rows, err := tx.QueryContext(ctx, `SELECT id, email FROM accounts`)
	if err != nil {
		return err
	}
	skeletons := map[string]string{}
	for rows.Next() {
		var id, email string
		if err := rows.Scan(&id, &email); err != nil {
			rows.Close()
			return err
		}
		skeletons[id] = confusable.Address(email)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for id, sk := range skeletons {
		if _, err := tx.ExecContext(ctx, s.rebind(`UPDATE accounts SET email_skeleton = ? WHERE id = ?`), sk, id); err != nil {
			return err
		}
	}
	_, err = tx.ExecContext(ctx, `CREATE INDEX accounts_email_skeleton ON accounts (email_skeleton)`)
	return err
}

// addEventRefs (migration 7) gives events the record they are about as a
// column of its own: it was packed into the reasons ("contact:ID",
// "event:ID", "not_me:event:ID"), and alias changes said "alias_only:true"
// where they now say "alias_only_on".
func (s *DB) addEventRefs(ctx context.Context, tx *sql.Tx) error {
	if _, err := tx.ExecContext(ctx, `ALTER TABLE events ADD COLUMN ref TEXT NOT NULL DEFAULT ''`); err != nil {
		return err
	}
	rows, err := tx.QueryContext(ctx, `SELECT id, reasons FROM events WHERE reasons LIKE '%contact:%' OR reasons LIKE '%event:%' OR reasons LIKE '%alias_only:%'`)
	if err != nil {
		return err
	}
	type fix struct{ id, reasons, ref string }
	var fixes []fix
	for rows.Next() {
		var id string
		var raw sql.NullString
		if err := rows.Scan(&id, &raw); err != nil {
			rows.Close()
			return err
		}
		var reasons []string
		if json.Unmarshal([]byte(raw.String), &reasons) != nil {
			continue
		}
		f := fix{id: id}
		var keep []string
		for _, r := range reasons {
			switch {
			case strings.HasPrefix(r, "contact:"), strings.HasPrefix(r, "not_me:event:"), strings.HasPrefix(r, "event:"):
				f.ref = r[strings.LastIndexByte(r, ':')+1:]
			case r == "alias_only:true":
				keep = append(keep, "alias_only_on")
			case r == "alias_only:false":
				keep = append(keep, "alias_only_off")
			default:
				keep = append(keep, r)
			}
		}
		f.reasons = stringsJSON(keep)
		fixes = append(fixes, f)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, f := range fixes {
		if _, err := tx.ExecContext(ctx, s.rebind(`UPDATE events SET reasons = ?, ref = ? WHERE id = ?`), f.reasons, f.ref, f.id); err != nil {
			return err
		}
	}
	return nil
}

// migrationFS is the embedded migrations as this engine should see them.
func (s *DB) migrationFS() fs.FS {
	out := memFS{}
	entries, _ := fs.ReadDir(migrations, "migrations")
	for _, e := range entries {
		b, _ := fs.ReadFile(migrations, "migrations/"+e.Name())
		text := sqliteOnly.ReplaceAllString(string(b), "")
		if s.d.SQLiteOnly {
			text = sqliteOnly.ReplaceAllString(string(b), "$1")
		}
		out[e.Name()] = []byte(text)
	}
	return out
}

var sqliteOnly = regexp.MustCompile(`/\*sqlite: ([^*]*)\*/`)

// OnClose registers fn to run first when the store closes, for a
// backend's own background work.
func (s *DB) OnClose(fn func() error) { *s.closers = append(*s.closers, fn) }

// Close closes the database.
func (s *DB) Close() error {
	var err error
	for _, fn := range *s.closers {
		err = errors.Join(err, fn())
	}
	err = errors.Join(err, s.w.close())
	if s.r != s.w {
		err = errors.Join(err, s.r.close())
	}
	return err
}

// SQL exposes the writer handle for backend-specific maintenance.
func (s *DB) SQL() *sql.DB { return s.w.db }

// Pools are the database/sql handles by role ("writer" and "reader" for
// SQLite, one "pool" otherwise), for metrics.
func (s *DB) Pools() map[string]*sql.DB {
	if s.w == s.r {
		return map[string]*sql.DB{"pool": s.w.db}
	}
	return map[string]*sql.DB{"writer": s.w.db, "reader": s.r.db}
}

// InTx runs fn in one transaction.
func (s *DB) InTx(ctx context.Context, fn func(store.Queries) error) error {
	if s.d.BeginNative != nil {
		return s.inNativeTx(ctx, fn)
	}
	s.watch.open.Add(1)
	defer s.watch.open.Add(-1)
	if s.w.batch != nil {
		return s.w.batch.do(ctx, s, fn)
	}
	return s.alone(ctx, fn)
}

// alone runs fn in a transaction of its own.
func (s *DB) alone(ctx context.Context, fn func(store.Queries) error) error {
	j := &txJob{ctx: ctx, fn: fn}
	return j.finish(ctx, s, s.single(j))
}

// runIn runs fn inside the transaction tx.
func (s *DB) runIn(tx *sql.Tx, after, undo *[]func(), fn func(store.Queries) error) error {
	var conflict error
	err := fn(&DB{w: s.w, r: s.r, tx: tx, d: s.d, closers: s.closers, watch: s.watch, after: after, undo: undo, conflict: &conflict,
		hooks: s.hooks, rebound: s.rebound})
	if conflict != nil {
		return conflict
	}
	return err
}

func (s *DB) inNativeTx(ctx context.Context, fn func(store.Queries) error) error {
	tx, err := s.d.BeginNative(ctx)
	if err != nil {
		return fmt.Errorf("beginning transaction: %w", err)
	}
	s.watch.open.Add(1)
	defer s.watch.open.Add(-1)
	var after, undo []func()
	// A panic in fn must not leave the transaction open: its connection
	// would never go back to the pool.
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback(context.WithoutCancel(ctx))
			ended(false, after, undo)
			panic(p)
		}
	}()
	if err := fn(&DB{w: s.w, r: s.r, native: tx, d: s.d, closers: s.closers, watch: s.watch, after: &after, undo: &undo, hooks: s.hooks, rebound: s.rebound}); err != nil {
		_ = tx.Rollback(context.WithoutCancel(ctx))
		ended(false, after, undo)
		// A queued write's conflict reached fn through a later statement,
		// which fn may have answered in its own words: the conflict is
		// what failed the transaction.
		if c := tx.Conflict(); c != nil {
			return c
		}
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		ended(false, after, undo)
		if c := tx.Conflict(); c != nil {
			return c
		}
		return fmt.Errorf("committing transaction: %w", err)
	}
	ended(true, after, undo)
	return nil
}

func (s *DB) rebind(q string) string {
	if !s.d.Numbered {
		return q
	}
	if n, ok := s.rebound.Load(q); ok {
		return n.(string)
	}
	n := numbered(q)
	s.rebound.Store(q, n)
	return n
}

// numbered writes each '?' placeholder of q as $1, $2, …, leaving alone a
// '?' inside a string literal, a quoted identifier or a comment.
func numbered(q string) string {
	var b strings.Builder
	n := 0
	// skipTo copies q from i up to the end of what closes at close, or to
	// the end of q, and returns where to go on.
	skipTo := func(i, from int, close string) int {
		end := len(q)
		if k := strings.Index(q[from:], close); k >= 0 {
			end = from + k + len(close)
		}
		b.WriteString(q[i:end])
		return end
	}
	for i := 0; i < len(q); {
		switch {
		case q[i] == '\'' || q[i] == '"':
			i = skipTo(i, i+1, q[i:i+1])
		case strings.HasPrefix(q[i:], "--"):
			i = skipTo(i, i+2, "\n")
		case strings.HasPrefix(q[i:], "/*"):
			i = skipTo(i, i+2, "*/")
		case q[i] == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			i++
		default:
			b.WriteByte(q[i])
			i++
		}
	}
	return b.String()
}

func (s *DB) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	q = s.rebind(q)
	if s.native != nil {
		n, err := s.native.Exec(ctx, q, args...)
		if err != nil && s.d.IsUniqueViolation(err) {
			return nil, fmt.Errorf("%w: %v", store.ErrConflict, err)
		}
		return affected(n), err
	}
	if err := s.outside(); err != nil {
		return nil, err
	}
	if s.tx == nil {
		if err := s.w.enter(ctx); err != nil {
			return nil, err
		}
		defer s.w.leave()
	}
	ctx, err := s.txCtx(ctx)
	if err != nil {
		return nil, err
	}
	var res sql.Result
	st, h, err := s.stmt(ctx, q, true)
	switch {
	case err != nil:
	case st != nil:
		res, err = st.ExecContext(ctx, args...)
	default:
		res, err = h.ExecContext(ctx, q, args...)
	}
	if err != nil && s.d.IsUniqueViolation(err) {
		return nil, fmt.Errorf("%w: %v", store.ErrConflict, err)
	}
	return res, err
}

// query runs a read that returns rows (on the read pool outside a
// transaction).
func (s *DB) query(ctx context.Context, q string, args ...any) (Rows, error) {
	q = s.rebind(q)
	if s.native != nil {
		return s.native.Query(ctx, q, args...)
	}
	if err := s.outside(); err != nil {
		return nil, err
	}
	ctx, err := s.txCtx(ctx)
	if err != nil {
		return nil, err
	}
	st, h, err := s.stmt(ctx, q, false)
	if err != nil {
		return nil, err
	}
	if st != nil {
		return st.QueryContext(ctx, args...)
	}
	return h.QueryContext(ctx, q, args...)
}

// row runs a read that returns one row. Preparing can fail before the
// query runs; the error then surfaces from Scan, as database/sql does.
func (s *DB) row(ctx context.Context, q string, args ...any) rowScanner {
	return s.oneRow(ctx, q, false, args)
}

// writeRow runs a write that returns one row (INSERT or UPDATE …
// RETURNING): on the writer, never the read pool.
func (s *DB) writeRow(ctx context.Context, q string, args ...any) rowScanner {
	return s.oneRow(ctx, q, true, args)
}

func (s *DB) oneRow(ctx context.Context, q string, write bool, args []any) rowScanner {
	q = s.rebind(q)
	if rec, ok := s.native.(*recorder); ok && write {
		rec.wrote = true
		return errRow{errReadAhead}
	}
	if s.native != nil {
		return s.native.QueryRow(ctx, q, args...)
	}
	if err := s.outside(); err != nil {
		return errRow{err}
	}
	if write && s.tx == nil {
		// A lone UPDATE ... RETURNING holds the writer until it is read.
		if err := s.w.enter(ctx); err != nil {
			return errRow{err}
		}
		return gatedRow{s.rowOn(ctx, q, true, args), s.w.leave}
	}
	return s.rowOn(ctx, q, write, args)
}

func (s *DB) rowOn(ctx context.Context, q string, write bool, args []any) rowScanner {
	ctx, err := s.txCtx(ctx)
	if err != nil {
		return errRow{err}
	}
	st, h, err := s.stmt(ctx, q, write)
	if err != nil {
		return errRow{err}
	}
	if st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return h.QueryRowContext(ctx, q, args...)
}

type gatedRow struct {
	rowScanner
	leave func()
}

func (g gatedRow) Scan(dest ...any) error {
	defer g.leave()
	return g.rowScanner.Scan(dest...)
}

type rowScanner interface{ Scan(...any) error }

type errRow struct{ err error }

func (e errRow) Scan(...any) error { return e.err }

// execUnread runs a write whose only outcome is success or failure, and
// whose failure can only fail the transaction: an insert of a row keyed by
// new random values, a delete of what may not be there. Inside a
// PostgreSQL transaction it is not sent on its own but ahead of the
// transaction's next statement or its commit, which then fails in its
// place. A sign-in wrote 10 such rows in their own round trips.
func (s *DB) execUnread(ctx context.Context, what string, q string, args ...any) error {
	if s.native != nil {
		s.native.Ahead(what, s.rebind(q), args...)
		return nil
	}
	if _, err := s.exec(ctx, q, args...); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// inList is the placeholders of an IN (…) list of vals, and vals as
// arguments. One statement per list length keeps the prepared-statement
// cache small.
func inList(vals []string) (string, []any) {
	args := make([]any, len(vals))
	for i, v := range vals {
		args[i] = v
	}
	return strings.TrimSuffix(strings.Repeat("?,", len(vals)), ","), args
}

// execOneAhead runs an update that must touch exactly one row, and whose
// caller fails the transaction when it touches none: ErrConflict. Inside a
// PostgreSQL transaction it goes ahead of the next statement (see
// NativeTx.AheadOne), which reports the conflict in its place.
func (s *DB) execOneAhead(ctx context.Context, what string, q string, args ...any) error {
	if s.native != nil {
		s.native.AheadOne(what, s.rebind(q), args...)
		return nil
	}
	err := s.execOne(ctx, what, q, args...)
	if errors.Is(err, store.ErrNotFound) {
		err = fmt.Errorf("%s: %w", what, store.ErrConflict)
		if s.conflict != nil && *s.conflict == nil {
			*s.conflict = err
		}
	}
	return err
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
