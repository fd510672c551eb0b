package store

import (
	"context"
	"fmt"
	"time"
)

// Problem statuses, in the order of the lifecycle.
const (
	StatusReported   = "reported"
	StatusAssigned   = "assigned"
	StatusInProgress = "in_progress"
	StatusResolved   = "resolved"
	StatusVerified   = "verified"
	StatusClosed     = "closed"
)

// OpenStatuses are the statuses of a problem that is not finished.
var OpenStatuses = []string{StatusReported, StatusAssigned, StatusInProgress, StatusResolved}

// Problem is one entry of a village's problem ledger.
type Problem struct {
	ID              int64      `db:"id"`
	RegionID        int64      `db:"region_id"`
	Year            int32      `db:"year"`
	Seq             int32      `db:"seq"`
	Category        string     `db:"category"`
	Description     string     `db:"description"`
	Latitude        float64    `db:"latitude"`
	Longitude       float64    `db:"longitude"`
	LocationGiven   bool       `db:"location_given"`
	Urgency         string     `db:"urgency"`
	Status          string     `db:"status"`
	ReportedBy      int64      `db:"reported_by"`
	ReporterRole    string     `db:"reporter_role"`
	ResponsibleID   *int64     `db:"responsible_id"`
	ResponsibleUnit string     `db:"responsible_unit"`
	Measures        string     `db:"measures"`
	Deadline        *time.Time `db:"deadline"`
	CloseReason     string     `db:"close_reason"`
	ReportedAt      time.Time  `db:"reported_at"`
	UpdatedAt       time.Time  `db:"updated_at"`
	ResolvedAt      *time.Time `db:"resolved_at"`
	VerifiedAt      *time.Time `db:"verified_at"`
	ClosedAt        *time.Time `db:"closed_at"`
}

// Number is the problem's number in its village's ledger, e.g. 2026-017.
func (p Problem) Number() string { return fmt.Sprintf("%d-%03d", p.Year, p.Seq) }

// Open reports whether the problem is not finished.
func (p Problem) Open() bool { return p.Status != StatusVerified && p.Status != StatusClosed }

// Overdue reports whether the problem is past its deadline on the local day today and
// not yet resolved.
func (p Problem) Overdue(today time.Time) bool {
	return p.Deadline != nil && p.Deadline.Before(today) &&
		(p.Status == StatusAssigned || p.Status == StatusInProgress)
}

// ProblemPhoto is one photo of a problem.
type ProblemPhoto struct {
	ID        int64   `db:"id"`
	ProblemID int64   `db:"problem_id"`
	HistoryID *int64  `db:"history_id"`
	Kind      string  `db:"kind"`
	Position  int32   `db:"position"`
	FileID    string  `db:"file_id"`
	UniqueID  string  `db:"unique_id"`
	SHA256    *string `db:"sha256"`
}

// Kinds of problem photos.
const (
	PhotoReport   = "report"
	PhotoProgress = "progress"
	PhotoEvidence = "evidence"
)

// ProblemEvent is one entry of a problem's history.
type ProblemEvent struct {
	ID         int64     `db:"id"`
	ProblemID  int64     `db:"problem_id"`
	At         time.Time `db:"at"`
	ActorID    int64     `db:"actor_id"`
	ActorName  string    `db:"actor_name"`
	Action     string    `db:"action"`
	FromStatus string    `db:"from_status"`
	ToStatus   string    `db:"to_status"`
	Note       string    `db:"note"`
}

const problemColumns = `id, region_id, year, seq, category, description, latitude, longitude, location_given,
	urgency, status, reported_by, reporter_role, responsible_id, responsible_unit, measures, deadline,
	close_reason, reported_at, updated_at, resolved_at, verified_at, closed_at`

