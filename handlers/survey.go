package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	qrcode "github.com/skip2/go-qrcode"

	"zhucun/store"
	"zhucun/surveys"
)

// Satisfaction surveys (群众满意度测评): supervisors open assessments of a village and
// sample its households with single-use slips; first secretaries (and supervisors)
// open open surveys behind a poster. The flow "sv" runs them (lists, cards, opening,
// slips, paper answers, closing); "sa" answers them (survey_answer.go).
const (
	flowSurvey = "sv"
	flowAnswer = "sa"

	stepSurveyMenu     = "menu"
	stepSurveyVillage  = "vil"
	stepSurveyTemplate = "tpl"
	stepSurveyOpens    = "opens"
	stepSurveyDays     = "days"
	stepSurveySlips    = "slips"
	stepSurveyPaper    = "paper"

	// surveyListDays is how long a closed survey stays in the list.
	surveyListDays = 120
	surveyListMax  = 20
	// maxSlipsAtOnce bounds one issue of slips, maxSlipsPerSurvey a survey's sample.
	maxSlipsAtOnce        = 300
	maxSlipsPerSurvey     = 2000
	surveyVillagesPerPage = 10

	auditSurveyOpen  = "survey:open"
	auditSurveySlips = "survey:slips"
)

// surveyDays are the lengths a survey can run, in local days.
var surveyDays = []int{3, 7, 14, 30}

// surveyCommands are the commands of surveys.
func (h *Handlers) surveyCommands() []command {
	return []command{
		{name: "survey", help: "help.cmd_survey", access: accessOverseer, run: h.surveyMenu},
		{name: "surveyrules", help: "help.cmd_surveyrules", access: accessAdmin, run: h.surveyRules},
	}
}

// surveySteps are the steps of running surveys: the menu and cards, opening one,
// issuing slips, entering a paper answer.
func (h *Handlers) surveySteps() map[string]stepFunc {
	return map[string]stepFunc{
		stepSurveyMenu: h.surveyMenuPress, stepSurveyVillage: h.surveyVillage, stepSurveyTemplate: h.surveyTemplatePick,
		stepSurveyOpens: h.surveyOpens, stepSurveyDays: h.surveyDaysPick, stepSurveySlips: h.surveySlipsCount,
		stepSurveyPaper: h.surveyPaperSlip,
	}
}

// assesses reports whether the user runs the village's assessments: opens them, issues
// their slips, enters paper answers, closes them early. Supervisors over the village
// (and admins) do, never the team being assessed.
func (r *Request) assesses(village store.Region) bool {
	return (r.Admin || r.supervises(village)) && !r.onTeam(village.ID)
}

// followsSurveys reports whether the user sees the village's surveys and their results
// and may open an open survey there: its first secretary, a supervisor over it, an admin.
func (r *Request) followsSurveys(village store.Region) bool {
	return r.Admin || r.leads(village.ID) || r.supervises(village)
}

// readsComments reports whether the user is shown the comments of the village's
// surveys: its first secretary and the supervisors over it.
func (r *Request) readsComments(village store.Region) bool {
	return r.leads(village.ID) || r.supervises(village)
}

// mayOpenSurvey reports whether the user may open a survey of kind at the village.
func (r *Request) mayOpenSurvey(kind string, village store.Region) bool {
	if kind == store.SurveyAssessment {
		return r.assesses(village)
	}
	return r.followsSurveys(village)
}

// mayCloseSurvey reports whether the user may close the survey early.
func (r *Request) mayCloseSurvey(s store.Survey, village store.Region) bool {
	return r.mayOpenSurvey(s.Kind, village)
}

func surveyButton(text, value string) Button { return button(text, flowSurvey, stepSurveyMenu, value) }

