package handlers

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"zhucun/store"
)

const (
	problemsPerPage = 8
	// maxMerged bounds each part of a list that is put together from several queries.
	maxMerged = 1000
	// albumSize is the most photos Telegram sends as one album.
	albumSize = 10

	listOpen    = "o"
	listOverdue = "v"
	listMine    = "m"
)

func canSeeProblems(r *Request) bool { return r.Admin || len(r.Roles) > 0 }

func validListKind(kind string) bool {
	return kind == listOpen || kind == listOverdue || kind == listMine || slices.Contains(store.Categories, kind)
}

func (r *Request) listName(kind string) string {
	switch kind {
	case listOpen:
		return r.T("ledger.menu_open")
	case listOverdue:
		return r.T("ledger.menu_overdue")
	case listMine:
		return r.T("ledger.menu_mine")
	}
	return r.T(categoryMessageID(kind))
}

// problemsStart offers the lists of problems.
func (h *Handlers) problemsStart(_ context.Context, r *Request) error { return h.ledgerMenu(r) }

func (h *Handlers) ledgerMenu(r *Request) error {
	r.browse()
	btn := func(id, v string) Button { return problemButton(r.T(id), v) }
	r.Prompt(r.T("ledger.menu"), [][]Button{
		{btn("ledger.menu_open", "l."+listOpen+".0"), btn("ledger.menu_overdue", "l."+listOverdue+".0")},
		{btn("ledger.menu_mine", "l."+listMine+".0"), btn("ledger.menu_category", "cats")},
	})
	return nil
}

func (h *Handlers) ledgerCategories(r *Request) error {
	var rows [][]Button
	for i, c := range store.Categories {
		b := problemButton(r.T(categoryMessageID(c)), "l."+c+".0")
		if i%2 == 0 {
			rows = append(rows, []Button{b})
		} else {
			rows[len(rows)-1] = append(rows[len(rows)-1], b)
		}
	}
	rows = append(rows, []Button{problemButton(r.T("ledger.to_menu"), "menu")})
	r.Prompt(r.T("ledger.pick_category"), rows)
	return nil
}

// problemScope returns the villages whose problems the user sees in full (their
// team's, those under a supervisor's region, all for an admin) and those where they
// see only what they reported themselves (a resident's).
func (h *Handlers) problemScope(ctx context.Context, r *Request) (full, own []store.Region, err error) {
	full, err = h.overseenVillages(ctx, r)
	if err != nil {
		return nil, nil, err
	}
	has := func(list []store.Region, v store.Region) bool {
		return slices.ContainsFunc(list, func(o store.Region) bool { return o.ID == v.ID })
	}
	for _, v := range r.teamVillages() {
		if !has(full, v) {
			full = append(full, v)
		}
	}
	for _, ro := range r.Roles {
		if ro.Role == store.RoleResident && !has(full, ro.Region) && !has(own, ro.Region) {
			own = append(own, ro.Region)
		}
	}
	return full, own, nil
}

// villageClocks returns the local time zone of each village (its county's), asking
// once per township.
func (h *Handlers) villageClocks(ctx context.Context, r *Request, villages []store.Region) (map[int64]*time.Location, error) {
	byParent := map[int64]*time.Location{}
	out := make(map[int64]*time.Location, len(villages))
	for _, v := range villages {
		var parent int64
		if v.ParentID != nil {
			parent = *v.ParentID
		}
		loc, ok := byParent[parent]
		if !ok {
			var err error
			if _, loc, err = h.rules(ctx, r, v); err != nil {
				return nil, err
			}
			byParent[parent] = loc
		}
		out[v.ID] = loc
	}
	return out, nil
}