// AddProblem saves a new problem with the next number of its village and year, its
// first history entry and its photos (in the order given).
func (db *DB) AddProblem(ctx context.Context, p Problem, photos []ProblemPhoto) (Problem, error) {
	const number = `INSERT INTO problem_counters (region_id, year, last) VALUES ($1, $2, 1)
		ON CONFLICT (region_id, year) DO UPDATE SET last = problem_counters.last + 1 RETURNING last`
	if err := db.q.QueryRow(ctx, number, p.RegionID, p.Year).Scan(&p.Seq); err != nil {
		return Problem{}, fmt.Errorf("number problem: %w", err)
	}
	const q = `INSERT INTO problems (region_id, year, seq, category, description, latitude, longitude,
			location_given, urgency, status, reported_by, reporter_role, reported_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13)
		RETURNING ` + problemColumns
	out, err := collectOne[Problem](ctx, db, q, p.RegionID, p.Year, p.Seq, p.Category, p.Description,
		p.Latitude, p.Longitude, p.LocationGiven, p.Urgency, StatusReported, p.ReportedBy, p.ReporterRole, p.ReportedAt)
	if err != nil {
		return Problem{}, fmt.Errorf("add problem: %w", err)
	}
	hid, err := db.AddProblemEvent(ctx, ProblemEvent{ProblemID: out.ID, At: p.ReportedAt, ActorID: p.ReportedBy,
		Action: "report", ToStatus: StatusReported})
	if err != nil {
		return Problem{}, err
	}
	if err := db.AddProblemPhotos(ctx, out.ID, &hid, PhotoReport, photos); err != nil {
		return Problem{}, err
	}
	return out, nil
}

// ProblemByID returns one problem; forUpdate locks it until the transaction ends, so
// two transitions of one problem happen one after the other.
func (db *DB) ProblemByID(ctx context.Context, id int64, forUpdate bool) (Problem, error) {
	q := `SELECT ` + problemColumns + ` FROM problems WHERE id = $1`
	if forUpdate && !db.lite { // SQLite: the transaction holds the write lock already
		q += ` FOR UPDATE`
	}
	return collectOne[Problem](ctx, db, q, id)
}

