package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Kinds of reminder a person can mute or move to another time of day.
const (
	ReminderCheckIn    = "checkin"    // a member who has not checked in by the hour
	ReminderDigest     = "digest"     // the first secretary's evening digest
	ReminderUpdate     = "update"     // the first secretary's weekly update, not submitted on its deadline's day
	ReminderDeadline   = "deadline"   // the day before a problem's deadline, to whoever answers for it
	ReminderEscalation = "escalation" // overdue problems, to the township's and the county's supervisors
	ReminderWeekly     = "weekly"     // the supervisors' Monday digest
)

// ReminderKinds lists the kinds of reminder in the order /settings shows them.
var ReminderKinds = []string{ReminderCheckIn, ReminderDigest, ReminderUpdate, ReminderDeadline, ReminderEscalation, ReminderWeekly}

// Defaults of a county's reminder rules; times are minutes after local midnight.
const (
	DefaultCheckInReminderAt = 10 * 60
	DefaultDigestAt          = 20 * 60
	DefaultEscalateAfterDays = 3
	DefaultQuietFrom         = 21*60 + 30
	DefaultQuietTo           = 7*60 + 30
	// DefaultMorningAt is when weekly-update and deadline reminders, escalations and the
	// Monday digest go.
	DefaultMorningAt = 9 * 60
)

// ReminderSettings are a county's rules for reminders. Times are minutes after local
// midnight in the county's time zone (Timezone, "" for the deployment's).
type ReminderSettings struct {
	RegionID          int64  `db:"region_id"`
	Timezone          string `db:"timezone"`
	CheckInReminder   bool   `db:"checkin_reminder"`
	CheckInReminderAt int32  `db:"checkin_reminder_at"`
	DigestAt          int32  `db:"digest_at"`
	EscalateAfterDays int32  `db:"escalate_after_days"`
	QuietFrom         int32  `db:"quiet_from"`
	QuietTo           int32  `db:"quiet_to"`
}

// DefaultReminderSettings are the rules of a county that set none.
func DefaultReminderSettings(countyID int64) ReminderSettings {
	return ReminderSettings{RegionID: countyID, CheckInReminderAt: DefaultCheckInReminderAt, DigestAt: DefaultDigestAt,
		EscalateAfterDays: DefaultEscalateAfterDays, QuietFrom: DefaultQuietFrom, QuietTo: DefaultQuietTo}
}

// DefaultAt is the time of day a kind of reminder goes out in the county, for whoever
// did not choose another.
func (s ReminderSettings) DefaultAt(kind string) int32 {
	switch kind {
	case ReminderCheckIn:
		return s.CheckInReminderAt
	case ReminderDigest:
		return s.DigestAt
	}
	return DefaultMorningAt
}

// Quiet reports whether a time of day lies in the county's quiet hours (from QuietFrom
// up to QuietTo, across midnight when QuietFrom is later; none when they are equal).
func (s ReminderSettings) Quiet(minute int32) bool {
	switch {
	case s.QuietFrom == s.QuietTo:
		return false
	case s.QuietFrom < s.QuietTo:
		return minute >= s.QuietFrom && minute < s.QuietTo
	}
	return minute >= s.QuietFrom || minute < s.QuietTo
}

const reminderSettingsColumns = `region_id, timezone, checkin_reminder, checkin_reminder_at, digest_at,
	escalate_after_days, quiet_from, quiet_to`

// ReminderSettings returns a county's reminder rules, the defaults if it has none stored.
func (db *DB) ReminderSettings(ctx context.Context, countyID int64) (ReminderSettings, error) {
	const q = `SELECT ` + reminderSettingsColumns + ` FROM county_settings WHERE region_id = $1`
	s, err := collectOne[ReminderSettings](ctx, db, q, countyID)
	if errors.Is(err, ErrNotFound) {
		return DefaultReminderSettings(countyID), nil
	}
	if err != nil {
		return ReminderSettings{}, fmt.Errorf("reminder settings: %w", err)
	}
	return s, nil
}

// SetReminderSettings stores a county's reminder rules, leaving its other rules (and
// its time zone) as they are.
func (db *DB) SetReminderSettings(ctx context.Context, s ReminderSettings) error {
	const q = `INSERT INTO county_settings (region_id, checkin_reminder, checkin_reminder_at, digest_at,
			escalate_after_days, quiet_from, quiet_to)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (region_id) DO UPDATE SET checkin_reminder = $2, checkin_reminder_at = $3, digest_at = $4,
			escalate_after_days = $5, quiet_from = $6, quiet_to = $7, updated_at = now()`
	if _, err := db.q.Exec(ctx, q, s.RegionID, s.CheckInReminder, s.CheckInReminderAt, s.DigestAt,
		s.EscalateAfterDays, s.QuietFrom, s.QuietTo); err != nil {
		return fmt.Errorf("set reminder settings: %w", interpret(err))
	}
	return nil
}