// findProblems returns one page of a list, newest first, and how many it holds.
func (h *Handlers) findProblems(ctx context.Context, r *Request, kind string, full, own []store.Region, offset, limit int) ([]store.Problem, int, error) {
	me := r.User.ID
	var filters []store.ProblemFilter
	add := func(f store.ProblemFilter) {
		if len(f.RegionIDs) > 0 {
			filters = append(filters, f)
		}
	}
	switch kind {
	case listMine:
		add(store.ProblemFilter{RegionIDs: ids(slices.Concat(full, own)), ReportedBy: me})
		add(store.ProblemFilter{RegionIDs: ids(full), ResponsibleID: me})
	case listOverdue: // overdue on each village's own local day
		clocks, err := h.villageClocks(ctx, r, slices.Concat(full, own))
		if err != nil {
			return nil, 0, err
		}
		now := h.cfg.NowFunc()
		byDay := map[time.Time][2][]int64{}
		var days []time.Time
		for i, part := range [][]store.Region{full, own} {
			for _, v := range part {
				d := dateOf(now.In(clocks[v.ID]))
				g, seen := byDay[d]
				if !seen {
					days = append(days, d)
				}
				g[i] = append(g[i], v.ID)
				byDay[d] = g
			}
		}
		for _, d := range days {
			add(store.ProblemFilter{RegionIDs: byDay[d][0], OverdueOn: &d})
			add(store.ProblemFilter{RegionIDs: byDay[d][1], ReportedBy: me, OverdueOn: &d})
		}
	default:
		f := store.ProblemFilter{Category: kind}
		if kind == listOpen {
			f = store.ProblemFilter{Statuses: store.OpenStatuses}
		}
		f.RegionIDs = ids(full)
		add(f)
		f.RegionIDs, f.ReportedBy = ids(own), me
		add(f)
	}
	switch len(filters) {
	case 0:
		return nil, 0, nil
	case 1:
		f := filters[0]
		f.Limit, f.Offset = limit, offset
		return r.tx.Problems(ctx, f)
	}
	// Several parts: the first offset+limit of each hold the page. "Mine" may hold a
	// problem twice (reported by me and mine to fix), so it is counted after merging.
	overlap := kind == listMine
	var all []store.Problem
	total := 0
	for _, f := range filters {
		f.Limit = offset + limit
		if overlap {
			f.Limit = maxMerged
		}
		list, n, err := r.tx.Problems(ctx, f)
		if err != nil {
			return nil, 0, err
		}
		total += n
		for _, p := range list {
			if !slices.ContainsFunc(all, func(o store.Problem) bool { return o.ID == p.ID }) {
				all = append(all, p)
			}
		}
	}
	if overlap {
		total = len(all)
	}
	slices.SortFunc(all, func(a, b store.Problem) int {
		if c := b.ReportedAt.Compare(a.ReportedAt); c != 0 {
			return c
		}
		return cmp.Compare(b.ID, a.ID)
	})
	return all[min(offset, len(all)):min(offset+limit, len(all))], total, nil
}

// ledgerList shows one page of a list, each problem a button that opens its card.
func (h *Handlers) ledgerList(ctx context.Context, r *Request, kind string, page int) error {
	full, own, err := h.problemScope(ctx, r)
	if err != nil {
		return err
	}
	list, total, err := h.findProblems(ctx, r, kind, full, own, page*problemsPerPage, problemsPerPage)
	if err != nil {
		return err
	}
	pages := max(1, (total+problemsPerPage-1)/problemsPerPage)
	if page >= pages && page > 0 { // the list got shorter meanwhile
		return h.ledgerList(ctx, r, kind, pages-1)
	}
	r.browse()
	r.SetDraft("list", kind+"."+strconv.Itoa(page))
	back := []Button{problemButton(r.T("ledger.to_menu"), "menu")}
	if total == 0 {
		r.Prompt(r.T("ledger.list_empty", "Kind", r.listName(kind)), [][]Button{back})
		return nil
	}
	scope := slices.Concat(full, own)
	clocks, err := h.villageClocks(ctx, r, scope)
	if err != nil {
		return err
	}
	now := h.cfg.NowFunc()
	var rows [][]Button
	for _, p := range list {
		label := p.Number()
		if i := slices.IndexFunc(scope, func(v store.Region) bool { return v.ID == p.RegionID }); i >= 0 && len(scope) > 1 {
			label += " " + scope[i].DisplayName(r.Locale())
		}
		label += " · " + r.T(statusMessageID(p.Status))
		if loc := clocks[p.RegionID]; loc != nil && p.Overdue(dateOf(now.In(loc))) {
			label += " ⚠"
		}
		label += " · " + truncate(p.Description, 16)
		rows = append(rows, []Button{problemButton(label, "p."+strconv.FormatInt(p.ID, 10))})
	}
	var nav []Button
	if page > 0 {
		nav = append(nav, problemButton(r.T("common.previous"), "l."+kind+"."+strconv.Itoa(page-1)))
	}
	if page+1 < pages {
		nav = append(nav, problemButton(r.T("common.next"), "l."+kind+"."+strconv.Itoa(page+1)))
	}
	if len(nav) > 0 {
		rows = append(rows, nav)
	}
	rows = append(rows, back)
	r.Prompt(r.T("ledger.list_title", "Kind", r.listName(kind), "Total", total, "Page", page+1, "Pages", pages), rows)
	return nil
}

