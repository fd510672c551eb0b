package store

import (
	"context"
	"encoding/json"
	"fmt"
)

// MarkProcessed records, inside the transaction that writes an update's records, that
// the update is done, with the replies it produced. It returns false when the update was
// processed before (or is being processed in a transaction that commits first): the
// caller must then roll back and change nothing.
func (db *DB) MarkProcessed(ctx context.Context, updateID int64) (bool, error) {
	const q = `INSERT INTO processed_updates (update_id) VALUES ($1) ON CONFLICT DO NOTHING`
	tag, err := db.q.Exec(ctx, q, updateID)
	if err != nil {
		return false, fmt.Errorf("mark update %d processed: %w", updateID, err)
	}
	return tag.RowsAffected() == 1, nil
}

// SetReplies stores the replies of a processed update, to be claimed once by ClaimReplies.
func (db *DB) SetReplies(ctx context.Context, updateID int64, replies json.RawMessage) error {
	const q = `UPDATE processed_updates SET replies = $2 WHERE update_id = $1`
	if _, err := db.q.Exec(ctx, q, updateID, replies); err != nil {
		return fmt.Errorf("store replies of %d: %w", updateID, err)
	}
	return nil
}

// ClaimReplies hands out the replies of a processed update exactly once and forgets them,
// so the marker keeps no trace of who was answered. A second claim is ErrNotFound.
func (db *DB) ClaimReplies(ctx context.Context, updateID int64) (json.RawMessage, error) {
	const q = `
		WITH old AS (
			SELECT update_id, replies FROM processed_updates
			WHERE update_id = $1 AND sent_at IS NULL FOR UPDATE)
		UPDATE processed_updates p SET sent_at = now(), replies = '[]'
		FROM old WHERE p.update_id = old.update_id
		RETURNING old.replies`
	if db.lite {
		return db.claimRepliesLite(ctx, updateID)
	}
	var out json.RawMessage
	if err := db.q.QueryRow(ctx, q, updateID).Scan(&out); err != nil {
		return nil, interpret(err)
	}
	return out, nil
}

// claimRepliesLite is ClaimReplies on SQLite, whose RETURNING sees only the new row:
// read, then clear, in one transaction (which holds the write lock).
func (db *DB) claimRepliesLite(ctx context.Context, updateID int64) (json.RawMessage, error) {
	var out json.RawMessage
	err := db.InTx(ctx, func(tx *DB) error {
		const read = `SELECT replies FROM processed_updates WHERE update_id = $1 AND sent_at IS NULL`
		if err := tx.q.QueryRow(ctx, read, updateID).Scan(&out); err != nil {
			return interpret(err)
		}
		const clear = `UPDATE processed_updates SET sent_at = now(), replies = '[]' WHERE update_id = $1`
		_, err := tx.q.Exec(ctx, clear, updateID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Processed reports whether an update's records are committed.
func (db *DB) Processed(ctx context.Context, updateID int64) (bool, error) {
	var ok bool
	err := db.q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM processed_updates WHERE update_id = $1)`, updateID).Scan(&ok)
	return ok, err
}

// DeadLetter is an update set aside after repeated failures.
type DeadLetter struct {
	UpdateID  int64           `db:"update_id"`
	Kind      string          `db:"kind"`
	Attempts  int32           `db:"attempts"`
	LastError string          `db:"last_error"`
	Payload   json.RawMessage `db:"payload"`
}

// AddDeadLetter sets an update aside and marks it processed, in one transaction, so it
// is never retried and its chat moves on. Setting aside an update already processed is
// not an error.
func (db *DB) AddDeadLetter(ctx context.Context, d DeadLetter) error {
	return db.InTx(ctx, func(tx *DB) error {
		fresh, err := tx.MarkProcessed(ctx, d.UpdateID)
		if err != nil || !fresh {
			return err
		}
		const q = `INSERT INTO dead_letters (update_id, kind, attempts, last_error, payload) VALUES ($1, $2, $3, $4, $5)`
		if _, err := tx.q.Exec(ctx, q, d.UpdateID, d.Kind, d.Attempts, d.LastError, d.Payload); err != nil {
			return fmt.Errorf("dead letter %d: %w", d.UpdateID, interpret(err))
		}
		return nil
	})
}

// DeadLetters returns the updates set aside, oldest first.
func (db *DB) DeadLetters(ctx context.Context) ([]DeadLetter, error) {
	const q = `SELECT update_id, kind, attempts, last_error, payload FROM dead_letters ORDER BY created_at, update_id`
	return collect[DeadLetter](ctx, db, q)
}
