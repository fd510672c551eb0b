package handlers

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"zhucun/store"
)

// The weekly update (周报): one per village team and ISO week (Monday first, in the
// county's local time). The first secretary writes its sections, reviews the draft
// with the week's figures (taken from the records, never typed) and submits it;
// members add notes to the draft with /note. A submission is a version: corrections
// add versions until a supervisor marks the latest read. Supervisors see, for a node
// and a week, which teams submitted on time, late or not at all, read the updates,
// mark them read or send them back with a comment that reaches the first secretary.
//
// The draft is a record in Postgres, not conversation state: the whole team adds to
// it from their own chats over a week, longer than a conversation lives.
const (
	flowWeekly        = "wk"
	stepWeeklyDraft   = "d" // the first secretary's draft card
	stepWeeklyText    = "t" // the text of one section
	stepWeeklyPick    = "p" // which village's draft
	stepWeeklyBrowse  = "s" // a supervisor's lists and updates
	stepWeeklyComment = "c" // the comment of a send-back
	stepMonthlyPick   = "m" // which node's monthly report

	flowNote        = "wn"
	stepNoteText    = "text"
	stepNoteVillage = "village"

	maxSectionRunes = 1500
	maxCommentRunes = 500
	maxWeeklyNote   = 500
	// maxOverviewButtons keeps a node's list inside Telegram's inline keyboard.
	maxOverviewButtons = 60
)

// weeklySections are the sections of an update, in order: their id (the key in the
// stored sections), title and hint. Titles follow weekly-report-template.json
// (work_done, next_week_plan, coordination_needed); "problems solved" has no heading
// of its own there and borrows the hint of its services_done section.
var weeklySections = []struct{ id, title, hint string }{
	{"work_done", "weekly.section_work_done", "weekly.hint_work_done"},
	{"problems_solved", "weekly.section_problems_solved", "weekly.hint_problems_solved"},
	{"next_week_plan", "weekly.section_next_week_plan", "weekly.hint_next_week_plan"},
	{"help_needed", "weekly.section_help_needed", "weekly.hint_help_needed"},
}

// Week states as a supervisor sees them.
const (
	weekOnTime  = "on_time"
	weekLate    = "late"
	weekMissing = "missing"
	weekPending = "pending" // not submitted, deadline still ahead
)

func weekStateMessageID(state string) string {
	switch state {
	case weekOnTime:
		return "weekly.on_time"
	case weekLate:
		return "weekly.late"
	case weekMissing:
		return "weekly.missing"
	default:
		return "weekly.pending"
	}
}

// weekState is what a week's update amounts to at now: u is nil when there is none.
func weekState(u *store.WeeklyUpdate, deadline, now time.Time) string {
	switch {
	case u != nil && u.Submitted() && u.Late():
		return weekLate
	case u != nil && u.Submitted():
		return weekOnTime
	case now.After(deadline):
		return weekMissing
	default:
		return weekPending
	}
}

// isoWeekday is 1 for Monday … 7 for Sunday.
func isoWeekday(d time.Time) int { return (int(d.Weekday())+6)%7 + 1 }

// weekStart is the Monday of the ISO week of a calendar day (midnight UTC, as days are kept).
func weekStart(day time.Time) time.Time {
	d := dateOf(day)
	return d.AddDate(0, 0, 1-isoWeekday(d))
}

// weekOf is the Monday of the local week t falls in.
func weekOf(t time.Time, loc *time.Location) time.Time { return weekStart(dateOf(t.In(loc))) }

// weekLabel names a week the ISO way, 2026-W45.
func weekLabel(monday time.Time) string {
	y, w := monday.ISOWeek()
	return fmt.Sprintf("%d-W%02d", y, w)
}

// parseWeek reads a week as 2026-W45 (or 2026W45) or as a day of it, 2026-11-04.
func parseWeek(s string) (time.Time, bool) {
	s = strings.ToUpper(strings.TrimSpace(s))
	if year, week, ok := strings.Cut(strings.Replace(s, "-W", "W", 1), "W"); ok {
		y, err1 := strconv.Atoi(year)
		w, err2 := strconv.Atoi(week)
		if err1 != nil || err2 != nil || y < 2000 || y > 2200 || w < 1 || w > 53 {
			return time.Time{}, false
		}
		monday := weekStart(time.Date(y, 1, 4, 0, 0, 0, 0, time.UTC)).AddDate(0, 0, 7*(w-1))
		if gy, gw := monday.ISOWeek(); gy != y || gw != w {
			return time.Time{}, false // no week 53 that year
		}
		return monday, true
	}
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, false
	}
	return weekStart(d), true
}

// weekBounds are the instants a local week starts and ends (the next Monday, 00:00).
func weekBounds(monday time.Time, loc *time.Location) (time.Time, time.Time) {
	y, m, d := monday.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, loc), time.Date(y, m, d+7, 0, 0, 0, 0, loc)
}

// deadlineOf is the instant a week's update is due.
func deadlineOf(monday time.Time, loc *time.Location, dl store.WeeklyDeadline) time.Time {
	y, m, d := monday.Date()
	return time.Date(y, m, d+int(dl.Weekday)-1, int(dl.Hour), 0, 0, 0, loc)
}

// formatDeadline writes a deadline in local time, midnight as 24:00 of the day before.
func formatDeadline(t time.Time, loc *time.Location) string {
	t = t.In(loc)
	if t.Hour() == 0 && t.Minute() == 0 {
		return t.AddDate(0, 0, -1).Format(time.DateOnly) + " 24:00"
	}
	return t.Format("2006-01-02 15:04")
}

// weekName is a week in words: its year and number, and its first and last day.
func (r *Request) weekName(monday time.Time) string {
	y, w := monday.ISOWeek()
	return r.T("weekly.week", "Year", y, "Number", w, "From", monday.Format(time.DateOnly),
		"To", monday.AddDate(0, 0, 6).Format(time.DateOnly))
}

// weekRule is what decides a village's weeks: its local time and its county's deadline.
type weekRule struct {
	loc      *time.Location
	deadline store.WeeklyDeadline
}