// openCard shows a problem's card with its photos, if the user may see it.
func (h *Handlers) openCard(ctx context.Context, r *Request, id int64) error {
	p, err := r.tx.ProblemByID(ctx, id, false)
	if errors.Is(err, store.ErrNotFound) {
		r.Say("common.not_allowed")
		return nil
	}
	if err != nil {
		return err
	}
	village, err := r.tx.RegionByID(ctx, p.RegionID)
	if err != nil {
		return err
	}
	if !r.maySeeProblem(p, village) {
		r.Say("common.not_allowed")
		return nil
	}
	return h.showCard(ctx, r, p, village, true, "")
}

// showCard sends a problem's card: its fields, its history and the buttons of what the
// user may do to it now; with photos, the report's photos and the fix's go first as
// albums. head, if any, is a line above the card. After a button press without photos
// the card replaces the pressed message.
func (h *Handlers) showCard(ctx context.Context, r *Request, p store.Problem, village store.Region, photos bool, head string) error {
	lines, err := h.cardLines(ctx, r, p, village)
	if err != nil {
		return err
	}
	if head != "" {
		lines = append([]string{head, ""}, lines...)
	}
	if photos {
		all, err := r.tx.ProblemPhotos(ctx, p.ID)
		if err != nil {
			return err
		}
		var report, fix []string
		for _, ph := range all {
			if ph.Kind == store.PhotoReport {
				report = append(report, ph.FileID)
			} else {
				fix = append(fix, ph.FileID)
			}
		}
		if len(report) > 0 {
			r.Reply(Reply{Text: r.T("ledger.report_photos", "Number", p.Number()), PhotoIDs: report[:min(len(report), albumSize)]})
		}
		if len(fix) > 0 {
			r.Reply(Reply{Text: r.T("ledger.fix_photos", "Number", p.Number()), PhotoIDs: fix[max(0, len(fix)-albumSize):]})
		}
	}
	var rows [][]Button
	for _, a := range problemActions {
		if !slices.Contains(a.from, p.Status) || !r.mayAct(p, village, a.code) {
			continue
		}
		b := Button{Text: r.T(a.button), Data: actionData(a.code, p.ID)}
		if n := len(rows); n > 0 && len(rows[n-1]) < 2 {
			rows[n-1] = append(rows[n-1], b)
		} else {
			rows = append(rows, []Button{b})
		}
	}
	nav := []Button{problemButton(r.T("ledger.to_menu"), "menu")}
	if list := r.Draft("list"); list != "" {
		nav = append([]Button{problemButton(r.T("ledger.to_list"), "l."+list)}, nav...)
	}
	rows = append(rows, nav)
	chunks := splitLines(lines, maxMessageRunes)
	for i, c := range chunks {
		rep := Reply{Text: c}
		if i == 0 && !photos && r.In.Callback != nil {
			rep.EditMessageID = r.In.Callback.MessageID
		}
		if i == len(chunks)-1 {
			rep.Buttons = rows
		}
		r.Reply(rep)
	}
	return nil
}

