// Package postgres opens ward's PostgreSQL store, for several ward
// instances sharing one database. Transactions run on pgx itself, not
// through database/sql.
package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"regexp"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/wardhq/ward/store"
	"github.com/wardhq/ward/store/sqlstore"
)

// Store is the PostgreSQL store and the pgx pool under it.
type Store struct {
	*sqlstore.DB
	Pool *pgxpool.Pool
}

// Open connects to the database named by dsn (a PostgreSQL URL or
// key=value string) and applies migrations when migrate is true.
func Open(ctx context.Context, dsn string, migrate bool) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("database.dsn: %w", err)
	}
	// 32 unless the DSN says (pool_max_conns): pgx's own default is 4, or
	// one per core.
	if !dsnSets(dsn, "pool_max_conns") {
		cfg.MaxConns = 32
	}
	// No bug may hold the pool forever: a statement, a wait for a lock, or
	// a transaction left idle is ended after these, and its connection
	// comes back. (An operator's own DSN settings win.)
	for k, v := range map[string]string{"statement_timeout": "30s", "lock_timeout": "20s", "idle_in_transaction_session_timeout": "30s"} {
		if _, set := cfg.ConnConfig.RuntimeParams[k]; !set {
			cfg.ConnConfig.RuntimeParams[k] = v
		}
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("opening PostgreSQL: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connecting to PostgreSQL: %w", err)
	}
	db := stdlib.OpenDBFromPool(pool)
	d := sqlstore.Dialect{Goose: goose.DialectPostgres, Numbered: true, IsUniqueViolation: isUnique, AdvisoryLocks: true,
		BeginNative: func(ctx context.Context) (sqlstore.NativeTx, error) {
			conn, err := pool.Acquire(ctx)
			if err != nil {
				return nil, err
			}
			tx := &nativeTx{conn: conn}
			tx.Ahead("beginning transaction", "begin")
			return tx, nil
		}}
	s := sqlstore.New(db, d)
	s.OnClose(func() error { pool.Close(); return nil })
	if migrate {
		if err := s.Migrate(ctx); err != nil {
			s.Close()
			return nil, err
		}
	}
	return &Store{DB: s, Pool: pool}, nil
}

// dsnSets says whether dsn (a URL or key=value pairs) sets key.
func dsnSets(dsn, key string) bool {
	if u, err := url.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		return u.Query().Has(key)
	}
	return regexp.MustCompile(`(^|\s)` + regexp.QuoteMeta(key) + `\s*=`).MatchString(dsn)
}

func isUnique(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

// nativeTx is a transaction on one pgx connection. Its "begin", its
// advisory locks and the writes whose result nobody reads are not sent on
// their own: they go ahead of its next statement, or its commit, in one
// pipeline (one round trip instead of one each).
type nativeTx struct {
	conn  *pgxpool.Conn
	ahead []aheadStmt
	// begun: "begin" has gone to the server, so the transaction must end
	// there too.
	begun bool
	// conflict: a write queued by AheadOne touched no row. The server saw
	// no error, so nothing there stops the transaction: this does.
	conflict error
	// kept are the rows read ahead (AheadRow) and not yet asked for.
	// epoch counts the statements that may write: a row read ahead is
	// kept only while none has been queued or run since it was asked for.
	kept  []keptRow
	epoch int
}

type aheadStmt struct {
	what  string
	q     string
	args  []any
	one   bool // must touch exactly one row
	keep  bool // a read whose row is kept (AheadRow)
	epoch int  // of a kept read: n.epoch when it was queued
}

// keptRow is one row read ahead: the raw values as the server sent them,
// scanned when the same read is made.
type keptRow struct {
	q      string
	args   []any
	epoch  int
	found  bool
	fields []pgconn.FieldDescription
	values [][]byte
	types  *pgtype.Map
}

// Ahead implements sqlstore.NativeTx.
func (n *nativeTx) Ahead(what, q string, args ...any) {
	n.epoch++
	n.ahead = append(n.ahead, aheadStmt{what: what, q: q, args: args})
}

// AheadOne implements sqlstore.NativeTx.
func (n *nativeTx) AheadOne(what, q string, args ...any) {
	n.epoch++
	n.ahead = append(n.ahead, aheadStmt{what: what, q: q, args: args, one: true})
}

// AheadRow implements sqlstore.NativeTx.
func (n *nativeTx) AheadRow(q string, args ...any) {
	n.ahead = append(n.ahead, aheadStmt{what: "reading ahead", q: q, args: args, keep: true, epoch: n.epoch})
}

// Conflict implements sqlstore.NativeTx.
func (n *nativeTx) Conflict() error { return n.conflict }

// send runs what waits ahead and then q (if any) in one pipeline, and
// returns the results positioned at q's. The caller reads q's result and
// closes them.
func (n *nativeTx) send(ctx context.Context, q string, args []any) (pgx.BatchResults, error) {
	b := &pgx.Batch{}
	for _, a := range n.ahead {
		b.Queue(a.q, a.args...)
	}
	if q != "" {
		b.Queue(q, args...)
	}
	ahead := n.ahead
	n.ahead = nil
	n.begun = true
	br := n.conn.SendBatch(ctx, b)
	for _, a := range ahead {
		var tag pgconn.CommandTag
		var err error
		if a.keep {
			err = n.keep(br, a)
		} else {
			tag, err = br.Exec()
		}
		if err != nil {
			br.Close()
			if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				// The caller's, not any statement's: it stays what it is.
				return nil, fmt.Errorf("%s: %w", a.what, err)
			}
			// %v: the error is not the next statement's own, so it must
			// not pass for it (a unique violation is not that statement's
			// conflict). The transaction fails either way.
			return nil, fmt.Errorf("%s: %v", a.what, err)
		}
		if a.one && tag.RowsAffected() != 1 {
			br.Close()
			n.conflict = fmt.Errorf("%s: %w", a.what, store.ErrConflict)
			return nil, n.conflict
		}
	}
	return br, nil
}