// weekRules returns the rule of each village, asking once per township.
func (h *Handlers) weekRules(ctx context.Context, r *Request, villages []store.Region) (map[int64]weekRule, error) {
	byParent := map[int64]weekRule{}
	out := make(map[int64]weekRule, len(villages))
	for _, v := range villages {
		var parent int64
		if v.ParentID != nil {
			parent = *v.ParentID
		}
		rule, ok := byParent[parent]
		if !ok {
			_, loc, err := h.rules(ctx, r, v)
			if err != nil {
				return nil, err
			}
			county, err := r.tx.CountyOf(ctx, v)
			if err != nil {
				return nil, err
			}
			dl, err := r.tx.WeeklyDeadline(ctx, county.ID)
			if err != nil {
				return nil, err
			}
			rule = weekRule{loc: loc, deadline: dl}
			byParent[parent] = rule
		}
		out[v.ID] = rule
	}
	return out, nil
}

func (h *Handlers) weekRule(ctx context.Context, r *Request, village store.Region) (weekRule, error) {
	rules, err := h.weekRules(ctx, r, []store.Region{village})
	if err != nil {
		return weekRule{}, err
	}
	return rules[village.ID], nil
}

// weekFigures are the figures of a village's week the bot takes from the records.
// They are shown in the draft and stored, as JSON, with every submitted version.
// Survey results are not among them yet.
type weekFigures struct {
	Week     string          `json:"week"`
	From     string          `json:"from"`
	To       string          `json:"to"`
	AsOf     time.Time       `json:"as_of"`
	Members  []memberWeek    `json:"members"`
	Problems []categoryCount `json:"problems"`
	Total    categoryCount   `json:"total"`
}

// memberWeek is one member's days of the week, from the check-ins and leave.
type memberWeek struct {
	UserID  int64  `json:"user_id"`
	Name    string `json:"name"`
	OnSite  int    `json:"on_site"`
	OffSite int    `json:"off_site"`
	Leave   int    `json:"leave"`
}

// categoryCount counts the problems of one category (or all) over a period.
type categoryCount struct {
	Category string `json:"category,omitempty"`
	Reported int    `json:"reported"`
	Resolved int    `json:"resolved"`
	Verified int    `json:"verified"`
	Overdue  int    `json:"overdue"`
}

func (c *categoryCount) add(o categoryCount) {
	c.Reported += o.Reported
	c.Resolved += o.Resolved
	c.Verified += o.Verified
	c.Overdue += o.Overdue
}

// periodEnd is how far into a period [start, end) the records count at `at`: the
// instant (its end, or at if earlier) and the local day from which an earlier
// deadline is overdue.
func periodEnd(end, at time.Time, loc *time.Location) (asOf, overdueFrom time.Time) {
	if at.Before(end) {
		return at, dateOf(at.In(loc))
	}
	return end, dateOf(end.In(loc))
}

// problemCounts counts a village's problems by category over [start, end) as of at,
// in the order of store.Categories, with their total.
func problemCounts(ctx context.Context, r *Request, villageID int64, start, end, at time.Time, loc *time.Location) ([]categoryCount, categoryCount, error) {
	asOf, overdueFrom := periodEnd(end, at, loc)
	rows, err := r.tx.ProblemCounts(ctx, []int64{villageID}, start, end, asOf, overdueFrom)
	if err != nil {
		return nil, categoryCount{}, err
	}
	var list []categoryCount
	var total categoryCount
	for _, c := range store.Categories {
		for _, row := range rows {
			if row.Category != c {
				continue
			}
			cc := categoryCount{Category: c, Reported: row.Reported, Resolved: row.Resolved, Verified: row.Verified, Overdue: row.Overdue}
			list = append(list, cc)
			total.add(cc)
		}
	}
	return list, total, nil
}

// weekFigures computes a village's figures of the week as of at.
func (h *Handlers) weekFigures(ctx context.Context, r *Request, village store.Region, loc *time.Location, monday, at time.Time) (weekFigures, error) {
	sunday := monday.AddDate(0, 0, 6)
	start, end := weekBounds(monday, loc)
	asOf, _ := periodEnd(end, at, loc)
	f := weekFigures{Week: weekLabel(monday), From: monday.Format(time.DateOnly), To: sunday.Format(time.DateOnly), AsOf: asOf.UTC()}
	team, err := r.tx.TeamOf(ctx, []int64{village.ID})
	if err != nil {
		return f, err
	}
	checkIns, err := r.tx.CheckInsOf(ctx, []int64{village.ID}, monday, sunday)
	if err != nil {
		return f, err
	}
	leave, err := r.tx.LeaveOf(ctx, []int64{village.ID}, monday, sunday)
	if err != nil {
		return f, err
	}
	for _, m := range team {
		if dateOf(m.Since.In(loc)).After(sunday) {
			continue // joined after the week
		}
		mw := memberWeek{UserID: m.UserID, Name: m.FirstName}
		seen := map[time.Time]bool{}
		for _, c := range checkIns {
			if c.UserID != m.UserID || seen[c.Day] {
				continue
			}
			seen[c.Day] = true
			if c.OnSite {
				mw.OnSite++
			} else {
				mw.OffSite++
			}
		}
		for _, l := range leave {
			if l.UserID == m.UserID && !seen[l.Day] {
				seen[l.Day] = true
				mw.Leave++
			}
		}
		f.Members = append(f.Members, mw)
	}
	slices.SortFunc(f.Members, func(a, b memberWeek) int {
		return cmp.Or(strings.Compare(a.Name, b.Name), cmp.Compare(a.UserID, b.UserID))
	})
	f.Problems, f.Total, err = problemCounts(ctx, r, village.ID, start, end, at, loc)
	return f, err
}

// figureLines render a week's figures.
func (r *Request) figureLines(f weekFigures) []string {
	lines := []string{r.T("weekly.figures_attendance")}
	if len(f.Members) == 0 {
		lines = append(lines, r.T("weekly.figures_no_team"))
	}
	for _, m := range f.Members {
		lines = append(lines, r.T("weekly.figures_member", "Name", m.Name, "OnSite", m.OnSite, "OffSite", m.OffSite, "Leave", m.Leave))
	}
	lines = append(lines, r.T("weekly.figures_problems"))
	if len(f.Problems) == 0 {
		return append(lines, r.T("weekly.figures_no_problems"))
	}
	for _, c := range f.Problems {
		lines = append(lines, r.countLine(r.T(categoryMessageID(c.Category)), c))
	}
	return append(lines, r.countLine(r.T("weekly.total"), f.Total))
}