// ReminderPref is a person's choice for one kind of reminder: muted, or at another time
// of day (AtMinute, minutes after local midnight; nil for the county's).
type ReminderPref struct {
	UserID   int64  `db:"user_id"`
	Kind     string `db:"kind"`
	Muted    bool   `db:"muted"`
	AtMinute *int32 `db:"at_minute"`
}

// ReminderPrefs returns the choices of the given people, by person and kind.
func (db *DB) ReminderPrefs(ctx context.Context, userIDs []int64) ([]ReminderPref, error) {
	const q = `SELECT user_id, kind, muted, at_minute FROM reminder_prefs WHERE user_id = ANY($1) ORDER BY user_id, kind`
	const qLite = `SELECT user_id, kind, muted, at_minute FROM reminder_prefs
		WHERE user_id IN (SELECT value FROM json_each($1)) ORDER BY user_id, kind`
	out, err := collect[ReminderPref](ctx, db, db.pick(q, qLite), userIDs)
	if err != nil {
		return nil, fmt.Errorf("reminder prefs: %w", err)
	}
	return out, nil
}

// SetReminderPref stores a person's choice for one kind of reminder.
func (db *DB) SetReminderPref(ctx context.Context, p ReminderPref) error {
	const q = `INSERT INTO reminder_prefs (user_id, kind, muted, at_minute) VALUES ($1, $2, $3, $4)
		ON CONFLICT (user_id, kind) DO UPDATE SET muted = $3, at_minute = $4, updated_at = now()`
	if _, err := db.q.Exec(ctx, q, p.UserID, p.Kind, p.Muted, p.AtMinute); err != nil {
		return fmt.Errorf("set reminder pref: %w", interpret(err))
	}
	return nil
}

// ReminderTimesUnder returns the times of day chosen for each kind of reminder by the
// people holding a role in the subtree of r, each kind and time once.
func (db *DB) ReminderTimesUnder(ctx context.Context, r Region) ([]ReminderPref, error) {
	const q = `SELECT DISTINCT CAST(0 AS bigint) AS user_id, p.kind, false AS muted, p.at_minute
		FROM reminder_prefs p
		JOIN role_assignments a ON a.user_id = p.user_id AND a.revoked_at IS NULL
		JOIN regions g ON g.id = a.region_id
		WHERE p.at_minute IS NOT NULL AND NOT p.muted AND g.path LIKE $1 || '%'
		ORDER BY p.kind, p.at_minute`
	out, err := collect[ReminderPref](ctx, db, q, r.Path)
	if err != nil {
		return nil, fmt.Errorf("reminder times under %s: %w", r.Code, err)
	}
	return out, nil
}

