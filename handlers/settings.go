package handlers

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"zhucun/store"
)

const (
	flowSettings     = "st"
	stepSettingsMenu = "menu"
	stepSettingsKind = "kind"
)

// reminderKindMessageID names a kind of reminder.
func reminderKindMessageID(kind string) string {
	switch kind {
	case store.ReminderCheckIn:
		return "settings.kind_checkin"
	case store.ReminderDigest:
		return "settings.kind_digest"
	case store.ReminderUpdate:
		return "settings.kind_update"
	case store.ReminderDeadline:
		return "settings.kind_deadline"
	case store.ReminderEscalation:
		return "settings.kind_escalation"
	default:
		return "settings.kind_weekly"
	}
}

// reminderTimes are the times of day /settings offers for a kind, in minutes; any other
// may be typed.
func reminderTimes(kind string) []int32 {
	switch kind {
	case store.ReminderCheckIn:
		return []int32{8 * 60, 9 * 60, 10 * 60, 11 * 60, 14 * 60, 16 * 60}
	case store.ReminderDigest:
		return []int32{17 * 60, 18 * 60, 19 * 60, 20 * 60, 21 * 60}
	}
	return []int32{8 * 60, 9 * 60, 10 * 60, 14 * 60}
}

// reminderKinds lists the kinds of reminder the user can receive, from their roles:
// team members the check-in and deadline reminders, first secretaries the evening
// digest and the weekly-update reminder, supervisors escalations and the Monday digest.
func (r *Request) reminderKinds() []string {
	onTeam, supervises := canCheckIn(r), slices.ContainsFunc(r.Roles, func(ro store.Role) bool { return ro.Role == store.RoleSupervisor })
	var out []string
	for _, kind := range store.ReminderKinds {
		switch kind {
		case store.ReminderCheckIn, store.ReminderDeadline:
			if onTeam {
				out = append(out, kind)
			}
		case store.ReminderDigest, store.ReminderUpdate:
			if leadsATeam(r) {
				out = append(out, kind)
			}
		default:
			if supervises {
				out = append(out, kind)
			}
		}
	}
	return out
}

// reminderRules are the reminder rules of the user's county: that of their first team
// village, else of the first region they supervise; the defaults above the counties.
func (h *Handlers) reminderRules(ctx context.Context, r *Request) (store.ReminderSettings, error) {
	var at *store.Region
	if vs := r.teamVillages(); len(vs) > 0 {
		at = &vs[0]
	}
	for _, ro := range r.Roles {
		if at == nil && ro.Role == store.RoleSupervisor && ro.Region.Level != store.LevelCity {
			at = &ro.Region
		}
	}
	if at == nil {
		return store.DefaultReminderSettings(0), nil
	}
	county, err := r.tx.CountyOf(ctx, *at)
	if err != nil {
		return store.ReminderSettings{}, err
	}
	return r.tx.ReminderSettings(ctx, county.ID)
}

// reminderPref is the user's choice for kind (the zero choice if they made none).
func (h *Handlers) reminderPref(ctx context.Context, r *Request, kind string) (store.ReminderPref, error) {
	prefs, err := r.tx.ReminderPrefs(ctx, []int64{r.User.ID})
	if err != nil {
		return store.ReminderPref{}, err
	}
	for _, p := range prefs {
		if p.Kind == kind {
			return p, nil
		}
	}
	return store.ReminderPref{UserID: r.User.ID, Kind: kind}, nil
}

// reminderStatus says when a kind of reminder reaches the user, or that it does not.
func (r *Request) reminderStatus(kind string, p store.ReminderPref, rules store.ReminderSettings) string {
	switch {
	case p.Muted:
		return r.T("settings.status_muted")
	case kind == store.ReminderCheckIn && !rules.CheckInReminder:
		return r.T("settings.status_county_off")
	}
	at, id := rules.DefaultAt(kind), "settings.status_default"
	if p.AtMinute != nil {
		at, id = *p.AtMinute, "settings.status_at"
	}
	s := r.T(id, "Time", clock(at))
	if kind == store.ReminderWeekly {
		s = r.T("settings.status_weekly", "Time", s)
	}
	if rules.Quiet(at) {
		s += r.T("settings.status_quiet", "Time", clock(rules.QuietTo))
	}
	return s
}

func (h *Handlers) settingsStart(ctx context.Context, r *Request) error {
	return h.settingsMenuPrompt(ctx, r, "")
}

