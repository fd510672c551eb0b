package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"zhucun/store"
	"zhucun/surveys"
)

// surveyTally is what a survey's ballots add up to: how many there are, by source, and
// per question how many chose each option, in all and by source.
type surveyTally struct {
	total    int
	bySource map[string]int
	counts   [][]int            // [question][option]
	sources  map[string][][]int // the same, per source
}

func surveyCounts(tpl surveys.Template) [][]int {
	c := make([][]int, len(tpl.Questions))
	for i := range c {
		c[i] = make([]int, len(tpl.Options))
	}
	return c
}

// tallyBallots counts ballots against a template. An answer to a question the template
// lacks, or with an option it lacks, is not counted.
func tallyBallots(tpl surveys.Template, ballots []store.Ballot) surveyTally {
	t := surveyTally{bySource: map[string]int{}, counts: surveyCounts(tpl), sources: map[string][][]int{}}
	for _, b := range ballots {
		t.total++
		t.bySource[b.Source]++
		if t.sources[b.Source] == nil {
			t.sources[b.Source] = surveyCounts(tpl)
		}
		for q, question := range tpl.Questions {
			if o := tpl.Option(b.Choices[question.ID]); o >= 0 {
				t.counts[q][o]++
				t.sources[b.Source][q][o]++
			}
		}
	}
	return t
}

// surveyRate is the satisfaction rate of answers counted per option, and how many
// answers it rests on (those not excluded, 不了解). Share: the satisfied options over
// those answers; weighted: the options' weights, averaged over those answers.
func surveyRate(tpl surveys.Template, formula string, counts []int) (rate float64, valid int) {
	var num float64
	for o, n := range counts {
		opt := tpl.Options[o]
		if opt.Excluded {
			continue
		}
		valid += n
		switch {
		case formula == surveys.FormulaWeighted && opt.Weight != nil:
			num += *opt.Weight * float64(n)
		case formula == surveys.FormulaShare && opt.Satisfied:
			num += float64(n)
		}
	}
	if valid == 0 {
		return 0, 0
	}
	return num / float64(valid), valid
}

// pooled adds the counts of all questions up, option by option.
func surveyPooled(counts [][]int) []int {
	if len(counts) == 0 {
		return nil
	}
	out := make([]int, len(counts[0]))
	for _, q := range counts {
		for o, n := range q {
			out[o] += n
		}
	}
	return out
}

// surveyOutcome is a closed survey's results as its rules allow them to be shown.
type surveyOutcome struct {
	survey store.Survey
	tpl    surveys.Template
	tally  surveyTally
	// shown: there are at least the survey's minimum of ballots; below it nothing but
	// their number is shown.
	shown bool
	// overall is the rate over every answer to every question; overallShown when it
	// rests on at least the minimum of answers.
	overall      float64
	overallShown bool
	// previous is the village's last assessment before this one whose results were shown.
	previous *surveyOutcome
}

// surveyTemplate reads the template a survey was opened with.
func surveyTemplate(s store.Survey) (surveys.Template, error) {
	var tpl surveys.Template
	if err := json.Unmarshal(s.Template, &tpl); err != nil {
		return tpl, fmt.Errorf("survey %d: template: %w", s.ID, err)
	}
	return tpl, nil
}

// surveyOutcome computes a survey's results, with the previous assessment's for an
// assessment when withPrevious.
func (h *Handlers) surveyOutcome(ctx context.Context, tx *store.DB, s store.Survey, withPrevious bool) (surveyOutcome, error) {
	tpl, err := surveyTemplate(s)
	if err != nil {
		return surveyOutcome{}, err
	}
	ballots, err := tx.Ballots(ctx, s.ID)
	if err != nil {
		return surveyOutcome{}, err
	}
	o := surveyOutcome{survey: s, tpl: tpl, tally: tallyBallots(tpl, ballots)}
	o.shown = o.tally.total >= int(s.MinAnswers)
	var valid int
	o.overall, valid = surveyRate(tpl, s.Formula, surveyPooled(o.tally.counts))
	o.overallShown = o.shown && valid >= int(s.MinAnswers)
	if withPrevious && s.Kind == store.SurveyAssessment && s.ClosedAt != nil {
		earlier, err := tx.ClosedAssessments(ctx, s.RegionID, *s.ClosedAt, 5)
		if err != nil {
			return o, err
		}
		for _, e := range earlier {
			if e.ID == s.ID {
				continue
			}
			p, err := h.surveyOutcome(ctx, tx, e, false)
			if err != nil {
				return o, err
			}
			if p.overallShown {
				o.previous = &p
				break
			}
		}
	}
	return o, nil
}

