package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// The embedded conversation state lives in a SQLite file of its own, apart from the
// records: Handle saves the conversation inside the records' transaction, which holds
// the records file's write lock, as Redis is written apart from Postgres. Its tables are
// the state's own (like Redis keys, not records), created when the file is opened.
// Expiry is a time on each row: an expired row is absent, and is deleted by the
// next write.

const stateSchema = `
CREATE TABLE IF NOT EXISTS conversations (
    chat_id     integer PRIMARY KEY,
    body        text NOT NULL,
    version     integer NOT NULL,
    expires_at  integer NOT NULL
);
CREATE INDEX IF NOT EXISTS conversations_expiry_idx ON conversations (expires_at);
CREATE TABLE IF NOT EXISTS draft_photos (
    chat_id     integer NOT NULL,
    message_id  integer NOT NULL,
    body        text NOT NULL,
    expires_at  integer NOT NULL,
    PRIMARY KEY (chat_id, message_id)
);
CREATE INDEX IF NOT EXISTS draft_photos_expiry_idx ON draft_photos (expires_at);
CREATE TABLE IF NOT EXISTS draft_albums (
    chat_id         integer NOT NULL,
    media_group_id  text NOT NULL,
    expires_at      integer NOT NULL,
    PRIMARY KEY (chat_id, media_group_id)
);
CREATE INDEX IF NOT EXISTS draft_albums_expiry_idx ON draft_albums (expires_at);`

// OpenEmbeddedState opens (creating if need be) conversation state kept in the SQLite
// file at path, each conversation for ttl after its last save. Close it when done.
func OpenEmbeddedState(ctx context.Context, path string, ttl time.Duration) (*State, error) {
	db, err := openSQLiteFile(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("open state: %w", err)
	}
	if _, err := db.ExecContext(ctx, stateSchema); err != nil {
		db.Close()
		return nil, fmt.Errorf("open state: %w", err)
	}
	return &State{lite: db, ttl: ttl}, nil
}

// Close closes the embedded state's file; state on Redis leaves its client to its owner.
func (s *State) Close() error {
	if s.lite != nil {
		return s.lite.Close()
	}
	return nil
}

func nowMilli() int64 { return time.Now().UnixMilli() }

func (s *State) loadLite(ctx context.Context, chatID int64) (Conversation, error) {
	var b string
	err := s.lite.QueryRowContext(ctx, `SELECT body FROM conversations WHERE chat_id = $1 AND expires_at > $2`,
		chatID, nowMilli()).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return Conversation{}, nil
	}
	if err != nil {
		return Conversation{}, fmt.Errorf("load conversation: %w", err)
	}
	var c Conversation
	if err := json.Unmarshal([]byte(b), &c); err != nil {
		return Conversation{}, fmt.Errorf("load conversation: %w", err)
	}
	return c, nil
}

// saveLite writes next when the stored version is still c.Version, in one transaction
// (which takes the file's write lock first, so two saves cannot interleave).
func (s *State) saveLite(ctx context.Context, chatID int64, c, next Conversation, body []byte) (Conversation, error) {
	now := nowMilli()
	err := s.liteTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM conversations WHERE expires_at <= $1`, now); err != nil {
			return err
		}
		var v int64
		err := tx.QueryRowContext(ctx, `SELECT version FROM conversations WHERE chat_id = $1`, chatID).Scan(&v)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if v != c.Version {
			return fmt.Errorf("save conversation of %d: %w", chatID, ErrConflict)
		}
		const put = `INSERT INTO conversations (chat_id, body, version, expires_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (chat_id) DO UPDATE SET body = $2, version = $3, expires_at = $4`
		_, err = tx.ExecContext(ctx, put, chatID, string(body), next.Version, now+s.ttl.Milliseconds())
		return err
	})
	if errors.Is(err, ErrConflict) {
		return c, err
	}
	if err != nil {
		return c, fmt.Errorf("save conversation: %w", err)
	}
	return next, nil
}

func (s *State) addDraftPhotoLite(ctx context.Context, chatID int64, p DraftPhoto, body []byte, max int) (count int, firstOfAlbum, overflow bool, err error) {
	now := nowMilli()
	expires := now + s.ttl.Milliseconds()
	err = s.liteTx(ctx, func(tx *sql.Tx) error {
		for _, q := range []string{
			`DELETE FROM draft_photos WHERE expires_at <= $1`,
			`DELETE FROM draft_albums WHERE expires_at <= $1`,
		} {
			if _, err := tx.ExecContext(ctx, q, now); err != nil {
				return err
			}
		}
		const put = `INSERT INTO draft_photos (chat_id, message_id, body, expires_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (chat_id, message_id) DO UPDATE SET body = $3`
		if _, err := tx.ExecContext(ctx, put, chatID, p.MessageID, string(body), expires); err != nil {
			return err
		}
		// The draft's photos expire together, TTL after the last one added.
		if _, err := tx.ExecContext(ctx, `UPDATE draft_photos SET expires_at = $2 WHERE chat_id = $1`, chatID, expires); err != nil {
			return err
		}
		if p.MediaGroupID != "" {
			const album = `INSERT INTO draft_albums (chat_id, media_group_id, expires_at) VALUES ($1, $2, $3)
				ON CONFLICT DO NOTHING`
			res, err := tx.ExecContext(ctx, album, chatID, p.MediaGroupID, expires)
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			firstOfAlbum = n == 1
		}
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM draft_photos WHERE chat_id = $1`, chatID).Scan(&count); err != nil {
			return err
		}
		if count > max {
			// Keep the first max by message id.
			const trim = `DELETE FROM draft_photos WHERE chat_id = $1 AND message_id NOT IN (
				SELECT message_id FROM draft_photos WHERE chat_id = $1 ORDER BY message_id LIMIT $2)`
			if _, err := tx.ExecContext(ctx, trim, chatID, max); err != nil {
				return err
			}
			count, overflow = max, true
		}
		return nil
	})
	if err != nil {
		return 0, false, false, fmt.Errorf("add draft photo: %w", err)
	}
	return count, firstOfAlbum, overflow, nil
}

func (s *State) draftPhotosLite(ctx context.Context, chatID int64) ([]string, error) {
	rows, err := s.lite.QueryContext(ctx, `SELECT body FROM draft_photos WHERE chat_id = $1 AND expires_at > $2`,
		chatID, nowMilli())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var b string
		if err := rows.Scan(&b); err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

func (s *State) liteTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.lite.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback() //nolint:errcheck // the error of fn is what matters
		return err
	}
	return tx.Commit()
}