// settingsMenuPrompt shows the user's reminders and their times, a button for each.
func (h *Handlers) settingsMenuPrompt(ctx context.Context, r *Request, head string) error {
	kinds := r.reminderKinds()
	if len(kinds) == 0 {
		r.EndFlow()
		r.Prompt(r.T("settings.none"), nil)
		return nil
	}
	rules, err := h.reminderRules(ctx, r)
	if err != nil {
		return err
	}
	prefs, err := r.tx.ReminderPrefs(ctx, []int64{r.User.ID})
	if err != nil {
		return err
	}
	var lines []string
	if head != "" {
		lines = append(lines, head)
	}
	lines = append(lines, r.T("settings.title"))
	var rows [][]Button
	for _, kind := range kinds {
		p := store.ReminderPref{UserID: r.User.ID, Kind: kind}
		if i := slices.IndexFunc(prefs, func(p store.ReminderPref) bool { return p.Kind == kind }); i >= 0 {
			p = prefs[i]
		}
		name := r.T(reminderKindMessageID(kind))
		lines = append(lines, "• "+name+"："+r.reminderStatus(kind, p, rules))
		rows = append(rows, []Button{button(name, flowSettings, stepSettingsMenu, kind)})
	}
	if rules.QuietFrom != rules.QuietTo {
		lines = append(lines, r.T("settings.quiet", "From", clock(rules.QuietFrom), "To", clock(rules.QuietTo)))
	}
	lines = append(lines, r.T("settings.pick"))
	r.Goto(flowSettings, stepSettingsMenu)
	r.Prompt(strings.Join(lines, "\n"), rows)
	return nil
}

// settingsMenu opens one kind of reminder.
func (h *Handlers) settingsMenu(ctx context.Context, r *Request) error {
	kind, ok := r.Pressed()
	if !ok {
		r.Say("settings.use_buttons")
		return nil
	}
	if !slices.Contains(r.reminderKinds(), kind) {
		r.Say("common.not_allowed")
		return nil
	}
	r.SetDraft("kind", kind)
	return h.settingsKindPrompt(ctx, r, kind)
}

// settingsKindPrompt offers the times of a kind of reminder, its default, and muting.
func (h *Handlers) settingsKindPrompt(ctx context.Context, r *Request, kind string) error {
	rules, err := h.reminderRules(ctx, r)
	if err != nil {
		return err
	}
	p, err := h.reminderPref(ctx, r, kind)
	if err != nil {
		return err
	}
	var rows [][]Button
	var row []Button
	for _, at := range reminderTimes(kind) {
		row = append(row, button(clock(at), flowSettings, stepSettingsKind, "t"+strings.ReplaceAll(clock(at), ":", "")))
		if len(row) == 3 {
			rows, row = append(rows, row), nil
		}
	}
	if row != nil {
		rows = append(rows, row)
	}
	rows = append(rows, []Button{button(r.T("settings.default", "Time", clock(rules.DefaultAt(kind))), flowSettings, stepSettingsKind, "def")})
	if p.Muted {
		rows = append(rows, []Button{button(r.T("settings.unmute"), flowSettings, stepSettingsKind, "on")})
	} else {
		rows = append(rows, []Button{button(r.T("settings.mute"), flowSettings, stepSettingsKind, "mute")})
	}
	rows = append(rows, []Button{button(r.T("common.back"), flowSettings, stepSettingsKind, "back")})
	r.Goto(flowSettings, stepSettingsKind)
	r.Prompt(r.T("settings.kind_prompt", "Kind", r.T(reminderKindMessageID(kind)), "Status", r.reminderStatus(kind, p, rules)), rows)
	return nil
}

// parseClock reads a time of day typed as 8:30, 08:30 or 830, in minutes.
func parseClock(s string) (int32, bool) {
	s = strings.NewReplacer("：", ":", "点", ":", " ", "").Replace(strings.TrimSpace(s))
	h, m, found := strings.Cut(s, ":")
	if !found && len(s) >= 3 && len(s) <= 4 {
		h, m = s[:len(s)-2], s[len(s)-2:]
	}
	hour, err1 := strconv.Atoi(h)
	minute, err2 := strconv.Atoi(m)
	if m == "" {
		minute, err2 = 0, nil
	}
	if err1 != nil || err2 != nil || hour < 0 || hour > 23 || minute < 0 || minute > 59 {
		return 0, false
	}
	return int32(hour*60 + minute), true
}

// settingsKind changes one kind of reminder: a time (a button or typed), the default,
// muted or not; or goes back to the list.
func (h *Handlers) settingsKind(ctx context.Context, r *Request) error {
	kind := r.Draft("kind")
	if !slices.Contains(r.reminderKinds(), kind) {
		r.EndFlow()
		r.Say("common.not_allowed")
		return nil
	}
	p, err := h.reminderPref(ctx, r, kind)
	if err != nil {
		return err
	}
	value, pressed := r.Pressed()
	switch {
	case !pressed:
		at, ok := parseClock(r.In.Text)
		if !ok || r.In.Text == "" {
			r.Say("settings.bad_time")
			return nil
		}
		p.AtMinute = &at
	case value == "back":
		return h.settingsMenuPrompt(ctx, r, "")
	case value == "def":
		p.AtMinute = nil
	case value == "mute" || value == "on":
		p.Muted = value == "mute"
	case strings.HasPrefix(value, "t"):
		at, ok := parseClock(strings.TrimPrefix(value, "t"))
		if !ok {
			r.Say("settings.use_buttons")
			return nil
		}
		p.AtMinute = &at
	default:
		r.Say("settings.use_buttons")
		return nil
	}
	if value != "mute" && value != "on" {
		p.Muted = false // choosing a time means wanting the reminder
	}
	if err := r.tx.SetReminderPref(ctx, p); err != nil {
		return fmt.Errorf("save reminder setting: %w", err)
	}
	return h.settingsMenuPrompt(ctx, r, r.T("settings.saved"))
}