func surveyPercent(rate float64) string { return fmt.Sprintf("%.1f%%", rate*100) }

// lastDay is the last local day a survey takes answers.
func surveyLastDay(s store.Survey, loc *time.Location) string {
	return s.ClosesAt.Add(-time.Second).In(loc).Format(time.DateOnly)
}

func surveyKindMessage(kind string) string {
	if kind == store.SurveyOpen {
		return "survey.kind_open"
	}
	return "survey.kind_assessment"
}

// resultLines renders an outcome for someone reading it in tr's language.
func resultLines(tr translator, village store.Region, o surveyOutcome, loc *time.Location) []string {
	s, tpl, t := o.survey, o.tpl, o.tally
	closed := s.ClosesAt
	if s.ClosedAt != nil {
		closed = *s.ClosedAt
	}
	lines := []string{
		tr.T("survey.results_title", "Village", village.DisplayName(tr.locale), "Title", tpl.Title.In(tr.locale),
			"Kind", tr.T(surveyKindMessage(s.Kind))),
		tr.T("survey.results_period", "From", s.OpensAt.In(loc).Format(time.DateOnly),
			"Until", closed.In(loc).Format(time.DateOnly)),
	}
	if s.Kind == store.SurveyAssessment {
		lines = append(lines, tr.T("survey.results_count_assessment", "Total", t.total, "Slip", t.bySource[store.BallotSlip],
			"Paper", t.bySource[store.BallotPaper], "Issued", s.SlipsIssued))
	} else {
		lines = append(lines, tr.T("survey.results_count_open", "Total", t.total))
	}
	if !o.shown {
		return append(lines, tr.T("survey.results_withheld", "Min", s.MinAnswers))
	}
	for q, question := range tpl.Questions {
		var parts []string
		for i, opt := range tpl.Options {
			parts = append(parts, fmt.Sprintf("%s %d", opt.Text.In(tr.locale), t.counts[q][i]))
		}
		rate, valid := surveyRate(tpl, s.Formula, t.counts[q])
		verdict := tr.T("survey.results_rate", "Rate", surveyPercent(rate))
		if valid < int(s.MinAnswers) {
			verdict = tr.T("survey.results_rate_withheld", "Min", s.MinAnswers)
		}
		lines = append(lines, tr.T("survey.results_question", "N", q+1, "Text", question.Text.In(tr.locale)),
			"    "+strings.Join(parts, " · ")+" → "+verdict)
	}
	if !o.overallShown {
		return append(lines, tr.T("survey.results_overall_withheld", "Min", s.MinAnswers))
	}
	formula := tr.T("survey.formula_share")
	if s.Formula == surveys.FormulaWeighted {
		formula = tr.T("survey.formula_weighted")
	}
	lines = append(lines, tr.T("survey.results_overall", "Rate", surveyPercent(o.overall), "Formula", formula))
	// Rates by source, only when every source has enough ballots to hide any one of them.
	if len(t.bySource) > 1 {
		var parts []string
		for _, src := range []string{store.BallotSlip, store.BallotPaper, store.BallotPoster} {
			n := t.bySource[src]
			if n == 0 {
				continue
			}
			rate, valid := surveyRate(tpl, s.Formula, surveyPooled(t.sources[src]))
			if n < int(s.MinAnswers) || valid < int(s.MinAnswers) {
				parts = nil
				break
			}
			parts = append(parts, tr.T(ballotSourceMessage(src), "Rate", surveyPercent(rate)))
		}
		if parts != nil {
			lines = append(lines, tr.T("survey.results_by_source", "Rates", strings.Join(parts, " · ")))
		}
	}
	if s.Kind == store.SurveyOpen {
		return append(lines, tr.T("survey.results_not_counted"))
	}
	if o.overall >= s.PassRate {
		lines = append(lines, tr.T("survey.results_pass", "Threshold", surveyPercent(s.PassRate)))
	} else {
		lines = append(lines, tr.T("survey.results_fail", "Threshold", surveyPercent(s.PassRate)))
	}
	if p := o.previous; p != nil {
		lines = append(lines, tr.T("survey.results_previous", "Date", p.survey.ClosedAt.In(loc).Format(time.DateOnly),
			"Rate", surveyPercent(p.overall), "Delta", fmt.Sprintf("%+.1f", (o.overall-p.overall)*100)))
	} else {
		lines = append(lines, tr.T("survey.results_first"))
	}
	return lines
}

