package handlers

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"zhucun/store"
)

// The problem ledger's flow (一事一策): browsing lists and cards, and the steps of the
// transitions that need more than one press. Every button of the browsing step carries
// the problem's id and is checked again against the problem's current state and the
// user's roles at its village.
const (
	flowLedger          = "pl"
	stepLedgerBrowse    = "go"
	stepLedgerWho       = "who"
	stepLedgerUnit      = "unit"
	stepLedgerMeasures  = "meas"
	stepLedgerDeadline  = "due"
	stepLedgerCloseKind = "ck"
	stepLedgerReason    = "why"
	stepLedgerNote      = "note"
	stepLedgerEvidence  = "ev"

	// Transitions, as they appear in callback data ("a.<code>.<problem id>").
	actAssign   = "asg"
	actStart    = "go"
	actNote     = "nt"
	actResolve  = "res"
	actVerify   = "ok"
	actSendBack = "back"
	actClose    = "cls"

	// Actions recorded in a problem's history.
	eventAssign             = "assign"
	eventStart              = "start"
	eventProgress           = "progress"
	eventResolve            = "resolve"
	eventVerify             = "verify"
	eventSendBack           = "send_back"
	eventCloseDuplicate     = "close_duplicate"
	eventCloseNotActionable = "close_not_actionable"

	// Close reasons, kept in Problem.CloseReason.
	closeDuplicate     = "duplicate"
	closeNotActionable = "not_actionable"

	maxUnitRunes     = 100
	maxMeasuresRunes = 500
	maxReasonRunes   = 500
	maxStepPhotos    = 10
)

// problemActions are the transitions in the order their buttons appear on a card, each
// with the statuses it starts from.
var problemActions = []struct {
	code, button string
	from         []string
}{
	{actAssign, "ledger.btn_assign", []string{store.StatusReported}},
	{actStart, "ledger.btn_start", []string{store.StatusAssigned}},
	{actNote, "ledger.btn_note", []string{store.StatusInProgress}},
	{actResolve, "ledger.btn_resolve", []string{store.StatusInProgress}},
	{actVerify, "ledger.btn_verify", []string{store.StatusResolved}},
	{actSendBack, "ledger.btn_send_back", []string{store.StatusResolved}},
	{actClose, "ledger.btn_close", []string{store.StatusReported, store.StatusAssigned, store.StatusInProgress}},
}

// actionFrom returns the statuses a transition starts from; nil for no transition.
func actionFrom(code string) []string {
	for _, a := range problemActions {
		if a.code == code {
			return a.from
		}
	}
	return nil
}

func statusMessageID(status string) string {
	switch status {
	case store.StatusAssigned:
		return "ledger.status_assigned"
	case store.StatusInProgress:
		return "ledger.status_in_progress"
	case store.StatusResolved:
		return "ledger.status_resolved"
	case store.StatusVerified:
		return "ledger.status_verified"
	case store.StatusClosed:
		return "ledger.status_closed"
	default:
		return "ledger.status_reported"
	}
}

func eventMessageID(action string) string {
	switch action {
	case "report":
		return "ledger.event_report"
	case "add_report":
		return "ledger.event_add_report"
	case eventAssign:
		return "ledger.event_assign"
	case eventStart:
		return "ledger.event_start"
	case eventProgress:
		return "ledger.event_progress"
	case eventResolve:
		return "ledger.event_resolve"
	case eventVerify:
		return "ledger.event_verify"
	case eventSendBack:
		return "ledger.event_send_back"
	case eventCloseDuplicate:
		return "ledger.event_close_duplicate"
	case eventCloseNotActionable:
		return "ledger.event_close_not_actionable"
	default:
		return "ledger.event_other"
	}
}

func closeReasonMessageID(reason string) string {
	if reason == closeDuplicate {
		return "ledger.close_duplicate"
	}
	return "ledger.close_not_actionable"
}

// reporterRoleMessageID names the role a problem was reported in; admins report as admins.
func reporterRoleMessageID(role string) string {
	if role == "admin" {
		return "role.admin"
	}
	return roleMessageID(role)
}

