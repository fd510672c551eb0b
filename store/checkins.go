package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Check-in sources and verdicts.
const (
	SourceSelf     = "self"
	SourceLocation = "location"
	SourceProxy    = "proxy"

	VerdictVerified     = "verified"
	VerdictUnverified   = "unverified"
	VerdictDoubtful     = "doubtful"
	VerdictSelfDeclared = "self_declared"
	VerdictProxy        = "proxy"
)

// DefaultRequiredDays is the days on site a month asks for where a county sets nothing.
const DefaultRequiredDays = 20

// CountySettings are the rules of one county.
type CountySettings struct {
	RegionID         int64  `db:"region_id"`
	LocationRequired bool   `db:"location_required"`
	RequiredDays     int32  `db:"required_days"`
	Timezone         string `db:"timezone"` // "" means the deployment's ZHUCUN_TIMEZONE
}

// CountySettings returns the rules of a county, the defaults if it has none stored.
func (db *DB) CountySettings(ctx context.Context, countyID int64) (CountySettings, error) {
	const q = `SELECT region_id, location_required, required_days, timezone FROM county_settings WHERE region_id = $1`
	s, err := collectOne[CountySettings](ctx, db, q, countyID)
	if errors.Is(err, ErrNotFound) {
		return CountySettings{RegionID: countyID, RequiredDays: DefaultRequiredDays}, nil
	}
	if err != nil {
		return CountySettings{}, fmt.Errorf("county settings: %w", err)
	}
	return s, nil
}

// SetCountySettings stores the rules of a county.
func (db *DB) SetCountySettings(ctx context.Context, s CountySettings) error {
	const q = `INSERT INTO county_settings (region_id, location_required, required_days, timezone)
		VALUES ($1, $2, $3, $4)
		ON CONFLICT (region_id) DO UPDATE SET location_required = $2, required_days = $3, timezone = $4, updated_at = now()`
	if _, err := db.q.Exec(ctx, q, s.RegionID, s.LocationRequired, s.RequiredDays, s.Timezone); err != nil {
		return fmt.Errorf("set county settings: %w", interpret(err))
	}
	return nil
}

// CountyOf returns the county a region lies in (the region itself if it is one).
func (db *DB) CountyOf(ctx context.Context, r Region) (Region, error) {
	chain, err := db.Ancestors(ctx, r)
	if err != nil {
		return Region{}, err
	}
	for _, a := range chain {
		if a.Level == LevelCounty {
			return a, nil
		}
	}
	return Region{}, fmt.Errorf("region %s lies in no county: %w", r.Code, ErrNotFound)
}

// CheckIn is one member's presence on one local day.
type CheckIn struct {
	ID            int64      `db:"id"`
	UserID        int64      `db:"user_id"`
	RegionID      int64      `db:"region_id"`
	Day           time.Time  `db:"day"`
	CheckedAt     time.Time  `db:"checked_at"`
	Source        string     `db:"source"`
	RecordedBy    int64      `db:"recorded_by"`
	Latitude      *float64   `db:"latitude"`
	Longitude     *float64   `db:"longitude"`
	AccuracyM     *float64   `db:"accuracy_m"`
	Live          *bool      `db:"live"`
	LocatedAt     *time.Time `db:"located_at"`
	ReceivedAt    *time.Time `db:"received_at"`
	DistanceM     *float64   `db:"distance_m"`
	OnSite        bool       `db:"on_site"`
	OffSiteReason string     `db:"off_site_reason"`
	OffSiteNote   string     `db:"off_site_note"`
	Verdict       string     `db:"verdict"`
	Reasons       []string   `db:"reasons"`
	PhotoFileID   string     `db:"photo_file_id"`
	PhotoUniqueID string     `db:"photo_unique_id"`
}

const checkInColumns = `id, user_id, region_id, day, checked_at, source, recorded_by, latitude, longitude,
	accuracy_m, live, located_at, received_at, distance_m, on_site, off_site_reason, off_site_note,
	verdict, reasons, photo_file_id, photo_unique_id`

