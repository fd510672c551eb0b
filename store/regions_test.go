package store_test

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"zhucun/store"
	"zhucun/store/storetest"
)

func ptr[T any](v T) *T { return &v }

// village is the import row of a village under township.
func village(code, township string) store.RegionInput {
	return store.RegionInput{
		Code: code, ParentCode: township, Level: store.LevelVillage, Name: code + "村",
		Latitude: ptr(29.1), Longitude: ptr(106.5), RadiusM: ptr(int32(800)),
		Categories: []string{"economy", "election"},
	}
}

// treeRows is a small region tree: a city with a county, a county at the top, their
// townships and villages.
func treeRows() []store.RegionInput {
	return []store.RegionInput{
		{Code: "C1", Level: store.LevelCity, Name: "重庆市", NameEn: "Chongqing"},
		{Code: "K1", ParentCode: "C1", Level: store.LevelCounty, Name: "县一"},
		{Code: "K2", Level: store.LevelCounty, Name: "县二"},
		{Code: "T1", ParentCode: "K1", Level: store.LevelTownship, Name: "镇一"},
		{Code: "T2", ParentCode: "K2", Level: store.LevelTownship, Name: "镇二"},
		village("V1", "T1"),
		village("V2", "T1"),
		village("V3", "T2"),
	}
}

// importTree imports treeRows and returns the regions by code.
func importTree(t *testing.T, db *store.DB) map[string]store.Region {
	t.Helper()
	ctx := t.Context()
	rows := treeRows()
	inserted, updated, err := db.UpsertRegions(ctx, rows)
	if err != nil {
		t.Fatalf("UpsertRegions: %v", err)
	}
	if inserted != len(rows) || updated != 0 {
		t.Fatalf("UpsertRegions: got %d inserted, %d updated, want %d, 0", inserted, updated, len(rows))
	}
	out := make(map[string]store.Region)
	for _, in := range rows {
		r, err := db.RegionByCode(ctx, in.Code)
		if err != nil {
			t.Fatalf("RegionByCode(%s): %v", in.Code, err)
		}
		out[in.Code] = r
	}
	return out
}

func codes(rs []store.Region) []string {
	out := []string{}
	for _, r := range rs {
		out = append(out, r.Code)
	}
	return out
}

func TestUpsertRegions(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		regions := importTree(t, db)

		for _, in := range treeRows() {
			r := regions[in.Code]
			wantPath := "/" + strconv.FormatInt(r.ID, 10) + "/"
			if in.ParentCode != "" {
				p := regions[in.ParentCode]
				if r.ParentID == nil || *r.ParentID != p.ID {
					t.Errorf("%s: got parent %v, want %d", in.Code, r.ParentID, p.ID)
				}
				wantPath = p.Path + strconv.FormatInt(r.ID, 10) + "/"
			} else if r.ParentID != nil {
				t.Errorf("%s: got parent %d, want none", in.Code, *r.ParentID)
			}
			if r.Path != wantPath {
				t.Errorf("%s: got path %q, want %q", in.Code, r.Path, wantPath)
			}
			if r.Level != in.Level || r.Name != in.Name || r.NameEn != in.NameEn {
				t.Errorf("%s: got level %q name %q name_en %q, want %q %q %q",
					in.Code, r.Level, r.Name, r.NameEn, in.Level, in.Name, in.NameEn)
			}
		}
		v := regions["V1"]
		if v.Latitude == nil || *v.Latitude != 29.1 || v.Longitude == nil || *v.Longitude != 106.5 ||
			v.RadiusM == nil || *v.RadiusM != 800 {
			t.Errorf("V1: got centre %v,%v radius %v, want 29.1,106.5 radius 800", v.Latitude, v.Longitude, v.RadiusM)
		}
		if want := []string{"economy", "election"}; !reflect.DeepEqual(v.Categories, want) {
			t.Errorf("V1 categories: got %q, want %q", v.Categories, want)
		}
		if c := regions["C1"]; c.Latitude != nil || len(c.Categories) != 0 {
			t.Errorf("C1: got latitude %v categories %q, want none", c.Latitude, c.Categories)
		}
		byID, err := db.RegionByID(ctx, v.ID)
		if err != nil || !reflect.DeepEqual(byID, v) {
			t.Errorf("RegionByID(%d): got %+v, %v, want %+v, nil", v.ID, byID, err, v)
		}
	})
}

