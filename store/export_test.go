package store

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// Querier runs SQL the store has no method for, on either backend, for tests that read
// what the store keeps.
type Querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// Raw is the connection of db as a Querier.
func Raw(db *DB) Querier { return db.q }