// ledgerSteps are the steps of the ledger's flow.
func (h *Handlers) ledgerSteps() map[string]stepFunc {
	return map[string]stepFunc{
		stepLedgerBrowse: h.ledgerBrowse, stepLedgerWho: h.ledgerWho, stepLedgerUnit: h.ledgerUnit,
		stepLedgerMeasures: h.ledgerMeasures, stepLedgerDeadline: h.ledgerDeadline,
		stepLedgerCloseKind: h.ledgerCloseKind, stepLedgerReason: h.ledgerReason,
		stepLedgerNote: h.ledgerPhotos, stepLedgerEvidence: h.ledgerPhotos,
	}
}

// supervises reports whether the user is a supervisor over the village.
func (r *Request) supervises(village store.Region) bool {
	return slices.ContainsFunc(r.Roles, func(ro store.Role) bool {
		return ro.Role == store.RoleSupervisor && ro.Region.Contains(village)
	})
}

// maySeeProblem reports whether the user may open a problem: the team of its village,
// a supervisor over it and an admin see it; anyone else only what they reported.
func (r *Request) maySeeProblem(p store.Problem, village store.Region) bool {
	if r.Admin || p.ReportedBy == r.User.ID {
		return true
	}
	return slices.ContainsFunc(r.Roles, func(ro store.Role) bool {
		return ro.Role != store.RoleResident && ro.Region.Contains(village)
	})
}

// mayAct reports whether the user's roles allow a transition of the problem, whatever
// its state: a first secretary of the village or a supervisor over it assigns,
// verifies, sends back and closes; the responsible person (still on the team) or a
// first secretary starts, notes progress and resolves. Admins may do all of it.
func (r *Request) mayAct(p store.Problem, village store.Region, code string) bool {
	leads := r.Admin || r.leads(p.RegionID)
	switch code {
	case actAssign, actVerify, actSendBack, actClose:
		return leads || r.supervises(village)
	case actStart, actNote, actResolve:
		responsible := p.ResponsibleID != nil && *p.ResponsibleID == r.User.ID && r.onTeam(p.RegionID)
		return leads || responsible
	}
	return false
}

// actionable loads the problem locked for the rest of the transaction and checks that
// the user may do code to it now. When not, it has answered the user (not allowed, or
// the problem has moved on) and ok is false; nothing has changed.
func (h *Handlers) actionable(ctx context.Context, r *Request, id int64, code string) (p store.Problem, village store.Region, ok bool, err error) {
	p, err = r.tx.ProblemByID(ctx, id, true)
	if errors.Is(err, store.ErrNotFound) {
		r.Say("common.not_allowed")
		return p, village, false, nil
	}
	if err != nil {
		return p, village, false, err
	}
	village, err = r.tx.RegionByID(ctx, p.RegionID)
	if err != nil {
		return p, village, false, err
	}
	if !r.maySeeProblem(p, village) || !r.mayAct(p, village, code) {
		r.Say("common.not_allowed")
		return p, village, false, nil
	}
	if !slices.Contains(actionFrom(code), p.Status) {
		r.Say("ledger.moved_on", "Number", p.Number(), "Status", r.T(statusMessageID(p.Status)))
		return p, village, false, nil
	}
	return p, village, true, nil
}

// browse returns to the ledger's browsing step, keeping the list the user came from.
func (r *Request) browse() {
	list := r.Draft("list")
	r.EndFlow()
	r.Goto(flowLedger, stepLedgerBrowse)
	if list != "" {
		r.SetDraft("list", list)
	}
}

