package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"time"

	"zhucun/handlers"
	"zhucun/store"
)

// Occurrence is one occurrence of a kind of reminder: the reminders of that kind in a
// region (a county; a city for the Monday digest of its own supervisors) on a local day
// at a time of day. It goes to everyone concerned whose time for that kind is At or
// earlier and who was not reminded yet, so that a later occurrence of the same day
// catches whoever moved their time earlier. As a River job its arguments make it unique.
type Occurrence struct {
	Reminder string `json:"reminder"`
	RegionID int64  `json:"region_id"`
	Day      string `json:"day"` // local date, 2006-01-02
	At       int32  `json:"at"`  // minutes after local midnight
	// RunAt is when it is due: its time, or the end of the quiet hours it falls in.
	RunAt time.Time `json:"-"`
}

// Kind names the job for River.
func (Occurrence) Kind() string { return "zhucun_reminder" }

// rules are a region's reminder rules, its local time and the deadline of its weekly
// updates.
type rules struct {
	store.ReminderSettings
	loc    *time.Location
	weekly store.WeeklyDeadline
}

// rulesOf returns the rules of a county, or the defaults in the deployment's time for a
// region above the counties.
func (s *Scheduler) rulesOf(ctx context.Context, region store.Region) (rules, error) {
	if region.Level != store.LevelCounty {
		return rules{store.DefaultReminderSettings(region.ID), s.cfg.Location, store.DefaultWeeklyDeadline}, nil
	}
	rs, err := s.db.ReminderSettings(ctx, region.ID)
	if err != nil {
		return rules{}, err
	}
	weekly, err := s.db.WeeklyDeadline(ctx, region.ID)
	if err != nil {
		return rules{}, err
	}
	loc := s.cfg.Location
	if rs.Timezone != "" {
		if l, err := time.LoadLocation(rs.Timezone); err == nil {
			loc = l
		}
	}
	return rules{rs, loc, weekly}, nil
}

// updateWeek returns the Monday of the week whose update a reminder on day is about, if
// one is: the reminder goes on the day of the deadline when that is at noon or later,
// on the day before when it is in the morning.
func updateWeek(day time.Time, dl store.WeeklyDeadline) (time.Time, bool) {
	due := day
	if dl.Hour < 12 {
		due = day.AddDate(0, 0, 1)
	}
	weekday := (int(due.Weekday())+6)%7 + 1
	if weekday != int(dl.Weekday) {
		return time.Time{}, false
	}
	return due.AddDate(0, 0, 1-weekday), true
}

// at is the time of day minute on the local date day.
func (r rules) at(day time.Time, minute int32) time.Time {
	return time.Date(day.Year(), day.Month(), day.Day(), int(minute/60), int(minute%60), 0, 0, r.loc)
}

// runAt is when a reminder due at minute on day goes: then, or at the end of the quiet
// hours it falls in — the same morning, or the next one for the evening's.
func (r rules) runAt(day time.Time, minute int32) time.Time {
	if !r.Quiet(minute) {
		return r.at(day, minute)
	}
	if r.QuietFrom > r.QuietTo && minute >= r.QuietFrom {
		day = day.AddDate(0, 0, 1)
	}
	return r.at(day, r.QuietTo)
}

// localDay is the local date of t as midnight UTC (how days are stored).
func localDay(t time.Time, loc *time.Location) time.Time {
	l := t.In(loc)
	return time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, time.UTC)
}

func parseDay(s string) (time.Time, error) {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return d, fmt.Errorf("occurrence day %q: %w", s, err)
	}
	return d, nil
}

// Due returns the occurrences whose time has come at now and is less than MaxLate past:
// those of today and (put off by the quiet hours) yesterday, at each county's default
// time and at every time someone in it chose.
func (s *Scheduler) Due(ctx context.Context, now time.Time) ([]Occurrence, error) {
	counties, err := s.db.RegionsAt(ctx, store.LevelCounty)
	if err != nil {
		return nil, err
	}
	cities, err := s.db.RegionsAt(ctx, store.LevelCity)
	if err != nil {
		return nil, err
	}
	var out []Occurrence
	for _, region := range append(counties, cities...) {
		r, err := s.rulesOf(ctx, region)
		if err != nil {
			return nil, err
		}
		chosen, err := s.db.ReminderTimesUnder(ctx, region)
		if err != nil {
			return nil, err
		}
		kinds := []string{store.ReminderWeekly} // a city has its supervisors' Monday digest only
		if region.Level == store.LevelCounty {
			kinds = store.ReminderKinds
		}
		today := localDay(now, r.loc)
		for _, kind := range kinds {
			times := []int32{r.DefaultAt(kind)}
			for _, p := range chosen {
				if p.Kind == kind && !slices.Contains(times, *p.AtMinute) {
					times = append(times, *p.AtMinute)
				}
			}
			slices.Sort(times)
			for _, day := range []time.Time{today.AddDate(0, 0, -1), today} {
				if !s.happens(kind, r, day) {
					continue
				}
				for _, minute := range times {
					runAt := r.runAt(day, minute)
					if runAt.After(now) || now.Sub(runAt) >= s.cfg.MaxLate {
						continue
					}
					if kind == store.ReminderCheckIn && !localDay(runAt, r.loc).Equal(day) {
						continue // put off past its day: too late to check in
					}
					out = append(out, Occurrence{Reminder: kind, RegionID: region.ID, Day: day.Format(time.DateOnly), At: minute, RunAt: runAt})
				}
			}
		}
	}
	return out, nil
}

