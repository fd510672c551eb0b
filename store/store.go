// Package store keeps zhucun's records in Postgres or, embedded, in a SQLite file, and
// its conversation state in Redis or, embedded, in a SQLite file too. SQL stops here:
// callers get concrete types and the errors of this package.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

var (
	// ErrNotFound reports that no record matched.
	ErrNotFound = errors.New("not found")
	// ErrConflict reports a unique violation or a lost race (a version that moved on).
	ErrConflict = errors.New("conflict")
)

// dbtx is what a pool, a transaction and the SQLite side (liteQ) can do.
type dbtx interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// DB runs the record queries, on the pool or inside a transaction (see InTx), on
// Postgres (Open) or on a SQLite file (OpenSQLite).
type DB struct {
	q    dbtx
	pool *pgxpool.Pool // Postgres, outside a transaction
	pgtx pgx.Tx        // Postgres, inside one

	lite  bool    // SQLite
	sqldb *sql.DB // SQLite, outside a transaction
	sqltx *sql.Tx // SQLite, inside one
	depth int     // SQLite: savepoints inside sqltx
}

// OpenURL opens the records at databaseURL: a postgres:// or postgresql:// URL is
// Postgres, anything else the path of a SQLite file (created if need be).
func OpenURL(ctx context.Context, databaseURL string) (*DB, error) {
	if IsPostgresURL(databaseURL) {
		return Open(ctx, databaseURL)
	}
	return OpenSQLite(ctx, databaseURL)
}

// IsPostgresURL reports whether a DATABASE_URL names Postgres (else it is a SQLite file).
func IsPostgresURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// Embedded reports whether the records are in a SQLite file.
func (db *DB) Embedded() bool { return db.lite }

// Pool is the Postgres pool (nil on SQLite or inside a transaction).
func (db *DB) Pool() *pgxpool.Pool { return db.pool }

// SQL is the SQLite database (nil on Postgres or inside a transaction).
func (db *DB) SQL() *sql.DB { return db.sqldb }

// DefaultMaxConns is the size of the connection pool unless the database URL sets
// pool_max_conns. pgx's own default (4 on a small machine) keeps the updates in flight
// — up to 40 webhook connections — waiting for a connection while the CPU idles.
const DefaultMaxConns = 16

// Open connects to the Postgres database at url and checks that it answers.
func Open(ctx context.Context, url string) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse database url: %w", err) // pgx redacts the password
	}
	if !strings.Contains(url, "pool_max_conns") {
		cfg.MaxConns = DefaultMaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to database: %w", err)
	}
	return &DB{q: pool, pool: pool}, nil
}

// Close closes the pool. Only the DB returned by Open may be closed.
func (db *DB) Close() {
	if db.pool != nil {
		db.pool.Close()
	}
	if db.sqldb != nil {
		db.sqldb.Close()
	}
}

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	switch {
	case db.pool != nil:
		return db.pool.Ping(ctx)
	case db.sqldb != nil:
		return db.sqldb.PingContext(ctx)
	}
	return errors.New("ping inside a transaction")
}

// InTx runs fn in one transaction: committed when fn returns nil, rolled back otherwise.
// Inside a transaction InTx opens a savepoint. On SQLite a transaction holds the
// write lock from its start, so transactions that write run one after the other: what
// FOR UPDATE and SKIP LOCKED do on Postgres.
func (db *DB) InTx(ctx context.Context, fn func(tx *DB) error) error {
	if db.lite {
		return db.inTxLite(ctx, fn)
	}
	var begin interface {
		Begin(ctx context.Context) (pgx.Tx, error)
	} = db.pool
	if db.pgtx != nil {
		begin = db.pgtx
	}
	return pgx.BeginFunc(ctx, begin, func(tx pgx.Tx) error {
		return fn(&DB{q: tx, pgtx: tx})
	})
}

// pick is the SQL of the backend: pg on Postgres, lite on SQLite. Methods keep the two
// variants of a statement next to each other where the dialects differ.
func (db *DB) pick(pg, lite string) string {
	if db.lite {
		return lite
	}
	return pg
}

// interpret translates driver errors into this package's errors.
func interpret(err error) error {
	if err == nil {
		return nil
	}
	if e, ok := interpretLite(err); ok {
		return e
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrNotFound
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return fmt.Errorf("%w: %s", ErrConflict, pgErr.ConstraintName)
	}
	return err
}