// UpdateProblem writes the lifecycle fields of a problem.
func (db *DB) UpdateProblem(ctx context.Context, p Problem) error {
	const q = `UPDATE problems SET status = $2, responsible_id = $3, responsible_unit = $4, measures = $5,
			deadline = $6, close_reason = $7, updated_at = $8, resolved_at = $9, verified_at = $10, closed_at = $11
		WHERE id = $1`
	var deadline *string
	if p.Deadline != nil {
		d := p.Deadline.Format(time.DateOnly)
		deadline = &d
	}
	tag, err := db.q.Exec(ctx, q, p.ID, p.Status, p.ResponsibleID, p.ResponsibleUnit, p.Measures, deadline,
		p.CloseReason, p.UpdatedAt, p.ResolvedAt, p.VerifiedAt, p.ClosedAt)
	if err != nil {
		return fmt.Errorf("update problem %d: %w", p.ID, err)
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return nil
}

// AddProblemEvent appends to a problem's history and returns the entry's id.
func (db *DB) AddProblemEvent(ctx context.Context, e ProblemEvent) (int64, error) {
	const q = `INSERT INTO problem_history (problem_id, at, actor_id, action, from_status, to_status, note)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`
	var id int64
	if err := db.q.QueryRow(ctx, q, e.ProblemID, e.At, e.ActorID, e.Action, e.FromStatus, e.ToStatus, e.Note).Scan(&id); err != nil {
		return 0, fmt.Errorf("problem history: %w", err)
	}
	return id, nil
}

// ProblemHistory returns a problem's history, oldest first, with the actors' names.
func (db *DB) ProblemHistory(ctx context.Context, problemID int64) ([]ProblemEvent, error) {
	const q = `SELECT h.id, h.problem_id, h.at, h.actor_id, u.first_name AS actor_name, h.action,
			h.from_status, h.to_status, h.note
		FROM problem_history h JOIN users u ON u.id = h.actor_id
		WHERE h.problem_id = $1 ORDER BY h.id`
	return collect[ProblemEvent](ctx, db, q, problemID)
}

// AddProblemPhotos adds photos of a kind after the problem's last photo. A photo the
// problem has already (same unique id) is not added twice.
func (db *DB) AddProblemPhotos(ctx context.Context, problemID int64, historyID *int64, kind string, photos []ProblemPhoto) error {
	const q = `INSERT INTO problem_photos (problem_id, history_id, kind, position, file_id, unique_id, sha256)
		SELECT $1, $2, $3, coalesce(max(position), 0) + 1, $4, $5,
			(SELECT sha256 FROM photo_archive WHERE unique_id = $5)
		FROM problem_photos WHERE problem_id = $1
		ON CONFLICT (problem_id, unique_id) DO NOTHING`
	for _, ph := range photos {
		if _, err := db.q.Exec(ctx, q, problemID, historyID, kind, ph.FileID, ph.UniqueID); err != nil {
			return fmt.Errorf("add problem photo: %w", err)
		}
	}
	return nil
}

// ProblemPhotos returns a problem's photos in order.
func (db *DB) ProblemPhotos(ctx context.Context, problemID int64) ([]ProblemPhoto, error) {
	const q = `SELECT id, problem_id, history_id, kind, position, file_id, unique_id, sha256
		FROM problem_photos WHERE problem_id = $1 ORDER BY position`
	return collect[ProblemPhoto](ctx, db, q, problemID)
}

// ProblemFilter selects problems for a list.
type ProblemFilter struct {
	RegionIDs     []int64
	Statuses      []string // none: any
	Category      string   // "": any
	ResponsibleID int64    // 0: anyone
	ReportedBy    int64    // 0: anyone
	// OverdueOn, when set, keeps the problems overdue on that local day.
	OverdueOn *time.Time
	Limit     int
	Offset    int
}

// Problems returns one page of the problems that match f, newest first, and how many
// match in all.
func (db *DB) Problems(ctx context.Context, f ProblemFilter) ([]Problem, int, error) {
	// One statement whatever the filter: a filter left empty matches every row.
	const (
		pgWhere = ` FROM problems
		WHERE region_id = ANY($1)
		AND (coalesce(cardinality($2::text[]), 0) = 0 OR status = ANY($2::text[]))
		AND ($3::text = '' OR category = $3)
		AND ($4::bigint = 0 OR responsible_id = $4)
		AND ($5::bigint = 0 OR reported_by = $5)
		AND ($6::date IS NULL OR (deadline < $6::date AND status IN ('assigned', 'in_progress')))`
		liteWhere = ` FROM problems
		WHERE region_id IN (SELECT value FROM json_each($1))
		AND (coalesce(json_array_length($2), 0) = 0 OR status IN (SELECT value FROM json_each($2)))
		AND ($3 = '' OR category = $3)
		AND ($4 = 0 OR responsible_id = $4)
		AND ($5 = 0 OR reported_by = $5)
		AND ($6 IS NULL OR (deadline < $6 AND status IN ('assigned', 'in_progress')))`
		order = ` ORDER BY reported_at DESC, id DESC LIMIT $7 OFFSET $8`
	)
	var overdueOn *string
	if f.OverdueOn != nil {
		day := f.OverdueOn.Format(time.DateOnly)
		overdueOn = &day
	}
	args := []any{f.RegionIDs, f.Statuses, f.Category, f.ResponsibleID, f.ReportedBy, overdueOn}
	var total int
	count := db.pick(`SELECT count(*)`+pgWhere, `SELECT count(*)`+liteWhere)
	if err := db.q.QueryRow(ctx, count, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count problems: %w", err)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 1000
	}
	q := db.pick(`SELECT `+problemColumns+pgWhere+order, `SELECT `+problemColumns+liteWhere+order)
	list, err := collect[Problem](ctx, db, q, append(args, limit, f.Offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("list problems: %w", err)
	}
	return list, total, nil
}