// happens reports whether a kind of reminder has an occurrence on day: the check-in
// reminder on the working days of a county that turned it on, the Monday digest on
// Mondays, the others every day.
func (s *Scheduler) happens(kind string, r rules, day time.Time) bool {
	switch kind {
	case store.ReminderCheckIn:
		return r.CheckInReminder && s.cfg.Calendar.IsWorkingDay(day)
	case store.ReminderWeekly:
		return day.Weekday() == time.Monday
	case store.ReminderUpdate:
		_, ok := updateWeek(day, r.weekly)
		return ok
	}
	return true
}

// Plan plans the messages of an occurrence at now, each unless planned before, and
// returns how many it planned.
func (s *Scheduler) Plan(ctx context.Context, o Occurrence, now time.Time) (int, error) {
	region, err := s.db.RegionByID(ctx, o.RegionID)
	if err != nil {
		return 0, fmt.Errorf("plan %s: %w", o.Reminder, err)
	}
	r, err := s.rulesOf(ctx, region)
	if err != nil {
		return 0, err
	}
	day, err := parseDay(o.Day)
	if err != nil {
		return 0, err
	}
	p := &planning{s: s, o: o, region: region, rules: r, day: day, now: now}
	switch o.Reminder {
	case store.ReminderCheckIn:
		err = p.checkIns(ctx)
	case store.ReminderDigest:
		err = p.digests(ctx)
	case store.ReminderUpdate:
		err = p.updates(ctx)
	case store.ReminderDeadline:
		err = p.deadlines(ctx)
	case store.ReminderEscalation:
		err = p.escalations(ctx)
	case store.ReminderWeekly:
		err = p.weekly(ctx)
	default:
		err = fmt.Errorf("unknown reminder %q", o.Reminder)
	}
	if err != nil {
		return p.planned, fmt.Errorf("plan %s of %s for %s: %w", o.Reminder, region.Code, o.Day, err)
	}
	return p.planned, nil
}

// planning is the work of one occurrence.
type planning struct {
	s       *Scheduler
	o       Occurrence
	region  store.Region
	rules   rules
	day     time.Time
	now     time.Time
	planned int
}

// recipients returns, of the given people, those to whom this occurrence's kind of
// reminder goes: not unreachable, not muted, whose time for it is this occurrence's or
// earlier, and has come less than MaxLate ago (the catch-up of a missed reminder does not
// depend on someone else's time).
func (p *planning) recipients(ctx context.Context, people []int64) (map[int64]store.User, error) {
	users, err := p.s.db.UsersByID(ctx, people)
	if err != nil {
		return nil, err
	}
	prefs, err := p.s.db.ReminderPrefs(ctx, people)
	if err != nil {
		return nil, err
	}
	out := map[int64]store.User{}
	for _, u := range users {
		if u.BlockedAt != nil {
			continue
		}
		at := p.rules.DefaultAt(p.o.Reminder)
		if i := slices.IndexFunc(prefs, func(x store.ReminderPref) bool { return x.UserID == u.ID && x.Kind == p.o.Reminder }); i >= 0 {
			if prefs[i].Muted {
				continue
			}
			if prefs[i].AtMinute != nil {
				at = *prefs[i].AtMinute
			}
		}
		if run := p.rules.runAt(p.day, at); at <= p.o.At && !run.After(p.now) && p.now.Sub(run) < p.s.cfg.MaxLate {
			out[u.ID] = u
		}
	}
	return out, nil
}

// add plans one message; occurrence names it among the messages of its kind to chatID.
func (p *planning) add(ctx context.Context, db *store.DB, occurrence string, chatID int64, text string) (bool, error) {
	added, err := db.PlanMessage(ctx, store.OutboxMessage{Kind: p.o.Reminder, Occurrence: occurrence, ChatID: chatID,
		Text: text, PlannedAt: p.now, SendAfter: p.now})
	if added {
		p.planned++
	}
	return added, err
}

