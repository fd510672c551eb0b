package handlers

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"

	"zhucun/store"
)

const (
	flowPresent    = "pr"
	stepPresentWho = "who"
	flowLeave      = "lv"
	stepLeaveWho   = "who"
	stepLeaveDays  = "days"

	maxLeaveDays = 31
	// maxMessageRunes keeps a long report inside Telegram's 4096-character messages.
	maxMessageRunes = 3500
)

func leadsATeam(r *Request) bool {
	return slices.ContainsFunc(r.Roles, func(ro store.Role) bool { return ro.Role == store.RoleFirstSecretary })
}

func canSeeAttendance(r *Request) bool {
	return r.Admin || slices.ContainsFunc(r.Roles, func(ro store.Role) bool { return ro.Role != store.RoleResident })
}

// overseenVillages returns the villages whose team's attendance the user may see: a
// first secretary's own, everything under a supervisor's region, every village for an
// admin. A member who leads nothing oversees no village (they see their own account).
func (h *Handlers) overseenVillages(ctx context.Context, r *Request) ([]store.Region, error) {
	var roots []store.Region
	if r.Admin {
		top, err := r.tx.Children(ctx, 0)
		if err != nil {
			return nil, err
		}
		roots = top
	}
	for _, ro := range r.Roles {
		if ro.Role == store.RoleSupervisor || ro.Role == store.RoleFirstSecretary {
			roots = append(roots, ro.Region)
		}
	}
	var out []store.Region
	for _, root := range roots {
		vs, err := r.tx.VillagesUnder(ctx, root)
		if err != nil {
			return nil, err
		}
		for _, v := range vs {
			if !slices.ContainsFunc(out, func(o store.Region) bool { return o.ID == v.ID }) {
				out = append(out, v)
			}
		}
	}
	slices.SortFunc(out, func(a, b store.Region) int { return strings.Compare(a.Code, b.Code) })
	return out, nil
}

func ids(regions []store.Region) []int64 {
	out := make([]int64, len(regions))
	for i, r := range regions {
		out[i] = r.ID
	}
	return out
}

// sayLines replies with lines, split into as few messages as Telegram allows.
func (r *Request) sayLines(lines []string) {
	var b strings.Builder
	n := 0
	for _, l := range lines {
		if n > 0 && n+len([]rune(l))+1 > maxMessageRunes {
			r.Reply(Reply{Text: b.String()})
			b.Reset()
			n = 0
		}
		if n > 0 {
			b.WriteByte('\n')
			n++
		}
		b.WriteString(l)
		n += len([]rune(l))
	}
	if n > 0 {
		r.Reply(Reply{Text: b.String()})
	}
}

// parseMonth reads "2026-11" (default: the month of today).
func parseMonth(arg string, today time.Time) (time.Time, bool) {
	if arg == "" {
		return time.Date(today.Year(), today.Month(), 1, 0, 0, 0, 0, time.UTC), true
	}
	m, err := time.Parse("2006-01", strings.TrimSpace(arg))
	if err != nil {
		return time.Time{}, false
	}
	return m, true
}

// localToday is today's date in the deployment's time zone.
func (h *Handlers) localToday() time.Time { return dateOf(h.cfg.NowFunc().In(h.cfg.Location)) }

// teamAccounts computes the month of every team member of the villages, by village and
// then by name (never by days: no ranking of people).
func (h *Handlers) teamAccounts(ctx context.Context, r *Request, villages []store.Region, first time.Time) (map[int64][]account, map[int64]int, error) {
	team, err := r.tx.TeamOf(ctx, ids(villages))
	if err != nil {
		return nil, nil, err
	}
	last := first.AddDate(0, 1, -1)
	checkIns, err := r.tx.CheckInsOf(ctx, ids(villages), first, last)
	if err != nil {
		return nil, nil, err
	}
	leave, err := r.tx.LeaveOf(ctx, ids(villages), first, last)
	if err != nil {
		return nil, nil, err
	}
	required := map[int64]int{}
	out := map[int64][]account{}
	for _, v := range villages {
		s, loc, err := h.rules(ctx, r, v)
		if err != nil {
			return nil, nil, err
		}
		required[v.ID] = int(s.RequiredDays)
		today := dateOf(h.cfg.NowFunc().In(loc))
		for _, m := range team {
			if m.RegionID != v.ID {
				continue
			}
			var cs []store.CheckIn
			for _, c := range checkIns {
				if c.RegionID == v.ID {
					cs = append(cs, c)
				}
			}
			var ls []store.LeaveDay
			for _, l := range leave {
				if l.RegionID == v.ID {
					ls = append(ls, l)
				}
			}
			out[v.ID] = append(out[v.ID], monthAccount(m, first, today, dateOf(m.Since.In(loc)), int(s.RequiredDays), cs, ls))
		}
		slices.SortFunc(out[v.ID], func(a, b account) int {
			if c := strings.Compare(a.Member.FirstName, b.Member.FirstName); c != 0 {
				return c
			}
			return int(a.Member.UserID - b.Member.UserID)
		})
	}
	return out, required, nil
}