// CheckedInOn returns which of the given people checked in on a local day, anywhere.
func (db *DB) CheckedInOn(ctx context.Context, userIDs []int64, day time.Time) ([]int64, error) {
	const q = `SELECT user_id FROM check_ins WHERE user_id = ANY($1) AND day = $2 ORDER BY user_id`
	const qLite = `SELECT user_id FROM check_ins WHERE user_id IN (SELECT value FROM json_each($1)) AND day = $2 ORDER BY user_id`
	rows, err := db.q.Query(ctx, db.pick(q, qLite), userIDs, day.Format(time.DateOnly))
	if err != nil {
		return nil, fmt.Errorf("checked in on %s: %w", day.Format(time.DateOnly), err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("checked in on %s: %w", day.Format(time.DateOnly), err)
	}
	return out, nil
}

// RegionsAt returns the regions of one level, by code.
func (db *DB) RegionsAt(ctx context.Context, level string) ([]Region, error) {
	const q = `SELECT ` + regionColumns + ` FROM regions WHERE level = $1 ORDER BY code`
	return collect[Region](ctx, db, q, level)
}

// UsersByID returns the users with the given ids that exist, by id.
func (db *DB) UsersByID(ctx context.Context, ids []int64) ([]User, error) {
	const q = `SELECT ` + userColumns + ` FROM users WHERE id = ANY($1) ORDER BY id`
	const qLite = `SELECT ` + userColumns + ` FROM users WHERE id IN (SELECT value FROM json_each($1)) ORDER BY id`
	return collect[User](ctx, db, db.pick(q, qLite), ids)
}

// RoleHolder is someone holding a role at a region.
type RoleHolder struct {
	UserID   int64  `db:"user_id"`
	Role     string `db:"role"`
	RegionID int64  `db:"region_id"`
}

// RoleHolders returns who holds role at the given regions now, by region and person.
func (db *DB) RoleHolders(ctx context.Context, role string, regionIDs []int64) ([]RoleHolder, error) {
	const q = `SELECT DISTINCT user_id, role, region_id FROM role_assignments
		WHERE role = $1 AND region_id = ANY($2) AND revoked_at IS NULL ORDER BY region_id, user_id`
	const qLite = `SELECT DISTINCT user_id, role, region_id FROM role_assignments
		WHERE role = $1 AND region_id IN (SELECT value FROM json_each($2)) AND revoked_at IS NULL ORDER BY region_id, user_id`
	return collect[RoleHolder](ctx, db, db.pick(q, qLite), role, regionIDs)
}

// ProblemsSince returns the problems of the given villages that are open, or that
// were reported, resolved, verified or closed at since or later, by village and number.
func (db *DB) ProblemsSince(ctx context.Context, regionIDs []int64, since time.Time) ([]Problem, error) {
	const q = `SELECT ` + problemColumns + ` FROM problems
		WHERE region_id = ANY($1) AND (status NOT IN ('verified', 'closed') OR reported_at >= $2
			OR resolved_at >= $2 OR verified_at >= $2 OR closed_at >= $2)
		ORDER BY region_id, year, seq`
	const qLite = `SELECT ` + problemColumns + ` FROM problems
		WHERE region_id IN (SELECT value FROM json_each($1)) AND (status NOT IN ('verified', 'closed') OR reported_at >= $2
			OR resolved_at >= $2 OR verified_at >= $2 OR closed_at >= $2)
		ORDER BY region_id, year, seq`
	out, err := collect[Problem](ctx, db, db.pick(q, qLite), regionIDs, since)
	if err != nil {
		return nil, fmt.Errorf("problems since %s: %w", since.Format(time.RFC3339), err)
	}
	return out, nil
}

// Escalation records that a supervisor was told a problem is overdue, at a level
// (1 the township, 2 the county), for the deadline it had then.
type Escalation struct {
	ProblemID   int64     `db:"problem_id"`
	Level       int32     `db:"level"`
	Deadline    time.Time `db:"deadline"`
	UserID      int64     `db:"user_id"`
	EscalatedAt time.Time `db:"escalated_at"`
}

// AddEscalations records escalations; those recorded already are kept as they are.
func (db *DB) AddEscalations(ctx context.Context, es []Escalation) error {
	const q = `INSERT INTO problem_escalations (problem_id, level, deadline, user_id, escalated_at)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`
	for _, e := range es {
		if _, err := db.q.Exec(ctx, q, e.ProblemID, e.Level, e.Deadline.Format(time.DateOnly), e.UserID, e.EscalatedAt); err != nil {
			return fmt.Errorf("add escalation: %w", err)
		}
	}
	return nil
}

// Escalations returns the escalations of the given problems, by problem, level and person.
func (db *DB) Escalations(ctx context.Context, problemIDs []int64) ([]Escalation, error) {
	const q = `SELECT problem_id, level, deadline, user_id, escalated_at FROM problem_escalations
		WHERE problem_id = ANY($1) ORDER BY problem_id, level, user_id`
	const qLite = `SELECT problem_id, level, deadline, user_id, escalated_at FROM problem_escalations
		WHERE problem_id IN (SELECT value FROM json_each($1)) ORDER BY problem_id, level, user_id`
	return collect[Escalation](ctx, db, db.pick(q, qLite), problemIDs)
}

// Outcomes of a message of the outbox.
const (
	OutcomeSent    = "sent"
	OutcomeBlocked = "blocked" // the person blocked the bot
	OutcomeFailed  = "failed"  // given up after repeated failures
)

// OutboxMessage is a reminder message planned for a chat.
type OutboxMessage struct {
	ID         int64      `db:"id"`
	Kind       string     `db:"kind"`
	Occurrence string     `db:"occurrence"`
	ChatID     int64      `db:"chat_id"`
	Text       string     `db:"text"`
	PlannedAt  time.Time  `db:"planned_at"`
	SendAfter  time.Time  `db:"send_after"`
	Attempts   int32      `db:"attempts"`
	DoneAt     *time.Time `db:"done_at"`
	Outcome    string     `db:"outcome"`
	LastError  string     `db:"last_error"`
}

const outboxColumns = `id, kind, occurrence, chat_id, text, planned_at, send_after, attempts, done_at, outcome, last_error`

// PlanMessage adds a message to the outbox unless one of the same kind and occurrence
// is planned for that chat already; it reports whether it was added.
func (db *DB) PlanMessage(ctx context.Context, m OutboxMessage) (bool, error) {
	const q = `INSERT INTO reminder_outbox (kind, occurrence, chat_id, text, planned_at, send_after)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (kind, occurrence, chat_id) DO NOTHING`
	tag, err := db.q.Exec(ctx, q, m.Kind, m.Occurrence, m.ChatID, m.Text, m.PlannedAt, m.SendAfter)
	if err != nil {
		return false, fmt.Errorf("plan %s message: %w", m.Kind, err)
	}
	return tag.RowsAffected() == 1, nil
}

// ClaimMessage takes the next message due at now for sending, for lease: no one else
// takes it until then. A message claimed before whose claim ran out (its sender died)
// is taken again. No message due is ErrNotFound. The returned Attempts identifies this
// claim for FinishMessage and PostponeMessage.
func (db *DB) ClaimMessage(ctx context.Context, now time.Time, lease time.Duration) (OutboxMessage, error) {
	const q = `UPDATE reminder_outbox SET claimed_until = $2, attempts = attempts + 1
		WHERE id = (
			SELECT id FROM reminder_outbox
			WHERE outcome = '' AND send_after <= $1 AND (claimed_until IS NULL OR claimed_until <= $1)
			ORDER BY send_after, id LIMIT 1 FOR UPDATE SKIP LOCKED)
		RETURNING ` + outboxColumns
	// SQLite: one statement writes at a time, so the row picked is not picked twice.
	const qLite = `UPDATE reminder_outbox SET claimed_until = $2, attempts = attempts + 1
		WHERE id = (
			SELECT id FROM reminder_outbox
			WHERE outcome = '' AND send_after <= $1 AND (claimed_until IS NULL OR claimed_until <= $1)
			ORDER BY send_after, id LIMIT 1)
		RETURNING ` + outboxColumns
	m, err := collectOne[OutboxMessage](ctx, db, db.pick(q, qLite), now, now.Add(lease))
	if err != nil && !errors.Is(err, ErrNotFound) {
		return m, fmt.Errorf("claim message: %w", err)
	}
	return m, err
}

// FinishMessage records the outcome of a claimed message. A claim that ran out and was
// taken by someone else is ErrConflict: this sender's result no longer counts.
func (db *DB) FinishMessage(ctx context.Context, m OutboxMessage, outcome string, now time.Time, lastError string) error {
	const q = `UPDATE reminder_outbox SET outcome = $3, done_at = $4, last_error = $5, claimed_until = NULL
		WHERE id = $1 AND attempts = $2 AND outcome = ''`
	tag, err := db.q.Exec(ctx, q, m.ID, m.Attempts, outcome, now, lastError)
	if err != nil {
		return fmt.Errorf("finish message %d: %w", m.ID, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("finish message %d: claim lost: %w", m.ID, ErrConflict)
	}
	return nil
}

// PostponeMessage gives a claimed message back, to be sent at until or later.
func (db *DB) PostponeMessage(ctx context.Context, m OutboxMessage, until time.Time, lastError string) error {
	const q = `UPDATE reminder_outbox SET send_after = $3, last_error = $4, claimed_until = NULL
		WHERE id = $1 AND attempts = $2 AND outcome = ''`
	tag, err := db.q.Exec(ctx, q, m.ID, m.Attempts, until, lastError)
	if err != nil {
		return fmt.Errorf("postpone message %d: %w", m.ID, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("postpone message %d: claim lost: %w", m.ID, ErrConflict)
	}
	return nil
}

// DropMessagesTo settles every message still waiting for a chat with outcome (a person
// who blocked the bot gets nothing more) and returns how many there were.
func (db *DB) DropMessagesTo(ctx context.Context, chatID int64, outcome string, now time.Time) (int, error) {
	const q = `UPDATE reminder_outbox SET outcome = $2, done_at = $3, claimed_until = NULL
		WHERE chat_id = $1 AND outcome = ''`
	tag, err := db.q.Exec(ctx, q, chatID, outcome, now)
	if err != nil {
		return 0, fmt.Errorf("drop messages to %d: %w", chatID, err)
	}
	return int(tag.RowsAffected()), nil
}

// OutboxMessages returns the messages of a kind ("" for all), in the order planned.
func (db *DB) OutboxMessages(ctx context.Context, kind string) ([]OutboxMessage, error) {
	const q = `SELECT ` + outboxColumns + ` FROM reminder_outbox WHERE $1 = '' OR kind = $1 ORDER BY id`
	return collect[OutboxMessage](ctx, db, q, kind)
}

// PendingMessages counts the messages not yet done, and of them those due at now.
func (db *DB) PendingMessages(ctx context.Context, now time.Time) (pending, due int, err error) {
	const q = `SELECT count(*), count(*) FILTER (WHERE send_after <= $1) FROM reminder_outbox WHERE outcome = ''`
	if err := db.q.QueryRow(ctx, q, now).Scan(&pending, &due); err != nil {
		return 0, 0, fmt.Errorf("pending messages: %w", err)
	}
	return pending, due, nil
}
