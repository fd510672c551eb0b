package main

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"zhucun/store"
	"zhucun/store/storetest"
)

const demoCSV = "../../deploy/regions-demo.csv"

const regionsHeader = "code,parent_code,level,name,name_en,latitude,longitude,radius_m,categories\n"

// openDemo opens the demo regions file; it is closed when the test ends.
func openDemo(t *testing.T) *os.File {
	t.Helper()
	f, err := os.Open(demoCSV)
	if err != nil {
		t.Fatalf("open demo file: got error %v, want nil", err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestReadRegionsCSVDemo(t *testing.T) {
	t.Parallel()
	rows, err := readRegionsCSV(openDemo(t))
	if err != nil {
		t.Fatalf("got error %v, want nil", err)
	}
	byLevel := map[string][]store.RegionInput{}
	for _, r := range rows {
		byLevel[r.Level] = append(byLevel[r.Level], r)
	}
	tests := []struct {
		name  string
		level string
		want  int
	}{
		{name: "one county", level: store.LevelCounty, want: 1},
		{name: "two townships", level: store.LevelTownship, want: 2},
		{name: "six villages", level: store.LevelVillage, want: 6},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := len(byLevel[tc.level]); got != tc.want {
				t.Errorf("got %d rows of level %s, want %d", got, tc.level, tc.want)
			}
			for _, r := range byLevel[tc.level] {
				village := tc.level == store.LevelVillage
				if got := r.Latitude != nil && r.Longitude != nil && r.RadiusM != nil; got != village {
					t.Errorf("%s: got coordinates and radius set %v, want %v", r.Code, got, village)
				}
				if got := len(r.Categories) > 0; got != village {
					t.Errorf("%s: got categories %q, want set %v", r.Code, r.Categories, village)
				}
				if r.Code == "" || r.Name == "" || r.NameEn == "" {
					t.Errorf("got row %+v, want code, name and name_en", r)
				}
				if (r.ParentCode == "") != (tc.level == store.LevelCounty) {
					t.Errorf("%s: got parent code %q, want one unless a county", r.Code, r.ParentCode)
				}
			}
		})
	}
	t.Run("first village in full", func(t *testing.T) {
		t.Parallel()
		i := slices.IndexFunc(rows, func(r store.RegionInput) bool { return r.Code == "DEMO-QS-01" })
		if i < 0 {
			t.Fatalf("got no row DEMO-QS-01, want one")
		}
		r := rows[i]
		got := fmt.Sprintf("%s %s %s %s %v %v %v %q", r.ParentCode, r.Level, r.Name, r.NameEn, *r.Latitude, *r.Longitude, *r.RadiusM, r.Categories)
		want := `DEMO-QS village 东坪村 Dongping Village 28.2281 112.9388 1500 ["economy" "leadership"]`
		if got != want {
			t.Errorf("got %s, want %s", got, want)
		}
	})
}

func TestReadRegionsCSVAccepts(t *testing.T) {
	t.Parallel()
	village := "V1,T1,village,村,Village,28.1,112.9,1500,economy; other\n"
	tests := []struct {
		name      string
		csv       string
		wantCodes []string
	}{
		{name: "BOM before header", csv: "\ufeff" + regionsHeader + "C1,,county,县,County,,,,\n", wantCodes: []string{"C1"}},
		{name: "CRLF line ends", csv: strings.ReplaceAll(regionsHeader+"C1,,county,县,,,,,\n"+village, "\n", "\r\n"), wantCodes: []string{"C1", "V1"}},
		{name: "BOM and CRLF", csv: "\ufeff" + strings.ReplaceAll(regionsHeader+village, "\n", "\r\n"), wantCodes: []string{"V1"}},
		{name: "no trailing newline", csv: regionsHeader + strings.TrimSuffix(village, "\n"), wantCodes: []string{"V1"}},
		{name: "village without categories", csv: regionsHeader + "V2,T1,village,村,,28.1,112.9,1,\n", wantCodes: []string{"V2"}},
		{name: "quoted name with comma", csv: regionsHeader + `V3,T1,village,"村,二",,28.1,112.9,50000,` + "\n", wantCodes: []string{"V3"}},
		{name: "header only", csv: regionsHeader, wantCodes: nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rows, err := readRegionsCSV(strings.NewReader(tc.csv))
			if err != nil {
				t.Fatalf("got error %v, want nil", err)
			}
			var codes []string
			for _, r := range rows {
				codes = append(codes, r.Code)
			}
			if !slices.Equal(codes, tc.wantCodes) {
				t.Errorf("got codes %q, want %q", codes, tc.wantCodes)
			}
		})
	}
	t.Run("categories trimmed", func(t *testing.T) {
		t.Parallel()
		rows, err := readRegionsCSV(strings.NewReader(regionsHeader + village))
		if err != nil {
			t.Fatalf("got error %v, want nil", err)
		}
		if want := []string{"economy", "other"}; len(rows) != 1 || !slices.Equal(rows[0].Categories, want) {
			t.Errorf("got rows %+v, want one with categories %q", rows, want)
		}
	})
}

