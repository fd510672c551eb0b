package handlers

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"

	"zhucun/store"
)

// The monthly report to the county (每月汇报): for a node of the region tree and a
// month, one spreadsheet with a summary sheet (a row per village) and a sheet per
// village (the month's figures and the text of each weekly update). Survey results
// are not in it yet.

// monthShape is what a month argument looks like, valid or not.
var monthShape = regexp.MustCompile(`^\d{4}-\d{1,2}$`)

func canMonthly(r *Request) bool { return r.Admin || r.supervisesAny() }

// MonthlyReport builds the monthly report of the region with that id for the month
// that month lies in, in the deployment's default language, as an xlsx file and its
// name. It is what the scheduler sends on the first working day of each month.
func (h *Handlers) MonthlyReport(ctx context.Context, regionID int64, month time.Time) (name string, xlsx []byte, err error) {
	return h.MonthlyReportIn(ctx, regionID, month, h.cfg.DefaultLocale)
}

// MonthlyReportIn is MonthlyReport in a given language (zh-Hans or en; another is the
// default language).
func (h *Handlers) MonthlyReportIn(ctx context.Context, regionID int64, month time.Time, locale string) (name string, xlsx []byte, err error) {
	if !slices.Contains(shippedLocales, locale) {
		locale = h.cfg.DefaultLocale
	}
	first := time.Date(month.Year(), month.Month(), 1, 0, 0, 0, 0, time.UTC)
	err = h.db.InTx(ctx, func(tx *store.DB) error {
		r := &Request{tx: tx, h: h}
		r.setLocale(locale)
		node, err := tx.RegionByID(ctx, regionID)
		if err != nil {
			return fmt.Errorf("monthly report: region %d: %w", regionID, err)
		}
		name, xlsx, err = h.monthlyReport(ctx, r, node, first)
		return err
	})
	return name, xlsx, err
}

// monthlyStart reads "[YYYY-MM] [CODE]" and sends the report of the node, asking which
// node when the user oversees several and named none.
func (h *Handlers) monthlyStart(ctx context.Context, r *Request) error {
	today := dateOf(h.when(r.In).In(h.cfg.Location))
	first, _ := parseMonth("", today)
	var node *store.Region
	for _, arg := range strings.Fields(r.In.Args) {
		if m, err := time.Parse("2006-01", arg); err == nil {
			first = m
			continue
		} else if monthShape.MatchString(arg) {
			r.Say("month.bad_month")
			return nil
		}
		region, err := r.tx.RegionByCode(ctx, arg)
		if err != nil || !r.oversees(region) {
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
			r.Say("weekly.unknown_region", "Code", arg)
			return nil
		}
		node = &region
	}
	if node != nil {
		return h.sendMonthly(ctx, r, *node, first)
	}
	roots := r.supervisedRoots()
	if r.Admin && len(roots) == 0 {
		top, err := r.tx.Children(ctx, 0)
		if err != nil {
			return err
		}
		roots = top
	}
	switch len(roots) {
	case 0:
		r.Say("common.not_allowed")
		return nil
	case 1:
		return h.sendMonthly(ctx, r, roots[0], first)
	}
	r.Goto(flowWeekly, stepMonthlyPick)
	var rows [][]Button
	for _, n := range roots {
		rows = append(rows, []Button{button(n.DisplayName(r.Locale()), flowWeekly, stepMonthlyPick,
			fmt.Sprintf("%d.%s", n.ID, first.Format("200601")))})
	}
	r.Prompt(r.T("monthly.pick_node", "Month", first.Format("2006-01")), rows)
	return nil
}

func (h *Handlers) monthlyPick(ctx context.Context, r *Request) error {
	v, _ := r.Pressed()
	id, month, _ := strings.Cut(v, ".")
	nodeID, err := strconv.ParseInt(id, 10, 64)
	first, err2 := time.Parse("200601", month)
	if err != nil || err2 != nil {
		r.Say("weekly.use_buttons")
		return nil
	}
	node, err := r.tx.RegionByID(ctx, nodeID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !r.oversees(node)) {
		r.Say("common.not_allowed")
		return nil
	}
	if err != nil {
		return err
	}
	r.EndFlow()
	return h.sendMonthly(ctx, r, node, first)
}