func ballotSourceMessage(source string) string {
	switch source {
	case store.BallotPaper:
		return "survey.source_paper"
	case store.BallotPoster:
		return "survey.source_poster"
	}
	return "survey.source_slip"
}

// surveyChartPNG draws an outcome's counts.
func surveyChartPNG(village store.Region, o surveyOutcome, loc *time.Location) ([]byte, error) {
	name := village.NameEn
	if name == "" {
		name = village.Code
	}
	title := fmt.Sprintf("%s  #%d  %s .. %s  n=%d", name, o.survey.ID,
		o.survey.OpensAt.In(loc).Format(time.DateOnly), surveyLastDay(o.survey, loc), o.tally.total)
	var legend []string
	for _, opt := range o.tpl.Options {
		legend = append(legend, opt.Text.In("en"))
	}
	return newSurveyChart(o.tally.counts).png(surveyASCII(title), legend)
}

// resultReplies are the results as one reader gets them: the text, the chart, and the
// comments when withComments (first secretaries and supervisors). Below the minimum of
// ballots only their number is sent.
func resultReplies(tr translator, chatID int64, village store.Region, o surveyOutcome, chart []byte, comments []string,
	withComments bool, loc *time.Location) []Reply {
	out := []Reply{{ChatID: chatID, Text: strings.Join(resultLines(tr, village, o, loc), "\n")}}
	if !o.shown {
		return out
	}
	if chart != nil {
		var opts []string
		for _, opt := range o.tpl.Options {
			opts = append(opts, opt.Text.In(tr.locale))
		}
		out = append(out, Reply{ChatID: chatID, Text: tr.T("survey.chart_caption", "Options", strings.Join(opts, "、")),
			Photo: &File{Name: "survey-chart.png", Bytes: chart}})
	}
	if withComments && len(comments) > 0 {
		text := tr.T("survey.results_comments", "Count", len(comments))
		for _, c := range comments {
			line := "\n— " + c
			if len([]rune(text))+len([]rune(line)) > maxMessageRunes {
				out = append(out, Reply{ChatID: chatID, Text: text})
				text = tr.T("survey.results_comments_more")
			}
			text += line
		}
		out = append(out, Reply{ChatID: chatID, Text: text})
	}
	return out
}

// surveyLocation is the time zone of the village's county.
func (h *Handlers) surveyLocation(ctx context.Context, tx *store.DB, village store.Region) (*time.Location, error) {
	_, loc, err := h.rules(ctx, &Request{tx: tx, h: h}, village)
	return loc, err
}

// translatorFor is a user's translator, the default locale's for one the bot never met.
func (h *Handlers) surveyTranslator(ctx context.Context, tx *store.DB, userID int64) (translator, bool, error) {
	u, err := tx.UserByID(ctx, userID)
	if errors.Is(err, store.ErrNotFound) {
		return newTranslator(h.bundle, h.cfg.DefaultLocale), true, nil
	}
	if err != nil {
		return translator{}, false, err
	}
	return h.translatorFor(u), u.BlockedAt == nil, nil
}

const auditSurveyClose = "survey:close"