// ledgerBrowse handles the buttons of menus, lists and cards.
func (h *Handlers) ledgerBrowse(ctx context.Context, r *Request) error {
	v, ok := r.Pressed()
	if !ok {
		if r.In.Location != nil && canCheckIn(r) { // a location is still a check-in
			r.EndFlow()
			return h.checkInStart(ctx, r)
		}
		r.Say("ledger.use_buttons")
		return nil
	}
	kind, rest, _ := strings.Cut(v, ".")
	switch kind {
	case "menu":
		return h.ledgerMenu(r)
	case "cats":
		return h.ledgerCategories(r)
	case "l":
		list, page, _ := strings.Cut(rest, ".")
		n, err := strconv.Atoi(page)
		if err != nil || n < 0 || !validListKind(list) {
			break
		}
		return h.ledgerList(ctx, r, list, n)
	case "p":
		id, err := strconv.ParseInt(rest, 10, 64)
		if err != nil {
			break
		}
		return h.openCard(ctx, r, id)
	case "a":
		code, idText, _ := strings.Cut(rest, ".")
		id, err := strconv.ParseInt(idText, 10, 64)
		if err != nil || actionFrom(code) == nil {
			break
		}
		return h.ledgerAct(ctx, r, code, id)
	}
	r.Say("ledger.use_buttons")
	return nil
}

// ledgerAct starts a transition: at once for start and verify, else by asking for what
// it needs.
func (h *Handlers) ledgerAct(ctx context.Context, r *Request, code string, id int64) error {
	p, village, ok, err := h.actionable(ctx, r, id, code)
	if err != nil || !ok {
		return err
	}
	switch code {
	case actStart:
		return h.commit(ctx, r, p, village, transition{code: code, to: store.StatusInProgress, event: eventStart})
	case actVerify:
		now := h.cfg.NowFunc()
		return h.commit(ctx, r, p, village, transition{code: code, to: store.StatusVerified, event: eventVerify,
			change: func(p *store.Problem) { p.VerifiedAt = &now }})
	}
	r.browse() // drop what an abandoned transition left
	r.SetDraft("p", strconv.FormatInt(p.ID, 10))
	r.SetDraft("a", code)
	switch code {
	case actAssign:
		return h.askResponsible(ctx, r, p, village)
	case actSendBack:
		r.Goto(flowLedger, stepLedgerReason)
		r.Reply(Reply{Text: r.T("ledger.ask_send_back", "Number", p.Number(), "Max", maxReasonRunes)})
	case actClose:
		r.Goto(flowLedger, stepLedgerCloseKind)
		btn := func(id, v string) Button { return button(r.T(id), flowLedger, stepLedgerCloseKind, v) }
		r.Reply(Reply{Text: r.T("ledger.ask_close_kind", "Number", p.Number()), Buttons: [][]Button{
			{btn("ledger.close_duplicate", closeDuplicate), btn("ledger.close_not_actionable", closeNotActionable)},
		}})
	case actNote, actResolve:
		if err := h.state.ClearDraftPhotos(ctx, r.In.ChatID); err != nil {
			return err
		}
		step, msg := stepLedgerNote, "ledger.ask_note"
		if code == actResolve {
			step, msg = stepLedgerEvidence, "ledger.ask_evidence"
		}
		r.Goto(flowLedger, step)
		r.Reply(Reply{Text: r.T(msg, "Number", p.Number(), "Max", maxStepPhotos),
			Buttons: [][]Button{{button(r.T("ledger.btn_done"), flowLedger, step, "done")}}})
	}
	return nil
}

// draftProblem rechecks, on a later step of a transition, that the user may still do
// it to the draft's problem; when not, the user is back at browsing.
func (h *Handlers) draftProblem(ctx context.Context, r *Request) (store.Problem, store.Region, bool, error) {
	id, ok := r.draftInt("p")
	code := r.Draft("a")
	if !ok || actionFrom(code) == nil {
		r.browse()
		r.Say("common.flow_gone")
		return store.Problem{}, store.Region{}, false, nil
	}
	p, village, ok, err := h.actionable(ctx, r, id, code)
	if err == nil && !ok {
		r.browse()
	}
	return p, village, ok, err
}