// splitLines joins lines into as few texts of at most limit characters as it can.
func splitLines(lines []string, limit int) []string {
	var out []string
	var b strings.Builder
	n := 0
	for _, l := range lines {
		size := len([]rune(l))
		if n > 0 && n+size+1 > limit {
			out = append(out, b.String())
			b.Reset()
			n = 0
		}
		if n > 0 {
			b.WriteByte('\n')
			n++
		}
		b.WriteString(l)
		n += size
	}
	if n > 0 || len(out) == 0 {
		out = append(out, b.String())
	}
	return out
}

// cardLines are the lines of a problem's card. The reporter appears as a role; only
// the village's first secretaries and admins see the name.
func (h *Handlers) cardLines(ctx context.Context, r *Request, p store.Problem, village store.Region) ([]string, error) {
	_, loc, err := h.rules(ctx, r, village)
	if err != nil {
		return nil, err
	}
	today := dateOf(h.cfg.NowFunc().In(loc))
	named := r.Admin || r.leads(p.RegionID)
	stamp := func(t time.Time) string { return t.In(loc).Format("2006-01-02 15:04") }
	role := r.T(reporterRoleMessageID(p.ReporterRole))
	lines := []string{
		r.T("ledger.card_title", "Number", p.Number(), "Village", village.DisplayName(r.Locale())),
		r.T("ledger.card_category", "Category", r.T(categoryMessageID(p.Category))),
		r.T("ledger.card_status", "Status", r.T(statusMessageID(p.Status))),
		r.T("ledger.card_urgency", "Urgency", r.T(urgencyMessageID(p.Urgency))),
		r.T("ledger.card_description", "Text", p.Description),
	}
	reporter := role
	if named {
		u, err := r.tx.UserByID(ctx, p.ReportedBy)
		if err != nil {
			return nil, err
		}
		reporter = r.T("ledger.card_reporter_named", "Name", u.FirstName, "Role", role)
	}
	lines = append(lines, r.T("ledger.card_reporter", "Reporter", reporter), r.T("ledger.card_reported_at", "Time", stamp(p.ReportedAt)))
	if p.ResponsibleID != nil {
		u, err := r.tx.UserByID(ctx, *p.ResponsibleID)
		if err != nil {
			return nil, err
		}
		lines = append(lines, r.T("ledger.card_responsible", "Name", u.FirstName))
	}
	if p.ResponsibleUnit != "" {
		lines = append(lines, r.T("ledger.card_unit", "Unit", p.ResponsibleUnit))
	}
	if p.Measures != "" {
		lines = append(lines, r.T("ledger.card_measures", "Measures", p.Measures))
	}
	if p.Deadline != nil {
		msg := "ledger.card_deadline"
		if p.Overdue(today) {
			msg = "ledger.card_deadline_overdue"
		}
		lines = append(lines, r.T(msg, "Deadline", p.Deadline.Format(time.DateOnly)))
	}
	history, err := r.tx.ProblemHistory(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	if p.Status == store.StatusClosed {
		note := ""
		for _, e := range history {
			if e.ToStatus == store.StatusClosed {
				note = e.Note
			}
		}
		reason := r.T(closeReasonMessageID(p.CloseReason))
		if note != "" {
			reason += " — " + note
		}
		lines = append(lines, r.T("ledger.card_close_reason", "Reason", reason))
	}
	lines = append(lines, r.T("ledger.card_history"))
	for _, e := range history {
		who := e.ActorName
		switch {
		case named:
		case e.Action == "report":
			who = role
		case e.Action == "add_report":
			who = r.T("ledger.reporter_other")
		}
		line := r.T("ledger.card_history_line", "Time", stamp(e.At), "Who", who, "What", r.T(eventMessageID(e.Action)))
		if e.Note != "" {
			line += "\n    " + e.Note
		}
		lines = append(lines, line)
	}
	return lines, nil
}
