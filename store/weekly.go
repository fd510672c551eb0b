package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// WeeklyDeadline is when a week's update is due in a county: a weekday of that week
// (1 Monday … 7 Sunday) at an hour of local time (0–24).
type WeeklyDeadline struct {
	Weekday int32 `db:"weekly_deadline_weekday"`
	Hour    int32 `db:"weekly_deadline_hour"`
}

// DefaultWeeklyDeadline is Sunday 24:00, the end of the week.
var DefaultWeeklyDeadline = WeeklyDeadline{Weekday: 7, Hour: 24}

// Valid reports whether the deadline names a weekday and an hour.
func (d WeeklyDeadline) Valid() bool {
	return d.Weekday >= 1 && d.Weekday <= 7 && d.Hour >= 0 && d.Hour <= 24
}

// WeeklyDeadline returns a county's deadline for weekly updates, the default if it set none.
func (db *DB) WeeklyDeadline(ctx context.Context, countyID int64) (WeeklyDeadline, error) {
	const q = `SELECT weekly_deadline_weekday, weekly_deadline_hour FROM county_settings WHERE region_id = $1`
	d, err := collectOne[WeeklyDeadline](ctx, db, q, countyID)
	if errors.Is(err, ErrNotFound) {
		return DefaultWeeklyDeadline, nil
	}
	if err != nil {
		return WeeklyDeadline{}, fmt.Errorf("weekly deadline: %w", err)
	}
	return d, nil
}

// SetWeeklyDeadline stores a county's deadline for weekly updates; its other settings
// stay as they are.
func (db *DB) SetWeeklyDeadline(ctx context.Context, countyID int64, d WeeklyDeadline) error {
	const q = `INSERT INTO county_settings (region_id, weekly_deadline_weekday, weekly_deadline_hour)
		VALUES ($1, $2, $3)
		ON CONFLICT (region_id) DO UPDATE SET weekly_deadline_weekday = $2, weekly_deadline_hour = $3, updated_at = now()`
	if _, err := db.q.Exec(ctx, q, countyID, d.Weekday, d.Hour); err != nil {
		return fmt.Errorf("set weekly deadline: %w", interpret(err))
	}
	return nil
}

// WeeklyUpdate is a team's update of one ISO week, with the state of its latest
// submitted version (if any).
type WeeklyUpdate struct {
	ID       int64     `db:"id"`
	RegionID int64     `db:"region_id"`
	Week     time.Time `db:"week"` // the Monday, as midnight UTC
	// Sections is the working copy, section id → text.
	Sections map[string]string `db:"sections"`
	EditedAt *time.Time        `db:"edited_at"`
	EditedBy *int64            `db:"edited_by"`
	// Version is the latest submitted version, 0 before the first submission.
	Version int32 `db:"version"`
	// SubmittedAt and DeadlineAt are those of the first submission.
	SubmittedAt *time.Time `db:"submitted_at"`
	DeadlineAt  *time.Time `db:"deadline_at"`
	// The latest version's state.
	ReadAt        *time.Time `db:"read_at"`
	ReturnedAt    *time.Time `db:"returned_at"`
	ReturnComment string     `db:"return_comment"`
}

// Submitted reports whether the update was ever submitted.
func (u WeeklyUpdate) Submitted() bool { return u.Version > 0 }

// Late reports whether the first submission came after its deadline.
func (u WeeklyUpdate) Late() bool {
	return u.SubmittedAt != nil && u.DeadlineAt != nil && u.SubmittedAt.After(*u.DeadlineAt)
}

// Read reports whether a supervisor read the latest version: it can no longer be corrected.
func (u WeeklyUpdate) Read() bool { return u.ReadAt != nil }

// Returned reports whether the latest version was sent back for a correction.
func (u WeeklyUpdate) Returned() bool { return u.ReturnedAt != nil }

const weeklyUpdateSelect = `SELECT u.id, u.region_id, u.week, u.sections, u.edited_at, u.edited_by, u.version,
		u.submitted_at, u.deadline_at, v.read_at, v.returned_at, coalesce(v.return_comment, '') AS return_comment
	FROM weekly_updates u LEFT JOIN weekly_update_versions v ON v.update_id = u.id AND v.version = u.version`