func (h *Handlers) askResponsible(ctx context.Context, r *Request, p store.Problem, village store.Region) error {
	team, err := r.tx.TeamOf(ctx, []int64{village.ID})
	if err != nil {
		return err
	}
	if len(team) == 0 {
		r.browse()
		r.Say("ledger.no_team")
		return nil
	}
	var rows [][]Button
	for _, m := range team {
		label := m.FirstName
		if m.Role == store.RoleFirstSecretary {
			label += " · " + r.roleName(m.Role)
		}
		rows = append(rows, []Button{button(label, flowLedger, stepLedgerWho, strconv.FormatInt(m.UserID, 10))})
	}
	r.Goto(flowLedger, stepLedgerWho)
	r.Reply(Reply{Text: r.T("ledger.ask_responsible", "Number", p.Number()), Buttons: rows})
	return nil
}

// responsibleOnTeam checks that the person is on the team of the village.
func (h *Handlers) responsibleOnTeam(ctx context.Context, r *Request, villageID, userID int64) (store.TeamMember, bool, error) {
	team, err := r.tx.TeamOf(ctx, []int64{villageID})
	if err != nil {
		return store.TeamMember{}, false, err
	}
	i := slices.IndexFunc(team, func(m store.TeamMember) bool { return m.UserID == userID })
	if i < 0 {
		return store.TeamMember{}, false, nil
	}
	return team[i], true, nil
}

func (h *Handlers) ledgerWho(ctx context.Context, r *Request) error {
	v, pressed := r.Pressed()
	uid, err := strconv.ParseInt(v, 10, 64)
	if !pressed || err != nil {
		r.Say("ledger.use_buttons")
		return nil
	}
	p, _, ok, err := h.draftProblem(ctx, r)
	if err != nil || !ok {
		return err
	}
	m, ok, err := h.responsibleOnTeam(ctx, r, p.RegionID, uid)
	if err != nil {
		return err
	}
	if !ok {
		r.Say("common.not_allowed")
		return nil
	}
	r.SetDraft("resp", strconv.FormatInt(m.UserID, 10))
	r.Goto(flowLedger, stepLedgerUnit)
	r.Prompt(r.T("ledger.ask_unit", "Name", m.FirstName, "Max", maxUnitRunes), nil)
	return nil
}

// stepText reads a text answer of at most max characters, or re-prompts.
func (r *Request) stepText(limit int) (string, bool) {
	text := strings.TrimSpace(r.In.Text)
	switch {
	case r.In.Callback != nil || len(r.In.Photos) > 0 || text == "":
		r.Say("ledger.need_text", "Max", limit)
		return "", false
	case utf8.RuneCountInString(text) > limit:
		r.Say("ledger.text_too_long", "Max", limit, "Length", utf8.RuneCountInString(text))
		return "", false
	}
	return text, true
}

func (h *Handlers) ledgerUnit(_ context.Context, r *Request) error {
	text, ok := r.stepText(maxUnitRunes)
	if !ok {
		return nil
	}
	r.SetDraft("unit", text)
	r.Goto(flowLedger, stepLedgerMeasures)
	r.Say("ledger.ask_measures", "Max", maxMeasuresRunes)
	return nil
}

func (h *Handlers) ledgerMeasures(ctx context.Context, r *Request) error {
	text, ok := r.stepText(maxMeasuresRunes)
	if !ok {
		return nil
	}
	_, village, ok, err := h.draftProblem(ctx, r)
	if err != nil || !ok {
		return err
	}
	_, loc, err := h.rules(ctx, r, village)
	if err != nil {
		return err
	}
	r.SetDraft("measures", text)
	r.Goto(flowLedger, stepLedgerDeadline)
	r.Say("ledger.ask_deadline", "Example", dateOf(h.cfg.NowFunc().In(loc)).AddDate(0, 0, 14).Format(time.DateOnly))
	return nil
}

// parseDeadline reads a date: 2026-11-20, 2026/11/20, 2026.11.20 or 2026年11月20日.
func parseDeadline(s string) (time.Time, bool) {
	s = strings.NewReplacer("/", "-", ".", "-", "年", "-", "月", "-", "日", "", " ", "").Replace(strings.TrimSpace(s))
	d, err := time.Parse("2006-1-2", s)
	return d, err == nil
}

