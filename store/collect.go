package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// collect runs q and reads every row into a T by column name.
func collect[T any](ctx context.Context, db *DB, q string, args ...any) ([]T, error) {
	rows, err := db.q.Query(ctx, q, args...)
	if err != nil {
		return nil, interpret(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByName[T])
	if err != nil {
		return nil, fmt.Errorf("read rows: %w", interpret(err))
	}
	return out, nil
}

// collectOne runs q and reads exactly one row; no row is ErrNotFound.
func collectOne[T any](ctx context.Context, db *DB, q string, args ...any) (T, error) {
	rows, err := db.q.Query(ctx, q, args...)
	if err != nil {
		var zero T
		return zero, interpret(err)
	}
	out, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[T])
	return out, interpret(err)
}