// WeeklyUpdateOf returns a village's update of the week that starts on monday.
func (db *DB) WeeklyUpdateOf(ctx context.Context, regionID int64, monday time.Time) (WeeklyUpdate, error) {
	const q = weeklyUpdateSelect + ` WHERE u.region_id = $1 AND u.week = $2`
	return collectOne[WeeklyUpdate](ctx, db, q, regionID, monday.Format(time.DateOnly))
}

// WeeklyUpdateByID returns one update; forUpdate locks it until the transaction ends,
// so edits, submissions and a supervisor's verdict happen one after the other.
func (db *DB) WeeklyUpdateByID(ctx context.Context, id int64, forUpdate bool) (WeeklyUpdate, error) {
	if forUpdate && !db.lite { // SQLite: the transaction holds the write lock already
		if _, err := db.q.Exec(ctx, `SELECT 1 FROM weekly_updates WHERE id = $1 FOR UPDATE`, id); err != nil {
			return WeeklyUpdate{}, fmt.Errorf("lock weekly update %d: %w", id, err)
		}
	}
	const q = weeklyUpdateSelect + ` WHERE u.id = $1`
	return collectOne[WeeklyUpdate](ctx, db, q, id)
}

// EnsureWeeklyUpdate returns a village's update of a week, creating an empty draft if
// there is none, locked until the transaction ends.
func (db *DB) EnsureWeeklyUpdate(ctx context.Context, regionID int64, monday time.Time) (WeeklyUpdate, error) {
	const q = `INSERT INTO weekly_updates (region_id, week) VALUES ($1, $2)
		ON CONFLICT (region_id, week) DO UPDATE SET region_id = excluded.region_id
		RETURNING id`
	var id int64
	if err := db.q.QueryRow(ctx, q, regionID, monday.Format(time.DateOnly)).Scan(&id); err != nil {
		return WeeklyUpdate{}, fmt.Errorf("weekly update: %w", interpret(err))
	}
	return db.WeeklyUpdateByID(ctx, id, true)
}

