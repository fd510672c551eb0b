package handlers

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"zhucun/store"
)

// The texts of reminders and digests are built here, in each person's language; the
// jobs decide when and to whom they go, and that each goes once. A digest puts its
// counts first and then at most maxDigestLines lines, lists people by name and
// problems by village and number (never ranked), and no reminder asks for an answer:
// each ends saying how to mute it.

// maxDigestLines bounds the item lines of a digest.
const maxDigestLines = 10

// problemTextRunes is how much of a problem's description a reminder quotes.
const problemTextRunes = 30

// CheckInReminder is the reminder to a member who has not checked in on day at any of
// villages (names only, for the text).
func (h *Handlers) CheckInReminder(u store.User, day time.Time, villages []store.Region) string {
	tr := h.translatorFor(u)
	names := make([]string, len(villages))
	for i, v := range villages {
		names[i] = v.DisplayName(tr.locale)
	}
	return tr.T("reminder.checkin", "Day", day.Format(time.DateOnly), "Villages", strings.Join(names, "、"),
		"Button", tr.T("checkin.button")) + "\n" + tr.T("reminder.footer")
}

// digestText assembles a digest: title, count lines, up to maxDigestLines item lines,
// a line for the items left out, the footer.
func digestText(tr translator, title string, counts, items []string, more string) string {
	lines := append([]string{title}, counts...)
	shown := items
	if len(items) > maxDigestLines {
		shown = items[:maxDigestLines]
	}
	for _, it := range shown {
		lines = append(lines, "• "+it)
	}
	if left := len(items) - len(shown); left > 0 {
		lines = append(lines, tr.T(more, "Count", left))
	}
	return strings.Join(lines, "\n") + "\n" + tr.T("reminder.footer")
}

// names joins people's names in the order of the names (never by a figure).
func names(people []string) string {
	slices.Sort(people)
	return strings.Join(people, "、")
}

// problemFacts are the names a problem's line needs.
type problemFacts struct {
	villages map[int64]store.Region
	users    map[int64]store.User
}

func (h *Handlers) loadFacts(ctx context.Context, villages []store.Region, problems []store.Problem) (problemFacts, error) {
	f := problemFacts{villages: map[int64]store.Region{}, users: map[int64]store.User{}}
	for _, v := range villages {
		f.villages[v.ID] = v
	}
	var people []int64
	for _, p := range problems {
		if _, ok := f.villages[p.RegionID]; !ok {
			v, err := h.db.RegionByID(ctx, p.RegionID)
			if err != nil {
				return f, err
			}
			f.villages[v.ID] = v
		}
		if p.ResponsibleID != nil {
			people = append(people, *p.ResponsibleID)
		}
	}
	if len(people) > 0 {
		us, err := h.db.UsersByID(ctx, people)
		if err != nil {
			return f, err
		}
		for _, u := range us {
			f.users[u.ID] = u
		}
	}
	return f, nil
}

func (f problemFacts) village(tr translator, p store.Problem) string {
	return f.villages[p.RegionID].DisplayName(tr.locale)
}

func (f problemFacts) responsible(tr translator, p store.Problem) string {
	if p.ResponsibleID != nil {
		if u, ok := f.users[*p.ResponsibleID]; ok && u.FirstName != "" {
			return u.FirstName
		}
	}
	return tr.T("reminder.nobody")
}

// line renders one problem with a message of the reminder.problem_* family.
func (f problemFacts) line(tr translator, id string, p store.Problem) string {
	deadline := ""
	if p.Deadline != nil {
		deadline = p.Deadline.Format(time.DateOnly)
	}
	return tr.T(id, "Village", f.village(tr, p), "Number", p.Number(), "Text", truncate(p.Description, problemTextRunes),
		"Deadline", deadline, "Responsible", f.responsible(tr, p))
}

// sort orders problems by their village's code, then their number.
func (f problemFacts) sort(ps []store.Problem) {
	slices.SortFunc(ps, func(a, b store.Problem) int {
		if c := strings.Compare(f.villages[a.RegionID].Code, f.villages[b.RegionID].Code); c != 0 {
			return c
		}
		if a.Year != b.Year {
			return int(a.Year - b.Year)
		}
		return int(a.Seq - b.Seq)
	})
}