// surveyMenu lists the surveys of the villages the user follows, with buttons to open one.
func (h *Handlers) surveyMenu(ctx context.Context, r *Request) error {
	if err := h.closeDueSurveys(ctx, r); err != nil {
		return err
	}
	r.Goto(flowSurvey, stepSurveyMenu)
	return h.surveyList(ctx, r)
}

func (h *Handlers) surveyList(ctx context.Context, r *Request) error {
	villages, err := h.overseenVillages(ctx, r)
	if err != nil {
		return err
	}
	now := h.cfg.NowFunc()
	list, err := r.tx.SurveysOf(ctx, ids(villages), now.Add(-surveyListDays*24*time.Hour), surveyListMax)
	if err != nil {
		return err
	}
	lines := []string{r.T("survey.menu_title")}
	if len(list) == 0 {
		lines = append(lines, r.T("survey.none"))
	}
	var rows [][]Button
	for _, s := range list {
		i := slices.IndexFunc(villages, func(v store.Region) bool { return v.ID == s.RegionID })
		if i < 0 {
			continue
		}
		loc, err := h.surveyLocation(ctx, r.tx, villages[i])
		if err != nil {
			return err
		}
		label := r.T("survey.list_item", "Village", villages[i].DisplayName(r.Locale()),
			"Kind", r.T(surveyKindMessage(s.Kind)), "State", surveyState(r.tr, s, now, loc))
		rows = append(rows, []Button{surveyButton(label, "c"+strconv.FormatInt(s.ID, 10))})
	}
	if slices.ContainsFunc(villages, r.assesses) {
		rows = append(rows, []Button{surveyButton(r.T("survey.new_assessment"), "na")})
	}
	if slices.ContainsFunc(villages, r.followsSurveys) {
		rows = append(rows, []Button{surveyButton(r.T("survey.new_open"), "no")})
	}
	r.Prompt(strings.Join(lines, "\n"), rows)
	return nil
}

// surveyState says whether a survey is upcoming, open (until its last day) or closed.
func surveyState(tr translator, s store.Survey, now time.Time, loc *time.Location) string {
	switch {
	case s.ClosedAt != nil:
		return tr.T("survey.state_closed", "Day", s.ClosedAt.In(loc).Format(time.DateOnly))
	case now.Before(s.OpensAt):
		return tr.T("survey.state_upcoming", "Day", s.OpensAt.In(loc).Format(time.DateOnly))
	}
	return tr.T("survey.state_open", "Day", surveyLastDay(s, loc))
}

// loadSurvey reads a button's survey id and loads the survey and its village for a user
// who follows the village's surveys. When not, it has answered and ok is false.
func (h *Handlers) loadSurvey(ctx context.Context, r *Request, idText string, forUpdate bool) (s store.Survey, village store.Region, ok bool, err error) {
	id, perr := strconv.ParseInt(idText, 10, 64)
	if perr != nil {
		r.Say("survey.use_buttons")
		return s, village, false, nil
	}
	s, err = r.tx.SurveyByID(ctx, id, forUpdate)
	if errors.Is(err, store.ErrNotFound) {
		r.Say("common.not_allowed")
		return s, village, false, nil
	}
	if err != nil {
		return s, village, false, err
	}
	if village, err = r.tx.RegionByID(ctx, s.RegionID); err != nil {
		return s, village, false, err
	}
	if !r.followsSurveys(village) { // everyone who assesses a village follows it
		r.Say("common.not_allowed")
		return s, village, false, nil
	}
	return s, village, true, nil
}

