// Package calendar knows mainland China's working days: the public holidays and the
// weekend days worked instead (调休), year by year, from data files embedded in the
// binary. A year without a file counts Monday to Friday as working days.
package calendar

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

//go:embed data/*.json
var files embed.FS

// Holiday is one public holiday period, both ends included.
type Holiday struct {
	Name string `json:"name"`
	From string `json:"from"`
	To   string `json:"to"`
}

// Year is the arrangement of one year as the State Council announced it.
type Year struct {
	Year               int       `json:"year"`
	Source             string    `json:"source"`
	Holidays           []Holiday `json:"holidays"`
	WorkingWeekendDays []string  `json:"working_weekend_days"`
}

// date is a calendar day without a time zone.
type date struct {
	y int
	m time.Month
	d int
}

func dateOf(t time.Time) date { return date{t.Year(), t.Month(), t.Day()} }

// Calendar tells working days apart from days off.
type Calendar struct {
	years    map[int]bool
	holidays map[date]bool
	worked   map[date]bool // weekend days that are working days
}

// New returns the calendar of the years embedded in the binary.
func New() (*Calendar, error) {
	sub, err := fs.Sub(files, "data")
	if err != nil {
		return nil, err
	}
	return Load(sub)
}

// Load reads every YYYY.json in fsys.
func Load(fsys fs.FS) (*Calendar, error) {
	names, err := fs.Glob(fsys, "*.json")
	if err != nil {
		return nil, err
	}
	c := &Calendar{years: map[int]bool{}, holidays: map[date]bool{}, worked: map[date]bool{}}
	for _, name := range names {
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("calendar %s: %w", name, err)
		}
		var y Year
		if err := json.Unmarshal(b, &y); err != nil {
			return nil, fmt.Errorf("calendar %s: %w", name, err)
		}
		if want := strings.TrimSuffix(path.Base(name), ".json"); strconv.Itoa(y.Year) != want {
			return nil, fmt.Errorf("calendar %s: holds year %d", name, y.Year)
		}
		if err := c.add(y); err != nil {
			return nil, fmt.Errorf("calendar %s: %w", name, err)
		}
	}
	return c, nil
}

// add takes in one year, checking that every day lies in it, that holidays run
// forwards, and that the days worked instead are weekend days outside the holidays.
func (c *Calendar) add(y Year) error {
	if c.years[y.Year] {
		return fmt.Errorf("year %d twice", y.Year)
	}
	parse := func(s string) (time.Time, error) {
		t, err := time.Parse(time.DateOnly, s)
		if err != nil {
			return t, fmt.Errorf("bad date %q", s)
		}
		if t.Year() != y.Year {
			return t, fmt.Errorf("%s is not in %d", s, y.Year)
		}
		return t, nil
	}
	for _, h := range y.Holidays {
		from, err := parse(h.From)
		if err != nil {
			return err
		}
		to, err := parse(h.To)
		if err != nil {
			return err
		}
		if to.Before(from) {
			return fmt.Errorf("holiday %s ends before it starts", h.Name)
		}
		for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
			c.holidays[dateOf(d)] = true
		}
	}
	for _, s := range y.WorkingWeekendDays {
		d, err := parse(s)
		if err != nil {
			return err
		}
		if wd := d.Weekday(); wd != time.Saturday && wd != time.Sunday {
			return fmt.Errorf("%s is a working day already (%s)", s, wd)
		}
		if c.holidays[dateOf(d)] {
			return fmt.Errorf("%s is both a holiday and a working day", s)
		}
		c.worked[dateOf(d)] = true
	}
	c.years[y.Year] = true
	return nil
}

// Known reports whether the calendar has the arrangement of that year.
func (c *Calendar) Known(year int) bool { return c.years[year] }

// Years lists the years the calendar has, in order.
func (c *Calendar) Years() []int {
	out := make([]int, 0, len(c.years))
	for y := range c.years {
		out = append(out, y)
	}
	slices.Sort(out)
	return out
}

// IsWorkingDay reports whether the day of t (its year, month and day, in t's own
// location) is a working day: not a public holiday, and Monday to Friday or a weekend
// day worked instead. In a year the calendar does not know, Monday to Friday are.
func (c *Calendar) IsWorkingDay(t time.Time) bool {
	d := dateOf(t)
	switch {
	case c.holidays[d]:
		return false
	case c.worked[d]:
		return true
	}
	wd := t.Weekday()
	return wd != time.Saturday && wd != time.Sunday
}

// WorkingDaysAfter counts the working days after from up to and including to: how many
// working days a deadline on from is overdue on the day to. It is 0 when to is not after
// from.
func (c *Calendar) WorkingDaysAfter(from, to time.Time) int {
	start := time.Date(from.Year(), from.Month(), from.Day(), 12, 0, 0, 0, time.UTC)
	end := time.Date(to.Year(), to.Month(), to.Day(), 12, 0, 0, 0, time.UTC)
	n := 0
	for d := start.AddDate(0, 0, 1); !d.After(end); d = d.AddDate(0, 0, 1) {
		if c.IsWorkingDay(d) {
			n++
		}
	}
	return n
}
