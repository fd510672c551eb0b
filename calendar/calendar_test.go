package calendar_test

import (
	"fmt"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"zhucun/calendar"
)

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestIsWorkingDay2026(t *testing.T) {
	t.Parallel()
	c, err := calendar.New()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, day string
		want      bool
	}{
		{"ordinary Tuesday", "2026-09-29", true},
		{"ordinary Saturday", "2026-09-26", false}, // inside 中秋节 anyway
		{"ordinary Sunday", "2026-11-29", false},
		{"National Day", "2026-10-01", false},
		{"National Day, a Monday", "2026-10-05", false},
		{"last day of the holiday", "2026-10-07", false},
		{"back to work", "2026-10-08", true},
		{"Saturday worked for National Day", "2026-10-10", true},
		{"Sunday worked for 中秋节", "2026-09-20", true},
		{"Spring Festival Friday", "2026-02-20", false},
		{"Saturday worked for Spring Festival", "2026-02-14", true},
		{"New Year's Day", "2026-01-01", false},
		{"Sunday worked for New Year", "2026-01-04", true},
	} {
		if got := c.IsWorkingDay(day(tc.day)); got != tc.want {
			t.Errorf("%s (%s): got working=%v, want %v", tc.name, tc.day, got, tc.want)
		}
	}
}

func TestWorkingDaysAcrossNationalDay(t *testing.T) {
	t.Parallel()
	c, err := calendar.New()
	if err != nil {
		t.Fatal(err)
	}
	// A deadline on Tuesday 29 September: Wednesday 30 September is the first working
	// day after it, then the holiday (1–7 October), Thursday 8, Friday 9, the worked
	// Saturday 10, Monday 12, Tuesday 13.
	for _, tc := range []struct {
		to   string
		want int
	}{
		{"2026-09-29", 0},
		{"2026-09-28", 0},
		{"2026-09-30", 1},
		{"2026-10-07", 1},
		{"2026-10-08", 2},
		{"2026-10-09", 3},
		{"2026-10-10", 4},
		{"2026-10-11", 4},
		{"2026-10-12", 5},
		{"2026-10-13", 6},
	} {
		if got := c.WorkingDaysAfter(day("2026-09-29"), day(tc.to)); got != tc.want {
			t.Errorf("working days from 2026-09-29 to %s: got %d, want %d", tc.to, got, tc.want)
		}
	}
}

func TestUnknownYearFallsBackToWeekdays(t *testing.T) {
	t.Parallel()
	c, err := calendar.New()
	if err != nil {
		t.Fatal(err)
	}
	if !c.Known(2026) || c.Known(2027) {
		t.Fatalf("known years %v, want 2026 and not 2027", c.Years())
	}
	// 1 January 2027 is a Friday: without the year's file it is a working day.
	if !c.IsWorkingDay(day("2027-01-01")) || c.IsWorkingDay(day("2027-01-02")) {
		t.Errorf("2027-01-01 (Friday) and 2027-01-02 (Saturday): want a working day and a day off")
	}
	// Across the new year: Thursday 31 December 2026 → Monday 4 January 2027.
	if got, want := c.WorkingDaysAfter(day("2026-12-30"), day("2027-01-04")), 3; got != want {
		t.Errorf("working days 2026-12-30 → 2027-01-04: got %d, want %d", got, want)
	}
}

func TestLoadRejectsBadFiles(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, file, body, want string
	}{
		{"wrong year", "2028.json", `{"year": 2027}`, "holds year 2027"},
		{"day of another year", "2028.json", `{"year": 2028, "holidays": [{"name": "x", "from": "2027-12-31", "to": "2028-01-01"}]}`, "not in 2028"},
		{"backwards", "2028.json", `{"year": 2028, "holidays": [{"name": "x", "from": "2028-01-03", "to": "2028-01-01"}]}`, "ends before"},
		{"worked weekday", "2028.json", `{"year": 2028, "working_weekend_days": ["2028-01-03"]}`, "working day already"},
		{"bad date", "2028.json", `{"year": 2028, "working_weekend_days": ["2028-13-01"]}`, "bad date"},
		{"not JSON", "2028.json", `year: 2028`, "invalid character"},
	} {
		_, err := calendar.Load(fstest.MapFS{tc.file: {Data: []byte(tc.body)}})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
}

func ExampleCalendar_WorkingDaysAfter() {
	c, err := calendar.New()
	if err != nil {
		panic(err)
	}
	deadline := time.Date(2026, 9, 29, 0, 0, 0, 0, time.UTC)
	for _, d := range []string{"2026-10-08", "2026-10-09", "2026-10-13"} {
		fmt.Println(d, c.WorkingDaysAfter(deadline, day(d)))
	}
	// Output:
	// 2026-10-08 2
	// 2026-10-09 3
	// 2026-10-13 6
}

func ExampleCalendar_IsWorkingDay() {
	c, err := calendar.New()
	if err != nil {
		panic(err)
	}
	fmt.Println(c.IsWorkingDay(day("2026-10-01")), c.IsWorkingDay(day("2026-10-10")))
	// Output: false true
}