// surveyMenuPress handles the buttons of the list and of survey cards.
func (h *Handlers) surveyMenuPress(ctx context.Context, r *Request) error {
	v, ok := r.Pressed()
	if !ok || v == "" {
		r.Say("survey.use_buttons")
		return nil
	}
	if err := h.closeDueSurveys(ctx, r); err != nil {
		return err
	}
	switch v {
	case "l":
		return h.surveyList(ctx, r)
	case "na", "no":
		kind := store.SurveyAssessment
		if v == "no" {
			kind = store.SurveyOpen
		}
		r.Goto(flowSurvey, stepSurveyVillage)
		r.SetDraft("kind", kind)
		return h.surveyVillages(ctx, r, 0)
	}
	s, village, ok, err := h.loadSurvey(ctx, r, v[1:], v[0] == 'X')
	if err != nil || !ok {
		return err
	}
	now := h.cfg.NowFunc()
	switch v[0] {
	case 'c':
		return h.showSurveyCard(ctx, r, s, village)
	case 'r':
		return h.surveyResults(ctx, r, s, village)
	case 's':
		if s.Kind != store.SurveyAssessment || !r.assesses(village) {
			r.Say("common.not_allowed")
			return nil
		}
		if s.ClosedAt != nil {
			r.Say("survey.closed")
			return nil
		}
		r.Goto(flowSurvey, stepSurveySlips)
		r.SetDraft("survey", strconv.FormatInt(s.ID, 10))
		r.Prompt(r.T("survey.ask_slips", "Village", village.DisplayName(r.Locale()), "Issued", s.SlipsIssued,
			"Max", maxSlipsAtOnce), nil)
		return nil
	case 'p':
		if s.Kind != store.SurveyAssessment || !r.assesses(village) {
			r.Say("common.not_allowed")
			return nil
		}
		if !s.OpenAt(now) || s.SlipsIssued == 0 {
			r.Say("survey.paper_not_now")
			return nil
		}
		r.Goto(flowSurvey, stepSurveyPaper)
		r.SetDraft("survey", strconv.FormatInt(s.ID, 10))
		r.Prompt(r.T("survey.ask_paper_slip", "Issued", s.SlipsIssued), nil)
		return nil
	case 'x', 'X':
		if !r.mayCloseSurvey(s, village) {
			r.Say("common.not_allowed")
			return nil
		}
		if s.ClosedAt != nil {
			return h.showSurveyCard(ctx, r, s, village)
		}
		id := strconv.FormatInt(s.ID, 10)
		if v[0] == 'x' {
			r.Prompt(r.T("survey.close_confirm", "Village", village.DisplayName(r.Locale())), [][]Button{
				{surveyButton(r.T("survey.close_yes"), "X"+id)}, {surveyButton(r.T("common.back"), "c"+id)},
			})
			return nil
		}
		notices, err := h.closeSurvey(ctx, r.tx, s, now, &r.User.ID)
		if err != nil {
			return err
		}
		s.ClosedAt = &now
		if err := h.showSurveyCard(ctx, r, s, village); err != nil {
			return err
		}
		for _, n := range notices {
			r.Reply(n)
		}
		return nil
	}
	r.Say("survey.use_buttons")
	return nil
}

