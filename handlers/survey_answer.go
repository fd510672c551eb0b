package handlers

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"zhucun/store"
)

// Answering a survey: a resident through a slip or a poster, a supervisor entering a
// surveyHousehold's paper answers. The draft holds the survey ("s"), how the answer comes in
// ("via"), the slip's hash or number, the options chosen so far ("a") and the comment
// ("c"); it is dropped the moment the answer is saved. Every button names its survey
// and question, and both must be the draft's: a press for another survey, another
// question or an option the template lacks is refused and changes nothing.
const (
	stepAnswerQuestion = "q"
	stepAnswerComment  = "cmt"
	stepAnswerConfirm  = "ok"
	stepAnswerFollow   = "fol"

	maxSurveyCommentRunes = 500
	auditSurveyPaper      = "survey:paper"
)

func (h *Handlers) answerSteps() map[string]stepFunc {
	return map[string]stepFunc{
		stepAnswerQuestion: h.surveyAnswer, stepAnswerComment: h.surveyComment,
		stepAnswerConfirm: h.surveySubmit, stepAnswerFollow: h.surveyFollow,
	}
}

// residentElsewhere reports whether the user joined other villages as a resident but
// not this one.
func (r *Request) residentElsewhere(village store.Region) bool {
	elsewhere := false
	for _, ro := range r.Roles {
		if ro.Role == store.RoleResident {
			if ro.Region.Contains(village) {
				return false
			}
			elsewhere = true
		}
	}
	return elsewhere
}

// surveyStart opens the survey behind a slip or a poster link (/start s_…) in the
// user's language.
func (h *Handlers) surveyStart(ctx context.Context, r *Request, token string) error {
	if err := h.closeDueSurveys(ctx, r); err != nil {
		return err
	}
	if !validSurveyToken(token) {
		r.Say("survey.invalid_link")
		return nil
	}
	hash := hashToken(token)
	via := store.BallotSlip
	var s store.Survey
	slip, err := r.tx.SlipByHash(ctx, hash)
	switch {
	case err == nil:
		s, err = r.tx.SurveyByID(ctx, slip.SurveyID, false)
	case errors.Is(err, store.ErrNotFound):
		via = store.BallotPoster
		s, err = r.tx.SurveyByPoster(ctx, hash)
	}
	if errors.Is(err, store.ErrNotFound) {
		r.Say("survey.invalid_link")
		return nil
	}
	if err != nil {
		return err
	}
	village, err := r.tx.RegionByID(ctx, s.RegionID)
	if err != nil {
		return err
	}
	loc, err := h.surveyLocation(ctx, r.tx, village)
	if err != nil {
		return err
	}
	name := village.DisplayName(r.Locale())
	now := h.cfg.NowFunc()
	switch {
	case r.onTeam(village.ID):
		r.Say("survey.team_cannot_answer", "Village", name)
		return nil
	case r.residentElsewhere(village):
		r.Say("survey.other_village", "Village", name)
		return nil
	case s.ClosedAt != nil || !now.Before(s.ClosesAt):
		r.Say("survey.closed")
		return nil
	case now.Before(s.OpensAt):
		r.Say("survey.not_open_yet", "Day", s.OpensAt.In(loc).Format("2006-01-02 15:04"))
		return nil
	case via == store.BallotSlip && slip.Used:
		r.Say("survey.slip_used")
		return nil
	}
	if via == store.BallotPoster {
		voter, err := h.voterHash(s.ID, r.User.ID)
		if err != nil {
			return err
		}
		answered, err := r.tx.HasAnswered(ctx, s.ID, voter)
		if err != nil {
			return err
		}
		if answered {
			r.Say("survey.already_answered")
			return nil
		}
	}
	tpl, err := surveyTemplate(s)
	if err != nil {
		return err
	}
	r.Goto(flowAnswer, stepAnswerQuestion)
	r.SetDraft("s", strconv.FormatInt(s.ID, 10))
	r.SetDraft("via", via)
	if via == store.BallotSlip {
		r.SetDraft("slip", hex.EncodeToString(hash))
	}
	r.SetDraft("a", "")
	r.Say("survey.intro", "Village", name, "Title", tpl.Title.In(r.Locale()), "Intro", tpl.Intro.In(r.Locale()),
		"Count", len(tpl.Questions), "Until", surveyLastDay(s, loc))
	return h.askSurveyQuestion(r, s, 0)
}

