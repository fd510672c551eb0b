package main

import (
	"bytes"
	"math"
	"slices"
	"testing"

	"zhucun/store"
)

// FuzzReadRegionsCSV reads any file as a regions CSV: no input panics, and every row it
// accepts is one the import can store — a code and a name, a known level's rules kept:
// villages on the globe with a radius of 1 to 50000 metres and known categories,
// other levels with none of those.
func FuzzReadRegionsCSV(f *testing.F) {
	header := "code,parent_code,level,name,name_en,latitude,longitude,radius_m,categories\n"
	for _, s := range []string{
		header + "C,,county,县,County,,,,\nV,C,village,村,Village,28.2,112.9,1000,economy;security\n",
		"\ufeff" + header + "V,C,village,\"村,\"\"引号\"\"\",,28,112,1,\n",
		header + "V,C,village,村,,NaN,112,1000,\n",
		header + "V,C,village,村,,91,112,1000,\n",
		header + "V,C,village,村,,28,112,50001,\n",
		header + "V,C,village,'; DROP TABLE regions;--,,28,112,10,\n",
		header + "V,C,village,村\x00,,28,112,10,nope\n",
		header + "T,C,township,镇,,1,2,3,\n",
		header + "\"unterminated\n",
		"code\n", "",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, err := readRegionsCSV(bytes.NewReader(data))
		if err != nil {
			return
		}
		for _, r := range rows {
			if r.Code == "" || r.Name == "" {
				t.Fatalf("row without code or name: %+v", r)
			}
			if r.Level != store.LevelVillage {
				if r.Latitude != nil || r.Longitude != nil || r.RadiusM != nil || len(r.Categories) > 0 {
					t.Fatalf("%s row with village fields: %+v", r.Level, r)
				}
				continue
			}
			if r.Latitude == nil || r.Longitude == nil || r.RadiusM == nil {
				t.Fatalf("village without coordinates or radius: %+v", r)
			}
			lat, lon := *r.Latitude, *r.Longitude
			if math.IsNaN(lat) || math.IsNaN(lon) || lat < -90 || lat > 90 || lon < -180 || lon > 180 {
				t.Fatalf("village %q at (%v, %v)", r.Code, lat, lon)
			}
			if *r.RadiusM < 1 || *r.RadiusM > 50000 {
				t.Fatalf("village %q with radius %d", r.Code, *r.RadiusM)
			}
			for _, c := range r.Categories {
				if !slices.Contains(store.Categories, c) {
					t.Fatalf("village %q with category %q", r.Code, c)
				}
			}
		}
	})
}