func TestReadRegionsCSVRejects(t *testing.T) {
	t.Parallel()
	county := "C1,,county,县,County,,,,\n"
	tests := []struct {
		name      string
		csv       string
		wantLines []int  // the lines the error names, one error line each; nil: see wantText
		wantText  string // the error must contain it
	}{
		{name: "wrong header", csv: "code,parent,level,name,name_en,latitude,longitude,radius_m,categories\n" + county, wantText: "header must be code,parent_code,"},
		{name: "header columns reordered", csv: "parent_code,code,level,name,name_en,latitude,longitude,radius_m,categories\n" + county, wantText: "header must be"},
		{name: "header too short", csv: "code,parent_code,level\n", wantText: "read header"},
		{name: "empty file", csv: "", wantText: "read header"},
		{name: "village without coordinates", csv: regionsHeader + county + "V1,T1,village,村,,,,1500,economy\n", wantLines: []int{3}, wantText: "latitude"},
		{name: "village latitude out of range", csv: regionsHeader + "V1,T1,village,村,,91,112.9,1500,\n", wantLines: []int{2}, wantText: "latitude"},
		{name: "village longitude not a number", csv: regionsHeader + "V1,T1,village,村,,28.1,east,1500,\n", wantLines: []int{2}, wantText: "longitude"},
		{name: "radius zero", csv: regionsHeader + county + "V1,T1,village,村,,28.1,112.9,0,\n", wantLines: []int{3}, wantText: "radius_m"},
		{name: "radius too large", csv: regionsHeader + county + "V1,T1,village,村,,28.1,112.9,50001,\n", wantLines: []int{3}, wantText: "radius_m"},
		{name: "radius missing", csv: regionsHeader + "V1,T1,village,村,,28.1,112.9,,\n", wantLines: []int{2}, wantText: "radius_m"},
		{name: "unknown category", csv: regionsHeader + county + county + "V1,T1,village,村,,28.1,112.9,100,economy;farming\n", wantLines: []int{4}, wantText: `"farming"`},
		{name: "township with coordinates", csv: regionsHeader + county + "T1,C1,township,镇,,28.1,112.9,,\n", wantLines: []int{3}, wantText: "only a village"},
		{name: "county with categories", csv: regionsHeader + "C1,,county,县,,,,,economy\n", wantLines: []int{2}, wantText: "only a village"},
		{name: "missing code", csv: regionsHeader + ",,county,县,,,,,\n", wantLines: []int{2}, wantText: "code and name"},
		{name: "missing name", csv: regionsHeader + "C1,,county,,,,,,\n", wantLines: []int{2}, wantText: "code and name"},
		{name: "too few columns", csv: regionsHeader + county + "C2,,county,县\n", wantLines: []int{3}, wantText: "wrong number of fields"},
		{name: "too many columns", csv: regionsHeader + "C2,,county,县,,,,,,extra\n", wantLines: []int{2}, wantText: "wrong number of fields"},
		{name: "bare quote in name", csv: regionsHeader + county + "C2,,county,县\"x,,,,,\n", wantLines: []int{3}, wantText: "bare"},
		{
			name: "bare quote in code", csv: regionsHeader + county + "C\"2,,county,县,,,,,\n", wantLines: []int{3}, wantText: "bare",
		},
		{
			name: "several bad rows",
			csv: regionsHeader +
				"V1,T1,village,村,,,,1500,\n" + // 2: no coordinates
				county + // 3: good
				"V2,T1,village,村,,28.1,112.9,99999,\n" + // 4: radius
				"T1,C1,township,镇,,28.1,,,\n" + // 5: township with a latitude
				"V3,T1,village,村,,28.1,112.9,10,weather\n", // 6: category
			wantLines: []int{2, 4, 5, 6},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rows, err := readRegionsCSV(strings.NewReader(tc.csv))
			if err == nil {
				t.Fatalf("got rows %+v and error nil, want an error", rows)
			}
			if rows != nil {
				t.Errorf("got rows %+v, want none with an error", rows)
			}
			if !strings.Contains(err.Error(), tc.wantText) {
				t.Errorf("got error %q, want it to contain %q", err, tc.wantText)
			}
			if tc.wantLines == nil {
				return
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tc.wantLines) {
				t.Fatalf("got %d error lines %q, want %d", len(lines), lines, len(tc.wantLines))
			}
			for i, n := range tc.wantLines {
				if want := fmt.Sprintf("line %d: ", n); !strings.HasPrefix(lines[i], want) {
					t.Errorf("got error line %q, want it to start with %q", lines[i], want)
				}
			}
		})
	}
}