// perCounty names an occurrence of a day in one county: a person on teams of two
// counties gets each county's digest and reminders.
func (p *planning) perCounty() string {
	return p.o.Day + "/" + strconv.FormatInt(p.region.ID, 10)
}

func (p *planning) villages(ctx context.Context) ([]store.Region, error) {
	return p.s.db.VillagesUnder(ctx, p.region)
}

func regionIDs(rs []store.Region) []int64 {
	out := make([]int64, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	return out
}

// checkIns reminds the team members who have not checked in anywhere today, are not on
// leave and joined before today.
func (p *planning) checkIns(ctx context.Context) error {
	villages, err := p.villages(ctx)
	if err != nil || len(villages) == 0 {
		return err
	}
	team, err := p.s.db.TeamOf(ctx, regionIDs(villages))
	if err != nil {
		return err
	}
	var people []int64
	for _, m := range team {
		people = append(people, m.UserID)
	}
	checkedIn, err := p.s.db.CheckedInOn(ctx, people, p.day)
	if err != nil {
		return err
	}
	leave, err := p.s.db.LeaveOf(ctx, regionIDs(villages), p.day, p.day)
	if err != nil {
		return err
	}
	to, err := p.recipients(ctx, people)
	if err != nil {
		return err
	}
	where := map[int64][]store.Region{}
	var order []int64
	for _, m := range team {
		if _, ok := to[m.UserID]; !ok || slices.Contains(checkedIn, m.UserID) || localDay(m.Since, p.rules.loc).After(p.day) ||
			slices.ContainsFunc(leave, func(l store.LeaveDay) bool { return l.UserID == m.UserID }) {
			continue
		}
		if where[m.UserID] == nil {
			order = append(order, m.UserID)
		}
		i := slices.IndexFunc(villages, func(v store.Region) bool { return v.ID == m.RegionID })
		where[m.UserID] = append(where[m.UserID], villages[i])
	}
	return p.s.db.InTx(ctx, func(tx *store.DB) error {
		for _, id := range order {
			// One per person and day, whichever county's occurrence comes first.
			if _, err := p.add(ctx, tx, p.o.Day, id, p.s.h.CheckInReminder(to[id], p.day, where[id])); err != nil {
				return err
			}
		}
		return nil
	})
}

// digests sends each first secretary the digest of their villages in the county.
func (p *planning) digests(ctx context.Context) error {
	villages, err := p.villages(ctx)
	if err != nil || len(villages) == 0 {
		return err
	}
	team, err := p.s.db.TeamOf(ctx, regionIDs(villages))
	if err != nil {
		return err
	}
	leaders, led := firstSecretaries(team, villages, func(store.TeamMember) bool { return true })
	to, err := p.recipients(ctx, leaders)
	if err != nil {
		return err
	}
	return p.s.db.InTx(ctx, func(tx *store.DB) error {
		for _, id := range leaders {
			u, ok := to[id]
			if !ok {
				continue
			}
			text, err := p.s.h.EveningDigest(ctx, u, led[id], p.day, p.rules.loc)
			if err != nil {
				return err
			}
			if _, err := p.add(ctx, tx, p.perCounty(), id, text); err != nil {
				return err
			}
		}
		return nil
	})
}

// updates reminds each first secretary whose village's update of the week is not
// submitted yet.
func (p *planning) updates(ctx context.Context) error {
	monday, ok := updateWeek(p.day, p.rules.weekly)
	if !ok {
		return nil
	}
	villages, err := p.villages(ctx)
	if err != nil || len(villages) == 0 {
		return err
	}
	team, err := p.s.db.TeamOf(ctx, regionIDs(villages))
	if err != nil {
		return err
	}
	updates, err := p.s.db.WeeklyUpdatesOf(ctx, regionIDs(villages), monday, monday)
	if err != nil {
		return err
	}
	leaders, pending := firstSecretaries(team, villages, func(m store.TeamMember) bool {
		return !slices.ContainsFunc(updates, func(u store.WeeklyUpdate) bool { return u.RegionID == m.RegionID && u.Submitted() })
	})
	to, err := p.recipients(ctx, leaders)
	if err != nil {
		return err
	}
	return p.s.db.InTx(ctx, func(tx *store.DB) error {
		for _, id := range leaders {
			u, ok := to[id]
			if !ok {
				continue
			}
			text := p.s.h.WeeklyUpdateReminder(u, pending[id], monday, p.rules.loc, p.rules.weekly)
			if _, err := p.add(ctx, tx, monday.Format(time.DateOnly)+"/"+strconv.FormatInt(p.region.ID, 10), id, text); err != nil {
				return err
			}
		}
		return nil
	})
}

// openProblems returns the open problems of the county's villages.
func (p *planning) openProblems(ctx context.Context) ([]store.Problem, []store.Region, error) {
	villages, err := p.villages(ctx)
	if err != nil || len(villages) == 0 {
		return nil, villages, err
	}
	all, err := p.s.db.ProblemsSince(ctx, regionIDs(villages), p.now)
	if err != nil {
		return nil, nil, err
	}
	var open []store.Problem
	for _, pr := range all {
		if pr.Open() {
			open = append(open, pr)
		}
	}
	return open, villages, nil
}

// deadlines tells whoever answers for a problem due tomorrow.
func (p *planning) deadlines(ctx context.Context) error {
	open, _, err := p.openProblems(ctx)
	if err != nil {
		return err
	}
	tomorrow := p.day.AddDate(0, 0, 1)
	due := map[int64][]store.Problem{}
	var people []int64
	for _, pr := range open {
		if pr.ResponsibleID == nil || pr.Deadline == nil || !pr.Deadline.Equal(tomorrow) ||
			(pr.Status != store.StatusAssigned && pr.Status != store.StatusInProgress) {
			continue
		}
		if due[*pr.ResponsibleID] == nil {
			people = append(people, *pr.ResponsibleID)
		}
		due[*pr.ResponsibleID] = append(due[*pr.ResponsibleID], pr)
	}
	to, err := p.recipients(ctx, people)
	if err != nil {
		return err
	}
	return p.s.db.InTx(ctx, func(tx *store.DB) error {
		for _, id := range people {
			u, ok := to[id]
			if !ok {
				continue
			}
			text, err := p.s.h.DeadlineReminder(ctx, u, due[id], tomorrow)
			if err != nil {
				return err
			}
			if _, err := p.add(ctx, tx, p.perCounty(), id, text); err != nil {
				return err
			}
		}
		return nil
	})
}

// escalations tells the township's supervisors of the problems overdue by the county's
// number of working days, and the county's supervisors of those overdue by twice as
// many; each supervisor once per problem, level and deadline.
func (p *planning) escalations(ctx context.Context) error {
	open, villages, err := p.openProblems(ctx)
	if err != nil {
		return err
	}
	n := int(p.rules.EscalateAfterDays)
	var overdue []handlers.Overdue
	var problemIDs []int64
	for _, pr := range open {
		if !pr.Overdue(p.day) {
			continue
		}
		days := p.s.cfg.Calendar.WorkingDaysAfter(*pr.Deadline, p.day)
		for level := 1; level <= 2 && days >= level*n; level++ {
			overdue = append(overdue, handlers.Overdue{Problem: pr, WorkingDays: days, Level: level})
		}
		problemIDs = append(problemIDs, pr.ID)
	}
	if len(overdue) == 0 {
		return nil
	}
	done, err := p.s.db.Escalations(ctx, problemIDs)
	if err != nil {
		return err
	}
	township := map[int64]int64{} // village → township
	var townships []int64
	for _, v := range villages {
		if v.ParentID != nil {
			township[v.ID] = *v.ParentID
			townships = append(townships, *v.ParentID)
		}
	}
	supervisors, err := p.s.db.RoleHolders(ctx, store.RoleSupervisor, append(townships, p.region.ID))
	if err != nil {
		return err
	}
	items := map[int64][]handlers.Overdue{}
	var people []int64
	for _, o := range overdue {
		at := p.region.ID
		if o.Level == 1 {
			at = township[o.Problem.RegionID]
		}
		for _, sup := range supervisors {
			if sup.RegionID != at || slices.ContainsFunc(done, func(e store.Escalation) bool {
				return e.ProblemID == o.Problem.ID && int(e.Level) == o.Level && e.UserID == sup.UserID && e.Deadline.Equal(*o.Problem.Deadline)
			}) || slices.ContainsFunc(items[sup.UserID], func(x handlers.Overdue) bool { return x.Problem.ID == o.Problem.ID && x.Level == o.Level }) {
				continue
			}
			if items[sup.UserID] == nil {
				people = append(people, sup.UserID)
			}
			items[sup.UserID] = append(items[sup.UserID], o)
		}
	}
	to, err := p.recipients(ctx, people)
	if err != nil {
		return err
	}
	return p.s.db.InTx(ctx, func(tx *store.DB) error {
		for _, id := range people {
			u, ok := to[id]
			if !ok {
				continue
			}
			text, err := p.s.h.Escalation(ctx, u, items[id])
			if err != nil {
				return err
			}
			added, err := p.add(ctx, tx, p.perCounty(), id, text)
			if err != nil {
				return err
			}
			if !added {
				continue // told today already: what is new waits for tomorrow's message
			}
			var es []store.Escalation
			for _, o := range items[id] {
				es = append(es, store.Escalation{ProblemID: o.Problem.ID, Level: int32(o.Level), Deadline: *o.Problem.Deadline,
					UserID: id, EscalatedAt: p.now})
			}
			if err := tx.AddEscalations(ctx, es); err != nil {
				return err
			}
		}
		return nil
	})
}

// weekly sends the supervisors of the region (and, for a county, of its townships) the
// digest of last week for everything they supervise.
func (p *planning) weekly(ctx context.Context) error {
	at := []int64{p.region.ID}
	if p.region.Level == store.LevelCounty {
		townships, err := p.s.db.Children(ctx, p.region.ID)
		if err != nil {
			return err
		}
		at = append(at, regionIDs(townships)...)
	}
	holders, err := p.s.db.RoleHolders(ctx, store.RoleSupervisor, at)
	if err != nil {
		return err
	}
	var people []int64
	for _, h := range holders {
		if !slices.Contains(people, h.UserID) {
			people = append(people, h.UserID)
		}
	}
	to, err := p.recipients(ctx, people)
	if err != nil {
		return err
	}
	lastMonday := p.day.AddDate(0, 0, -7)
	return p.s.db.InTx(ctx, func(tx *store.DB) error {
		for _, id := range people {
			u, ok := to[id]
			if !ok {
				continue
			}
			roles, err := p.s.db.RolesOf(ctx, id)
			if err != nil {
				return err
			}
			var regions []store.Region
			for _, ro := range roles {
				if ro.Role == store.RoleSupervisor {
					regions = append(regions, ro.Region)
				}
			}
			text, err := p.s.h.WeeklyDigest(ctx, u, regions, lastMonday, p.rules.loc)
			if err != nil {
				return err
			}
			// One per person and week, whichever of their regions comes first.
			if _, err := p.add(ctx, tx, p.o.Day, id, text); err != nil {
				return err
			}
		}
		return nil
	})
}

// noticeCalendar is the kind of the one-off notice of a missing calendar.
const noticeCalendar = "calendar"

// PlanNotices plans the one-off notices due at now: when the local year has no
// calendar of working days, each admin is told once (out of the quiet hours).
func (s *Scheduler) PlanNotices(ctx context.Context, now time.Time) error {
	year := now.In(s.cfg.Location).Year()
	if s.cfg.Calendar.Known(year) || len(s.cfg.AdminIDs) == 0 {
		return nil
	}
	local := now.In(s.cfg.Location)
	if minute := int32(local.Hour()*60 + local.Minute()); store.DefaultReminderSettings(0).Quiet(minute) {
		return nil // the next tick out of the quiet hours plans it
	}
	users, err := s.db.UsersByID(ctx, s.cfg.AdminIDs)
	if err != nil {
		return err
	}
	planned := false
	for _, id := range s.cfg.AdminIDs {
		u := store.User{ID: id}
		if i := slices.IndexFunc(users, func(x store.User) bool { return x.ID == id }); i >= 0 {
			u = users[i]
		}
		added, err := s.db.PlanMessage(ctx, store.OutboxMessage{Kind: noticeCalendar, Occurrence: strconv.Itoa(year), ChatID: id,
			Text: s.h.CalendarMissing(u, year), PlannedAt: now, SendAfter: now})
		if err != nil {
			return err
		}
		planned = planned || added
	}
	if planned {
		s.cfg.Logger.Warn("no calendar of working days for this year: counting Monday to Friday", slog.Int("year", year))
		s.wakeSenders()
	}
	return nil
}

// firstSecretaries returns the first secretaries among team for whom keep holds, in
// order of first appearance, and the villages (of villages) each of them leads.
func firstSecretaries(team []store.TeamMember, villages []store.Region, keep func(store.TeamMember) bool) ([]int64, map[int64][]store.Region) {
	led := map[int64][]store.Region{}
	var ids []int64
	for _, m := range team {
		if m.Role != store.RoleFirstSecretary || !keep(m) {
			continue
		}
		if led[m.UserID] == nil {
			ids = append(ids, m.UserID)
		}
		i := slices.IndexFunc(villages, func(v store.Region) bool { return v.ID == m.RegionID })
		led[m.UserID] = append(led[m.UserID], villages[i])
	}
	return ids, led
}