func (r *Request) accountLine(a account) string {
	line := r.T("month.line", "Name", a.Member.FirstName, "OnSite", a.OnSite, "Required", a.Required,
		"OffSite", a.OffSite, "Leave", a.Leave, "Missing", a.Missing)
	if len(a.Reasons) > 0 {
		var parts []string
		for _, o := range offSiteReasons {
			if n := a.Reasons[o.value]; n > 0 {
				parts = append(parts, r.T(o.msg)+" "+strconv.Itoa(n))
			}
		}
		line += "\n    " + r.T("month.off_site_reasons", "Reasons", strings.Join(parts, "、"))
	}
	return line
}

// month shows the month's days in the village: a member their own, a first secretary
// the team, a supervisor every team under their region.
func (h *Handlers) month(ctx context.Context, r *Request) error {
	first, ok := parseMonth(r.In.Args, h.localToday())
	if !ok {
		r.Say("month.bad_month")
		return nil
	}
	villages, err := h.overseenVillages(ctx, r)
	if err != nil {
		return err
	}
	// A member sees their own account at each village they are on the team of.
	var own []store.Region
	for _, v := range r.teamVillages() {
		if !slices.ContainsFunc(villages, func(o store.Region) bool { return o.ID == v.ID }) {
			own = append(own, v)
		}
	}
	lines := []string{r.T("month.title", "Month", first.Format("2006-01"))}
	if len(own) > 0 {
		accounts, _, err := h.teamAccounts(ctx, r, own, first)
		if err != nil {
			return err
		}
		for _, v := range own {
			for _, a := range accounts[v.ID] {
				if a.Member.UserID == r.User.ID {
					lines = append(lines, v.DisplayName(r.Locale())+": "+r.accountLine(a))
				}
			}
		}
	}
	if len(villages) > 0 {
		accounts, required, err := h.teamAccounts(ctx, r, villages, first)
		if err != nil {
			return err
		}
		for _, v := range villages {
			lines = append(lines, "", r.T("month.village", "Village", v.DisplayName(r.Locale()), "Required", required[v.ID]))
			if len(accounts[v.ID]) == 0 {
				lines = append(lines, r.T("month.no_team"))
			}
			for _, a := range accounts[v.ID] {
				lines = append(lines, r.accountLine(a))
			}
		}
	}
	if len(lines) == 1 {
		lines = append(lines, r.T("month.nothing"))
	}
	r.sayLines(lines)
	return nil
}