// askSurveyQuestion asks question q, with its options as buttons (and a way back).
func (h *Handlers) askSurveyQuestion(r *Request, s store.Survey, q int) error {
	tpl, err := surveyTemplate(s)
	if err != nil {
		return err
	}
	var rows [][]Button
	for o, opt := range tpl.Options {
		rows = append(rows, []Button{button(opt.Text.In(r.Locale()), flowAnswer, stepAnswerQuestion, fmt.Sprintf("%d.%d.%d", s.ID, q, o))})
	}
	if q > 0 {
		rows = append(rows, []Button{button(r.T("survey.previous_question"), flowAnswer, stepAnswerQuestion, fmt.Sprintf("%d.%d.b", s.ID, q))})
	}
	r.Goto(flowAnswer, stepAnswerQuestion)
	r.Prompt(r.T("survey.question", "N", q+1, "Count", len(tpl.Questions), "Text", tpl.Questions[q].Text.In(r.Locale())), rows)
	return nil
}

// answeringSurvey loads the survey the chat is answering, when sid (from a button) is
// the draft's. A survey that closed meanwhile ends the flow, its answers unsaved; a
// supervisor entering paper answers must still run the assessment.
func (h *Handlers) answeringSurvey(ctx context.Context, r *Request, sid string) (store.Survey, store.Region, bool, error) {
	var s store.Survey
	var village store.Region
	if sid == "" || sid != r.Draft("s") {
		r.Say("common.not_allowed")
		return s, village, false, nil
	}
	if err := h.closeDueSurveys(ctx, r); err != nil {
		return s, village, false, err
	}
	id, err := strconv.ParseInt(sid, 10, 64)
	if err != nil {
		r.EndFlow()
		r.Say("common.flow_gone")
		return s, village, false, nil
	}
	if s, err = r.tx.SurveyByID(ctx, id, false); err != nil {
		return s, village, false, err
	}
	if village, err = r.tx.RegionByID(ctx, s.RegionID); err != nil {
		return s, village, false, err
	}
	if r.Draft("via") == store.BallotPaper && (!r.assesses(village) || s.Kind != store.SurveyAssessment) {
		r.EndFlow()
		r.Say("common.not_allowed")
		return s, village, false, nil
	}
	if !s.OpenAt(h.cfg.NowFunc()) {
		r.EndFlow()
		r.Prompt(r.T("survey.closed_unsaved"), nil)
		return s, village, false, nil
	}
	return s, village, true, nil
}

// surveyDraftAnswers are the option indexes chosen so far, in question order.
func surveyDraftAnswers(r *Request) []string {
	if a := r.Draft("a"); a != "" {
		return strings.Split(a, ".")
	}
	return nil
}

// surveyAnswer takes the option chosen for the current question (value survey.q.option),
// or goes back one question (survey.q.b).
func (h *Handlers) surveyAnswer(ctx context.Context, r *Request) error {
	v, ok := r.Pressed()
	parts := strings.Split(v, ".")
	if !ok || len(parts) != 3 {
		r.Say("survey.use_buttons")
		return nil
	}
	s, _, ok, err := h.answeringSurvey(ctx, r, parts[0])
	if err != nil || !ok {
		return err
	}
	tpl, err := surveyTemplate(s)
	if err != nil {
		return err
	}
	answers := surveyDraftAnswers(r)
	q, err := strconv.Atoi(parts[1])
	if err != nil || q != len(answers) || q >= len(tpl.Questions) {
		r.Say("common.stale_button")
		return nil
	}
	if parts[2] == "b" && q > 0 {
		r.SetDraft("a", strings.Join(answers[:q-1], "."))
		return h.askSurveyQuestion(r, s, q-1)
	}
	o, err := strconv.Atoi(parts[2])
	if err != nil || o < 0 || o >= len(tpl.Options) || parts[2] != strconv.Itoa(o) {
		r.Say("common.not_allowed")
		return nil
	}
	answers = append(answers, parts[2])
	r.SetDraft("a", strings.Join(answers, "."))
	switch {
	case len(answers) < len(tpl.Questions):
		return h.askSurveyQuestion(r, s, len(answers))
	case tpl.Comment:
		r.Goto(flowAnswer, stepAnswerComment)
		r.Prompt(r.T("survey.ask_comment", "Max", maxSurveyCommentRunes), [][]Button{{
			button(r.T("survey.skip_comment"), flowAnswer, stepAnswerComment, parts[0]+".skip"),
		}})
		return nil
	}
	return h.confirmSurvey(r, parts[0])
}