func (r *Request) countLine(name string, c categoryCount) string {
	return r.T("weekly.figures_category", "Category", name, "Reported", c.Reported, "Resolved", c.Resolved,
		"Verified", c.Verified, "Overdue", c.Overdue)
}

// sectionLines render the sections of an update.
func (r *Request) sectionLines(sections map[string]string) []string {
	var lines []string
	for _, s := range weeklySections {
		text := strings.TrimSpace(sections[s.id])
		if text == "" {
			text = r.T("weekly.section_empty")
		}
		lines = append(lines, "", "【"+r.T(s.title)+"】", text)
	}
	return lines
}

// sendCard sends lines as few messages as fit, the buttons under the last. After a
// button press the first replaces the pressed message.
func (r *Request) sendCard(lines []string, buttons [][]Button) {
	chunks := splitLines(lines, maxMessageRunes)
	for i, c := range chunks {
		rep := Reply{Text: c}
		if i == 0 && r.In.Callback != nil {
			rep.EditMessageID = r.In.Callback.MessageID
		}
		if i == len(chunks)-1 {
			rep.Buttons = buttons
		}
		r.Reply(rep)
	}
}

// supervisesAny reports whether the user supervises some region.
func (r *Request) supervisesAny() bool {
	return slices.ContainsFunc(r.Roles, func(ro store.Role) bool { return ro.Role == store.RoleSupervisor })
}

// supervisedRoots are the regions the user supervises, none inside another.
func (r *Request) supervisedRoots() []store.Region {
	var roots []store.Region
	for _, ro := range r.Roles {
		if ro.Role == store.RoleSupervisor && !slices.ContainsFunc(roots, func(o store.Region) bool { return o.Contains(ro.Region) }) {
			roots = append(roots, ro.Region)
		}
	}
	return roots
}

// oversees reports whether the user may read the submitted updates of a village: a
// supervisor over it, or an admin.
func (r *Request) oversees(village store.Region) bool { return r.Admin || r.supervises(village) }

// weeklyCommands are the commands of weekly updates and monthly reports.
func (h *Handlers) weeklyCommands() []command {
	return []command{
		{name: "weekly", help: "help.cmd_weekly", access: accessStaff, run: h.weeklyStart},
		{name: "note", help: "help.cmd_note", access: accessTeam, run: h.noteStart},
		{name: "monthly", help: "help.cmd_monthly", access: accessSupervisor, run: h.monthlyStart},
	}
}

// weeklySteps are the steps of the weekly flow.
func (h *Handlers) weeklySteps() map[string]step {
	return map[string]step{
		stepWeeklyDraft: {accessStaff, h.weeklyDraftPress}, stepWeeklyText: {accessStaff, h.weeklyText},
		stepWeeklyPick: {accessStaff, h.weeklyPick}, stepWeeklyBrowse: {accessSupervisor, h.weeklyBrowse},
		stepWeeklyComment: {accessSupervisor, h.weeklyComment}, stepMonthlyPick: {accessSupervisor, h.monthlyPick},
	}
}

// noteSteps are the steps of /note.
func (h *Handlers) noteSteps() map[string]stepFunc {
	return map[string]stepFunc{stepNoteText: h.noteText, stepNoteVillage: h.noteVillage}
}

// weeklyStart shows a supervisor (or an admin) the teams' updates of a week, a first
// secretary their team's draft, a member the draft they add notes to.
func (h *Handlers) weeklyStart(ctx context.Context, r *Request) error {
	if r.Admin || r.supervisesAny() {
		return h.overviewStart(ctx, r)
	}
	var monday time.Time
	if arg := strings.TrimSpace(r.In.Args); arg != "" {
		m, ok := parseWeek(arg)
		if !ok {
			r.Say("weekly.bad_week")
			return nil
		}
		monday = m
	}
	villages := r.teamVillages()
	switch len(villages) {
	case 0:
		r.Say("common.not_allowed")
		return nil
	case 1:
		return h.openDraft(ctx, r, villages[0], monday)
	}
	r.Goto(flowWeekly, stepWeeklyPick)
	if !monday.IsZero() {
		r.SetDraft("w", monday.Format(time.DateOnly))
	}
	var rows [][]Button
	for _, v := range villages {
		rows = append(rows, []Button{button(v.DisplayName(r.Locale()), flowWeekly, stepWeeklyPick, strconv.FormatInt(v.ID, 10))})
	}
	r.Prompt(r.T("weekly.pick_village"), rows)
	return nil
}

func (h *Handlers) weeklyPick(ctx context.Context, r *Request) error {
	v, _ := r.Pressed()
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || !r.onTeam(id) {
		r.Say("common.not_allowed")
		return nil
	}
	village, err := r.tx.RegionByID(ctx, id)
	if err != nil {
		return err
	}
	var monday time.Time
	if w := r.Draft("w"); w != "" {
		monday, _ = time.Parse(time.DateOnly, w)
	}
	return h.openDraft(ctx, r, village, monday)
}

// openDraft shows a team's update of a week (zero: the week of the message) on the
// draft step; later weeks cannot be opened.
func (h *Handlers) openDraft(ctx context.Context, r *Request, village store.Region, monday time.Time) error {
	rule, err := h.weekRule(ctx, r, village)
	if err != nil {
		return err
	}
	current := weekOf(h.when(r.In), rule.loc)
	if monday.IsZero() {
		monday = current
	}
	if monday.After(current) {
		r.Say("weekly.future_week")
		return nil
	}
	r.EndFlow()
	r.Goto(flowWeekly, stepWeeklyDraft)
	r.SetDraft("v", strconv.FormatInt(village.ID, 10))
	r.SetDraft("w", monday.Format(time.DateOnly))
	return h.showDraft(ctx, r, village, rule, monday, "")
}

