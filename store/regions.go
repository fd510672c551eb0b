package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Levels of the region tree, from the top down.
const (
	LevelCity     = "city"
	LevelCounty   = "county"
	LevelTownship = "township"
	LevelVillage  = "village"
)

// levelRank orders the levels: a child is exactly one rank below its parent.
var levelRank = map[string]int{LevelCity: 0, LevelCounty: 1, LevelTownship: 2, LevelVillage: 3}

// Region is a node of the region tree. Villages carry their centre, check-in radius
// and the problem categories they were flagged for.
type Region struct {
	ID         int64    `db:"id"`
	ParentID   *int64   `db:"parent_id"`
	Level      string   `db:"level"`
	Code       string   `db:"code"`
	Name       string   `db:"name"`
	NameEn     string   `db:"name_en"`
	Path       string   `db:"path"`
	Latitude   *float64 `db:"latitude"`
	Longitude  *float64 `db:"longitude"`
	RadiusM    *int32   `db:"radius_m"`
	Categories []string `db:"categories"`
}

// Contains reports whether r is other or one of its ancestors.
func (r Region) Contains(other Region) bool {
	return strings.HasPrefix(other.Path, r.Path)
}

// DisplayName is the region's name in the given locale ("en" uses the English name when
// there is one).
func (r Region) DisplayName(locale string) string {
	if locale == "en" && r.NameEn != "" {
		return r.NameEn
	}
	return r.Name
}

// RegionInput is one row of a region import.
type RegionInput struct {
	Code       string
	ParentCode string
	Level      string
	Name       string
	NameEn     string
	Latitude   *float64
	Longitude  *float64
	RadiusM    *int32
	Categories []string
}

const regionColumns = `id, parent_id, level, code, name, name_en, path, latitude, longitude, radius_m, categories`

// UpsertRegions writes rows in order (a parent before its children), inserting new codes
// and updating known ones. A row's parent must exist already or come earlier; the level
// must sit exactly one below the parent's. It returns how many rows were inserted and
// updated. Run it inside InTx so a bad row leaves nothing half-imported.
func (db *DB) UpsertRegions(ctx context.Context, rows []RegionInput) (inserted, updated int, err error) {
	for i, in := range rows {
		var parent *Region
		if in.ParentCode != "" {
			p, err := db.RegionByCode(ctx, in.ParentCode)
			if err != nil {
				return 0, 0, fmt.Errorf("row %d (%s): parent %q: %w", i+1, in.Code, in.ParentCode, err)
			}
			parent = &p
		}
		rank, ok := levelRank[in.Level]
		if !ok {
			return 0, 0, fmt.Errorf("row %d (%s): unknown level %q", i+1, in.Code, in.Level)
		}
		if parent == nil && rank != 0 && in.Level != LevelCounty {
			return 0, 0, fmt.Errorf("row %d (%s): a %s needs a parent", i+1, in.Code, in.Level)
		}
		if parent != nil && levelRank[parent.Level]+1 != rank {
			return 0, 0, fmt.Errorf("row %d (%s): a %s cannot sit under a %s", i+1, in.Code, in.Level, parent.Level)
		}
		var parentID *int64
		parentPath := "/"
		if parent != nil {
			parentID, parentPath = &parent.ID, parent.Path
		}
		// xmax = 0 tells an inserted row on Postgres; SQLite tells it by the row that was
		// not there before (its transaction holds the write lock).
		const upsert = `
			INSERT INTO regions (parent_id, level, code, name, name_en, latitude, longitude, radius_m, categories)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
			ON CONFLICT (code) DO UPDATE SET parent_id = $1, level = $2, name = $4, name_en = $5,
				latitude = $6, longitude = $7, radius_m = $8, categories = $9
			RETURNING id, (xmax = 0)`
		const upsertLite = `
			INSERT INTO regions (parent_id, level, code, name, name_en, latitude, longitude, radius_m, categories)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
			ON CONFLICT (code) DO UPDATE SET parent_id = $1, level = $2, name = $4, name_en = $5,
				latitude = $6, longitude = $7, radius_m = $8, categories = $9
			RETURNING id, $10`
		var id int64
		var fresh bool
		cats := in.Categories
		if cats == nil {
			cats = []string{}
		}
		args := []any{parentID, in.Level, in.Code, in.Name, in.NameEn, in.Latitude, in.Longitude, in.RadiusM, cats}
		if db.lite {
			_, err := db.RegionByCode(ctx, in.Code)
			if err != nil && !errors.Is(err, ErrNotFound) {
				return 0, 0, fmt.Errorf("row %d (%s): %w", i+1, in.Code, err)
			}
			args = append(args, err != nil)
		}
		err := db.q.QueryRow(ctx, db.pick(upsert, upsertLite), args...).Scan(&id, &fresh)
		if err != nil {
			return 0, 0, fmt.Errorf("row %d (%s): %w", i+1, in.Code, interpret(err))
		}
		// The region and everything below it take the new path (a region may have moved).
		const setPath = `
			WITH old AS (SELECT path FROM regions WHERE id = $1)
			UPDATE regions SET path = $2 || substr(regions.path, length(old.path) + 1)
			FROM old
			WHERE regions.id = $1 OR (old.path <> '' AND regions.path LIKE old.path || '%')`
		path := parentPath + strconv.FormatInt(id, 10) + "/"
		if _, err := db.q.Exec(ctx, setPath, id, path); err != nil {
			return 0, 0, fmt.Errorf("row %d (%s): set path: %w", i+1, in.Code, err)
		}
		if fresh {
			inserted++
		} else {
			updated++
		}
	}
	return inserted, updated, nil
}

// RegionByCode returns the region with that code.
func (db *DB) RegionByCode(ctx context.Context, code string) (Region, error) {
	const q = `SELECT ` + regionColumns + ` FROM regions WHERE code = $1`
	return collectOne[Region](ctx, db, q, code)
}

// RegionByID returns the region with that id.
func (db *DB) RegionByID(ctx context.Context, id int64) (Region, error) {
	const q = `SELECT ` + regionColumns + ` FROM regions WHERE id = $1`
	return collectOne[Region](ctx, db, q, id)
}

// Children returns the regions directly under parentID, by code; parentID 0 gives the
// top of the tree.
func (db *DB) Children(ctx context.Context, parentID int64) ([]Region, error) {
	const q = `SELECT ` + regionColumns + ` FROM regions
		WHERE coalesce(parent_id, 0) = $1 ORDER BY code`
	return collect[Region](ctx, db, q, parentID)
}

// Ancestors returns the regions from the top of the tree down to and including r.
func (db *DB) Ancestors(ctx context.Context, r Region) ([]Region, error) {
	var ids []int64
	for _, s := range strings.Split(strings.Trim(r.Path, "/"), "/") {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("region %d: bad path %q", r.ID, r.Path)
		}
		ids = append(ids, id)
	}
	const q = `SELECT ` + regionColumns + ` FROM regions WHERE id = ANY($1) ORDER BY length(path)`
	const qLite = `SELECT ` + regionColumns + ` FROM regions WHERE id IN (SELECT value FROM json_each($1)) ORDER BY length(path)`
	return collect[Region](ctx, db, db.pick(q, qLite), ids)
}

// Problem categories a village can be flagged for and a problem can fall under: the
// seven of the rectification of weak village party organisations, and other.
var Categories = []string{
	"economy",    // slow economic development
	"leadership", // weak leadership team
	"relations",  // strained party–masses or clan relations
	"security",   // public security
	"customs",    // customs and village appearance
	"discipline", // violations of law and discipline
	"election",   // unfinished village-committee election
	"other",
}