func TestImportRegionsDemo(t *testing.T) {
	t.Parallel()
	db := storetest.DB(t)
	ctx := t.Context()

	// The steps run in order on one database.
	steps := []struct {
		name        string
		wantAdded   int
		wantUpdated int
	}{
		{name: "first import", wantAdded: 9, wantUpdated: 0},
		{name: "second import", wantAdded: 0, wantUpdated: 9},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			added, updated, err := importRegions(ctx, db, openDemo(t))
			if err != nil {
				t.Fatalf("got error %v, want nil", err)
			}
			if added != st.wantAdded || updated != st.wantUpdated {
				t.Errorf("got %d added, %d updated, want %d added, %d updated", added, updated, st.wantAdded, st.wantUpdated)
			}
		})
	}

	t.Run("tree", func(t *testing.T) {
		county, err := db.RegionByCode(ctx, "DEMO")
		if err != nil {
			t.Fatalf("RegionByCode(DEMO): got error %v, want nil", err)
		}
		if county.ParentID != nil || county.Level != store.LevelCounty {
			t.Errorf("got DEMO parent %v level %s, want no parent, level county", county.ParentID, county.Level)
		}
		townships, err := db.Children(ctx, county.ID)
		if err != nil {
			t.Fatalf("Children(DEMO): got error %v, want nil", err)
		}
		var codes []string
		for _, tw := range townships {
			codes = append(codes, tw.Code)
			villages, err := db.Children(ctx, tw.ID)
			if err != nil {
				t.Fatalf("Children(%s): got error %v, want nil", tw.Code, err)
			}
			if len(villages) != 3 {
				t.Errorf("got %d villages under %s, want 3", len(villages), tw.Code)
			}
			for _, v := range villages {
				if !tw.Contains(v) || !county.Contains(v) {
					t.Errorf("got path %q for %s, want it under %q and %q", v.Path, v.Code, tw.Path, county.Path)
				}
			}
		}
		if want := []string{"DEMO-HX", "DEMO-QS"}; !slices.Equal(codes, want) {
			t.Errorf("got townships %q, want %q", codes, want)
		}
		v, err := db.RegionByCode(ctx, "DEMO-HX-02")
		if err != nil {
			t.Fatalf("RegionByCode(DEMO-HX-02): got error %v, want nil", err)
		}
		if v.Latitude == nil || v.Longitude == nil || v.RadiusM == nil {
			t.Fatalf("got DEMO-HX-02 %+v, want coordinates and radius", v)
		}
		got := fmt.Sprintf("%s %v %v %v %q", v.Name, *v.Latitude, *v.Longitude, *v.RadiusM, v.Categories)
		if want := `石门村 28.3155 112.8624 2000 ["discipline" "leadership"]`; got != want {
			t.Errorf("got DEMO-HX-02 %s, want %s", got, want)
		}
	})
}