// surveyComment takes the optional comment, or its skip button.
func (h *Handlers) surveyComment(ctx context.Context, r *Request) error {
	if v, ok := r.Pressed(); ok {
		sid, action, _ := strings.Cut(v, ".")
		if _, _, ok, err := h.answeringSurvey(ctx, r, sid); err != nil || !ok {
			return err
		}
		if action != "skip" {
			r.Say("survey.use_buttons")
			return nil
		}
		r.SetDraft("c", "")
		return h.confirmSurvey(r, sid)
	}
	body := strings.TrimSpace(r.In.Text)
	if body == "" {
		r.Say("survey.ask_comment", "Max", maxSurveyCommentRunes)
		return nil
	}
	if utf8.RuneCountInString(body) > maxSurveyCommentRunes {
		r.Say("survey.comment_too_long", "Max", maxSurveyCommentRunes)
		return nil
	}
	r.SetDraft("c", body)
	return h.confirmSurvey(r, r.Draft("s"))
}

// confirmSurvey asks to submit. It repeats none of the answers: what the bot says is
// kept until it is sent.
func (h *Handlers) confirmSurvey(r *Request, sid string) error {
	r.Goto(flowAnswer, stepAnswerConfirm)
	r.Prompt(r.T("survey.confirm"), [][]Button{
		{button(r.T("survey.submit"), flowAnswer, stepAnswerConfirm, sid+".ok")},
		{button(r.T("survey.redo"), flowAnswer, stepAnswerConfirm, sid+".redo")},
	})
	return nil
}