func TestUpsertRegionsReimport(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		before := importTree(t, db)

		rows := treeRows()
		for i := range rows {
			rows[i].Name += " (new)"
		}
		rows[5].RadiusM = ptr(int32(1200))
		rows = append(rows, village("V4", "T2"))
		inserted, updated, err := db.UpsertRegions(ctx, rows)
		if err != nil {
			t.Fatalf("UpsertRegions again: got %v, want nil", err)
		}
		if inserted != 1 || updated != len(rows)-1 {
			t.Errorf("UpsertRegions again: got %d inserted, %d updated, want 1, %d", inserted, updated, len(rows)-1)
		}
		for _, in := range rows[:len(rows)-1] {
			r, err := db.RegionByCode(ctx, in.Code)
			if err != nil {
				t.Fatalf("RegionByCode(%s): %v", in.Code, err)
			}
			old := before[in.Code]
			if r.ID != old.ID || r.Path != old.Path {
				t.Errorf("%s: got id %d path %q, want %d %q", in.Code, r.ID, r.Path, old.ID, old.Path)
			}
			if r.Name != in.Name {
				t.Errorf("%s: got name %q, want %q", in.Code, r.Name, in.Name)
			}
		}
		v1, err := db.RegionByCode(ctx, "V1")
		if err != nil {
			t.Fatalf("RegionByCode(V1): %v", err)
		}
		if v1.RadiusM == nil || *v1.RadiusM != 1200 {
			t.Errorf("V1 radius: got %v, want 1200", v1.RadiusM)
		}
	})
}

// TestUpsertRegionsMove re-imports a township alone under another county: the path of
// every region below it must follow.
func TestUpsertRegionsMove(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		regions := importTree(t, db)

		moved := store.RegionInput{Code: "T1", ParentCode: "K2", Level: store.LevelTownship, Name: "镇一"}
		if _, _, err := db.UpsertRegions(ctx, []store.RegionInput{moved}); err != nil {
			t.Fatalf("UpsertRegions: got %v, want nil", err)
		}
		v1, err := db.RegionByCode(ctx, "V1")
		if err != nil {
			t.Fatalf("RegionByCode(V1): %v", err)
		}
		want := fmt.Sprintf("/%d/%d/%d/", regions["K2"].ID, regions["T1"].ID, v1.ID)
		if v1.Path != want {
			t.Errorf("V1 path after moving T1 under K2: got %q, want %q", v1.Path, want)
		}
		chain, err := db.Ancestors(ctx, v1)
		if err != nil {
			t.Fatalf("Ancestors: %v", err)
		}
		if got, want := codes(chain), []string{"K2", "T1", "V1"}; !reflect.DeepEqual(got, want) {
			t.Errorf("Ancestors(V1): got %q, want %q", got, want)
		}
	})
}

func TestUpsertRegionsRejects(t *testing.T) {
	t.Parallel()
	good := store.RegionInput{Code: "T9", ParentCode: "K1", Level: store.LevelTownship, Name: "镇九"}
	tests := []struct {
		name    string
		bad     store.RegionInput
		wantErr error // nil: any error
	}{
		{
			name:    "unknown parent",
			bad:     store.RegionInput{Code: "X1", ParentCode: "NOPE", Level: store.LevelTownship, Name: "x"},
			wantErr: store.ErrNotFound,
		},
		{name: "village under a county", bad: village("X1", "K1")},
		{name: "county under a county", bad: store.RegionInput{Code: "X1", ParentCode: "K1", Level: store.LevelCounty, Name: "x"}},
		{name: "city under a city", bad: store.RegionInput{Code: "X1", ParentCode: "C1", Level: store.LevelCity, Name: "x"}},
		{name: "unknown level", bad: store.RegionInput{Code: "X1", ParentCode: "C1", Level: "province", Name: "x"}},
		{name: "empty level", bad: store.RegionInput{Code: "X1", Name: "x"}},
		{name: "township without parent", bad: store.RegionInput{Code: "X1", Level: store.LevelTownship, Name: "x"}},
		{name: "village without centre", bad: store.RegionInput{Code: "X1", ParentCode: "T1", Level: store.LevelVillage, Name: "x"}},
		{
			name: "township with a centre",
			bad: store.RegionInput{Code: "X1", ParentCode: "K1", Level: store.LevelTownship, Name: "x",
				Latitude: ptr(1.0), Longitude: ptr(2.0), RadiusM: ptr(int32(3))},
		},
	}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		importTree(t, db)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				ctx := t.Context()
				var inserted, updated int
				err := db.InTx(ctx, func(tx *store.DB) error {
					var err error
					inserted, updated, err = tx.UpsertRegions(ctx, []store.RegionInput{good, tt.bad})
					return err
				})
				if err == nil {
					t.Fatalf("UpsertRegions: got nil error, want one")
				}
				if want := "row 2 (X1)"; !strings.Contains(err.Error(), want) {
					t.Errorf("UpsertRegions: got error %q, want it to name %q", err, want)
				}
				if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
					t.Errorf("UpsertRegions: got %v, want %v", err, tt.wantErr)
				}
				if inserted != 0 || updated != 0 {
					t.Errorf("UpsertRegions: got %d inserted, %d updated, want 0, 0 with an error", inserted, updated)
				}
				for _, code := range []string{good.Code, "X1"} {
					if _, err := db.RegionByCode(ctx, code); !errors.Is(err, store.ErrNotFound) {
						t.Errorf("RegionByCode(%s) after the failed import: got %v, want %v", code, err, store.ErrNotFound)
					}
				}
			})
		}
	})
}