// showDraft sends the draft card: the update's state, the figures as of now, the
// working copy of the sections and the members' notes; the first secretary gets the
// buttons to write and submit while it can still be changed.
func (h *Handlers) showDraft(ctx context.Context, r *Request, village store.Region, rule weekRule, monday time.Time, head string) error {
	u, err := r.tx.WeeklyUpdateOf(ctx, village.ID, monday)
	switch {
	case errors.Is(err, store.ErrNotFound):
		u = store.WeeklyUpdate{RegionID: village.ID, Week: monday}
	case err != nil:
		return err
	}
	figures, err := h.weekFigures(ctx, r, village, rule.loc, monday, h.when(r.In))
	if err != nil {
		return err
	}
	notes, err := r.tx.WeeklyNotes(ctx, village.ID, monday)
	if err != nil {
		return err
	}
	var lines []string
	if head != "" {
		lines = append(lines, head, "")
	}
	lines = append(lines,
		r.T("weekly.card_title", "Village", village.DisplayName(r.Locale()), "Week", r.weekName(monday)),
		r.T("weekly.card_deadline", "Deadline", formatDeadline(deadlineOf(monday, rule.loc, rule.deadline), rule.loc)),
		r.updateStatus(u))
	lines = append(lines, "")
	lines = append(lines, r.figureLines(figures)...)
	lines = append(lines, r.sectionLines(u.Sections)...)
	if len(notes) > 0 {
		lines = append(lines, "", r.T("weekly.notes_title"))
		for _, n := range notes {
			lines = append(lines, r.T("weekly.note_line", "Name", n.Author,
				"Time", n.CreatedAt.In(rule.loc).Format("01-02 15:04"), "Text", n.Body))
		}
	}
	var rows [][]Button
	if r.leads(village.ID) && !u.Read() {
		for i, s := range weeklySections {
			b := button(r.T("weekly.btn_edit", "Section", r.T(s.title)), flowWeekly, stepWeeklyDraft, "e."+strconv.Itoa(i))
			if n := len(rows); n > 0 && len(rows[n-1]) < 2 {
				rows[n-1] = append(rows[n-1], b)
			} else {
				rows = append(rows, []Button{b})
			}
		}
		submit := "weekly.btn_submit"
		if u.Submitted() {
			submit = "weekly.btn_resubmit"
		}
		rows = append(rows, []Button{button(r.T(submit), flowWeekly, stepWeeklyDraft, "s")})
	} else if !r.leads(village.ID) {
		lines = append(lines, "", r.T("weekly.member_hint"))
	}
	r.sendCard(lines, rows)
	return nil
}

// updateStatus is the line that tells where an update stands.
func (r *Request) updateStatus(u store.WeeklyUpdate) string {
	switch {
	case !u.Submitted():
		return r.T("weekly.status_draft")
	case u.Read():
		return r.T("weekly.status_read", "Version", u.Version)
	case u.Returned():
		return r.T("weekly.status_returned", "Version", u.Version, "Comment", u.ReturnComment)
	}
	timing := weekOnTime
	if u.Late() {
		timing = weekLate
	}
	return r.T("weekly.status_submitted", "Version", u.Version, "Timing", r.T(weekStateMessageID(timing)))
}

// draftContext reads the village and week of the draft step and checks the user is
// on its team; when not, the user has been answered and ok is false.
func (h *Handlers) draftContext(ctx context.Context, r *Request) (village store.Region, rule weekRule, monday time.Time, ok bool, err error) {
	id, ok1 := r.draftInt("v")
	monday, err2 := time.Parse(time.DateOnly, r.Draft("w"))
	if !ok1 || err2 != nil {
		r.EndFlow()
		r.Say("common.flow_gone")
		return village, rule, monday, false, nil
	}
	if !r.onTeam(id) {
		r.EndFlow()
		r.Say("common.not_allowed")
		return village, rule, monday, false, nil
	}
	if village, err = r.tx.RegionByID(ctx, id); err != nil {
		return village, rule, monday, false, err
	}
	rule, err = h.weekRule(ctx, r, village)
	return village, rule, monday, err == nil, err
}

// lockedUpdate loads the week's update locked for the rest of the transaction, creating
// the draft if asked to, and checks that the user leads the team and the update can
// still be changed; when not, the user has been answered and ok is false.
func (h *Handlers) lockedUpdate(ctx context.Context, r *Request, villageID int64, monday time.Time, create bool) (store.WeeklyUpdate, bool, error) {
	if !r.leads(villageID) {
		r.Say("common.not_allowed")
		return store.WeeklyUpdate{}, false, nil
	}
	var u store.WeeklyUpdate
	var err error
	if create {
		u, err = r.tx.EnsureWeeklyUpdate(ctx, villageID, monday)
	} else if u, err = r.tx.WeeklyUpdateOf(ctx, villageID, monday); err == nil {
		u, err = r.tx.WeeklyUpdateByID(ctx, u.ID, true)
	}
	if err != nil {
		return u, false, err
	}
	if u.Read() {
		r.Say("weekly.locked")
		return u, false, nil
	}
	return u, true, nil
}

// weeklyDraftPress handles the draft card's buttons: write a section, submit.
func (h *Handlers) weeklyDraftPress(ctx context.Context, r *Request) error {
	v, ok := r.Pressed()
	if !ok {
		r.Say("weekly.use_buttons")
		return nil
	}
	village, rule, monday, ok, err := h.draftContext(ctx, r)
	if err != nil || !ok {
		return err
	}
	if v == "s" {
		return h.submitWeekly(ctx, r, village, rule, monday)
	}
	kind, idx, _ := strings.Cut(v, ".")
	i, err := strconv.Atoi(idx)
	if kind != "e" || err != nil || i < 0 || i >= len(weeklySections) {
		r.Say("weekly.use_buttons")
		return nil
	}
	if !r.leads(village.ID) {
		r.Say("common.not_allowed")
		return nil
	}
	u, err := r.tx.WeeklyUpdateOf(ctx, village.ID, monday)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if u.Read() {
		r.Say("weekly.locked")
		return nil
	}
	s := weeklySections[i]
	r.SetDraft("sec", strconv.Itoa(i))
	r.Goto(flowWeekly, stepWeeklyText)
	text := r.T("weekly.ask_section", "Section", r.T(s.title), "Max", maxSectionRunes, "Hint", r.T(s.hint))
	if cur := strings.TrimSpace(u.Sections[s.id]); cur != "" {
		text += "\n\n" + r.T("weekly.current_text", "Text", cur)
	}
	r.Reply(Reply{Text: text, Buttons: [][]Button{{button(r.T("weekly.btn_back"), flowWeekly, stepWeeklyText, "back")}}})
	return nil
}