// checkInsOfDay lists a day's check-ins of the teams the user oversees, the doubtful
// ones first with their reasons, and who has not checked in.
func (h *Handlers) checkInsOfDay(ctx context.Context, r *Request) error {
	day := h.localToday()
	if a := strings.TrimSpace(r.In.Args); a != "" {
		d, err := time.Parse(time.DateOnly, a)
		if err != nil {
			r.Say("checkins.bad_day")
			return nil
		}
		day = d
	}
	villages, err := h.overseenVillages(ctx, r)
	if err != nil {
		return err
	}
	if len(villages) == 0 { // a member sees their own
		villages = r.teamVillages()
	}
	team, err := r.tx.TeamOf(ctx, ids(villages))
	if err != nil {
		return err
	}
	checkIns, err := r.tx.CheckInsOf(ctx, ids(villages), day, day)
	if err != nil {
		return err
	}
	leaders := len(r.teamVillages()) < len(villages) || leadsATeam(r) || r.Admin
	lines := []string{r.T("checkins.title", "Day", day.Format(time.DateOnly))}
	for _, v := range villages {
		_, loc, err := h.rules(ctx, r, v)
		if err != nil {
			return err
		}
		var doubtful, fine, missing []string
		for _, m := range team {
			if m.RegionID != v.ID || (!leaders && m.UserID != r.User.ID) || dateOf(m.Since.In(loc)).After(day) {
				continue
			}
			i := slices.IndexFunc(checkIns, func(c store.CheckIn) bool { return c.UserID == m.UserID && c.RegionID == v.ID })
			if i < 0 {
				missing = append(missing, m.FirstName)
				continue
			}
			c := checkIns[i]
			place := r.T("checkins.on_site")
			if !c.OnSite {
				place = r.T("checkins.off_site", "Reason", r.T(offSiteReasonMessage(c.OffSiteReason)))
			}
			line := r.T("checkins.line", "Name", m.FirstName, "Time", c.CheckedAt.In(loc).Format("15:04"),
				"Place", place, "Verdict", r.T(verdictMessage(c.Verdict)))
			if c.Verdict == store.VerdictDoubtful {
				doubtful = append(doubtful, line+"\n"+r.reasonList(c.Reasons))
			} else {
				fine = append(fine, line)
			}
		}
		lines = append(lines, "", "【"+v.DisplayName(r.Locale())+"】")
		if len(doubtful) > 0 {
			lines = append(lines, r.T("checkins.doubtful"))
			lines = append(lines, doubtful...)
		}
		lines = append(lines, fine...)
		if len(missing) > 0 {
			lines = append(lines, r.T("checkins.missing", "Names", strings.Join(missing, "、")))
		}
	}
	r.sayLines(lines)
	return nil
}

// ledTeam returns the members of the teams the user leads, as buttons' values
// "village.user" with a label.
func (h *Handlers) ledTeam(ctx context.Context, r *Request, flow, step string) ([][]Button, error) {
	var led []int64
	for _, ro := range r.Roles {
		if ro.Role == store.RoleFirstSecretary {
			led = append(led, ro.Region.ID)
		}
	}
	team, err := r.tx.TeamOf(ctx, led)
	if err != nil {
		return nil, err
	}
	var rows [][]Button
	for _, m := range team {
		label := m.FirstName
		if len(led) > 1 {
			label += " · " + h.villageName(ctx, r, m.RegionID)
		}
		rows = append(rows, []Button{button(label, flow, step, fmt.Sprintf("%d.%d", m.RegionID, m.UserID))})
	}
	return rows, nil
}

// pickedTeamMember reads a "village.user" button and checks the user leads that
// village and the person is on its team.
func (h *Handlers) pickedTeamMember(ctx context.Context, r *Request) (store.TeamMember, bool, error) {
	v, ok := r.Pressed()
	village, user, ok2 := strings.Cut(v, ".")
	vid, err1 := strconv.ParseInt(village, 10, 64)
	uid, err2 := strconv.ParseInt(user, 10, 64)
	if !ok || !ok2 || err1 != nil || err2 != nil {
		r.Say("team.use_buttons")
		return store.TeamMember{}, false, nil
	}
	if !r.leads(vid) {
		r.Say("common.not_allowed")
		return store.TeamMember{}, false, nil
	}
	team, err := r.tx.TeamOf(ctx, []int64{vid})
	if err != nil {
		return store.TeamMember{}, false, err
	}
	i := slices.IndexFunc(team, func(m store.TeamMember) bool { return m.UserID == uid })
	if i < 0 {
		r.Say("common.not_allowed")
		return store.TeamMember{}, false, nil
	}
	return team[i], true, nil
}

func (h *Handlers) presentStart(ctx context.Context, r *Request) error {
	rows, err := h.ledTeam(ctx, r, flowPresent, stepPresentWho)
	if err != nil {
		return err
	}
	r.Goto(flowPresent, stepPresentWho)
	r.Prompt(r.T("present.pick_member"), rows)
	return nil
}