// closeSurvey closes a survey (locked by the caller) as of at and returns the notices:
// the results to the village's first secretaries and the supervisors over it, the
// headline to the residents who asked for it (whose chat ids are then forgotten).
// A survey closed already yields nothing.
func (h *Handlers) closeSurvey(ctx context.Context, tx *store.DB, s store.Survey, at time.Time, by *int64) ([]Reply, error) {
	closed, err := tx.CloseSurvey(ctx, s.ID, at)
	if err != nil || !closed {
		return nil, err
	}
	s.ClosedAt = &at
	village, err := tx.RegionByID(ctx, s.RegionID)
	if err != nil {
		return nil, err
	}
	if err := tx.Audit(ctx, store.AuditEntry{ActorID: by, Action: auditSurveyClose, RegionID: &village.ID,
		Subject: fmt.Sprintf("survey:%d", s.ID)}); err != nil {
		return nil, err
	}
	loc, err := h.surveyLocation(ctx, tx, village)
	if err != nil {
		return nil, err
	}
	o, err := h.surveyOutcome(ctx, tx, s, true)
	if err != nil {
		return nil, err
	}
	var chart []byte
	var comments []string
	if o.shown {
		if chart, err = surveyChartPNG(village, o, loc); err != nil {
			return nil, err
		}
		if comments, err = tx.SurveyComments(ctx, s.ID); err != nil {
			return nil, err
		}
	}
	overseers, err := tx.Overseers(ctx, village)
	if err != nil {
		return nil, err
	}
	var out []Reply
	for _, u := range overseers {
		if u.BlockedAt != nil {
			continue
		}
		tr := h.translatorFor(u)
		out = append(out, Reply{ChatID: u.ID, Text: tr.T("survey.closed_notice", "Village", village.DisplayName(tr.locale))})
		out = append(out, resultReplies(tr, u.ID, village, o, chart, comments, true, loc)...)
	}
	followers, err := tx.TakeFollowers(ctx, s.ID)
	if err != nil {
		return nil, err
	}
	for _, chatID := range followers {
		tr, reachable, err := h.surveyTranslator(ctx, tx, chatID)
		if err != nil {
			return nil, err
		}
		if !reachable {
			continue
		}
		text := tr.T("survey.headline_withheld", "Village", village.DisplayName(tr.locale), "Total", o.tally.total)
		if o.overallShown {
			text = tr.T("survey.headline", "Village", village.DisplayName(tr.locale), "Total", o.tally.total,
				"Rate", surveyPercent(o.overall))
		}
		out = append(out, Reply{ChatID: chatID, Text: text})
	}
	return out, nil
}

// maxDueAtOnce bounds how many due surveys one input closes.
const maxDueAtOnce = 20

// closeDueSurveys closes the surveys whose time has come, as part of the input: their
// notices go out with its replies. Every survey interaction calls it, so a survey
// closes on time even before the scheduler comes round.
func (h *Handlers) closeDueSurveys(ctx context.Context, r *Request) error {
	now := h.cfg.NowFunc()
	due, err := r.tx.DueSurveys(ctx, now, maxDueAtOnce)
	if err != nil {
		return err
	}
	for _, d := range due {
		s, err := r.tx.SurveyByID(ctx, d.ID, true)
		if err != nil {
			return err
		}
		notices, err := h.closeSurvey(ctx, r.tx, s, s.ClosesAt, nil)
		if err != nil {
			return err
		}
		for _, n := range notices {
			r.Reply(n)
		}
	}
	return nil
}

// CloseDueSurveys closes every survey whose closing time has come by now and returns
// how many it closed. The scheduler calls it; each survey is closed in its own
// transaction, and its notices (the results to the first secretary and supervisors, the
// headline to residents who asked) are queued for SurveyNotices to hand out. Surveys
// are also closed, and their notices sent, by the first survey interaction after their
// closing time.
func (h *Handlers) CloseDueSurveys(ctx context.Context, now time.Time) (int, error) {
	closed := 0
	for {
		due, err := h.db.DueSurveys(ctx, now, maxDueAtOnce)
		if err != nil {
			return closed, err
		}
		if len(due) == 0 {
			return closed, nil
		}
		for _, d := range due {
			err := h.db.InTx(ctx, func(tx *store.DB) error {
				s, err := tx.SurveyByID(ctx, d.ID, true)
				if err != nil || s.ClosedAt != nil {
					return err
				}
				notices, err := h.closeSurvey(ctx, tx, s, s.ClosesAt, nil)
				if err != nil {
					return err
				}
				encoded := make([]json.RawMessage, len(notices))
				for i, n := range notices {
					if encoded[i], err = json.Marshal(n); err != nil {
						return err
					}
				}
				closed++
				return tx.QueueSurveyNotices(ctx, encoded)
			})
			if err != nil {
				return closed, fmt.Errorf("close survey %d: %w", d.ID, err)
			}
		}
	}
}

// SurveyNotices hands out up to limit notices of surveys closed by CloseDueSurveys, each
// once: the caller must send them. They are forgotten as they are handed out.
func (h *Handlers) SurveyNotices(ctx context.Context, limit int) ([]Reply, error) {
	raw, err := h.db.TakeSurveyNotices(ctx, limit)
	if err != nil {
		return nil, err
	}
	out := make([]Reply, len(raw))
	for i, b := range raw {
		if err := json.Unmarshal(b, &out[i]); err != nil {
			return nil, fmt.Errorf("decode survey notice: %w", err)
		}
	}
	return out, nil
}