func (h *Handlers) ledgerDeadline(ctx context.Context, r *Request) error {
	p, village, ok, err := h.draftProblem(ctx, r)
	if err != nil || !ok {
		return err
	}
	_, loc, err := h.rules(ctx, r, village)
	if err != nil {
		return err
	}
	today := dateOf(h.cfg.NowFunc().In(loc))
	deadline, ok := parseDeadline(r.In.Text)
	if r.In.Callback != nil || !ok || deadline.Before(today) {
		r.Say("ledger.bad_deadline", "Today", today.Format(time.DateOnly), "Example", today.AddDate(0, 0, 14).Format(time.DateOnly))
		return nil
	}
	uid, _ := r.draftInt("resp")
	m, ok, err := h.responsibleOnTeam(ctx, r, p.RegionID, uid)
	if err != nil {
		return err
	}
	unit, measures := r.Draft("unit"), r.Draft("measures")
	if !ok || unit == "" || measures == "" {
		r.browse()
		r.Say("common.flow_gone")
		return nil
	}
	return h.commit(ctx, r, p, village, transition{code: actAssign, to: store.StatusAssigned, event: eventAssign,
		note: m.FirstName + " · " + unit + " · " + deadline.Format(time.DateOnly),
		change: func(p *store.Problem) {
			p.ResponsibleID, p.ResponsibleUnit, p.Measures, p.Deadline = &m.UserID, unit, measures, &deadline
		}})
}

func (h *Handlers) ledgerCloseKind(ctx context.Context, r *Request) error {
	v, _ := r.Pressed()
	if v != closeDuplicate && v != closeNotActionable {
		r.Say("ledger.use_buttons")
		return nil
	}
	if _, _, ok, err := h.draftProblem(ctx, r); err != nil || !ok {
		return err
	}
	r.SetDraft("kind", v)
	r.Goto(flowLedger, stepLedgerReason)
	r.Prompt(r.T("ledger.ask_close_reason", "Kind", r.T(closeReasonMessageID(v)), "Max", maxReasonRunes), nil)
	return nil
}

// ledgerReason takes the reason of a send-back or a closing and makes the transition.
func (h *Handlers) ledgerReason(ctx context.Context, r *Request) error {
	text, ok := r.stepText(maxReasonRunes)
	if !ok {
		return nil
	}
	p, village, ok, err := h.draftProblem(ctx, r)
	if err != nil || !ok {
		return err
	}
	now := h.cfg.NowFunc()
	if r.Draft("a") == actSendBack {
		return h.commit(ctx, r, p, village, transition{code: actSendBack, to: store.StatusInProgress, event: eventSendBack,
			note: text, change: func(p *store.Problem) { p.ResolvedAt = nil }})
	}
	kind := r.Draft("kind")
	event := eventCloseNotActionable
	switch kind {
	case closeDuplicate:
		event = eventCloseDuplicate
	case closeNotActionable:
	default:
		r.browse()
		r.Say("common.flow_gone")
		return nil
	}
	return h.commit(ctx, r, p, village, transition{code: actClose, to: store.StatusClosed, event: event, note: text,
		change: func(p *store.Problem) { p.CloseReason, p.ClosedAt = kind, &now }})
}

