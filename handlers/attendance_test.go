package handlers

import (
	"fmt"
	"testing"
	"time"

	"zhucun/store"
)

func day(s string) time.Time {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return d
}

// TestMonthAccount checks a seeded November 2026 against a table computed by hand.
//
// 张三 is on the team all month; it is 30 November (the month's last day):
//
//	on site: 1–10 (10 days; day 5 is a proxy check-in, day 7 a self-declared one)
//	off site: 11 visits, 12 meeting, 13 visits (3 days)
//	leave: 14–16 (3 days), and 10 (a check-in that day wins: not counted twice)
//	a check-in of October and one of another member are ignored
//	missing: 30 - 10 - 3 - 3 = 14 days; required 20
//
// 李四 joined on 21 November: 10 days of the month are hers, so 20 × 10/30 ≈ 7 are
// required; she checked in on 20 November (before joining: not counted), 21 and 22,
// and was on leave on 23; of 21–30 that leaves 10 - 2 - 1 = 7 missing.
//
// 王五 joined on 21 November but it is 25 November: 5 days elapsed, all missing;
// required is still for the whole rest of the month (7).
func TestMonthAccount(t *testing.T) {
	t.Parallel()
	nov := day("2026-11-01")
	zhang := store.TeamMember{UserID: 1, FirstName: "张三"}
	li := store.TeamMember{UserID: 2, FirstName: "李四"}
	wang := store.TeamMember{UserID: 3, FirstName: "王五"}
	var checkIns []store.CheckIn
	for d := 1; d <= 10; d++ {
		checkIns = append(checkIns, store.CheckIn{UserID: 1, Day: day(fmt.Sprintf("2026-11-%02d", d)), OnSite: true})
	}
	checkIns = append(checkIns,
		store.CheckIn{UserID: 1, Day: day("2026-11-11"), OffSiteReason: "visits"},
		store.CheckIn{UserID: 1, Day: day("2026-11-12"), OffSiteReason: "meeting"},
		store.CheckIn{UserID: 1, Day: day("2026-11-13"), OffSiteReason: "visits"},
		store.CheckIn{UserID: 1, Day: day("2026-10-31"), OnSite: true},
		store.CheckIn{UserID: 9, Day: day("2026-11-20"), OnSite: true},
		store.CheckIn{UserID: 2, Day: day("2026-11-20"), OnSite: true},
		store.CheckIn{UserID: 2, Day: day("2026-11-21"), OnSite: true},
		store.CheckIn{UserID: 2, Day: day("2026-11-22"), OnSite: true},
	)
	leave := []store.LeaveDay{
		{UserID: 1, Day: day("2026-11-10")},
		{UserID: 1, Day: day("2026-11-14")}, {UserID: 1, Day: day("2026-11-15")}, {UserID: 1, Day: day("2026-11-16")},
		{UserID: 2, Day: day("2026-11-23")},
	}
	for _, tc := range []struct {
		name           string
		member         store.TeamMember
		today, joined  time.Time
		want           account
		visits, meetng int
	}{
		{name: "whole month", member: zhang, today: day("2026-11-30"), joined: day("2026-09-01"),
			want: account{OnSite: 10, OffSite: 3, Leave: 3, Missing: 14, Required: 20}, visits: 2, meetng: 1},
		{name: "joined mid-month", member: li, today: day("2026-11-30"), joined: day("2026-11-21"),
			want: account{OnSite: 2, Leave: 1, Missing: 7, Required: 7}},
		{name: "joined mid-month, month not over", member: wang, today: day("2026-11-25"), joined: day("2026-11-21"),
			want: account{Missing: 5, Required: 7}},
		{name: "joined after the month", member: wang, today: day("2026-12-05"), joined: day("2026-12-01"),
			want: account{}},
	} {
		got := monthAccount(tc.member, nov, tc.today, tc.joined, 20, checkIns, leave)
		if got.OnSite != tc.want.OnSite || got.OffSite != tc.want.OffSite || got.Leave != tc.want.Leave ||
			got.Missing != tc.want.Missing || got.Required != tc.want.Required ||
			got.Reasons["visits"] != tc.visits || got.Reasons["meeting"] != tc.meetng {
			t.Errorf("%s: got on %d off %d leave %d missing %d required %d reasons %v; want on %d off %d leave %d missing %d required %d, %d visits, %d meetings",
				tc.name, got.OnSite, got.OffSite, got.Leave, got.Missing, got.Required, got.Reasons,
				tc.want.OnSite, tc.want.OffSite, tc.want.Leave, tc.want.Missing, tc.want.Required, tc.visits, tc.meetng)
		}
	}
}