// AddCheckIn records a check-in. A second one for the same member and day is ErrConflict.
func (db *DB) AddCheckIn(ctx context.Context, c CheckIn) (CheckIn, error) {
	reasons := c.Reasons
	if reasons == nil {
		reasons = []string{}
	}
	const q = `INSERT INTO check_ins (user_id, region_id, day, checked_at, source, recorded_by, latitude, longitude,
			accuracy_m, live, located_at, received_at, distance_m, on_site, off_site_reason, off_site_note,
			verdict, reasons, photo_file_id, photo_unique_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)
		RETURNING ` + checkInColumns
	out, err := collectOne[CheckIn](ctx, db, q, c.UserID, c.RegionID, c.Day.Format(time.DateOnly), c.CheckedAt,
		c.Source, c.RecordedBy, c.Latitude, c.Longitude, c.AccuracyM, c.Live, c.LocatedAt, c.ReceivedAt,
		c.DistanceM, c.OnSite, c.OffSiteReason, c.OffSiteNote, c.Verdict, reasons, c.PhotoFileID, c.PhotoUniqueID)
	if err != nil {
		return CheckIn{}, fmt.Errorf("add check-in: %w", err)
	}
	return out, nil
}

// UpdateCheckIn writes what a location, a reason or a photo added to a check-in.
func (db *DB) UpdateCheckIn(ctx context.Context, c CheckIn) error {
	reasons := c.Reasons
	if reasons == nil {
		reasons = []string{}
	}
	const q = `UPDATE check_ins SET source = $2, latitude = $3, longitude = $4, accuracy_m = $5, live = $6,
			located_at = $7, received_at = $8, distance_m = $9, on_site = $10, off_site_reason = $11,
			off_site_note = $12, verdict = $13, reasons = $14, photo_file_id = $15, photo_unique_id = $16
		WHERE id = $1`
	tag, err := db.q.Exec(ctx, q, c.ID, c.Source, c.Latitude, c.Longitude, c.AccuracyM, c.Live, c.LocatedAt,
		c.ReceivedAt, c.DistanceM, c.OnSite, c.OffSiteReason, c.OffSiteNote, c.Verdict, reasons, c.PhotoFileID, c.PhotoUniqueID)
	if err != nil {
		return fmt.Errorf("update check-in %d: %w", c.ID, err)
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return nil
}

// CheckInByID returns one check-in.
func (db *DB) CheckInByID(ctx context.Context, id int64) (CheckIn, error) {
	const q = `SELECT ` + checkInColumns + ` FROM check_ins WHERE id = $1`
	return collectOne[CheckIn](ctx, db, q, id)
}

// CheckInOn returns a member's check-in of a local day.
func (db *DB) CheckInOn(ctx context.Context, userID int64, day time.Time) (CheckIn, error) {
	const q = `SELECT ` + checkInColumns + ` FROM check_ins WHERE user_id = $1 AND day = $2`
	return collectOne[CheckIn](ctx, db, q, userID, day.Format(time.DateOnly))
}

// PreviousLocated returns a member's latest check-in with a location before the given
// check-in's time, other than that one.
func (db *DB) PreviousLocated(ctx context.Context, userID, exceptID int64, before time.Time) (CheckIn, error) {
	const q = `SELECT ` + checkInColumns + ` FROM check_ins
		WHERE user_id = $1 AND id <> $2 AND latitude IS NOT NULL AND located_at <= $3
		ORDER BY located_at DESC LIMIT 1`
	return collectOne[CheckIn](ctx, db, q, userID, exceptID, before)
}

// CheckInsOf returns the check-ins recorded at the given villages between two local
// days (inclusive), by day and member.
func (db *DB) CheckInsOf(ctx context.Context, regionIDs []int64, from, to time.Time) ([]CheckIn, error) {
	const q = `SELECT ` + checkInColumns + ` FROM check_ins
		WHERE region_id = ANY($1) AND day BETWEEN $2 AND $3 ORDER BY day, user_id`
	const qLite = `SELECT ` + checkInColumns + ` FROM check_ins
		WHERE region_id IN (SELECT value FROM json_each($1)) AND day BETWEEN $2 AND $3 ORDER BY day, user_id`
	return collect[CheckIn](ctx, db, db.pick(q, qLite), regionIDs, from.Format(time.DateOnly), to.Format(time.DateOnly))
}

// LeaveDay is a day of leave of a member.
type LeaveDay struct {
	UserID   int64     `db:"user_id"`
	RegionID int64     `db:"region_id"`
	Day      time.Time `db:"day"`
}

// AddLeave records days of leave of a member of a village; days already recorded are
// kept as they are. It returns how many days were new.
func (db *DB) AddLeave(ctx context.Context, userID, regionID int64, days []time.Time, recordedBy int64) (int, error) {
	added := 0
	const q = `INSERT INTO leave_days (user_id, region_id, day, recorded_by) VALUES ($1, $2, $3, $4)
		ON CONFLICT DO NOTHING`
	for _, d := range days {
		tag, err := db.q.Exec(ctx, q, userID, regionID, d.Format(time.DateOnly), recordedBy)
		if err != nil {
			return added, fmt.Errorf("add leave: %w", err)
		}
		added += int(tag.RowsAffected())
	}
	return added, nil
}

// LeaveOf returns the leave days at the given villages between two days (inclusive).
func (db *DB) LeaveOf(ctx context.Context, regionIDs []int64, from, to time.Time) ([]LeaveDay, error) {
	const q = `SELECT user_id, region_id, day FROM leave_days
		WHERE region_id = ANY($1) AND day BETWEEN $2 AND $3 ORDER BY day, user_id`
	const qLite = `SELECT user_id, region_id, day FROM leave_days
		WHERE region_id IN (SELECT value FROM json_each($1)) AND day BETWEEN $2 AND $3 ORDER BY day, user_id`
	return collect[LeaveDay](ctx, db, db.pick(q, qLite), regionIDs, from.Format(time.DateOnly), to.Format(time.DateOnly))
}

// TeamMember is a person on a village's team.
type TeamMember struct {
	UserID    int64     `db:"user_id"`
	FirstName string    `db:"first_name"`
	Role      string    `db:"role"`
	RegionID  int64     `db:"region_id"`
	Since     time.Time `db:"since"`
}

// TeamOf returns the members and first secretaries of the given villages, one row per
// person and village (the leading role when someone holds both), by village and name.
func (db *DB) TeamOf(ctx context.Context, regionIDs []int64) ([]TeamMember, error) {
	const q = `
		SELECT DISTINCT ON (a.region_id, a.user_id) a.user_id, u.first_name, a.role, a.region_id, a.created_at AS since
		FROM role_assignments a JOIN users u ON u.id = a.user_id
		WHERE a.region_id = ANY($1) AND a.revoked_at IS NULL AND a.role IN ('member', 'first_secretary')
		ORDER BY a.region_id, a.user_id, (a.role = 'first_secretary') DESC, a.created_at`
	// SQLite has no DISTINCT ON: the first row of each (village, person) by a window.
	const qLite = `
		SELECT user_id, first_name, role, region_id, since FROM (
			SELECT a.user_id, u.first_name, a.role, a.region_id, a.created_at AS since,
				row_number() OVER (PARTITION BY a.region_id, a.user_id
					ORDER BY (a.role = 'first_secretary') DESC, a.created_at) AS n
			FROM role_assignments a JOIN users u ON u.id = a.user_id
			WHERE a.region_id IN (SELECT value FROM json_each($1)) AND a.revoked_at IS NULL
				AND a.role IN ('member', 'first_secretary'))
		WHERE n = 1
		ORDER BY region_id, user_id`
	return collect[TeamMember](ctx, db, db.pick(q, qLite), regionIDs)
}

// VillagesUnder returns the villages in the subtree of r (r itself if it is one), by code.
func (db *DB) VillagesUnder(ctx context.Context, r Region) ([]Region, error) {
	const q = `SELECT ` + regionColumns + ` FROM regions
		WHERE level = 'village' AND path LIKE $1 || '%' ORDER BY code`
	return collect[Region](ctx, db, q, r.Path)
}