// ledgerPhotos gathers a progress note (text, photos or both) or the evidence of a fix
// (at least one photo, text optional) until the user taps done. Photos are kept in the
// conversation state by message id without changing the conversation, so an album's
// updates may be handled in any order.
func (h *Handlers) ledgerPhotos(ctx context.Context, r *Request) error {
	step := r.Conv.Step
	done := [][]Button{{button(r.T("ledger.btn_done"), flowLedger, step, "done")}}
	if v, ok := r.Pressed(); ok {
		if v != "done" {
			r.Say("ledger.use_buttons")
			return nil
		}
		return h.finishPhotos(ctx, r, step)
	}
	text := strings.TrimSpace(r.In.Text)
	if utf8.RuneCountInString(text) > maxReasonRunes {
		r.Say("ledger.text_too_long", "Max", maxReasonRunes, "Length", utf8.RuneCountInString(text))
		return nil
	}
	if text != "" && text != r.Draft("note") {
		r.SetDraft("note", text)
	}
	if len(r.In.Photos) == 0 {
		switch {
		case r.In.Document:
			r.Say("ledger.photo_not_file")
		case text != "":
			r.Reply(Reply{Text: r.T("ledger.text_noted"), Buttons: done})
		default:
			r.Reply(Reply{Text: r.T("ledger.need_note"), Buttons: done})
		}
		return nil
	}
	n, first, overflow, err := h.addDraftPhoto(ctx, r, maxStepPhotos)
	if err != nil {
		return err
	}
	if overflow {
		r.Say("ledger.too_many_photos", "Max", maxStepPhotos)
		return nil
	}
	switch {
	case r.In.MediaGroupID == "":
		r.Reply(Reply{Text: r.T("ledger.photo_received", "Count", n, "Max", maxStepPhotos), Buttons: done})
	case first:
		r.Reply(Reply{Text: r.T("ledger.album_received", "Max", maxStepPhotos), Buttons: done})
	}
	return nil
}

func (h *Handlers) finishPhotos(ctx context.Context, r *Request, step string) error {
	draft, err := h.state.DraftPhotos(ctx, r.In.ChatID)
	if err != nil {
		return err
	}
	note := r.Draft("note")
	switch {
	case step == stepLedgerEvidence && len(draft) == 0:
		r.Say("ledger.need_evidence")
		return nil
	case step == stepLedgerNote && len(draft) == 0 && note == "":
		r.Say("ledger.need_note")
		return nil
	}
	p, village, ok, err := h.draftProblem(ctx, r)
	if err != nil || !ok {
		return err
	}
	photos := make([]store.ProblemPhoto, 0, len(draft))
	for _, d := range draft {
		photos = append(photos, store.ProblemPhoto{FileID: d.FileID, UniqueID: d.UniqueID})
	}
	t := transition{code: actNote, to: store.StatusInProgress, event: eventProgress, note: note,
		photos: photos, photoKind: store.PhotoProgress}
	if step == stepLedgerEvidence {
		now := h.cfg.NowFunc()
		t = transition{code: actResolve, to: store.StatusResolved, event: eventResolve, note: note,
			photos: photos, photoKind: store.PhotoEvidence, change: func(p *store.Problem) { p.ResolvedAt = &now }}
	}
	if err := h.commit(ctx, r, p, village, t); err != nil {
		return err
	}
	return h.state.ClearDraftPhotos(ctx, r.In.ChatID)
}

// transition is one change of a problem's state, as recorded in its history.
type transition struct {
	code      string
	to        string
	event     string
	note      string
	photos    []store.ProblemPhoto
	photoKind string
	change    func(p *store.Problem)
}

// commit writes a transition of a problem the caller loaded with actionable (locked,
// checked), tells the people involved, and shows the user the updated card.
func (h *Handlers) commit(ctx context.Context, r *Request, p store.Problem, village store.Region, t transition) error {
	now := h.cfg.NowFunc()
	from := p.Status
	p.Status, p.UpdatedAt = t.to, now
	if t.change != nil {
		t.change(&p)
	}
	if err := r.tx.UpdateProblem(ctx, p); err != nil {
		return err
	}
	hid, err := r.tx.AddProblemEvent(ctx, store.ProblemEvent{ProblemID: p.ID, At: now, ActorID: r.User.ID,
		Action: t.event, FromStatus: from, ToStatus: t.to, Note: t.note})
	if err != nil {
		return err
	}
	if len(t.photos) > 0 {
		if err := r.tx.AddProblemPhotos(ctx, p.ID, &hid, t.photoKind, t.photos); err != nil {
			return err
		}
	}
	r.browse()
	if err := h.showCard(ctx, r, p, village, false, r.T(doneMessageID(t.code), "Number", p.Number())); err != nil {
		return err
	}
	return h.notifyTransition(ctx, r, p, village, t)
}