// awaitingVerification reports whether a problem waits for its fix to be verified.
func awaitingVerification(p store.Problem) bool { return p.Status == store.StatusResolved }

// dueOn reports whether an open problem's deadline is day.
func dueOn(p store.Problem, day time.Time) bool {
	return p.Deadline != nil && p.Deadline.Equal(day) && (p.Status == store.StatusAssigned || p.Status == store.StatusInProgress)
}

// within reports whether t lies in [from, to).
func within(t *time.Time, from, to time.Time) bool {
	return t != nil && !t.Before(from) && t.Before(to)
}

// EveningDigest is the first secretary's digest of day (a local date) for villages:
// who checked in and who did not, doubtful check-ins, who cannot be reached, new
// problems, problems due tomorrow, overdue, and waiting to be verified. loc is the
// villages' local time.
func (h *Handlers) EveningDigest(ctx context.Context, u store.User, villages []store.Region, day time.Time, loc *time.Location) (string, error) {
	tr := h.translatorFor(u)
	villageIDs := ids(villages)
	team, err := h.db.TeamOf(ctx, villageIDs)
	if err != nil {
		return "", err
	}
	checkIns, err := h.db.CheckInsOf(ctx, villageIDs, day, day)
	if err != nil {
		return "", err
	}
	leave, err := h.db.LeaveOf(ctx, villageIDs, day, day)
	if err != nil {
		return "", err
	}
	var memberIDs []int64
	for _, m := range team {
		memberIDs = append(memberIDs, m.UserID)
	}
	users, err := h.db.UsersByID(ctx, memberIDs)
	if err != nil {
		return "", err
	}
	blocked := map[int64]bool{}
	for _, p := range users {
		blocked[p.ID] = p.BlockedAt != nil
	}
	start := time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, loc)
	end := start.AddDate(0, 0, 1)
	problems, err := h.db.ProblemsSince(ctx, villageIDs, start)
	if err != nil {
		return "", err
	}
	facts, err := h.loadFacts(ctx, villages, problems)
	if err != nil {
		return "", err
	}

	var counts, people, doubtful []string
	var overdue, due, awaiting, fresh []store.Problem
	tomorrow := day.AddDate(0, 0, 1)
	for _, v := range villages {
		var present, absent, unreachable []string
		var nTeam, nLeave, nDoubtful, nNew, nDue, nOverdue, nAwaiting int
		for _, m := range team {
			if m.RegionID != v.ID || dateOf(m.Since.In(loc)).After(day) {
				continue
			}
			nTeam++
			if blocked[m.UserID] {
				unreachable = append(unreachable, m.FirstName)
			}
			i := slices.IndexFunc(checkIns, func(c store.CheckIn) bool { return c.UserID == m.UserID && c.RegionID == v.ID })
			switch {
			case i >= 0:
				present = append(present, m.FirstName)
				if c := checkIns[i]; c.Verdict == store.VerdictDoubtful {
					nDoubtful++
					doubtful = append(doubtful, tr.T("reminder.digest_doubtful", "Name", m.FirstName,
						"Time", c.CheckedAt.In(loc).Format("15:04"), "Reasons", reasonWords(tr, c.Reasons)))
				}
			case slices.ContainsFunc(leave, func(l store.LeaveDay) bool { return l.UserID == m.UserID }):
				nLeave++
			default:
				absent = append(absent, m.FirstName)
			}
		}
		for _, p := range problems {
			if p.RegionID != v.ID {
				continue
			}
			switch {
			case p.Overdue(day):
				nOverdue++
				overdue = append(overdue, p)
			case dueOn(p, tomorrow):
				nDue++
				due = append(due, p)
			case awaitingVerification(p):
				nAwaiting++
				awaiting = append(awaiting, p)
			}
			if within(&p.ReportedAt, start, end) {
				nNew++
				fresh = append(fresh, p)
			}
		}
		counts = append(counts, tr.T("reminder.digest_counts", "Village", v.DisplayName(tr.locale), "CheckedIn", len(present),
			"Team", nTeam, "Leave", nLeave, "Doubtful", nDoubtful, "New", nNew, "DueTomorrow", nDue, "Overdue", nOverdue,
			"Awaiting", nAwaiting))
		where := ""
		if len(villages) > 1 {
			where = v.DisplayName(tr.locale) + " "
		}
		if len(absent) > 0 {
			people = append(people, where+tr.T("reminder.digest_absent", "Names", names(absent)))
		}
		if len(present) > 0 {
			people = append(people, where+tr.T("reminder.digest_present", "Names", names(present)))
		}
		if len(unreachable) > 0 {
			people = append(people, where+tr.T("reminder.digest_unreachable", "Names", names(unreachable)))
		}
	}
	items := append(people, doubtful...)
	for _, group := range []struct {
		id   string
		list []store.Problem
	}{
		{"reminder.problem_overdue", overdue}, {"reminder.problem_due", due},
		{"reminder.problem_awaiting", awaiting}, {"reminder.problem_new", fresh},
	} {
		facts.sort(group.list)
		for _, p := range group.list {
			items = append(items, facts.line(tr, group.id, p))
		}
	}
	return digestText(tr, tr.T("reminder.digest_title", "Day", day.Format(time.DateOnly)), counts, items, "reminder.more_digest"), nil
}