// weeklyText takes the text of a section into the working copy.
func (h *Handlers) weeklyText(ctx context.Context, r *Request) error {
	village, rule, monday, ok, err := h.draftContext(ctx, r)
	if err != nil || !ok {
		return err
	}
	if v, pressed := r.Pressed(); pressed {
		if v != "back" {
			r.Say("weekly.use_buttons")
			return nil
		}
		r.Goto(flowWeekly, stepWeeklyDraft)
		return h.showDraft(ctx, r, village, rule, monday, "")
	}
	i, err := strconv.Atoi(r.Draft("sec"))
	if err != nil || i < 0 || i >= len(weeklySections) {
		r.EndFlow()
		r.Say("common.flow_gone")
		return nil
	}
	text := strings.TrimSpace(r.In.Text)
	switch n := utf8.RuneCountInString(text); {
	case text == "" || len(r.In.Photos) > 0:
		r.Say("weekly.need_text", "Max", maxSectionRunes)
		return nil
	case n > maxSectionRunes:
		r.Say("weekly.text_too_long", "Max", maxSectionRunes, "Length", n)
		return nil
	}
	u, ok, err := h.lockedUpdate(ctx, r, village.ID, monday, true)
	if err != nil || !ok {
		return err
	}
	s := weeklySections[i]
	if err := r.tx.SetWeeklySection(ctx, u.ID, s.id, text, r.User.ID, h.when(r.In)); err != nil {
		return err
	}
	delete(r.Conv.Draft, "sec")
	r.Goto(flowWeekly, stepWeeklyDraft)
	return h.showDraft(ctx, r, village, rule, monday, r.T("weekly.section_saved", "Section", r.T(s.title)))
}

// submitWeekly records the working copy as the next version with the week's figures.
// The first submission is on time or late by the county's deadline of that moment.
func (h *Handlers) submitWeekly(ctx context.Context, r *Request, village store.Region, rule weekRule, monday time.Time) error {
	if !r.leads(village.ID) {
		r.Say("common.not_allowed")
		return nil
	}
	if _, err := r.tx.WeeklyUpdateOf(ctx, village.ID, monday); errors.Is(err, store.ErrNotFound) {
		r.Say("weekly.need_work_done", "Section", r.T(weeklySections[0].title))
		return nil
	} else if err != nil {
		return err
	}
	u, ok, err := h.lockedUpdate(ctx, r, village.ID, monday, false)
	if err != nil || !ok {
		return err
	}
	if strings.TrimSpace(u.Sections[weeklySections[0].id]) == "" {
		r.Say("weekly.need_work_done", "Section", r.T(weeklySections[0].title))
		return nil
	}
	if u.Submitted() {
		versions, err := r.tx.WeeklyVersions(ctx, u.ID)
		if err != nil {
			return err
		}
		if latest := versions[len(versions)-1]; sameSections(latest.Sections, u.Sections) {
			r.Say("weekly.nothing_changed", "Version", latest.Version)
			return nil
		}
	}
	at := h.when(r.In)
	figures, err := h.weekFigures(ctx, r, village, rule.loc, monday, at)
	if err != nil {
		return err
	}
	snapshot, err := json.Marshal(figures)
	if err != nil {
		return fmt.Errorf("encode weekly figures: %w", err)
	}
	deadline := deadlineOf(monday, rule.loc, rule.deadline)
	version, err := r.tx.SubmitWeeklyUpdate(ctx, u.ID, snapshot, r.User.ID, at, deadline)
	if err != nil {
		return err
	}
	var head string
	switch {
	case u.Submitted():
		head = r.T("weekly.corrected", "Version", version)
	case at.After(deadline):
		head = r.T("weekly.submitted_late", "Version", version, "Deadline", formatDeadline(deadline, rule.loc))
	default:
		head = r.T("weekly.submitted_on_time", "Version", version)
	}
	return h.showDraft(ctx, r, village, rule, monday, head)
}

// sameSections reports whether two versions of the sections say the same.
func sameSections(a, b map[string]string) bool {
	trim := func(m map[string]string) map[string]string {
		out := map[string]string{}
		for k, v := range m {
			if v = strings.TrimSpace(v); v != "" {
				out[k] = v
			}
		}
		return out
	}
	return maps.Equal(trim(a), trim(b))
}

// --- Supervisors --------------------------------------------------------------

// overviewStart reads "[CODE] [WEEK]" and shows the node's list for the week: by
// default the latest week whose deadline has passed.
func (h *Handlers) overviewStart(ctx context.Context, r *Request) error {
	var node *store.Region
	var monday time.Time
	for _, arg := range strings.Fields(r.In.Args) {
		if m, ok := parseWeek(arg); ok {
			monday = m
			continue
		}
		region, err := r.tx.RegionByCode(ctx, arg)
		if errors.Is(err, store.ErrNotFound) || (err == nil && !r.oversees(region) && !r.onTeam(region.ID)) {
			r.Say("weekly.unknown_region", "Code", arg)
			return nil
		}
		if err != nil {
			return err
		}
		node = &region
	}
	if node != nil && r.onTeam(node.ID) { // a supervisor who is also on a team: their draft
		return h.openDraft(ctx, r, *node, monday)
	}
	var nodeID int64
	if node != nil {
		nodeID = node.ID
	} else if roots := r.supervisedRoots(); len(roots) == 1 && !r.Admin {
		nodeID = roots[0].ID
	}
	villages, err := h.nodeVillages(ctx, r, nodeID)
	if err != nil {
		return err
	}
	if monday.IsZero() {
		monday, err = h.latestDueWeek(ctx, r, villages)
		if err != nil {
			return err
		}
	}
	return h.overview(ctx, r, nodeID, monday, "")
}

// nodeVillages returns the villages under a node the user oversees, by name; node 0
// stands for everything the user oversees.
func (h *Handlers) nodeVillages(ctx context.Context, r *Request, nodeID int64) ([]store.Region, error) {
	var villages []store.Region
	if nodeID == 0 {
		all, err := h.overseenVillages(ctx, r)
		if err != nil {
			return nil, err
		}
		for _, v := range all {
			if r.oversees(v) {
				villages = append(villages, v)
			}
		}
	} else {
		node, err := r.tx.RegionByID(ctx, nodeID)
		if err != nil {
			return nil, err
		}
		if !r.oversees(node) {
			return nil, nil
		}
		if villages, err = r.tx.VillagesUnder(ctx, node); err != nil {
			return nil, err
		}
	}
	slices.SortFunc(villages, func(a, b store.Region) int {
		return cmp.Or(strings.Compare(a.DisplayName(r.Locale()), b.DisplayName(r.Locale())), strings.Compare(a.Code, b.Code))
	})
	return villages, nil
}