func ExampleformatDistance() {
	fmt.Println(formatDistance(734.4), formatDistance(1520))
	// Output: 734 m 1.5 km
}

func TestDistance(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name                   string
		lat1, lon1, lat2, lon2 float64
		want, tolerance        float64
	}{
		{"same point", 28.2281, 112.9388, 28.2281, 112.9388, 0, 0.001},
		{"one degree of latitude", 0, 0, 1, 0, 111195, 10},
		{"Beijing to Shanghai", 39.9042, 116.4074, 31.2304, 121.4737, 1067000, 3000},
		{"across the antimeridian", 0, 179.5, 0, -179.5, 111195, 10},
	} {
		if got := distanceM(tc.lat1, tc.lon1, tc.lat2, tc.lon2); got < tc.want-tc.tolerance || got > tc.want+tc.tolerance {
			t.Errorf("%s: got %.0f m, want %.0f ± %.0f", tc.name, got, tc.want, tc.tolerance)
		}
	}
}

func TestJudge(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	near := &previousFix{lat: 28.2281, lon: 112.9388, locatedAt: at.Add(-24 * time.Hour)}
	far := &previousFix{lat: 39.9042, lon: 116.4074, locatedAt: at.Add(-time.Hour)}
	for _, tc := range []struct {
		name        string
		f           fix
		distance    float64
		prev        *previousFix
		wantVerdict string
		wantReasons string
	}{
		{"live inside", fix{lat: 28.2281, lon: 112.9388, live: true, accuracyM: 15, locatedAt: at, receivedAt: at}, 100, near, "verified", "[]"},
		{"static inside", fix{lat: 28.2281, lon: 112.9388, locatedAt: at, receivedAt: at}, 100, nil, "unverified", "[static]"},
		{"live outside", fix{lat: 28.3, lon: 112.9, live: true, locatedAt: at, receivedAt: at}, 5000, nil, "verified", "[outside_fence]"},
		{"imprecise", fix{lat: 28.2281, lon: 112.9388, live: true, accuracyM: 900, locatedAt: at, receivedAt: at}, 100, nil, "doubtful", "[low_accuracy]"},
		{"late", fix{lat: 28.2281, lon: 112.9388, live: true, locatedAt: at, receivedAt: at.Add(time.Hour)}, 100, nil, "doubtful", "[late]"},
		{"jump from Beijing in an hour", fix{lat: 28.2281, lon: 112.9388, live: true, locatedAt: at, receivedAt: at}, 100, far, "doubtful", "[impossible_jump]"},
	} {
		v, reasons := judge(tc.f, tc.distance, 1500, tc.prev)
		if got := fmt.Sprint(reasons); v != tc.wantVerdict || (got != tc.wantReasons && !(tc.wantReasons == "[]" && reasons == nil)) {
			t.Errorf("%s: got %s %v, want %s %s", tc.name, v, reasons, tc.wantVerdict, tc.wantReasons)
		}
	}
}

func TestParseDays(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want int
		ok   bool
	}{
		{"2026-11-03", 1, true},
		{"2026-11-03~2026-11-05", 3, true},
		{"2026-11-03 至 2026-11-04", 2, true},
		{"2026-11-05~2026-11-03", 0, false},
		{"2026-10-01~2026-12-01", 0, false},
		{"11月3日", 0, false},
		{"", 0, false},
	} {
		days, ok := parseDays(tc.in)
		if ok != tc.ok || len(days) != tc.want {
			t.Errorf("parseDays(%q) = %d days, %v; want %d, %v", tc.in, len(days), ok, tc.want, tc.ok)
		}
	}
}
