// Package postgres opens ward's PostgreSQL store, for several ward
// instances sharing one database. Transactions run on pgx itself, not
// through database/sql.
package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

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
	cfg.MaxConns = 32
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
			tx, err := pool.Begin(ctx)
			if err != nil {
				return nil, err
			}
			return nativeTx{tx}, nil
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

func isUnique(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

// nativeTx adapts a pgx.Tx to what sqlstore runs queries on.
type nativeTx struct{ tx pgx.Tx }

func (n nativeTx) Exec(ctx context.Context, q string, args ...any) (int64, error) {
	tag, err := n.tx.Exec(ctx, q, args...)
	return tag.RowsAffected(), err
}

func (n nativeTx) Query(ctx context.Context, q string, args ...any) (sqlstore.Rows, error) {
	rows, err := n.tx.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return pgxRows{rows}, nil
}

func (n nativeTx) QueryRow(ctx context.Context, q string, args ...any) interface{ Scan(...any) error } {
	return noRows{n.tx.QueryRow(ctx, q, args...)}
}

func (n nativeTx) Commit(ctx context.Context) error   { return n.tx.Commit(ctx) }
func (n nativeTx) Rollback(ctx context.Context) error { return n.tx.Rollback(ctx) }

type pgxRows struct{ pgx.Rows }

func (r pgxRows) Close() error { r.Rows.Close(); return nil }

// noRows reports pgx's "no rows" as database/sql's, which the store
// turns into store.ErrNotFound.
type noRows struct{ row pgx.Row }

func (r noRows) Scan(dest ...any) error {
	err := r.row.Scan(dest...)
	if errors.Is(err, pgx.ErrNoRows) {
		return sql.ErrNoRows
	}
	return err
}