// reasonWords names the reasons a check-in is doubtful, in one line.
func reasonWords(tr translator, reasons []string) string {
	r := &Request{tr: tr}
	return strings.TrimPrefix(strings.ReplaceAll(r.reasonList(reasons), "\n· ", "；"), "· ")
}

// WeeklyUpdateReminder reminds a first secretary that the weekly update of villages for
// the week that starts on monday is not submitted; it is due by dl, in loc.
func (h *Handlers) WeeklyUpdateReminder(u store.User, villages []store.Region, monday time.Time, loc *time.Location, dl store.WeeklyDeadline) string {
	tr := h.translatorFor(u)
	names := make([]string, len(villages))
	for i, v := range villages {
		names[i] = v.DisplayName(tr.locale)
	}
	return tr.T("reminder.update", "Villages", strings.Join(names, "、"), "Week", weekLabel(monday),
		"Deadline", formatDeadline(deadlineOf(monday, loc, dl), loc)) + "\n" + tr.T("reminder.footer")
}

// DeadlineReminder tells the person answering for problems that their deadline is
// deadline (tomorrow).
func (h *Handlers) DeadlineReminder(ctx context.Context, u store.User, problems []store.Problem, deadline time.Time) (string, error) {
	tr := h.translatorFor(u)
	facts, err := h.loadFacts(ctx, nil, problems)
	if err != nil {
		return "", err
	}
	facts.sort(problems)
	var items []string
	for _, p := range problems {
		items = append(items, facts.line(tr, "reminder.deadline_line", p))
	}
	title := tr.T("reminder.deadline_title", "Day", deadline.Format(time.DateOnly), "Count", len(problems))
	return digestText(tr, title, []string{tr.T("reminder.deadline_hint")}, items, "reminder.more_problems"), nil
}

// Overdue is a problem past its deadline by WorkingDays working days, told to a
// supervisor at Level (1 the township, 2 the county).
type Overdue struct {
	Problem     store.Problem
	WorkingDays int
	Level       int
}

// Escalation tells a supervisor which problems under them are overdue.
func (h *Handlers) Escalation(ctx context.Context, u store.User, items []Overdue) (string, error) {
	tr := h.translatorFor(u)
	problems := make([]store.Problem, len(items))
	days := map[int64]int{}
	for i, it := range items {
		problems[i] = it.Problem
		days[it.Problem.ID] = it.WorkingDays
	}
	facts, err := h.loadFacts(ctx, nil, problems)
	if err != nil {
		return "", err
	}
	facts.sort(problems)
	var lines []string
	for _, p := range problems {
		lines = append(lines, tr.T("reminder.escalation_line", "Village", facts.village(tr, p), "Number", p.Number(),
			"Text", truncate(p.Description, problemTextRunes), "Deadline", p.Deadline.Format(time.DateOnly),
			"Days", days[p.ID], "Responsible", facts.responsible(tr, p)))
	}
	title := tr.T("reminder.escalation_title", "Count", len(items))
	return digestText(tr, title, []string{tr.T("reminder.escalation_hint")}, lines, "reminder.more_problems"), nil
}