func doneMessageID(code string) string {
	switch code {
	case actAssign:
		return "ledger.done_assign"
	case actStart:
		return "ledger.done_start"
	case actNote:
		return "ledger.done_note"
	case actResolve:
		return "ledger.done_resolve"
	case actVerify:
		return "ledger.done_verify"
	case actSendBack:
		return "ledger.done_send_back"
	default:
		return "ledger.done_close"
	}
}

// notifyTransition tells the reporter and the responsible person of a transition, each
// in their own locale and once, never the one who made it. A resident reporter hears
// only of the outcome: resolved, verified, closed. On a fix the village's first
// secretaries are asked to verify it.
func (h *Handlers) notifyTransition(ctx context.Context, r *Request, p store.Problem, village store.Region, t transition) error {
	told := map[int64]bool{r.User.ID: true}
	tell := func(userID int64, compose func(tr translator) string) error {
		if told[userID] {
			return nil
		}
		told[userID] = true
		u, err := r.tx.UserByID(ctx, userID)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if u.BlockedAt != nil {
			return nil
		}
		tr := h.translatorFor(u)
		r.Reply(Reply{ChatID: userID, Text: compose(tr)})
		return nil
	}
	event := func(tr translator) string {
		s := tr.T("ledger.notice_event", "Number", p.Number(), "Village", village.DisplayName(tr.locale),
			"Event", tr.T(eventMessageID(t.event)), "Text", truncate(p.Description, 60))
		if t.note != "" && t.code != actAssign {
			s += "\n" + tr.T("ledger.notice_note", "Note", t.note)
		}
		return s
	}
	withHint := func(compose func(tr translator) string) func(tr translator) string {
		return func(tr translator) string { return compose(tr) + "\n" + tr.T("ledger.notice_hint") }
	}
	var responsible int64
	if p.ResponsibleID != nil {
		responsible = *p.ResponsibleID
	}
	if responsible != 0 {
		compose := withHint(event)
		if t.code == actAssign {
			compose = func(tr translator) string {
				return tr.T("ledger.notice_assigned", "Number", p.Number(), "Village", village.DisplayName(tr.locale),
					"Category", tr.T(categoryMessageID(p.Category)), "Text", truncate(p.Description, 200),
					"Unit", p.ResponsibleUnit, "Measures", p.Measures, "Deadline", p.Deadline.Format(time.DateOnly))
			}
		}
		if err := tell(responsible, compose); err != nil {
			return err
		}
	}
	if p.ReporterRole == store.RoleResident {
		var msg string
		switch t.code {
		case actResolve:
			msg = "ledger.notice_resident_resolved"
		case actVerify:
			msg = "ledger.notice_resident_verified"
		case actClose:
			msg = "ledger.notice_resident_closed"
		}
		if msg != "" {
			if err := tell(p.ReportedBy, func(tr translator) string {
				return tr.T(msg, "Number", p.Number(), "Village", village.DisplayName(tr.locale),
					"Text", truncate(p.Description, 60), "Reason", tr.T(closeReasonMessageID(p.CloseReason)), "Note", t.note)
			}); err != nil {
				return err
			}
		}
	} else if t.code != actNote {
		if err := tell(p.ReportedBy, withHint(event)); err != nil {
			return err
		}
	}
	if t.code == actResolve {
		team, err := r.tx.TeamOf(ctx, []int64{village.ID})
		if err != nil {
			return err
		}
		for _, m := range team {
			if m.Role != store.RoleFirstSecretary {
				continue
			}
			if err := tell(m.UserID, func(tr translator) string {
				return tr.T("ledger.notice_to_verify", "Number", p.Number(), "Village", village.DisplayName(tr.locale),
					"Text", truncate(p.Description, 60))
			}); err != nil {
				return err
			}
		}
	}
	return nil
}

// problemButton is the browsing step's button for a value.
func problemButton(text, value string) Button {
	return button(text, flowLedger, stepLedgerBrowse, value)
}

// actionData is the callback data of a transition's button on a card.
func actionData(code string, id int64) string {
	return callbackData(flowLedger, stepLedgerBrowse, fmt.Sprintf("a.%s.%d", code, id))
}
