package store

import (
	"context"
	"fmt"
	"time"
)

// GrantRoleSince gives a user a role at a region as of an earlier time, as a demo or an
// import of past records needs: the role counts from since (attendance, weekly figures).
// Holding it already is ErrConflict.
func (db *DB) GrantRoleSince(ctx context.Context, userID int64, role string, regionID int64, since time.Time) error {
	const q = `INSERT INTO role_assignments (user_id, role, region_id, created_at) VALUES ($1, $2, $3, $4)`
	if _, err := db.q.Exec(ctx, q, userID, role, regionID, since); err != nil {
		return fmt.Errorf("grant %s: %w", role, interpret(err))
	}
	return nil
}
