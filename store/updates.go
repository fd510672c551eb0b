package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
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

// ClaimReplies hands out the replies of a processed update to one process for lease:
// until that process reports them sent (RepliesSent) or the lease runs out, a second
// claim fails with ErrConflict; once they are sent it fails with ErrNotFound. A process
// that dies while sending thus leaves them to the next delivery of the update after
// the lease. sent_at holds when they were claimed until RepliesSent empties replies.
func (db *DB) ClaimReplies(ctx context.Context, updateID int64, lease time.Duration) (json.RawMessage, error) {
	const q = `
		WITH old AS (
			SELECT update_id, replies, sent_at FROM processed_updates
			WHERE update_id = $1 AND (sent_at IS NULL OR replies <> '[]') FOR UPDATE),
		claimed AS (
			UPDATE processed_updates p SET sent_at = now()
			FROM old WHERE p.update_id = old.update_id
				AND (old.sent_at IS NULL OR old.sent_at < now() - make_interval(secs => $2))
			RETURNING p.update_id)
		SELECT old.replies, EXISTS (SELECT 1 FROM claimed) FROM old`
	if db.lite {
		return db.claimRepliesLite(ctx, updateID, lease)
	}
	var out json.RawMessage
	var won bool
	if err := db.q.QueryRow(ctx, q, updateID, lease.Seconds()).Scan(&out, &won); err != nil {
		return nil, interpret(err)
	}
	if !won {
		return nil, fmt.Errorf("replies of %d: claimed by another process: %w", updateID, ErrConflict)
	}
	return out, nil
}

// claimRepliesLite is ClaimReplies on SQLite, whose RETURNING sees only the new row:
// read, then stamp the claim, in one transaction (which holds the write lock).
func (db *DB) claimRepliesLite(ctx context.Context, updateID int64, lease time.Duration) (json.RawMessage, error) {
	var out json.RawMessage
	err := db.InTx(ctx, func(tx *DB) error {
		const read = `SELECT replies FROM processed_updates
			WHERE update_id = $1 AND (sent_at IS NULL OR replies <> '[]')`
		if err := tx.q.QueryRow(ctx, read, updateID).Scan(&out); err != nil {
			return interpret(err)
		}
		const claim = `UPDATE processed_updates SET sent_at = now()
			WHERE update_id = $1 AND (sent_at IS NULL OR sent_at < $2)`
		tag, err := tx.q.Exec(ctx, claim, updateID, time.Now().Add(-lease))
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("replies of %d: claimed by another process: %w", updateID, ErrConflict)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// RepliesSent records that the replies of a processed update are sent and forgets them,
// so the marker keeps no trace of who was answered.
func (db *DB) RepliesSent(ctx context.Context, updateID int64) error {
	const q = `UPDATE processed_updates SET sent_at = coalesce(sent_at, now()), replies = '[]' WHERE update_id = $1`
	if _, err := db.q.Exec(ctx, q, updateID); err != nil {
		return fmt.Errorf("replies of %d sent: %w", updateID, err)
	}
	return nil
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