// presentWho records a member present today on the first secretary's word.
func (h *Handlers) presentWho(ctx context.Context, r *Request) error {
	m, ok, err := h.pickedTeamMember(ctx, r)
	if err != nil || !ok {
		return err
	}
	village, err := r.tx.RegionByID(ctx, m.RegionID)
	if err != nil {
		return err
	}
	_, loc, err := h.rules(ctx, r, village)
	if err != nil {
		return err
	}
	now := h.cfg.NowFunc()
	day := dateOf(now.In(loc))
	r.EndFlow()
	if prev, err := r.tx.CheckInOn(ctx, m.UserID, day); err == nil {
		r.Prompt(r.T("present.already", "Name", m.FirstName, "Time", prev.CheckedAt.In(loc).Format("15:04")), nil)
		return nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if _, err := r.tx.AddCheckIn(ctx, store.CheckIn{
		UserID: m.UserID, RegionID: village.ID, Day: day, CheckedAt: now, Source: store.SourceProxy,
		RecordedBy: r.User.ID, OnSite: true, Verdict: store.VerdictProxy,
	}); err != nil {
		return err
	}
	r.Prompt(r.T("present.saved", "Name", m.FirstName, "Village", village.DisplayName(r.Locale())), nil)
	if m.UserID != r.User.ID {
		member, err := r.tx.UserByID(ctx, m.UserID)
		if err != nil {
			return err
		}
		tr := h.translatorFor(member)
		r.Reply(Reply{ChatID: m.UserID, Text: tr.T("present.notice", "Name", r.User.FirstName, "Day", day.Format(time.DateOnly))})
	}
	return nil
}

func (h *Handlers) leaveStart(ctx context.Context, r *Request) error {
	rows, err := h.ledTeam(ctx, r, flowLeave, stepLeaveWho)
	if err != nil {
		return err
	}
	r.Goto(flowLeave, stepLeaveWho)
	r.Prompt(r.T("leave.pick_member"), rows)
	return nil
}

func (h *Handlers) leaveWho(ctx context.Context, r *Request) error {
	m, ok, err := h.pickedTeamMember(ctx, r)
	if err != nil || !ok {
		return err
	}
	r.SetDraft("member", fmt.Sprintf("%d.%d", m.RegionID, m.UserID))
	r.SetDraft("name", m.FirstName)
	r.Goto(flowLeave, stepLeaveDays)
	r.Prompt(r.T("leave.ask_days", "Name", m.FirstName, "Example", h.localToday().Format(time.DateOnly)), nil)
	return nil
}

// parseDays reads "2026-11-03" or a range "2026-11-03~2026-11-05".
func parseDays(s string) ([]time.Time, bool) {
	s = strings.NewReplacer("～", "~", "至", "~", " ", "").Replace(strings.TrimSpace(s))
	from, to, isRange := strings.Cut(s, "~")
	a, err := time.Parse(time.DateOnly, from)
	if err != nil {
		return nil, false
	}
	b := a
	if isRange {
		if b, err = time.Parse(time.DateOnly, to); err != nil || b.Before(a) {
			return nil, false
		}
	}
	var days []time.Time
	for d := a; !d.After(b); d = d.AddDate(0, 0, 1) {
		if len(days) == maxLeaveDays {
			return nil, false
		}
		days = append(days, d)
	}
	return days, true
}

func (h *Handlers) leaveDays(ctx context.Context, r *Request) error {
	days, ok := parseDays(r.In.Text)
	if !ok || r.In.Callback != nil {
		r.Say("leave.bad_days", "Max", maxLeaveDays, "Example", h.localToday().Format(time.DateOnly))
		return nil
	}
	village, user, _ := strings.Cut(r.Draft("member"), ".")
	vid, err1 := strconv.ParseInt(village, 10, 64)
	uid, err2 := strconv.ParseInt(user, 10, 64)
	if err1 != nil || err2 != nil || !r.leads(vid) {
		r.EndFlow()
		r.Say("common.not_allowed")
		return nil
	}
	added, err := r.tx.AddLeave(ctx, uid, vid, days, r.User.ID)
	if err != nil {
		return err
	}
	name := r.Draft("name")
	r.EndFlow()
	r.Say("leave.saved", "Name", name, "Days", added, "Asked", len(days))
	return nil
}

// export sends the month's attendance of the teams the user oversees as a spreadsheet:
// one row per member per day.
func (h *Handlers) export(ctx context.Context, r *Request) error {
	first, ok := parseMonth(r.In.Args, h.localToday())
	if !ok {
		r.Say("month.bad_month")
		return nil
	}
	villages, err := h.overseenVillages(ctx, r)
	if err != nil {
		return err
	}
	if len(villages) == 0 {
		r.Say("common.not_allowed")
		return nil
	}
	b, err := h.attendanceSheet(ctx, r, villages, first)
	if err != nil {
		return err
	}
	r.Reply(Reply{Text: r.T("export.caption", "Month", first.Format("2006-01")),
		Document: &File{Name: "attendance-" + first.Format("2006-01") + ".xlsx", Bytes: b}})
	return nil
}

func (h *Handlers) attendanceSheet(ctx context.Context, r *Request, villages []store.Region, first time.Time) ([]byte, error) {
	last := first.AddDate(0, 1, -1)
	team, err := r.tx.TeamOf(ctx, ids(villages))
	if err != nil {
		return nil, err
	}
	checkIns, err := r.tx.CheckInsOf(ctx, ids(villages), first, last)
	if err != nil {
		return nil, err
	}
	leave, err := r.tx.LeaveOf(ctx, ids(villages), first, last)
	if err != nil {
		return nil, err
	}
	f := excelize.NewFile()
	defer f.Close()
	sheet := r.T("export.sheet")
	if err := f.SetSheetName("Sheet1", sheet); err != nil {
		return nil, err
	}
	header := []any{r.T("export.col_village"), r.T("export.col_member"), r.T("export.col_day"), r.T("export.col_status"),
		r.T("export.col_time"), r.T("export.col_verdict"), r.T("export.col_distance"), r.T("export.col_reason"), r.T("export.col_doubts")}
	if err := f.SetSheetRow(sheet, "A1", &header); err != nil {
		return nil, err
	}
	row := 2
	for _, v := range villages {
		_, loc, err := h.rules(ctx, r, v)
		if err != nil {
			return nil, err
		}
		today := dateOf(h.cfg.NowFunc().In(loc))
		for _, m := range team {
			if m.RegionID != v.ID {
				continue
			}
			joined := dateOf(m.Since.In(loc))
			for d := first; !d.After(last) && !d.After(today); d = d.AddDate(0, 0, 1) {
				if d.Before(joined) {
					continue
				}
				cells := []any{v.DisplayName(r.Locale()), m.FirstName, d.Format(time.DateOnly)}
				i := slices.IndexFunc(checkIns, func(c store.CheckIn) bool { return c.UserID == m.UserID && c.Day.Equal(d) })
				switch {
				case i >= 0:
					c := checkIns[i]
					status, reason := r.T("export.on_site"), ""
					if !c.OnSite {
						status, reason = r.T("export.off_site"), r.T(offSiteReasonMessage(c.OffSiteReason))
						if c.OffSiteNote != "" {
							reason += ": " + c.OffSiteNote
						}
					}
					distance := ""
					if c.DistanceM != nil {
						distance = strconv.Itoa(int(*c.DistanceM + 0.5))
					}
					cells = append(cells, status, c.CheckedAt.In(loc).Format("15:04"), r.T(verdictMessage(c.Verdict)),
						distance, reason, strings.ReplaceAll(r.reasonList(c.Reasons), "\n", " "))
				case slices.ContainsFunc(leave, func(l store.LeaveDay) bool { return l.UserID == m.UserID && l.Day.Equal(d) }):
					cells = append(cells, r.T("export.leave"))
				default:
					cells = append(cells, r.T("export.missing"))
				}
				cell, _ := excelize.CoordinatesToCellName(1, row)
				if err := f.SetSheetRow(sheet, cell, &cells); err != nil {
					return nil, err
				}
				row++
			}
		}
	}
	buf, err := f.WriteToBuffer()
	if err != nil {
		return nil, fmt.Errorf("write spreadsheet: %w", err)
	}
	return buf.Bytes(), nil
}
