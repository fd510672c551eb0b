package handlers

import (
	"math"
	"time"

	"zhucun/store"
)

// account is one member's month: days on site, off site (with reasons), on leave and
// missing, against the days required of them.
type account struct {
	Member   store.TeamMember
	OnSite   int
	OffSite  int
	Leave    int
	Missing  int
	Required int
	// Reasons counts the off-site days by reason.
	Reasons map[string]int
}

// daysIn is the number of days of the month that starts at first.
func daysIn(first time.Time) int { return first.AddDate(0, 1, -1).Day() }

// dateOf is the calendar day of t, as midnight UTC (how days are stored).
func dateOf(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// monthAccount computes a member's account of the month starting at first, as of the
// local day today. Days count from the day the member joined (or the 1st) up to today
// (or the month's end); days before joining are neither required nor missing. The
// required days are the county's monthly requirement, in proportion to the part of
// the month the member was on the team. checkIns and leave may hold other members' and
// other months' records: they are filtered here.
func monthAccount(m store.TeamMember, first, today, joined time.Time, requiredDays int, checkIns []store.CheckIn, leave []store.LeaveDay) account {
	a := account{Member: m, Reasons: map[string]int{}}
	last := first.AddDate(0, 1, -1)
	from := first
	if joined.After(from) {
		from = joined
	}
	if from.After(last) {
		return a
	}
	a.Required = int(math.Round(float64(requiredDays) * float64(int(last.Sub(from).Hours()/24)+1) / float64(daysIn(first))))
	to := last
	if today.Before(to) {
		to = today
	}
	inPeriod := func(d time.Time) bool { return !d.Before(from) && !d.After(to) }
	seen := map[time.Time]bool{}
	for _, c := range checkIns {
		if c.UserID != m.UserID || !inPeriod(c.Day) || seen[c.Day] {
			continue
		}
		seen[c.Day] = true
		if c.OnSite {
			a.OnSite++
		} else {
			a.OffSite++
			a.Reasons[c.OffSiteReason]++
		}
	}
	for _, l := range leave {
		if l.UserID != m.UserID || !inPeriod(l.Day) || seen[l.Day] {
			continue
		}
		seen[l.Day] = true
		a.Leave++
	}
	if !to.Before(from) {
		a.Missing = int(to.Sub(from).Hours()/24) + 1 - len(seen)
	}
	return a
}