// surveySubmit saves the answers (or starts over). The ballot carries the choices and
// the local day, nothing of who gave them; the slip is used up or the account's keyed
// hash recorded apart from it, and the draft is dropped.
func (h *Handlers) surveySubmit(ctx context.Context, r *Request) error {
	v, ok := r.Pressed()
	if !ok {
		r.Say("survey.use_buttons")
		return nil
	}
	sid, action, _ := strings.Cut(v, ".")
	s, village, ok, err := h.answeringSurvey(ctx, r, sid)
	if err != nil || !ok {
		return err
	}
	tpl, err := surveyTemplate(s)
	if err != nil {
		return err
	}
	switch action {
	case "redo":
		r.SetDraft("a", "")
		r.SetDraft("c", "")
		return h.askSurveyQuestion(r, s, 0)
	case "ok":
	default:
		r.Say("survey.use_buttons")
		return nil
	}
	answers := surveyDraftAnswers(r)
	if len(answers) != len(tpl.Questions) {
		r.EndFlow()
		r.Say("common.flow_gone")
		return nil
	}
	choices := map[string]string{}
	for q, a := range answers {
		o, err := strconv.Atoi(a)
		if err != nil || o < 0 || o >= len(tpl.Options) {
			r.EndFlow()
			r.Say("common.flow_gone")
			return nil
		}
		choices[tpl.Questions[q].ID] = tpl.Options[o].ID
	}
	var proof store.Proof
	via := r.Draft("via")
	switch via {
	case store.BallotSlip:
		if proof.SlipHash, err = hex.DecodeString(r.Draft("slip")); err != nil || len(proof.SlipHash) == 0 {
			r.EndFlow()
			r.Say("common.flow_gone")
			return nil
		}
	case store.BallotPaper:
		n, err := strconv.Atoi(r.Draft("no"))
		if err != nil || n < 1 {
			r.EndFlow()
			r.Say("common.flow_gone")
			return nil
		}
		proof.SlipNumber = int32(n)
	default:
		if proof.VoterHash, err = h.voterHash(s.ID, r.User.ID); err != nil {
			return err
		}
	}
	loc, err := h.surveyLocation(ctx, r.tx, village)
	if err != nil {
		return err
	}
	now := h.cfg.NowFunc()
	comment := r.Draft("c")
	r.EndFlow() // the answers leave the draft whatever happens next
	err = r.tx.CastBallot(ctx, s.ID, proof, store.Ballot{AnsweredOn: dateOf(now.In(loc)), Choices: choices}, comment, now)
	switch {
	case errors.Is(err, store.ErrSlipUsed) && via == store.BallotPaper:
		r.Prompt(r.T("survey.paper_slip_used", "Number", proof.SlipNumber), nil)
		return nil
	case errors.Is(err, store.ErrSlipUsed):
		r.Prompt(r.T("survey.slip_used"), nil)
		return nil
	case errors.Is(err, store.ErrAlreadyAnswered):
		r.Prompt(r.T("survey.already_answered"), nil)
		return nil
	case errors.Is(err, store.ErrSurveyClosed):
		r.Prompt(r.T("survey.closed_unsaved"), nil)
		return nil
	case errors.Is(err, store.ErrNotFound):
		r.Prompt(r.T("survey.invalid_link"), nil)
		return nil
	case err != nil:
		return err
	}
	if via == store.BallotPaper {
		if err := r.tx.Audit(ctx, store.AuditEntry{ActorID: &r.User.ID, Action: auditSurveyPaper, RegionID: &village.ID,
			Subject: fmt.Sprintf("survey:%d", s.ID), Details: []byte(fmt.Sprintf(`{"slip":%d}`, proof.SlipNumber))}); err != nil {
			return err
		}
		r.Goto(flowSurvey, stepSurveyMenu)
		r.Prompt(r.T("survey.paper_saved", "Number", proof.SlipNumber), [][]Button{
			{surveyButton(r.T("survey.enter_paper"), "p"+sid)}, {surveyButton(r.T("common.back"), "c"+sid)},
		})
		return nil
	}
	r.Goto(flowAnswer, stepAnswerFollow)
	r.SetDraft("s", sid)
	r.Prompt(r.T("survey.thanks"), [][]Button{
		{button(r.T("survey.follow_yes"), flowAnswer, stepAnswerFollow, sid+".yes")},
		{button(r.T("survey.follow_no"), flowAnswer, stepAnswerFollow, sid+".no")},
	})
	return nil
}

// surveyFollow puts the chat on the list of those told the headline result when the
// survey closes, or not.
func (h *Handlers) surveyFollow(ctx context.Context, r *Request) error {
	v, ok := r.Pressed()
	sid, action, _ := strings.Cut(v, ".")
	if !ok || (action != "yes" && action != "no") {
		r.Say("survey.use_buttons")
		return nil
	}
	if sid != r.Draft("s") {
		r.Say("common.not_allowed")
		return nil
	}
	r.EndFlow()
	if action == "no" {
		r.Prompt(r.T("survey.follow_declined"), nil)
		return nil
	}
	if err := h.closeDueSurveys(ctx, r); err != nil {
		return err
	}
	id, err := strconv.ParseInt(sid, 10, 64)
	if err != nil {
		r.Say("common.flow_gone")
		return nil
	}
	s, err := r.tx.SurveyByID(ctx, id, true)
	if err != nil {
		return err
	}
	if s.ClosedAt != nil {
		r.Prompt(r.T("survey.follow_too_late"), nil)
		return nil
	}
	if err := r.tx.AddFollower(ctx, s.ID, r.In.ChatID); err != nil {
		return err
	}
	r.Prompt(r.T("survey.follow_saved"), nil)
	return nil
}
