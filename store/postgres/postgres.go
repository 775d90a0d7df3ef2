// Package postgres opens ward's PostgreSQL store, for several ward
// instances sharing one database.
package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"github.com/pressly/goose/v3"

	"github.com/wardhq/ward/store/sqlstore"
)

// Open connects to the database named by dsn (a PostgreSQL URL or
// key=value string) and applies migrations when migrate is true.
func Open(ctx context.Context, dsn string, migrate bool) (*sqlstore.DB, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("opening PostgreSQL: %w", err)
	}
	db.SetMaxOpenConns(32)
	db.SetMaxIdleConns(32)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connecting to PostgreSQL: %w", err)
	}
	s := sqlstore.New(db, sqlstore.Dialect{Goose: goose.DialectPostgres, Numbered: true, IsUniqueViolation: isUnique})
	if migrate {
		if err := s.Migrate(ctx); err != nil {
			db.Close()
			return nil, err
		}
	}
	return s, nil
}

func isUnique(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}