func TestUpsertRegionsInTxLeavesNothing(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	storetest.Each(t, func(t *testing.T, db *store.DB) {

		rows := append(treeRows(), store.RegionInput{Code: "X1", ParentCode: "NOPE", Level: store.LevelVillage})
		err := db.InTx(ctx, func(tx *store.DB) error {
			_, _, err := tx.UpsertRegions(ctx, rows)
			return err
		})
		if want := fmt.Sprintf("row %d (X1)", len(rows)); err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("UpsertRegions in InTx: got %v, want an error naming %q", err, want)
		}
		top, err := db.Children(ctx, 0)
		if err != nil {
			t.Fatalf("Children(0): %v", err)
		}
		if len(top) != 0 {
			t.Errorf("Children(0) after a failed import: got %q, want none", codes(top))
		}
		if _, err := db.RegionByCode(ctx, "V1"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("RegionByCode(V1) after a failed import: got %v, want %v", err, store.ErrNotFound)
		}
	})
}

func TestRegionLookupsNotFound(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		if _, err := db.RegionByCode(ctx, "NOPE"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("RegionByCode(NOPE): got %v, want %v", err, store.ErrNotFound)
		}
		if _, err := db.RegionByID(ctx, 42); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("RegionByID(42): got %v, want %v", err, store.ErrNotFound)
		}
	})
}

func TestChildren(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		regions := importTree(t, db)
		tests := []struct {
			name   string
			parent int64
			want   []string
		}{
			{name: "top", parent: 0, want: []string{"C1", "K2"}},
			{name: "city", parent: regions["C1"].ID, want: []string{"K1"}},
			{name: "township", parent: regions["T1"].ID, want: []string{"V1", "V2"}},
			{name: "village", parent: regions["V1"].ID, want: []string{}},
			{name: "unknown", parent: 1 << 40, want: []string{}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				got, err := db.Children(t.Context(), tt.parent)
				if err != nil {
					t.Fatalf("Children(%d): %v", tt.parent, err)
				}
				if !reflect.DeepEqual(codes(got), tt.want) {
					t.Errorf("Children(%d): got %q, want %q", tt.parent, codes(got), tt.want)
				}
			})
		}
	})
}

func TestAncestors(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		regions := importTree(t, db)
		tests := []struct {
			name string
			code string
			want []string
		}{
			{name: "village under a city", code: "V1", want: []string{"C1", "K1", "T1", "V1"}},
			{name: "village under a top county", code: "V3", want: []string{"K2", "T2", "V3"}},
			{name: "county", code: "K1", want: []string{"C1", "K1"}},
			{name: "top", code: "C1", want: []string{"C1"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				got, err := db.Ancestors(t.Context(), regions[tt.code])
				if err != nil {
					t.Fatalf("Ancestors(%s): %v", tt.code, err)
				}
				if !reflect.DeepEqual(codes(got), tt.want) {
					t.Errorf("Ancestors(%s): got %q, want %q", tt.code, codes(got), tt.want)
				}
				if last := got[len(got)-1]; !reflect.DeepEqual(last, regions[tt.code]) {
					t.Errorf("Ancestors(%s) last: got %+v, want %+v", tt.code, last, regions[tt.code])
				}
			})
		}

		t.Run("bad path", func(t *testing.T) {
			t.Parallel()
			if _, err := db.Ancestors(t.Context(), store.Region{ID: 7, Path: ""}); err == nil {
				t.Error("Ancestors of a region without a path: got nil error, want one")
			}
		})
	})
}

func TestRegionContains(t *testing.T) {
	t.Parallel()
	city := store.Region{Path: "/1/"}
	county := store.Region{Path: "/1/2/"}
	village := store.Region{Path: "/1/2/3/4/"}
	sibling := store.Region{Path: "/1/5/"}
	lookalike := store.Region{Path: "/12/"}
	tests := []struct {
		name     string
		r, other store.Region
		want     bool
	}{
		{name: "itself", r: county, other: county, want: true},
		{name: "child", r: city, other: county, want: true},
		{name: "descendant", r: city, other: village, want: true},
		{name: "ancestor", r: village, other: city, want: false},
		{name: "sibling", r: county, other: sibling, want: false},
		{name: "sibling's descendant", r: sibling, other: village, want: false},
		{name: "id with the same digits", r: city, other: lookalike, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.r.Contains(tt.other); got != tt.want {
				t.Errorf("%q.Contains(%q): got %v, want %v", tt.r.Path, tt.other.Path, got, tt.want)
			}
		})
	}
}

func ExampleRegion_Contains() {
	county := store.Region{Path: "/1/2/"}
	fmt.Println(county.Contains(store.Region{Path: "/1/2/3/"}))
	fmt.Println(county.Contains(store.Region{Path: "/1/"}))
	// Output:
	// true
	// false
}

func ExampleRegion_DisplayName() {
	r := store.Region{Name: "重庆市", NameEn: "Chongqing"}
	fmt.Println(r.DisplayName("en"))
	fmt.Println(r.DisplayName("zh"))
	fmt.Println(store.Region{Name: "县一"}.DisplayName("en"))
	// Output:
	// Chongqing
	// 重庆市
	// 县一
}