// latestDueWeek is the latest week whose deadline has passed (by the first village's
// county; the deployment's time zone without villages).
func (h *Handlers) latestDueWeek(ctx context.Context, r *Request, villages []store.Region) (time.Time, error) {
	now := h.when(r.In)
	rule := weekRule{loc: h.cfg.Location, deadline: store.DefaultWeeklyDeadline}
	if len(villages) > 0 {
		var err error
		if rule, err = h.weekRule(ctx, r, villages[0]); err != nil {
			return time.Time{}, err
		}
	}
	monday := weekOf(now, rule.loc)
	for !now.After(deadlineOf(monday, rule.loc, rule.deadline)) {
		monday = monday.AddDate(0, 0, -7)
	}
	return monday, nil
}

// overview lists the villages under a node with the state of their update of a week,
// by name, and a button for each submitted one.
func (h *Handlers) overview(ctx context.Context, r *Request, nodeID int64, monday time.Time, head string) error {
	if nodeID != 0 {
		node, err := r.tx.RegionByID(ctx, nodeID)
		if err != nil {
			return err
		}
		if !r.oversees(node) {
			r.Say("common.not_allowed")
			return nil
		}
	}
	villages, err := h.nodeVillages(ctx, r, nodeID)
	if err != nil {
		return err
	}
	r.EndFlow()
	r.Goto(flowWeekly, stepWeeklyBrowse)
	r.SetDraft("n", strconv.FormatInt(nodeID, 10))
	r.SetDraft("w", monday.Format(time.DateOnly))
	nodeName := r.T("weekly.all_regions")
	if nodeID != 0 {
		node, err := r.tx.RegionByID(ctx, nodeID)
		if err != nil {
			return err
		}
		nodeName = node.DisplayName(r.Locale())
	}
	var lines []string
	if head != "" {
		lines = append(lines, head, "")
	}
	lines = append(lines, r.T("weekly.overview_title", "Node", nodeName, "Week", r.weekName(monday)))
	now := h.when(r.In)
	updates, err := r.tx.WeeklyUpdatesOf(ctx, ids(villages), monday, monday)
	if err != nil {
		return err
	}
	rules, err := h.weekRules(ctx, r, villages)
	if err != nil {
		return err
	}
	counts := map[string]int{}
	var body []string
	var rows [][]Button
	for _, v := range villages {
		var u *store.WeeklyUpdate
		if i := slices.IndexFunc(updates, func(u store.WeeklyUpdate) bool { return u.RegionID == v.ID }); i >= 0 {
			u = &updates[i]
		}
		rule := rules[v.ID]
		deadline := deadlineOf(monday, rule.loc, rule.deadline)
		state := weekState(u, deadline, now)
		counts[state]++
		name := v.DisplayName(r.Locale())
		var line string
		switch state {
		case weekOnTime, weekLate:
			msg := "weekly.line_on_time"
			if state == weekLate {
				msg = "weekly.line_late"
			}
			line = r.T(msg, "Village", name, "Time", u.SubmittedAt.In(rule.loc).Format("2006-01-02 15:04"))
			switch {
			case u.Read():
				line += r.T("weekly.suffix_read")
			case u.Returned():
				line += r.T("weekly.suffix_returned")
			}
			if u.Version > 1 {
				line += r.T("weekly.suffix_corrected", "Version", u.Version)
			}
			if len(rows) < maxOverviewButtons {
				b := button(r.T("weekly.btn_open", "Village", name), flowWeekly, stepWeeklyBrowse, fmt.Sprintf("u.%d.0", u.ID))
				if n := len(rows); n > 0 && len(rows[n-1]) < 2 {
					rows[n-1] = append(rows[n-1], b)
				} else {
					rows = append(rows, []Button{b})
				}
			}
		case weekMissing:
			line = r.T("weekly.line_missing", "Village", name)
		default:
			line = r.T("weekly.line_pending", "Village", name, "Deadline", formatDeadline(deadline, rule.loc))
		}
		body = append(body, line)
	}
	if len(villages) == 0 {
		body = append(body, r.T("weekly.overview_none"))
	} else {
		lines = append(lines, r.T("weekly.overview_counts", "OnTime", counts[weekOnTime], "Late", counts[weekLate],
			"Missing", counts[weekMissing], "Pending", counts[weekPending]))
	}
	lines = append(lines, "")
	lines = append(lines, body...)
	nav := []Button{button(r.T("common.previous"), flowWeekly, stepWeeklyBrowse, listValue(nodeID, monday.AddDate(0, 0, -7)))}
	if next := monday.AddDate(0, 0, 7); !next.After(weekOf(now, h.cfg.Location)) {
		nav = append(nav, button(r.T("common.next"), flowWeekly, stepWeeklyBrowse, listValue(nodeID, next)))
	}
	rows = append(rows, nav)
	r.sendCard(lines, rows)
	return nil
}

// listValue is the browsing value of a node's list of a week: l.<node>.<yyyymmdd>.
func listValue(nodeID int64, monday time.Time) string {
	return fmt.Sprintf("l.%d.%s", nodeID, monday.Format("20060102"))
}

// weeklyBrowse handles a supervisor's buttons: lists, updates, read, send back.
func (h *Handlers) weeklyBrowse(ctx context.Context, r *Request) error {
	v, ok := r.Pressed()
	if !ok {
		r.Say("weekly.use_buttons")
		return nil
	}
	parts := strings.Split(v, ".")
	if len(parts) == 3 && parts[0] == "l" {
		node, err := strconv.ParseInt(parts[1], 10, 64)
		monday, err2 := time.Parse("20060102", parts[2])
		if err != nil || err2 != nil || isoWeekday(monday) != 1 {
			r.Say("weekly.use_buttons")
			return nil
		}
		return h.overview(ctx, r, node, monday, "")
	}
	if len(parts) != 3 {
		r.Say("weekly.use_buttons")
		return nil
	}
	id, err := strconv.ParseInt(parts[1], 10, 64)
	version, err2 := strconv.ParseInt(parts[2], 10, 32)
	if err != nil || err2 != nil {
		r.Say("weekly.use_buttons")
		return nil
	}
	switch parts[0] {
	case "u":
		return h.openUpdate(ctx, r, id, int32(version), "")
	case "r":
		return h.markRead(ctx, r, id, int32(version))
	case "b":
		return h.askReturn(ctx, r, id, int32(version))
	}
	r.Say("weekly.use_buttons")
	return nil
}

