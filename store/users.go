package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Roles a user can hold at a node of the region tree.
const (
	RoleSupervisor     = "supervisor"
	RoleFirstSecretary = "first_secretary"
	RoleMember         = "member"
	// RoleResident is a villager who joined a village to report problems.
	RoleResident = "resident"
)

// User is a person who has talked to the bot. ID is the channel's user id.
type User struct {
	ID           int64      `db:"id"`
	FirstName    string     `db:"first_name"`
	LanguageCode string     `db:"language_code"`
	Locale       string     `db:"locale"`
	BlockedAt    *time.Time `db:"blocked_at"`
}

// Role is a role held at a region, with that region.
type Role struct {
	ID     int64  `db:"id"`
	Role   string `db:"role"`
	Region Region `db:"-"`
}

const userColumns = `id, first_name, language_code, locale, blocked_at`

// TouchUser records a user seen on a channel, keeping their name and language current,
// and returns the stored user. A user who writes again is no longer marked blocked.
func (db *DB) TouchUser(ctx context.Context, id int64, firstName, languageCode string) (User, error) {
	// One round trip on every update: the row written, or — nothing having changed, the
	// common case — the row as it is (the statement's snapshot, which the insert did
	// not touch).
	const q = `
		WITH touched AS (
			INSERT INTO users (id, first_name, language_code) VALUES ($1, $2, $3)
			ON CONFLICT (id) DO UPDATE SET first_name = $2, language_code = $3, blocked_at = NULL,
				updated_at = now()
			WHERE users.first_name <> $2 OR users.language_code <> $3 OR users.blocked_at IS NOT NULL
			RETURNING ` + userColumns + `
		)
		SELECT ` + userColumns + ` FROM touched
		UNION ALL
		SELECT ` + userColumns + ` FROM users WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM touched)`
	// SQLite has no INSERT in a WITH: the upsert returns the row it wrote, and nothing
	// when nothing changed — then the row is read.
	const qLite = `
		INSERT INTO users (id, first_name, language_code) VALUES ($1, $2, $3)
		ON CONFLICT (id) DO UPDATE SET first_name = $2, language_code = $3, blocked_at = NULL,
			updated_at = now()
		WHERE users.first_name <> $2 OR users.language_code <> $3 OR users.blocked_at IS NOT NULL
		RETURNING ` + userColumns
	u, err := collectOne[User](ctx, db, db.pick(q, qLite), id, firstName, languageCode)
	if db.lite && errors.Is(err, ErrNotFound) {
		u, err = db.UserByID(ctx, id)
	}
	if err != nil {
		return User{}, fmt.Errorf("touch user: %w", err)
	}
	return u, nil
}

// UserByID returns one user.
func (db *DB) UserByID(ctx context.Context, id int64) (User, error) {
	const q = `SELECT ` + userColumns + ` FROM users WHERE id = $1`
	return collectOne[User](ctx, db, q, id)
}

// SetLocale stores the language a user chose.
func (db *DB) SetLocale(ctx context.Context, userID int64, locale string) error {
	tag, err := db.q.Exec(ctx, `UPDATE users SET locale = $2, updated_at = now() WHERE id = $1`, userID, locale)
	if err != nil {
		return fmt.Errorf("set locale: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return nil
}

// MarkBlocked records that a user blocked the bot, so nothing more is sent to them.
func (db *DB) MarkBlocked(ctx context.Context, userID int64) error {
	_, err := db.q.Exec(ctx, `UPDATE users SET blocked_at = now() WHERE id = $1 AND blocked_at IS NULL`, userID)
	if err != nil {
		return fmt.Errorf("mark blocked: %w", err)
	}
	return nil
}

// RolesOf returns the roles a user holds now, with their regions, top of the tree first.
func (db *DB) RolesOf(ctx context.Context, userID int64) ([]Role, error) {
	q := `
		SELECT a.id, a.role, ` + prefixed("r.", regionColumns) + `
		FROM role_assignments a JOIN regions r ON r.id = a.region_id
		WHERE a.user_id = $1 AND a.revoked_at IS NULL
		ORDER BY length(r.path), r.code, a.role`
	rows, err := db.q.Query(ctx, q, userID)
	if err != nil {
		return nil, fmt.Errorf("roles of %d: %w", userID, err)
	}
	defer rows.Close()
	var out []Role
	for rows.Next() {
		var ro Role
		r := &ro.Region
		if err := rows.Scan(&ro.ID, &ro.Role, &r.ID, &r.ParentID, &r.Level, &r.Code, &r.Name, &r.NameEn,
			&r.Path, &r.Latitude, &r.Longitude, &r.RadiusM, &r.Categories); err != nil {
			return nil, fmt.Errorf("roles of %d: %w", userID, err)
		}
		out = append(out, ro)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("roles of %d: %w", userID, err)
	}
	return out, nil
}

// GrantRole gives a user a role at a region. Holding it already is ErrConflict.
func (db *DB) GrantRole(ctx context.Context, userID int64, role string, regionID int64, grantedBy *int64, inviteID *int64) error {
	const q = `INSERT INTO role_assignments (user_id, role, region_id, granted_by, invite_id)
		VALUES ($1, $2, $3, $4, $5)`
	if _, err := db.q.Exec(ctx, q, userID, role, regionID, grantedBy, inviteID); err != nil {
		return fmt.Errorf("grant %s: %w", role, interpret(err))
	}
	return nil
}

// prefixed puts p before every column of a comma-separated list.
func prefixed(p, columns string) string {
	cols := strings.Split(columns, ",")
	for i, c := range cols {
		cols[i] = p + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}
