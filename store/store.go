// Package store keeps zhucun's records in Postgres and its conversation state in Redis.
// SQL stops here: callers get concrete types and the errors of this package.
package store

import (
	"context"
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

// dbtx is what both a pool and a transaction can do.
type dbtx interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Begin(ctx context.Context) (pgx.Tx, error)
}

// DB runs the record queries, on the pool or inside a transaction (see InTx).
type DB struct {
	q    dbtx
	pool *pgxpool.Pool
}

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
}

// Ping checks that Postgres answers.
func (db *DB) Ping(ctx context.Context) error {
	if db.pool == nil {
		return errors.New("ping inside a transaction")
	}
	return db.pool.Ping(ctx)
}

// InTx runs fn in one transaction: committed when fn returns nil, rolled back otherwise.
// Inside a transaction InTx opens a savepoint.
func (db *DB) InTx(ctx context.Context, fn func(tx *DB) error) error {
	return pgx.BeginFunc(ctx, db.q, func(tx pgx.Tx) error {
		return fn(&DB{q: tx})
	})
}

// interpret translates driver errors into this package's errors.
func interpret(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrNotFound
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return fmt.Errorf("%w: %s", ErrConflict, pgErr.ConstraintName)
	}
	return err
}