func TestImportRegionsAllOrNothing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		demoFirst bool   // import the demo file before the bad one
		csv       string // rows after the header
		wantIs    error  // errors.Is target; nil: any error
		wantText  string
		absent    []string // codes that must not exist afterwards
	}{
		{
			name: "unknown parent in last row",
			csv: "NEW,,county,新县,,,,,\n" +
				"NEW-T,NEW,township,新镇,,,,,\n" +
				"NEW-T-1,NEW-T,village,新村,,28.1,112.9,100,economy\n" +
				"NEW-T-2,NOPE,village,无村,,28.1,112.9,100,\n",
			wantIs:   store.ErrNotFound,
			wantText: `"NOPE"`,
			absent:   []string{"NEW", "NEW-T", "NEW-T-1", "NEW-T-2"},
		},
		{
			name: "village under a county in last row",
			csv: "NEW,,county,新县,,,,,\n" +
				"NEW-V,NEW,village,新村,,28.1,112.9,100,\n",
			wantText: "cannot sit under",
			absent:   []string{"NEW", "NEW-V"},
		},
		{
			name:      "unknown parent after an update",
			demoFirst: true,
			csv: "DEMO,,county,改名县,Renamed,,,,\n" +
				"DEMO-NEW,DEMO,township,新镇,,,,,\n" +
				"DEMO-NEW-1,NOPE,village,无村,,28.1,112.9,100,\n",
			wantIs:   store.ErrNotFound,
			wantText: `"NOPE"`,
			absent:   []string{"DEMO-NEW", "DEMO-NEW-1"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			db := storetest.DB(t)
			ctx := t.Context()
			if tc.demoFirst {
				if _, _, err := importRegions(ctx, db, openDemo(t)); err != nil {
					t.Fatalf("import demo: got error %v, want nil", err)
				}
			}
			added, updated, err := importRegions(ctx, db, strings.NewReader(regionsHeader+tc.csv))
			if err == nil {
				t.Fatalf("got %d added, %d updated, error nil, want an error", added, updated)
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Errorf("got error %v, want one that is %v", err, tc.wantIs)
			}
			if !strings.Contains(err.Error(), tc.wantText) {
				t.Errorf("got error %q, want it to contain %q", err, tc.wantText)
			}
			for _, code := range tc.absent {
				if r, err := db.RegionByCode(ctx, code); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("RegionByCode(%s): got %+v, %v, want %v", code, r, err, store.ErrNotFound)
				}
			}
			top, err := db.Children(ctx, 0)
			if err != nil {
				t.Fatalf("Children(0): got error %v, want nil", err)
			}
			var topCodes []string
			for _, r := range top {
				topCodes = append(topCodes, r.Code)
			}
			wantTop := []string(nil)
			if tc.demoFirst {
				wantTop = []string{"DEMO"}
			}
			if !slices.Equal(topCodes, wantTop) {
				t.Errorf("got top of the tree %q, want %q", topCodes, wantTop)
			}
			if tc.demoFirst {
				demo, err := db.RegionByCode(ctx, "DEMO")
				if err != nil {
					t.Fatalf("RegionByCode(DEMO): got error %v, want nil", err)
				}
				if demo.Name != "示范县" || demo.NameEn != "Demo County" {
					t.Errorf("got DEMO named %q / %q, want the demo names 示范县 / Demo County kept", demo.Name, demo.NameEn)
				}
				kids, err := db.Children(ctx, demo.ID)
				if err != nil {
					t.Fatalf("Children(DEMO): got error %v, want nil", err)
				}
				if len(kids) != 2 {
					t.Errorf("got %d townships under DEMO, want 2", len(kids))
				}
			}
		})
	}
}