func (h *Handlers) sendMonthly(ctx context.Context, r *Request, node store.Region, first time.Time) error {
	name, b, err := h.monthlyReport(ctx, r, node, first)
	if err != nil {
		return err
	}
	r.Reply(Reply{Text: r.T("monthly.caption", "Node", node.DisplayName(r.Locale()), "Month", first.Format("2006-01")),
		Document: &File{Name: name, Bytes: b}})
	return nil
}

// monthWeeks are the Mondays of the ISO weeks that belong to a month: those whose
// Thursday falls in it, so that every week belongs to exactly one month.
func monthWeeks(first time.Time) []time.Time {
	var out []time.Time
	for m := weekStart(first); ; m = m.AddDate(0, 0, 7) {
		thursday := m.AddDate(0, 0, 3)
		if thursday.Before(first) {
			continue
		}
		if thursday.Month() != first.Month() {
			return out
		}
		out = append(out, m)
	}
}

// villageMonth is one village's month as the report shows it.
type villageMonth struct {
	village  store.Region
	township string
	accounts []account
	required int
	problems []categoryCount
	total    categoryCount
	weeks    []weekLine
	// counts of weekly updates by state
	onTime, late, missing int
	// satisfaction is the village's latest assessment closed by the month's end whose
	// overall rate could be shown; nil when there is none.
	satisfaction *surveyOutcome
	loc          *time.Location
}

// weekLine is one week of a village's month.
type weekLine struct {
	monday   time.Time
	state    string
	update   *store.WeeklyUpdate
	sections map[string]string // of the latest version
	loc      *time.Location
}

// monthlyReport builds the spreadsheet of a node's month.
func (h *Handlers) monthlyReport(ctx context.Context, r *Request, node store.Region, first time.Time) (string, []byte, error) {
	villages, err := r.tx.VillagesUnder(ctx, node)
	if err != nil {
		return "", nil, err
	}
	slices.SortFunc(villages, func(a, b store.Region) int {
		return cmp.Or(strings.Compare(a.DisplayName(r.Locale()), b.DisplayName(r.Locale())), strings.Compare(a.Code, b.Code))
	})
	months, err := h.villageMonths(ctx, r, villages, first)
	if err != nil {
		return "", nil, err
	}
	f := excelize.NewFile()
	defer f.Close()
	summary := r.T("monthly.sheet_summary")
	if err := f.SetSheetName("Sheet1", summary); err != nil {
		return "", nil, err
	}
	set := func(sheet string, row int, cells ...any) error {
		cell, _ := excelize.CoordinatesToCellName(1, row)
		return f.SetSheetRow(sheet, cell, &cells)
	}
	header := []any{}
	for _, id := range []string{"monthly.col_village", "monthly.col_township", "monthly.col_members", "monthly.col_on_site",
		"monthly.col_required", "monthly.col_off_site", "monthly.col_leave", "monthly.col_missing_days",
		"monthly.col_opened", "monthly.col_resolved", "monthly.col_overdue",
		"monthly.col_on_time", "monthly.col_late", "monthly.col_not_submitted",
		"monthly.col_satisfaction", "monthly.col_acceptance"} {
		header = append(header, r.T(id))
	}
	if err := set(summary, 1, header...); err != nil {
		return "", nil, err
	}
	used := map[string]bool{strings.ToLower(summary): true}
	for i, m := range months {
		var onSite, required, offSite, leave, missing int
		for _, a := range m.accounts {
			onSite += a.OnSite
			required += a.Required
			offSite += a.OffSite
			leave += a.Leave
			missing += a.Missing
		}
		satisfaction, acceptance := r.T("monthly.no_assessment"), ""
		if o := m.satisfaction; o != nil {
			satisfaction = surveyPercent(o.overall) + " (" + o.survey.ClosedAt.In(m.loc).Format(time.DateOnly) + ")"
			acceptance = r.T("monthly.accepted")
			if o.overall < o.survey.PassRate {
				acceptance = r.T("monthly.not_accepted")
			}
		}
		if err := set(summary, i+2, m.village.DisplayName(r.Locale()), m.township, len(m.accounts), onSite, required,
			offSite, leave, missing, m.total.Reported, m.total.Resolved, m.total.Overdue, m.onTime, m.late, m.missing,
			satisfaction, acceptance); err != nil {
			return "", nil, err
		}
		if err := h.villageSheet(r, f, sheetName(m.village.DisplayName(r.Locale()), m.village.Code, used), m, first); err != nil {
			return "", nil, err
		}
	}
	buf, err := f.WriteToBuffer()
	if err != nil {
		return "", nil, fmt.Errorf("write monthly report: %w", err)
	}
	return "monthly-" + node.Code + "-" + first.Format("2006-01") + ".xlsx", buf.Bytes(), nil
}