// overseenUpdate loads an update and its village and checks the user oversees it;
// lock holds the update for the rest of the transaction. When not allowed, the user
// has been answered and ok is false.
func (h *Handlers) overseenUpdate(ctx context.Context, r *Request, id int64, lock bool) (u store.WeeklyUpdate, village store.Region, ok bool, err error) {
	u, err = r.tx.WeeklyUpdateByID(ctx, id, lock)
	if errors.Is(err, store.ErrNotFound) {
		r.Say("common.not_allowed")
		return u, village, false, nil
	}
	if err != nil {
		return u, village, false, err
	}
	if village, err = r.tx.RegionByID(ctx, u.RegionID); err != nil {
		return u, village, false, err
	}
	if !r.oversees(village) || !u.Submitted() {
		r.Say("common.not_allowed")
		return u, village, false, nil
	}
	return u, village, true, nil
}

// openUpdate shows a submitted version of an update (0: the latest) to a supervisor,
// with its figures as submitted.
func (h *Handlers) openUpdate(ctx context.Context, r *Request, id int64, version int32, head string) error {
	u, village, ok, err := h.overseenUpdate(ctx, r, id, false)
	if err != nil || !ok {
		return err
	}
	versions, err := r.tx.WeeklyVersions(ctx, u.ID)
	if err != nil {
		return err
	}
	if version == 0 {
		version = u.Version
	}
	i := slices.IndexFunc(versions, func(v store.WeeklyVersion) bool { return v.Version == version })
	if i < 0 {
		r.Say("weekly.use_buttons")
		return nil
	}
	ver := versions[i]
	rule, err := h.weekRule(ctx, r, village)
	if err != nil {
		return err
	}
	var figures weekFigures
	if err := json.Unmarshal(ver.Figures, &figures); err != nil {
		return fmt.Errorf("decode weekly figures of update %d version %d: %w", u.ID, ver.Version, err)
	}
	by, err := r.tx.UserByID(ctx, ver.SubmittedBy)
	if err != nil {
		return err
	}
	timing := weekOnTime
	if u.Late() {
		timing = weekLate
	}
	var lines []string
	if head != "" {
		lines = append(lines, head, "")
	}
	lines = append(lines,
		r.T("weekly.view_title", "Village", village.DisplayName(r.Locale()), "Week", r.weekName(u.Week)),
		r.T("weekly.view_version", "Version", ver.Version, "Count", len(versions), "Name", by.FirstName,
			"Time", ver.SubmittedAt.In(rule.loc).Format("2006-01-02 15:04")),
		r.T("weekly.view_timing", "Timing", r.T(weekStateMessageID(timing)),
			"Time", u.SubmittedAt.In(rule.loc).Format("2006-01-02 15:04"), "Deadline", formatDeadline(*u.DeadlineAt, rule.loc)))
	switch {
	case ver.ReadAt != nil:
		lines = append(lines, r.T("weekly.view_read", "Time", ver.ReadAt.In(rule.loc).Format("2006-01-02 15:04")))
	case ver.ReturnedAt != nil:
		lines = append(lines, r.T("weekly.view_returned", "Time", ver.ReturnedAt.In(rule.loc).Format("2006-01-02 15:04"), "Comment", ver.ReturnComment))
	}
	lines = append(lines, "")
	lines = append(lines, r.figureLines(figures)...)
	lines = append(lines, r.sectionLines(ver.Sections)...)

	var rows [][]Button
	if ver.Version == u.Version && ver.ReadAt == nil && ver.ReturnedAt == nil {
		rows = append(rows, []Button{
			button(r.T("weekly.btn_read"), flowWeekly, stepWeeklyBrowse, fmt.Sprintf("r.%d.%d", u.ID, ver.Version)),
			button(r.T("weekly.btn_return"), flowWeekly, stepWeeklyBrowse, fmt.Sprintf("b.%d.%d", u.ID, ver.Version)),
		})
	}
	var others []Button
	for _, o := range versions {
		if o.Version != ver.Version {
			others = append(others, button(r.T("weekly.btn_version", "Version", o.Version), flowWeekly, stepWeeklyBrowse, fmt.Sprintf("u.%d.%d", u.ID, o.Version)))
		}
	}
	for len(others) > 0 {
		n := min(len(others), 4)
		rows = append(rows, others[:n])
		others = others[n:]
	}
	node, _ := r.draftInt("n")
	monday, err := time.Parse(time.DateOnly, r.Draft("w"))
	if err != nil {
		monday = u.Week
	}
	r.Goto(flowWeekly, stepWeeklyBrowse)
	rows = append(rows, []Button{button(r.T("weekly.btn_to_list"), flowWeekly, stepWeeklyBrowse, listValue(node, monday))})
	r.sendCard(lines, rows)
	return nil
}

// markRead marks the latest version read: it can no longer be corrected.
func (h *Handlers) markRead(ctx context.Context, r *Request, id int64, version int32) error {
	u, _, ok, err := h.overseenUpdate(ctx, r, id, true)
	if err != nil || !ok {
		return err
	}
	if u.Version != version || u.Read() || u.Returned() {
		return h.openUpdate(ctx, r, id, 0, r.T("weekly.moved_on"))
	}
	if err := r.tx.MarkWeeklyRead(ctx, id, version, r.User.ID, h.when(r.In)); err != nil {
		return err
	}
	return h.openUpdate(ctx, r, id, version, r.T("weekly.done_read"))
}