// showSurveyCard shows a survey: its village, kind, dates and answers so far, with what
// the user may do to it.
func (h *Handlers) showSurveyCard(ctx context.Context, r *Request, s store.Survey, village store.Region) error {
	loc, err := h.surveyLocation(ctx, r.tx, village)
	if err != nil {
		return err
	}
	tpl, err := surveyTemplate(s)
	if err != nil {
		return err
	}
	counts, err := r.tx.BallotCounts(ctx, s.ID)
	if err != nil {
		return err
	}
	total := counts[store.BallotSlip] + counts[store.BallotPaper] + counts[store.BallotPoster]
	now := h.cfg.NowFunc()
	lines := []string{
		r.T("survey.card_title", "Village", village.DisplayName(r.Locale()), "Title", tpl.Title.In(r.Locale()),
			"Kind", r.T(surveyKindMessage(s.Kind))),
		r.T("survey.card_period", "From", s.OpensAt.In(loc).Format("2006-01-02 15:04"), "Until", surveyLastDay(s, loc),
			"State", surveyState(r.tr, s, now, loc)),
	}
	if s.Kind == store.SurveyAssessment {
		lines = append(lines, r.T("survey.card_assessment", "Issued", s.SlipsIssued, "Total", total, "Paper", counts[store.BallotPaper]))
	} else {
		lines = append(lines, r.T("survey.card_open", "Total", total))
	}
	id := strconv.FormatInt(s.ID, 10)
	var rows [][]Button
	if s.ClosedAt == nil {
		if s.Kind == store.SurveyAssessment && r.assesses(village) {
			rows = append(rows, []Button{surveyButton(r.T("survey.issue_slips"), "s"+id)})
			if s.SlipsIssued > 0 && s.OpenAt(now) {
				rows = append(rows, []Button{surveyButton(r.T("survey.enter_paper"), "p"+id)})
			}
		}
		if r.mayCloseSurvey(s, village) {
			rows = append(rows, []Button{surveyButton(r.T("survey.close_early"), "x"+id)})
		}
	} else if r.followsSurveys(village) {
		rows = append(rows, []Button{surveyButton(r.T("survey.see_results"), "r"+id)})
	}
	rows = append(rows, []Button{surveyButton(r.T("common.back"), "l")})
	r.Goto(flowSurvey, stepSurveyMenu)
	r.Prompt(strings.Join(lines, "\n"), rows)
	return nil
}

// surveyResults shows a closed survey's results to someone who follows its village.
func (h *Handlers) surveyResults(ctx context.Context, r *Request, s store.Survey, village store.Region) error {
	if !r.followsSurveys(village) {
		r.Say("common.not_allowed")
		return nil
	}
	if s.ClosedAt == nil {
		r.Say("survey.results_not_yet")
		return nil
	}
	loc, err := h.surveyLocation(ctx, r.tx, village)
	if err != nil {
		return err
	}
	o, err := h.surveyOutcome(ctx, r.tx, s, true)
	if err != nil {
		return err
	}
	var chart []byte
	var comments []string
	if o.shown {
		if chart, err = surveyChartPNG(village, o, loc); err != nil {
			return err
		}
		if r.readsComments(village) {
			if comments, err = r.tx.SurveyComments(ctx, s.ID); err != nil {
				return err
			}
		}
	}
	for _, rep := range resultReplies(r.tr, r.In.ChatID, village, o, chart, comments, r.readsComments(village), loc) {
		r.Reply(rep)
	}
	return nil
}

// surveyVillages shows a page of the villages where the user may open the drafted kind
// of survey.
func (h *Handlers) surveyVillages(ctx context.Context, r *Request, page int) error {
	kind := r.Draft("kind")
	all, err := h.overseenVillages(ctx, r)
	if err != nil {
		return err
	}
	var list []store.Region
	for _, v := range all {
		if r.mayOpenSurvey(kind, v) {
			list = append(list, v)
		}
	}
	if len(list) == 0 {
		r.EndFlow()
		r.Prompt(r.T("survey.no_villages"), nil)
		return nil
	}
	start := min(page*surveyVillagesPerPage, len(list))
	end := min(start+surveyVillagesPerPage, len(list))
	var rows [][]Button
	for _, v := range list[start:end] {
		rows = append(rows, []Button{button(v.DisplayName(r.Locale()), flowSurvey, stepSurveyVillage, "v"+strconv.FormatInt(v.ID, 10))})
	}
	var nav []Button
	if page > 0 {
		nav = append(nav, button(r.T("common.previous"), flowSurvey, stepSurveyVillage, "p"+strconv.Itoa(page-1)))
	}
	if end < len(list) {
		nav = append(nav, button(r.T("common.next"), flowSurvey, stepSurveyVillage, "p"+strconv.Itoa(page+1)))
	}
	if nav != nil {
		rows = append(rows, nav)
	}
	r.Prompt(r.T("survey.pick_village", "Kind", r.T(surveyKindMessage(kind))), rows)
	return nil
}