// latestAssessment is the village's latest assessment closed before end whose overall
// rate can be shown (enough answers), nil when there is none.
func (h *Handlers) latestAssessment(ctx context.Context, tx *store.DB, villageID int64, end time.Time) (*surveyOutcome, error) {
	closed, err := tx.ClosedAssessments(ctx, villageID, end, 10)
	if err != nil {
		return nil, err
	}
	for _, s := range closed {
		o, err := h.surveyOutcome(ctx, tx, s, false)
		if err != nil {
			return nil, err
		}
		if o.overallShown {
			return &o, nil
		}
	}
	return nil, nil
}

// villageMonths gathers each village's month: attendance against the requirement,
// problems and weekly updates.
func (h *Handlers) villageMonths(ctx context.Context, r *Request, villages []store.Region, first time.Time) ([]villageMonth, error) {
	if len(villages) == 0 {
		return nil, nil
	}
	accounts, required, err := h.teamAccounts(ctx, r, villages, first)
	if err != nil {
		return nil, err
	}
	rules, err := h.weekRules(ctx, r, villages)
	if err != nil {
		return nil, err
	}
	weeks := monthWeeks(first)
	updates, err := r.tx.WeeklyUpdatesOf(ctx, ids(villages), weeks[0], weeks[len(weeks)-1])
	if err != nil {
		return nil, err
	}
	now := h.when(r.In)
	townships := map[int64]string{}
	var out []villageMonth
	for _, v := range villages {
		m := villageMonth{village: v, accounts: accounts[v.ID], required: required[v.ID]}
		if v.ParentID != nil {
			name, ok := townships[*v.ParentID]
			if !ok {
				t, err := r.tx.RegionByID(ctx, *v.ParentID)
				if err != nil {
					return nil, err
				}
				name = t.DisplayName(r.Locale())
				townships[*v.ParentID] = name
			}
			m.township = name
		}
		rule := rules[v.ID]
		m.loc = rule.loc
		start := time.Date(first.Year(), first.Month(), 1, 0, 0, 0, 0, rule.loc)
		if m.problems, m.total, err = problemCounts(ctx, r, v.ID, start, start.AddDate(0, 1, 0), now, rule.loc); err != nil {
			return nil, err
		}
		for _, monday := range weeks {
			w := weekLine{monday: monday, loc: rule.loc}
			if i := slices.IndexFunc(updates, func(u store.WeeklyUpdate) bool { return u.RegionID == v.ID && u.Week.Equal(monday) }); i >= 0 {
				w.update = &updates[i]
			}
			w.state = weekState(w.update, deadlineOf(monday, rule.loc, rule.deadline), now)
			switch w.state {
			case weekOnTime:
				m.onTime++
			case weekLate:
				m.late++
			case weekMissing:
				m.missing++
			}
			if w.update != nil && w.update.Submitted() {
				versions, err := r.tx.WeeklyVersions(ctx, w.update.ID)
				if err != nil {
					return nil, err
				}
				w.sections = versions[len(versions)-1].Sections
			}
			m.weeks = append(m.weeks, w)
		}
		if m.satisfaction, err = h.latestAssessment(ctx, r.tx, v.ID, start.AddDate(0, 1, 0)); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// villageSheet writes one village's sheet: its members' days, its problems and its
// weekly updates of the month.
func (h *Handlers) villageSheet(r *Request, f *excelize.File, sheet string, m villageMonth, first time.Time) error {
	if _, err := f.NewSheet(sheet); err != nil {
		return fmt.Errorf("sheet %q: %w", sheet, err)
	}
	row := 1
	put := func(cells ...any) error {
		cell, _ := excelize.CoordinatesToCellName(1, row)
		row++
		return f.SetSheetRow(sheet, cell, &cells)
	}
	cols := func(ids ...string) []any {
		out := make([]any, len(ids))
		for i, id := range ids {
			out[i] = r.T(id)
		}
		return out
	}
	title := m.village.DisplayName(r.Locale())
	if m.township != "" {
		title += " · " + m.township
	}
	if err := put(title + " · " + first.Format("2006-01")); err != nil {
		return err
	}
	row++
	if err := put(r.T("monthly.block_attendance", "Required", m.required)); err != nil {
		return err
	}
	if err := put(cols("monthly.col_member", "monthly.col_on_site", "monthly.col_required", "monthly.col_off_site",
		"monthly.col_leave", "monthly.col_missing_days")...); err != nil {
		return err
	}
	for _, a := range m.accounts {
		if err := put(a.Member.FirstName, a.OnSite, a.Required, a.OffSite, a.Leave, a.Missing); err != nil {
			return err
		}
	}
	row++
	if err := put(r.T("monthly.block_problems")); err != nil {
		return err
	}
	if err := put(cols("monthly.col_category", "monthly.col_opened", "monthly.col_resolved", "monthly.col_verified", "monthly.col_overdue")...); err != nil {
		return err
	}
	for _, c := range m.problems {
		if err := put(r.T(categoryMessageID(c.Category)), c.Reported, c.Resolved, c.Verified, c.Overdue); err != nil {
			return err
		}
	}
	if err := put(r.T("weekly.total"), m.total.Reported, m.total.Resolved, m.total.Verified, m.total.Overdue); err != nil {
		return err
	}
	row++
	if err := put(r.T("monthly.block_updates")); err != nil {
		return err
	}
	header := cols("monthly.col_week", "monthly.col_dates", "monthly.col_status", "monthly.col_submitted", "monthly.col_version")
	for _, s := range weeklySections {
		header = append(header, r.T(s.title))
	}
	if err := put(header...); err != nil {
		return err
	}
	for _, w := range m.weeks {
		cells := []any{weekLabel(w.monday), w.monday.Format(time.DateOnly) + " ~ " + w.monday.AddDate(0, 0, 6).Format(time.DateOnly),
			r.T(weekStateMessageID(w.state))}
		if w.update != nil && w.update.Submitted() {
			cells = append(cells, w.update.SubmittedAt.In(w.loc).Format("2006-01-02 15:04"), int(w.update.Version))
			for _, s := range weeklySections {
				cells = append(cells, w.sections[s.id])
			}
		}
		if err := put(cells...); err != nil {
			return err
		}
	}
	return nil
}

// sheetName makes a valid, unused sheet name of a village's name: at most 31
// characters, none of : \ / ? * [ ], the code added when the name is taken.
func sheetName(name, code string, used map[string]bool) string {
	clean := strings.Map(func(c rune) rune {
		if strings.ContainsRune(`:\/?*[]`, c) {
			return '_'
		}
		return c
	}, strings.TrimSpace(name))
	if clean == "" {
		clean = code
	}
	cut := func(s string, n int) string {
		if rs := []rune(s); len(rs) > n {
			return string(rs[:n])
		}
		return s
	}
	candidate := cut(clean, 31)
	for i := 1; candidate == "" || used[strings.ToLower(candidate)]; i++ {
		suffix := " " + code
		if i > 1 {
			suffix += " " + strconv.Itoa(i)
		}
		candidate = cut(clean, 31-len([]rune(suffix))) + suffix
	}
	used[strings.ToLower(candidate)] = true
	return candidate
}