// WeeklyDigest is a supervisor's digest of the week that starts on monday (a local
// date) for everything under regions: the teams' days on site and the problem ledger.
func (h *Handlers) WeeklyDigest(ctx context.Context, u store.User, regions []store.Region, monday time.Time, loc *time.Location) (string, error) {
	tr := h.translatorFor(u)
	var villages []store.Region
	var where []string
	for _, r := range regions {
		where = append(where, r.DisplayName(tr.locale))
		vs, err := h.db.VillagesUnder(ctx, r)
		if err != nil {
			return "", err
		}
		for _, v := range vs {
			if !slices.ContainsFunc(villages, func(o store.Region) bool { return o.ID == v.ID }) {
				villages = append(villages, v)
			}
		}
	}
	villageIDs := ids(villages)
	sunday := monday.AddDate(0, 0, 6)
	team, err := h.db.TeamOf(ctx, villageIDs)
	if err != nil {
		return "", err
	}
	checkIns, err := h.db.CheckInsOf(ctx, villageIDs, monday, sunday)
	if err != nil {
		return "", err
	}
	onSite := 0
	for _, c := range checkIns {
		if c.OnSite {
			onSite++
		}
	}
	start := time.Date(monday.Year(), monday.Month(), monday.Day(), 0, 0, 0, 0, loc)
	end := start.AddDate(0, 0, 7)
	problems, err := h.db.ProblemsSince(ctx, villageIDs, start)
	if err != nil {
		return "", err
	}
	facts, err := h.loadFacts(ctx, villages, problems)
	if err != nil {
		return "", err
	}
	today := sunday.AddDate(0, 0, 1)
	var nNew, nResolved, nVerified, nOpen int
	var overdue, awaiting []store.Problem
	for _, p := range problems {
		if within(&p.ReportedAt, start, end) {
			nNew++
		}
		if within(p.ResolvedAt, start, end) {
			nResolved++
		}
		if within(p.VerifiedAt, start, end) {
			nVerified++
		}
		if p.Open() {
			nOpen++
		}
		switch {
		case p.Overdue(today):
			overdue = append(overdue, p)
		case awaitingVerification(p):
			awaiting = append(awaiting, p)
		}
	}
	members := map[int64]bool{}
	for _, m := range team {
		members[m.UserID] = true
	}
	counts := []string{tr.T("reminder.weekly_counts", "Villages", len(villages), "Team", len(members), "OnSite", onSite,
		"New", nNew, "Resolved", nResolved, "Verified", nVerified, "Open", nOpen, "Overdue", len(overdue), "Awaiting", len(awaiting))}
	var items []string
	facts.sort(overdue)
	for _, p := range overdue {
		items = append(items, facts.line(tr, "reminder.problem_overdue", p))
	}
	facts.sort(awaiting)
	for _, p := range awaiting {
		items = append(items, facts.line(tr, "reminder.problem_awaiting", p))
	}
	title := tr.T("reminder.weekly_title", "From", monday.Format(time.DateOnly), "To", sunday.Format(time.DateOnly),
		"Regions", strings.Join(where, "、"))
	return digestText(tr, title, counts, items, "reminder.more_problems"), nil
}

// CalendarMissing tells an admin that the bot has no calendar of working days for year.
func (h *Handlers) CalendarMissing(u store.User, year int) string {
	return h.translatorFor(u).T("reminder.calendar_missing", "Year", strconv.Itoa(year))
}

// clock renders minutes after midnight as 09:05.
func clock(minute int32) string { return fmt.Sprintf("%02d:%02d", minute/60, minute%60) }