func (h *Handlers) surveyVillage(ctx context.Context, r *Request) error {
	v, ok := r.Pressed()
	if !ok || v == "" {
		r.Say("survey.use_buttons")
		return nil
	}
	n, err := strconv.ParseInt(v[1:], 10, 64)
	if err != nil || n < 0 {
		r.Say("survey.use_buttons")
		return nil
	}
	switch v[0] {
	case 'p':
		return h.surveyVillages(ctx, r, int(n))
	case 'v':
		village, err := r.tx.RegionByID(ctx, n)
		if errors.Is(err, store.ErrNotFound) || (err == nil && !r.mayOpenSurvey(r.Draft("kind"), village)) {
			r.Say("common.not_allowed")
			return nil
		}
		if err != nil {
			return err
		}
		r.SetDraft("village", strconv.FormatInt(village.ID, 10))
		tpls, err := surveys.All()
		if err != nil {
			return err
		}
		if len(tpls) == 1 {
			r.SetDraft("template", tpls[0].ID)
			return h.askSurveyOpens(r)
		}
		r.Goto(flowSurvey, stepSurveyTemplate)
		var rows [][]Button
		for _, t := range tpls {
			rows = append(rows, []Button{button(t.Title.In(r.Locale()), flowSurvey, stepSurveyTemplate, t.ID)})
		}
		r.Prompt(r.T("survey.pick_template"), rows)
		return nil
	}
	r.Say("survey.use_buttons")
	return nil
}

func (h *Handlers) surveyTemplatePick(_ context.Context, r *Request) error {
	v, ok := r.Pressed()
	tpls, err := surveys.All()
	if err != nil {
		return err
	}
	if !ok || !slices.ContainsFunc(tpls, func(t surveys.Template) bool { return t.ID == v }) {
		r.Say("survey.use_buttons")
		return nil
	}
	r.SetDraft("template", v)
	return h.askSurveyOpens(r)
}

func (h *Handlers) askSurveyOpens(r *Request) error {
	r.Goto(flowSurvey, stepSurveyOpens)
	r.Prompt(r.T("survey.pick_opens"), [][]Button{{
		button(r.T("survey.opens_now"), flowSurvey, stepSurveyOpens, "0"),
		button(r.T("survey.opens_tomorrow"), flowSurvey, stepSurveyOpens, "1"),
	}})
	return nil
}

func (h *Handlers) surveyOpens(_ context.Context, r *Request) error {
	v, ok := r.Pressed()
	if !ok || (v != "0" && v != "1") {
		r.Say("survey.use_buttons")
		return nil
	}
	r.SetDraft("opens", v)
	r.Goto(flowSurvey, stepSurveyDays)
	var row []Button
	for _, d := range surveyDays {
		row = append(row, button(r.T("survey.days", "Days", d), flowSurvey, stepSurveyDays, strconv.Itoa(d)))
	}
	r.Prompt(r.T("survey.pick_days"), [][]Button{row})
	return nil
}