// keep reads the row of the read ahead a from br and keeps it, unless a
// write was queued since it was asked for (the row could be older than
// that write, and is dropped).
func (n *nativeTx) keep(br pgx.BatchResults, a aheadStmt) error {
	rows, err := br.Query()
	if err != nil {
		return err
	}
	k := keptRow{q: a.q, args: a.args, epoch: a.epoch, types: n.conn.Conn().TypeMap()}
	if rows.Next() {
		k.found, k.fields = true, slices.Clone(rows.FieldDescriptions())
		k.values = cloneValues(rows.RawValues())
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if a.epoch == n.epoch {
		n.kept = append(n.kept, k)
	}
	return nil
}

// cloneValues copies a row's raw values (pgx reuses them for the next
// row) into one buffer; a NULL (nil) stays nil.
func cloneValues(raw [][]byte) [][]byte {
	n := 0
	for _, v := range raw {
		n += len(v)
	}
	buf := make([]byte, 0, n)
	out := make([][]byte, len(raw))
	for i, v := range raw {
		if v != nil {
			at := len(buf)
			buf = append(buf, v...)
			out[i] = buf[at:len(buf):len(buf)]
		}
	}
	return out
}

// takeKept returns the row read ahead for q and args, sending what waits
// ahead first if that read is among it; ok is false when there is none
// (or a write was queued since it was asked for).
func (n *nativeTx) takeKept(ctx context.Context, q string, args []any) (row interface{ Scan(...any) error }, ok bool) {
	same := func(kq string, kargs []any, epoch int) bool {
		return epoch == n.epoch && kq == q && reflect.DeepEqual(kargs, args)
	}
	if slices.ContainsFunc(n.ahead, func(a aheadStmt) bool { return a.keep && same(a.q, a.args, a.epoch) }) {
		br, err := n.send(ctx, "", nil)
		if err == nil {
			err = br.Close()
		}
		if err != nil {
			return errRow{err}, true
		}
	}
	i := slices.IndexFunc(n.kept, func(k keptRow) bool { return same(k.q, k.args, k.epoch) })
	if i < 0 {
		return nil, false
	}
	k := n.kept[i]
	n.kept = slices.Delete(n.kept, i, i+1)
	return k, true
}

// Scan scans the kept row as pgx scans a row it receives.
func (k keptRow) Scan(dest ...any) error {
	if !k.found {
		return sql.ErrNoRows
	}
	return pgx.ScanRow(k.types, k.fields, k.values, dest...)
}

func (n *nativeTx) Exec(ctx context.Context, q string, args ...any) (int64, error) {
	tag, err := n.exec(ctx, q, args)
	return tag.RowsAffected(), err
}

// exec runs q, after what waits ahead, and returns its command tag.
func (n *nativeTx) exec(ctx context.Context, q string, args []any) (pgconn.CommandTag, error) {
	n.epoch++
	if n.conflict != nil {
		return pgconn.CommandTag{}, n.conflict
	}
	if len(n.ahead) == 0 {
		return n.conn.Exec(ctx, q, args...)
	}
	br, err := n.send(ctx, q, args)
	if err != nil {
		return pgconn.CommandTag{}, err
	}
	tag, err := br.Exec()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return tag, err
}

func (n *nativeTx) Query(ctx context.Context, q string, args ...any) (sqlstore.Rows, error) {
	n.epoch++ // it may write (… RETURNING)
	if n.conflict != nil {
		return nil, n.conflict
	}
	if len(n.ahead) == 0 {
		rows, err := n.conn.Query(ctx, q, args...)
		if err != nil {
			return nil, err
		}
		return pgxRows{rows, nil}, nil
	}
	br, err := n.send(ctx, q, args)
	if err != nil {
		return nil, err
	}
	rows, err := br.Query()
	if err != nil {
		br.Close()
		return nil, err
	}
	return pgxRows{rows, br}, nil
}

func (n *nativeTx) QueryRow(ctx context.Context, q string, args ...any) interface{ Scan(...any) error } {
	if n.conflict != nil {
		return errRow{n.conflict}
	}
	if r, ok := n.takeKept(ctx, q, args); ok {
		return r
	}
	n.epoch++ // it may write (UPDATE … RETURNING)
	if len(n.ahead) == 0 {
		return noRows{n.conn.QueryRow(ctx, q, args...), nil}
	}
	br, err := n.send(ctx, q, args)
	if err != nil {
		return errRow{err}
	}
	return noRows{br.QueryRow(), br}
}

// Commit implements sqlstore.NativeTx. A transaction that sent nothing
// did nothing, and ends without a word to the server.
func (n *nativeTx) Commit(ctx context.Context) error {
	defer n.conn.Release()
	if n.conflict != nil {
		_ = n.rollback(ctx)
		return n.conflict
	}
	if !n.begun && len(n.ahead) == 0 {
		return nil
	}
	// Writes that waited ahead go with the commit, unless one may meet a
	// conflict: the server sees no error in an update that touches no row,
	// and would commit behind it.
	if slices.ContainsFunc(n.ahead, func(a aheadStmt) bool { return a.one }) {
		br, err := n.send(ctx, "", nil)
		if err == nil {
			err = br.Close()
		}
		if err != nil {
			_ = n.rollback(ctx)
			return err
		}
	}
	tag, err := n.exec(ctx, "commit", nil)
	if err != nil {
		return err
	}
	if tag.String() == "ROLLBACK" {
		return pgx.ErrTxCommitRollback
	}
	return nil
}

// Rollback implements sqlstore.NativeTx. A connection left inside a
// transaction (the rollback failed) is closed by the pool on release.
func (n *nativeTx) Rollback(ctx context.Context) error {
	defer n.conn.Release()
	return n.rollback(ctx)
}

func (n *nativeTx) rollback(ctx context.Context) error {
	if !n.begun {
		return nil
	}
	_, err := n.conn.Exec(ctx, "rollback")
	return err
}

// pgxRows are a query's rows, and the pipeline they came in when
// statements went ahead of it: closing the rows closes that too.
type pgxRows struct {
	pgx.Rows
	batch pgx.BatchResults
}

func (r pgxRows) Close() error {
	r.Rows.Close()
	if r.batch != nil {
		return r.batch.Close()
	}
	return nil
}

// noRows reports pgx's "no rows" as database/sql's, which the store
// turns into store.ErrNotFound, and closes the row's pipeline, if any.
type noRows struct {
	row   pgx.Row
	batch pgx.BatchResults
}

func (r noRows) Scan(dest ...any) error {
	err := r.row.Scan(dest...)
	if r.batch != nil {
		if cerr := r.batch.Close(); err == nil {
			err = cerr
		}
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return sql.ErrNoRows
	}
	return err
}

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }
