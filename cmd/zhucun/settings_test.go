package main

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"zhucun/store/storetest"
)

func TestCountySettingsCommand(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := storetest.DB(t)
	f, err := os.Open(demoRegions)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, _, err := importRegions(ctx, db, f); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := countySettings(ctx, db, "DEMO", nil, &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"location_required=false", "required_days=20", "timezone=(ZHUCUN_TIMEZONE)", "weekly_deadline_weekday=7", "weekly_deadline_hour=24"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("defaults: got %q, want a line %q", out.String(), want)
		}
	}
	out.Reset()
	changes := []string{"location_required=true", "required_days=22", "timezone=Asia/Urumqi", "weekly_deadline_weekday=1", "weekly_deadline_hour=9"}
	if err := countySettings(ctx, db, "DEMO", changes, &out); err != nil {
		t.Fatal(err)
	}
	county, err := db.RegionByCode(ctx, "DEMO")
	if err != nil {
		t.Fatal(err)
	}
	s, err := db.CountySettings(ctx, county.ID)
	if err != nil || !s.LocationRequired || s.RequiredDays != 22 || s.Timezone != "Asia/Urumqi" {
		t.Fatalf("stored %+v (%v), want the changes", s, err)
	}
	dl, err := db.WeeklyDeadline(ctx, county.ID)
	if err != nil || dl.Weekday != 1 || dl.Hour != 9 {
		t.Fatalf("deadline %+v (%v), want Monday 9:00", dl, err)
	}
	for _, tc := range []struct{ name, code, change, want string }{
		{"unknown key", "DEMO", "colour=red", "unknown setting"},
		{"bad days", "DEMO", "required_days=40", "required_days"},
		{"bad zone", "DEMO", "timezone=Mars/Base", "unknown time zone"},
		{"bad weekday", "DEMO", "weekly_deadline_weekday=8", "weekly_deadline_weekday"},
		{"not key=value", "DEMO", "location_required", "key=value"},
		{"not a county", "DEMO-QS", "required_days=10", "not a county"},
		{"no such region", "NOPE", "required_days=10", "NOPE"},
	} {
		err := countySettings(ctx, db, tc.code, []string{tc.change}, &out)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error naming %q", tc.name, err, tc.want)
		}
	}
	if s2, _ := db.CountySettings(ctx, county.ID); s2 != s {
		t.Fatalf("refused changes changed the settings: %+v, want %+v", s2, s)
	}
}
