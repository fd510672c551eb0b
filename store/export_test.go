package store

import (
	"context"
	"time"

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

// ConversationTTL is how long the chat's conversation is kept still, on either backend.
func ConversationTTL(ctx context.Context, s *State, chatID int64) (time.Duration, error) {
	if s.lite == nil {
		return s.rdb.PTTL(ctx, s.key(chatID)).Result()
	}
	var at int64
	err := s.lite.QueryRowContext(ctx, `SELECT expires_at FROM conversations WHERE chat_id = $1`, chatID).Scan(&at)
	return time.Until(time.UnixMilli(at)), err
}

// SetConversationTTL makes the chat's conversation expire after d (at once if d <= 0).
func SetConversationTTL(ctx context.Context, s *State, chatID int64, d time.Duration) error {
	if s.lite == nil {
		return s.rdb.PExpire(ctx, s.key(chatID), d).Err()
	}
	_, err := s.lite.ExecContext(ctx, `UPDATE conversations SET expires_at = $2 WHERE chat_id = $1`,
		chatID, time.Now().Add(d).UnixMilli())
	return err
}

// SetConversationRaw stores body as the chat's conversation record, bypassing Save.
func SetConversationRaw(ctx context.Context, s *State, chatID int64, body string) error {
	if s.lite == nil {
		return s.rdb.Set(ctx, s.key(chatID), body, time.Minute).Err()
	}
	_, err := s.lite.ExecContext(ctx, `INSERT INTO conversations (chat_id, body, version, expires_at) VALUES ($1, $2, 0, $3)`,
		chatID, body, time.Now().Add(time.Minute).UnixMilli())
	return err
}
