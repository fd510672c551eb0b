package handlers

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"zhucun/store"
)

func Example_weekOf() {
	shanghai, _ := time.LoadLocation("Asia/Shanghai")
	for _, t := range []time.Time{
		time.Date(2026, 11, 8, 23, 30, 0, 0, shanghai), // Sunday night: that week
		time.Date(2026, 11, 9, 0, 10, 0, 0, shanghai),  // Monday just after midnight: the next
	} {
		fmt.Println(t.Format("Mon 15:04"), weekLabel(weekOf(t, shanghai)), "UTC", t.UTC().Format("Mon 15:04"))
	}
	// Output:
	// Sun 23:30 2026-W45 UTC Sun 15:30
	// Mon 00:10 2026-W46 UTC Sun 16:10
}

func TestParseWeek(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in, want string // want: the Monday, or "" for no week
	}{
		{"2026-W45", "2026-11-02"},
		{"2026w45", "2026-11-02"},
		{" 2026-W01 ", "2025-12-29"}, // ISO week 1 holds 4 January
		{"2026-W53", "2026-12-28"},   // 2026 has 53 weeks
		{"2027-W53", ""},             // 2027 has not
		{"2026-W00", ""},
		{"2026-W54", ""},
		{"2026-11-08", "2026-11-02"}, // a Sunday belongs to the week before it
		{"2026-11-09", "2026-11-09"},
		{"2026-13-01", ""},
		{"last", ""},
		{"W45", ""},
	} {
		got, ok := parseWeek(tc.in)
		if s := map[bool]string{true: got.Format(time.DateOnly), false: ""}[ok]; s != tc.want {
			t.Errorf("parseWeek(%q): got %q, want %q", tc.in, s, tc.want)
		}
	}
}

func TestDeadlineOf(t *testing.T) {
	t.Parallel()
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	monday := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		dl        store.WeeklyDeadline
		want, say string
	}{
		{store.DefaultWeeklyDeadline, "2026-11-08T16:00:00Z", "2026-11-08 24:00"},
		{store.WeeklyDeadline{Weekday: 1, Hour: 0}, "2026-11-01T16:00:00Z", "2026-11-01 24:00"},
		{store.WeeklyDeadline{Weekday: 5, Hour: 18}, "2026-11-06T10:00:00Z", "2026-11-06 18:00"},
		{store.WeeklyDeadline{Weekday: 7, Hour: 12}, "2026-11-08T04:00:00Z", "2026-11-08 12:00"},
	} {
		d := deadlineOf(monday, shanghai, tc.dl)
		if got := d.UTC().Format(time.RFC3339); got != tc.want {
			t.Errorf("deadlineOf(%+v): got %s, want %s", tc.dl, got, tc.want)
		}
		if got := formatDeadline(d, shanghai); got != tc.say {
			t.Errorf("formatDeadline(%+v): got %q, want %q", tc.dl, got, tc.say)
		}
	}
	start, end := weekBounds(monday, shanghai)
	if start.UTC().Format(time.RFC3339) != "2026-11-01T16:00:00Z" || end.UTC().Format(time.RFC3339) != "2026-11-08T16:00:00Z" {
		t.Errorf("weekBounds: got %v – %v, want Monday to Monday, 00:00 in Shanghai", start.UTC(), end.UTC())
	}
}

func TestWeekState(t *testing.T) {
	t.Parallel()
	deadline := time.Date(2026, 11, 8, 16, 0, 0, 0, time.UTC)
	submitted := func(at time.Time) *store.WeeklyUpdate {
		return &store.WeeklyUpdate{Version: 1, SubmittedAt: &at, DeadlineAt: &deadline}
	}
	for _, tc := range []struct {
		name string
		u    *store.WeeklyUpdate
		now  time.Time
		want string
	}{
		{"submitted before", submitted(deadline.Add(-time.Minute)), deadline.Add(time.Hour), weekOnTime},
		{"submitted at the deadline", submitted(deadline), deadline.Add(time.Hour), weekOnTime},
		{"submitted after", submitted(deadline.Add(time.Second)), deadline.Add(time.Hour), weekLate},
		{"absent after", nil, deadline.Add(time.Second), weekMissing},
		{"absent before", nil, deadline.Add(-time.Second), weekPending},
		{"a draft after", &store.WeeklyUpdate{Sections: map[string]string{"work_done": "x"}}, deadline.Add(time.Hour), weekMissing},
	} {
		if got := weekState(tc.u, deadline, tc.now); got != tc.want {
			t.Errorf("%s: got %s, want %s", tc.name, got, tc.want)
		}
	}
}

func TestMonthWeeks(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ month, want string }{
		// November 2026 starts on a Sunday: that week's Thursday is in October.
		{"2026-11", "2026-W45 2026-W46 2026-W47 2026-W48"},
		// December 2026: the week of 30 November has its Thursday on 3 December.
		{"2026-12", "2026-W49 2026-W50 2026-W51 2026-W52 2026-W53"},
		{"2027-01", "2027-W01 2027-W02 2027-W03 2027-W04"},
	} {
		first, _ := time.Parse("2006-01", tc.month)
		var got []string
		for _, m := range monthWeeks(first) {
			got = append(got, weekLabel(m))
		}
		if strings.Join(got, " ") != tc.want {
			t.Errorf("monthWeeks(%s): got %q, want %q", tc.month, got, tc.want)
		}
	}
}

func TestSheetName(t *testing.T) {
	t.Parallel()
	used := map[string]bool{"汇总": true}
	for _, tc := range []struct{ name, code, want string }{
		{"东坪村", "V1", "东坪村"},
		{"东坪村", "V2", "东坪村 V2"},
		{"汇总", "V3", "汇总 V3"},
		{"a/b:c[d]", "V4", "a_b_c_d_"},
		{strings.Repeat("长", 40), "V5", strings.Repeat("长", 31)},
		{strings.Repeat("长", 40), "V6", strings.Repeat("长", 28) + " V6"},
		{"", "V7", "V7"},
	} {
		if got := sheetName(tc.name, tc.code, used); got != tc.want {
			t.Errorf("sheetName(%q, %s): got %q, want %q", tc.name, tc.code, got, tc.want)
		}
	}
}