// SetWeeklySection writes one section of an update's working copy.
func (db *DB) SetWeeklySection(ctx context.Context, id int64, section, text string, by int64, at time.Time) error {
	const q = `UPDATE weekly_updates SET sections = sections || jsonb_build_object($2::text, $3::text),
			edited_at = $4, edited_by = $5
		WHERE id = $1`
	const qLite = `UPDATE weekly_updates SET sections = json_patch(sections, json_object($2, $3)),
			edited_at = $4, edited_by = $5
		WHERE id = $1`
	tag, err := db.q.Exec(ctx, db.pick(q, qLite), id, section, text, at, by)
	if err != nil {
		return fmt.Errorf("set weekly section: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return nil
}

// WeeklyVersion is one submission of an update.
type WeeklyVersion struct {
	UpdateID      int64             `db:"update_id"`
	Version       int32             `db:"version"`
	Sections      map[string]string `db:"sections"`
	Figures       []byte            `db:"figures"` // JSON
	SubmittedAt   time.Time         `db:"submitted_at"`
	SubmittedBy   int64             `db:"submitted_by"`
	ReadAt        *time.Time        `db:"read_at"`
	ReadBy        *int64            `db:"read_by"`
	ReturnedAt    *time.Time        `db:"returned_at"`
	ReturnedBy    *int64            `db:"returned_by"`
	ReturnComment string            `db:"return_comment"`
}

// SubmitWeeklyUpdate records the update's working copy as its next version, with the
// week's figures (JSON), and returns that version's number. The first submission also
// records when it came and the deadline it was due by. The caller holds the update's
// lock (EnsureWeeklyUpdate or WeeklyUpdateByID for update) and has checked that the
// latest version was not read.
func (db *DB) SubmitWeeklyUpdate(ctx context.Context, id int64, figures []byte, by int64, at, deadline time.Time) (int32, error) {
	const bump = `UPDATE weekly_updates SET version = version + 1,
			submitted_at = coalesce(submitted_at, $2), deadline_at = coalesce(deadline_at, $3)
		WHERE id = $1 RETURNING version`
	var version int32
	if err := db.q.QueryRow(ctx, bump, id, at, deadline).Scan(&version); err != nil {
		return 0, fmt.Errorf("submit weekly update %d: %w", id, interpret(err))
	}
	const q = `INSERT INTO weekly_update_versions (update_id, version, sections, figures, submitted_at, submitted_by)
		SELECT id, version, sections, $2, $3, $4 FROM weekly_updates WHERE id = $1`
	if _, err := db.q.Exec(ctx, q, id, string(figures), at, by); err != nil {
		return 0, fmt.Errorf("submit weekly update %d: %w", id, interpret(err))
	}
	return version, nil
}

// WeeklyVersions returns every submitted version of an update, the first first.
func (db *DB) WeeklyVersions(ctx context.Context, updateID int64) ([]WeeklyVersion, error) {
	const q = `SELECT update_id, version, sections, figures, submitted_at, submitted_by, read_at, read_by,
			returned_at, returned_by, return_comment
		FROM weekly_update_versions WHERE update_id = $1 ORDER BY version`
	return collect[WeeklyVersion](ctx, db, q, updateID)
}

// MarkWeeklyRead records that a supervisor read a version. Only the latest version,
// neither read nor sent back, can be marked: anything else is ErrConflict.
func (db *DB) MarkWeeklyRead(ctx context.Context, updateID int64, version int32, by int64, at time.Time) error {
	const q = `UPDATE weekly_update_versions AS v SET read_at = $3, read_by = $4
		FROM weekly_updates u
		WHERE v.update_id = $1 AND v.version = $2 AND u.id = v.update_id AND u.version = v.version
			AND v.read_at IS NULL AND v.returned_at IS NULL`
	return db.weeklyVerdict(ctx, q, "mark weekly update read", updateID, version, at, by)
}

// ReturnWeeklyUpdate sends a version back with a comment, asking for a correction.
// Only the latest version, neither read nor sent back, can be: anything else is
// ErrConflict.
func (db *DB) ReturnWeeklyUpdate(ctx context.Context, updateID int64, version int32, by int64, at time.Time, comment string) error {
	const q = `UPDATE weekly_update_versions AS v SET returned_at = $3, returned_by = $4, return_comment = $5
		FROM weekly_updates u
		WHERE v.update_id = $1 AND v.version = $2 AND u.id = v.update_id AND u.version = v.version
			AND v.read_at IS NULL AND v.returned_at IS NULL`
	return db.weeklyVerdict(ctx, q, "send weekly update back", updateID, version, at, by, comment)
}

func (db *DB) weeklyVerdict(ctx context.Context, q, what string, args ...any) error {
	tag, err := db.q.Exec(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("%s: %w", what, ErrConflict)
	}
	return nil
}

// WeeklyUpdatesOf returns the updates of the villages for the weeks that start from
// one Monday to another (inclusive), by village and week. Villages and weeks without
// an update have no row.
func (db *DB) WeeklyUpdatesOf(ctx context.Context, regionIDs []int64, from, to time.Time) ([]WeeklyUpdate, error) {
	const q = weeklyUpdateSelect + ` WHERE u.region_id = ANY($1) AND u.week BETWEEN $2 AND $3 ORDER BY u.region_id, u.week`
	const qLite = weeklyUpdateSelect + ` WHERE u.region_id IN (SELECT value FROM json_each($1))
		AND u.week BETWEEN $2 AND $3 ORDER BY u.region_id, u.week`
	return collect[WeeklyUpdate](ctx, db, db.pick(q, qLite), regionIDs, from.Format(time.DateOnly), to.Format(time.DateOnly))
}

// WeeklyNote is a note a team member added to a week's draft.
type WeeklyNote struct {
	ID        int64     `db:"id"`
	RegionID  int64     `db:"region_id"`
	Week      time.Time `db:"week"`
	UserID    int64     `db:"user_id"`
	Author    string    `db:"author"`
	Body      string    `db:"body"`
	CreatedAt time.Time `db:"created_at"`
}

// AddWeeklyNote adds a note to a village's week.
func (db *DB) AddWeeklyNote(ctx context.Context, n WeeklyNote) error {
	const q = `INSERT INTO weekly_notes (region_id, week, user_id, body, created_at) VALUES ($1, $2, $3, $4, $5)`
	if _, err := db.q.Exec(ctx, q, n.RegionID, n.Week.Format(time.DateOnly), n.UserID, n.Body, n.CreatedAt); err != nil {
		return fmt.Errorf("add weekly note: %w", interpret(err))
	}
	return nil
}

// WeeklyNotes returns the notes of a village's week, oldest first, with their authors' names.
func (db *DB) WeeklyNotes(ctx context.Context, regionID int64, monday time.Time) ([]WeeklyNote, error) {
	const q = `SELECT n.id, n.region_id, n.week, n.user_id, u.first_name AS author, n.body, n.created_at
		FROM weekly_notes n JOIN users u ON u.id = n.user_id
		WHERE n.region_id = $1 AND n.week = $2 ORDER BY n.created_at, n.id`
	return collect[WeeklyNote](ctx, db, q, regionID, monday.Format(time.DateOnly))
}

// ProblemCount counts a village's problems of one category over a period.
type ProblemCount struct {
	RegionID int64  `db:"region_id"`
	Category string `db:"category"`
	// Reported, Resolved and Verified count the problems reported, marked fixed (at
	// least once) and verified in the period.
	Reported int `db:"reported"`
	Resolved int `db:"resolved"`
	Verified int `db:"verified"`
	// Overdue counts the problems that were past their deadline at the period's end and
	// not yet fixed (assigned or in progress then).
	Overdue int `db:"overdue"`
}

// ProblemCounts counts the problems of the villages by village and category over the
// period [from, to). A problem is overdue at asOf (the period's end, or now if that
// is earlier) when its deadline lies before the local day overdueFrom (the day after
// the period's last day, or today) and it was assigned or in progress at asOf: the
// status it had then is read from its history. Categories without any count have no row.
func (db *DB) ProblemCounts(ctx context.Context, regionIDs []int64, from, to, asOf, overdueFrom time.Time) ([]ProblemCount, error) {
	// The history's actions for a fix and a verification are those the handlers
	// record; the problem's own timestamps cover records made without history.
	problemCountsIn := db.pick("p.region_id = ANY($1)", "p.region_id IN (SELECT value FROM json_each($1))")
	q := `
		WITH c AS (
			SELECT p.region_id, p.category,
				p.reported_at >= $2 AND p.reported_at < $3 AS reported,
				(p.resolved_at >= $2 AND p.resolved_at < $3) OR EXISTS (SELECT 1 FROM problem_history h
					WHERE h.problem_id = p.id AND h.action = 'resolve' AND h.at >= $2 AND h.at < $3) AS resolved,
				(p.verified_at >= $2 AND p.verified_at < $3) OR EXISTS (SELECT 1 FROM problem_history h
					WHERE h.problem_id = p.id AND h.action = 'verify' AND h.at >= $2 AND h.at < $3) AS verified,
				p.reported_at <= $4 AND p.deadline < $5 AND (CASE
					WHEN EXISTS (SELECT 1 FROM problem_history h WHERE h.problem_id = p.id AND h.at > $4)
					THEN (SELECT h.to_status FROM problem_history h WHERE h.problem_id = p.id AND h.at <= $4
						ORDER BY h.at DESC, h.id DESC LIMIT 1)
					ELSE p.status END) IN ('assigned', 'in_progress') AS overdue
			FROM problems p
			WHERE ` + problemCountsIn + ` AND p.reported_at < $3
		)
		SELECT region_id, category,
			CAST(count(*) FILTER (WHERE reported) AS int) AS reported,
			CAST(count(*) FILTER (WHERE resolved) AS int) AS resolved,
			CAST(count(*) FILTER (WHERE verified) AS int) AS verified,
			CAST(count(*) FILTER (WHERE overdue) AS int) AS overdue
		FROM c
		GROUP BY region_id, category
		HAVING count(*) FILTER (WHERE reported OR resolved OR verified OR overdue) > 0
		ORDER BY region_id, category`
	out, err := collect[ProblemCount](ctx, db, q, regionIDs, from, to, asOf, overdueFrom.Format(time.DateOnly))
	if err != nil {
		return nil, fmt.Errorf("count problems: %w", err)
	}
	return out, nil
}