// surveyDaysPick takes the survey's length and opens it, checking the whole draft again.
func (h *Handlers) surveyDaysPick(ctx context.Context, r *Request) error {
	v, _ := r.Pressed()
	days, err := strconv.Atoi(v)
	if err != nil || !slices.Contains(surveyDays, days) {
		r.Say("survey.use_buttons")
		return nil
	}
	kind := r.Draft("kind")
	villageID, err := strconv.ParseInt(r.Draft("village"), 10, 64)
	if err != nil || (kind != store.SurveyAssessment && kind != store.SurveyOpen) {
		r.EndFlow()
		r.Say("common.flow_gone")
		return nil
	}
	village, err := r.tx.RegionByID(ctx, villageID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if err != nil || !r.mayOpenSurvey(kind, village) {
		r.EndFlow()
		r.Say("common.not_allowed")
		return nil
	}
	tpls, err := surveys.All()
	if err != nil {
		return err
	}
	i := slices.IndexFunc(tpls, func(t surveys.Template) bool { return t.ID == r.Draft("template") })
	if i < 0 {
		r.EndFlow()
		r.Say("common.flow_gone")
		return nil
	}
	tpl, err := h.surveyRulesFor(ctx, r.tx, village, tpls[i])
	if err != nil {
		return err
	}
	snapshot, err := json.Marshal(tpl)
	if err != nil {
		return err
	}
	loc, err := h.surveyLocation(ctx, r.tx, village)
	if err != nil {
		return err
	}
	now := h.cfg.NowFunc()
	opens := now
	first := surveyDayStart(now, loc)
	if r.Draft("opens") == "1" {
		first = first.AddDate(0, 0, 1)
		opens = first
	}
	s := store.Survey{
		RegionID: village.ID, Kind: kind, TemplateID: tpl.ID, Template: snapshot,
		MinAnswers: int32(tpl.Rules.MinAnswers), PassRate: tpl.Rules.PassRate, Formula: tpl.Rules.Formula,
		OpensAt: opens, ClosesAt: first.AddDate(0, 0, days), CreatedBy: r.User.ID,
	}
	var token string
	var posterHash []byte
	if kind == store.SurveyOpen {
		token, posterHash = newSurveyToken()
	}
	if s, err = r.tx.CreateSurvey(ctx, s, posterHash); err != nil {
		return err
	}
	if err := r.tx.Audit(ctx, store.AuditEntry{
		ActorID: &r.User.ID, Action: auditSurveyOpen, RegionID: &village.ID, Subject: fmt.Sprintf("survey:%d", s.ID),
		Details: []byte(fmt.Sprintf(`{"kind":%q,"template":%q,"days":%d}`, kind, tpl.ID, days)),
	}); err != nil {
		return err
	}
	if err := h.showSurveyCard(ctx, r, s, village); err != nil {
		return err
	}
	if kind == store.SurveyOpen {
		link := h.cfg.DeepLinkFunc(token)
		png, err := qrcode.Encode(link, qrcode.Medium, 512)
		if err != nil {
			return fmt.Errorf("survey poster qr code: %w", err)
		}
		r.Reply(Reply{Text: r.T("survey.poster_caption", "Village", village.DisplayName(r.Locale()), "Link", link,
			"Until", surveyLastDay(s, loc)), Photo: &File{Name: "survey-poster.png", Bytes: png}})
	}
	return nil
}

// surveyDayStart is the start of t's local day in loc.
func surveyDayStart(t time.Time, loc *time.Location) time.Time {
	l := t.In(loc)
	return time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, loc)
}