// askReturn asks for the comment of a send-back.
func (h *Handlers) askReturn(ctx context.Context, r *Request, id int64, version int32) error {
	u, village, ok, err := h.overseenUpdate(ctx, r, id, false)
	if err != nil || !ok {
		return err
	}
	if u.Version != version || u.Read() || u.Returned() {
		return h.openUpdate(ctx, r, id, 0, r.T("weekly.moved_on"))
	}
	r.Goto(flowWeekly, stepWeeklyComment)
	r.SetDraft("u", strconv.FormatInt(id, 10))
	r.SetDraft("ver", strconv.Itoa(int(version)))
	r.Reply(Reply{Text: r.T("weekly.ask_comment", "Max", maxCommentRunes, "Village", village.DisplayName(r.Locale())),
		Buttons: [][]Button{{button(r.T("weekly.btn_back"), flowWeekly, stepWeeklyComment, "back")}}})
	return nil
}

// weeklyComment sends the latest version back with the comment, which goes to the
// village's first secretaries.
func (h *Handlers) weeklyComment(ctx context.Context, r *Request) error {
	id, ok1 := r.draftInt("u")
	version, ok2 := r.draftInt("ver")
	if !ok1 || !ok2 {
		r.EndFlow()
		r.Say("common.flow_gone")
		return nil
	}
	if v, pressed := r.Pressed(); pressed {
		if v != "back" {
			r.Say("weekly.use_buttons")
			return nil
		}
		r.Goto(flowWeekly, stepWeeklyBrowse)
		return h.openUpdate(ctx, r, id, 0, "")
	}
	text := strings.TrimSpace(r.In.Text)
	switch n := utf8.RuneCountInString(text); {
	case text == "" || len(r.In.Photos) > 0:
		r.Say("weekly.need_text", "Max", maxCommentRunes)
		return nil
	case n > maxCommentRunes:
		r.Say("weekly.text_too_long", "Max", maxCommentRunes, "Length", n)
		return nil
	}
	u, village, ok, err := h.overseenUpdate(ctx, r, id, true)
	if err != nil || !ok {
		if err == nil {
			r.EndFlow()
		}
		return err
	}
	r.Goto(flowWeekly, stepWeeklyBrowse)
	if u.Version != int32(version) || u.Read() || u.Returned() {
		return h.openUpdate(ctx, r, id, 0, r.T("weekly.moved_on"))
	}
	if err := r.tx.ReturnWeeklyUpdate(ctx, id, u.Version, r.User.ID, h.when(r.In), text); err != nil {
		return err
	}
	team, err := r.tx.TeamOf(ctx, []int64{village.ID})
	if err != nil {
		return err
	}
	told := 0
	for _, m := range team {
		if m.Role != store.RoleFirstSecretary || m.UserID == r.User.ID {
			continue
		}
		fs, err := r.tx.UserByID(ctx, m.UserID)
		if err != nil {
			return err
		}
		if fs.BlockedAt != nil {
			continue
		}
		tr := h.translatorFor(fs)
		y, w := u.Week.ISOWeek()
		r.Reply(Reply{ChatID: fs.ID, Text: tr.T("weekly.notice_returned", "Village", village.DisplayName(tr.locale),
			"Year", y, "Number", w, "Version", u.Version, "Name", r.User.FirstName, "Comment", text, "Label", weekLabel(u.Week))})
		told++
	}
	head := r.T("weekly.done_returned")
	if told == 0 {
		head = r.T("weekly.returned_untold", "Village", village.DisplayName(r.Locale()))
	}
	return h.openUpdate(ctx, r, id, 0, head)
}

// --- Notes --------------------------------------------------------------------

// noteStart adds "/note TEXT" to the draft of the week it was written in, asking for
// the text and the village when needed.
func (h *Handlers) noteStart(ctx context.Context, r *Request) error {
	r.Goto(flowNote, stepNoteText)
	if text := strings.TrimSpace(r.In.Args); text != "" {
		return h.noteTaken(ctx, r, text)
	}
	r.Say("weekly.ask_note", "Max", maxWeeklyNote)
	return nil
}

func (h *Handlers) noteText(ctx context.Context, r *Request) error {
	text := strings.TrimSpace(r.In.Text)
	if text == "" || r.In.Callback != nil || len(r.In.Photos) > 0 {
		r.Say("weekly.ask_note", "Max", maxWeeklyNote)
		return nil
	}
	return h.noteTaken(ctx, r, text)
}

// noteTaken checks the note's length and saves it, or asks for the village first.
func (h *Handlers) noteTaken(ctx context.Context, r *Request, text string) error {
	if n := utf8.RuneCountInString(text); n > maxWeeklyNote {
		r.Say("weekly.text_too_long", "Max", maxWeeklyNote, "Length", n)
		return nil
	}
	villages := r.teamVillages()
	if len(villages) == 1 {
		return h.saveNote(ctx, r, villages[0], text)
	}
	r.SetDraft("text", text)
	r.SetDraft("at", strconv.FormatInt(h.when(r.In).Unix(), 10)) // the note counts from when it was written
	r.Goto(flowNote, stepNoteVillage)
	var rows [][]Button
	for _, v := range villages {
		rows = append(rows, []Button{button(v.DisplayName(r.Locale()), flowNote, stepNoteVillage, strconv.FormatInt(v.ID, 10))})
	}
	r.Prompt(r.T("weekly.note_pick_village"), rows)
	return nil
}

func (h *Handlers) noteVillage(ctx context.Context, r *Request) error {
	v, _ := r.Pressed()
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || !r.onTeam(id) {
		r.Say("common.not_allowed")
		return nil
	}
	village, err := r.tx.RegionByID(ctx, id)
	if err != nil {
		return err
	}
	text := r.Draft("text")
	if text == "" {
		r.EndFlow()
		r.Say("common.flow_gone")
		return nil
	}
	return h.saveNote(ctx, r, village, text)
}

// saveNote adds the note to the village's week of the time it was written.
func (h *Handlers) saveNote(ctx context.Context, r *Request, village store.Region, text string) error {
	at := h.when(r.In)
	if unix, ok := r.draftInt("at"); ok {
		at = time.Unix(unix, 0)
	}
	rule, err := h.weekRule(ctx, r, village)
	if err != nil {
		return err
	}
	monday := weekOf(at, rule.loc)
	if err := r.tx.AddWeeklyNote(ctx, store.WeeklyNote{RegionID: village.ID, Week: monday, UserID: r.User.ID, Body: text, CreatedAt: at}); err != nil {
		return err
	}
	r.EndFlow()
	r.Prompt(r.T("weekly.note_saved", "Village", village.DisplayName(r.Locale()), "Week", r.weekName(monday)), nil)
	return nil
}
