package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// AuditEntry records who did what to which record.
type AuditEntry struct {
	ID       int64           `db:"id"`
	At       time.Time       `db:"at"`
	ActorID  *int64          `db:"actor_id"`
	Action   string          `db:"action"`
	RegionID *int64          `db:"region_id"`
	Subject  string          `db:"subject"`
	Details  json.RawMessage `db:"details"`
}

// Audit appends one entry to the audit log.
func (db *DB) Audit(ctx context.Context, e AuditEntry) error {
	details := e.Details
	if details == nil {
		details = json.RawMessage(`{}`)
	}
	const q = `INSERT INTO audit_log (actor_id, action, region_id, subject, details) VALUES ($1, $2, $3, $4, $5)`
	if _, err := db.q.Exec(ctx, q, e.ActorID, e.Action, e.RegionID, e.Subject, details); err != nil {
		return fmt.Errorf("audit %s: %w", e.Action, err)
	}
	return nil
}

// AuditLog returns the entries of one action, oldest first.
func (db *DB) AuditLog(ctx context.Context, action string) ([]AuditEntry, error) {
	const q = `SELECT id, at, actor_id, action, region_id, subject, details FROM audit_log
		WHERE action = $1 ORDER BY id`
	return collect[AuditEntry](ctx, db, q, action)
}

// Feedback is a complaint or suggestion for the people who run the deployment. An
// anonymous one has no UserID and no time finer than its day.
type Feedback struct {
	ID     int64     `db:"id"`
	UserID *int64    `db:"user_id"`
	Body   string    `db:"body"`
	SentOn time.Time `db:"sent_on"`
}

// AddFeedback stores feedback; with a nil UserID nothing in the row identifies its sender.
func (db *DB) AddFeedback(ctx context.Context, userID *int64, body string, now time.Time) (Feedback, error) {
	var createdAt *time.Time
	if userID != nil {
		createdAt = &now
	}
	const q = `INSERT INTO feedback (user_id, body, sent_on, created_at) VALUES ($1, $2, $3, $4)
		RETURNING id, user_id, body, sent_on`
	f, err := collectOne[Feedback](ctx, db, q, userID, body, now.Format(time.DateOnly), createdAt)
	if err != nil {
		return Feedback{}, fmt.Errorf("add feedback: %w", err)
	}
	return f, nil
}

// AllFeedback returns all feedback, oldest first.
func (db *DB) AllFeedback(ctx context.Context) ([]Feedback, error) {
	return collect[Feedback](ctx, db, `SELECT id, user_id, body, sent_on FROM feedback ORDER BY id`)
}