// surveySlipsCount issues the number of slips the supervisor asked for: a sheet of QR
// slips to print (12 a page) and the links as a text file.
func (h *Handlers) surveySlipsCount(ctx context.Context, r *Request) error {
	n, err := strconv.Atoi(strings.TrimSpace(r.In.Text))
	if r.In.Callback != nil || err != nil || n < 1 || n > maxSlipsAtOnce {
		r.Say("survey.bad_slips", "Max", maxSlipsAtOnce)
		return nil
	}
	s, village, ok, err := h.loadSurvey(ctx, r, r.Draft("survey"), true)
	if err != nil || !ok {
		r.EndFlow()
		return err
	}
	if s.Kind != store.SurveyAssessment || !r.assesses(village) {
		r.EndFlow()
		r.Say("common.not_allowed")
		return nil
	}
	if s.ClosedAt != nil {
		r.EndFlow()
		r.Say("survey.closed")
		return nil
	}
	if left := maxSlipsPerSurvey - int(s.SlipsIssued); n > left {
		r.Say("survey.too_many_slips", "Max", maxSlipsPerSurvey, "Left", left)
		return nil
	}
	slips := make([]surveySlip, n)
	hashes := make([][]byte, n)
	for i := range slips {
		token, hash := newSurveyToken()
		slips[i].link, hashes[i] = h.cfg.DeepLinkFunc(token), hash
	}
	first, err := r.tx.IssueSlips(ctx, s.ID, hashes)
	if err != nil {
		return err
	}
	if err := r.tx.Audit(ctx, store.AuditEntry{
		ActorID: &r.User.ID, Action: auditSurveySlips, RegionID: &village.ID, Subject: fmt.Sprintf("survey:%d", s.ID),
		Details: []byte(fmt.Sprintf(`{"count":%d,"first":%d}`, n, first)),
	}); err != nil {
		return err
	}
	s.SlipsIssued += int32(n)
	loc, err := h.surveyLocation(ctx, r.tx, village)
	if err != nil {
		return err
	}
	name := village.NameEn
	if name == "" {
		name = village.Code
	}
	until := surveyLastDay(s, loc)
	var links strings.Builder
	for i := range slips {
		slips[i].number = first + i
		fmt.Fprintf(&links, "No. %d\t%s\n", slips[i].number, slips[i].link)
	}
	r.Say("survey.slips_issued", "Count", n, "From", first, "To", first+n-1, "Village", village.DisplayName(r.Locale()))
	for from := 0; from < n; from += slipsPerSlipSheet {
		page := slips[from:min(from+slipsPerSlipSheet, n)]
		png, err := slipSheet(page, name, "Until "+until)
		if err != nil {
			return err
		}
		a, b := page[0].number, page[len(page)-1].number
		r.Reply(Reply{Text: r.T("survey.sheet_caption", "Village", village.DisplayName(r.Locale()), "From", a, "To", b, "Until", until),
			Document: &File{Name: fmt.Sprintf("survey-%d-slips-%d-%d.png", s.ID, a, b), Bytes: png}})
	}
	r.Reply(Reply{Text: r.T("survey.links_caption"),
		Document: &File{Name: fmt.Sprintf("survey-%d-links-%d-%d.txt", s.ID, first, first+n-1), Bytes: []byte(links.String())}})
	r.EndFlow()
	return h.showSurveyCard(ctx, r, s, village)
}

// surveyPaperSlip takes the number on the slip of a surveyHousehold that answers on paper and
// starts entering its answers.
func (h *Handlers) surveyPaperSlip(ctx context.Context, r *Request) error {
	n, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(strings.ToLower(r.In.Text)), "no.")))
	s, village, ok, lerr := h.loadSurvey(ctx, r, r.Draft("survey"), false)
	if lerr != nil || !ok {
		r.EndFlow()
		return lerr
	}
	if s.Kind != store.SurveyAssessment || !r.assesses(village) {
		r.EndFlow()
		r.Say("common.not_allowed")
		return nil
	}
	if !s.OpenAt(h.cfg.NowFunc()) {
		r.EndFlow()
		r.Say("survey.closed")
		return nil
	}
	if r.In.Callback != nil || err != nil || n < 1 {
		r.Say("survey.ask_paper_slip", "Issued", s.SlipsIssued)
		return nil
	}
	slip, err := r.tx.SlipByNumber(ctx, s.ID, int32(n))
	if errors.Is(err, store.ErrNotFound) {
		r.Say("survey.paper_no_slip", "Number", n, "Issued", s.SlipsIssued)
		return nil
	}
	if err != nil {
		return err
	}
	if slip.Used {
		r.Say("survey.paper_slip_used", "Number", n)
		return nil
	}
	r.Goto(flowAnswer, stepAnswerQuestion)
	r.SetDraft("s", strconv.FormatInt(s.ID, 10))
	r.SetDraft("via", store.BallotPaper)
	r.SetDraft("no", strconv.Itoa(n))
	r.SetDraft("a", "")
	r.Say("survey.paper_intro", "Number", n, "Village", village.DisplayName(r.Locale()))
	return h.askSurveyQuestion(r, s, 0)
}
