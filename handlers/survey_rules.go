package handlers

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"zhucun/store"
	"zhucun/surveys"
)

const auditSurveyRules = "survey:rules"

// withSurveySettings returns the template with a county's survey settings in place of its
// defaults: the minimum of answers, the acceptance threshold, the formula and the
// options' weights.
func withSurveySettings(tpl surveys.Template, set store.SurveySettings) surveys.Template {
	if set.MinAnswers != nil {
		tpl.Rules.MinAnswers = int(*set.MinAnswers)
	}
	if set.PassRate != nil {
		tpl.Rules.PassRate = *set.PassRate
	}
	if set.Formula != nil {
		tpl.Rules.Formula = *set.Formula
	}
	options := make([]surveys.Option, len(tpl.Options))
	copy(options, tpl.Options)
	for i, o := range options {
		if w, ok := set.Weights[o.ID]; ok && !o.Excluded {
			options[i].Weight = &w
		}
	}
	tpl.Options = options
	return tpl
}

// surveyRulesFor is the template as a survey of the village opens with it: with its
// county's settings.
func (h *Handlers) surveyRulesFor(ctx context.Context, tx *store.DB, village store.Region, tpl surveys.Template) (surveys.Template, error) {
	county, err := tx.CountyOf(ctx, village)
	if err != nil {
		return tpl, err
	}
	set, err := tx.SurveySettings(ctx, county.ID)
	if err != nil {
		return tpl, err
	}
	out := withSurveySettings(tpl, set)
	if err := out.Check(); err != nil {
		return tpl, fmt.Errorf("survey rules of %s: %w", county.Code, err)
	}
	return out, nil
}

// surveyRules shows or changes a county's survey rules (admins):
// /surveyrules COUNTY [min_answers=N] [pass_rate=PERCENT] [formula=share|weighted]
// [weight.OPTION=W]; an empty value goes back to the template's default.
func (h *Handlers) surveyRules(ctx context.Context, r *Request) error {
	fields := strings.Fields(r.In.Args)
	if len(fields) == 0 {
		r.Say("survey.rules_usage")
		return nil
	}
	county, err := r.tx.RegionByCode(ctx, fields[0])
	if errors.Is(err, store.ErrNotFound) || (err == nil && county.Level != store.LevelCounty) {
		r.Say("survey.rules_not_county", "Code", fields[0])
		return nil
	}
	if err != nil {
		return err
	}
	set, err := r.tx.SurveySettings(ctx, county.ID)
	if err != nil {
		return err
	}
	if set.Weights == nil {
		set.Weights = map[string]float64{}
	}
	tpls, err := surveys.All()
	if err != nil {
		return err
	}
	for _, kv := range fields[1:] {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || !applySurveySetting(&set, k, v) || !surveyKnownOption(tpls, k) {
			r.Say("survey.rules_bad", "Arg", kv)
			return nil
		}
	}
	for _, tpl := range tpls {
		if err := withSurveySettings(tpl, set).Check(); err != nil {
			r.Say("survey.rules_need_weights")
			return nil
		}
	}
	if len(fields) > 1 {
		if err := r.tx.SetSurveySettings(ctx, set); err != nil {
			return err
		}
		if err := r.tx.Audit(ctx, store.AuditEntry{ActorID: &r.User.ID, Action: auditSurveyRules, RegionID: &county.ID,
			Subject: "county:" + county.Code, Details: []byte(fmt.Sprintf(`{"args":%q}`, strings.Join(fields[1:], " ")))}); err != nil {
			return err
		}
	}
	lines := []string{r.T("survey.rules_title", "County", county.DisplayName(r.Locale()))}
	for _, tpl := range tpls {
		eff := withSurveySettings(tpl, set)
		var weights []string
		for _, o := range eff.Options {
			if o.Weight != nil {
				weights = append(weights, fmt.Sprintf("%s=%s", o.ID, strconv.FormatFloat(*o.Weight, 'f', -1, 64)))
			}
		}
		lines = append(lines, r.T("survey.rules_line", "Template", tpl.Title.In(r.Locale()), "Min", eff.Rules.MinAnswers,
			"Pass", surveyPercent(eff.Rules.PassRate), "Formula", eff.Rules.Formula, "Weights", strings.Join(weights, " ")))
	}
	r.Say("survey.rules_show", "Lines", strings.Join(lines, "\n"))
	return nil
}

// applySurveySetting sets one key=value of /surveyrules; false when it is malformed.
func applySurveySetting(set *store.SurveySettings, k, v string) bool {
	switch {
	case k == "min_answers":
		if v == "" {
			set.MinAnswers = nil
			return true
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return false
		}
		m := int32(n)
		set.MinAnswers = &m
	case k == "pass_rate":
		if v == "" {
			set.PassRate = nil
			return true
		}
		p, err := strconv.ParseFloat(strings.TrimSuffix(v, "%"), 64)
		if err != nil || p <= 0 || p > 100 {
			return false
		}
		p /= 100
		set.PassRate = &p
	case k == "formula":
		if v == "" {
			set.Formula = nil
			return true
		}
		if v != surveys.FormulaShare && v != surveys.FormulaWeighted {
			return false
		}
		set.Formula = &v
	case strings.HasPrefix(k, "weight."):
		id := strings.TrimPrefix(k, "weight.")
		if id == "" {
			return false
		}
		if v == "" {
			delete(set.Weights, id)
			return true
		}
		w, err := strconv.ParseFloat(v, 64)
		if err != nil || w < 0 || w > 1 {
			return false
		}
		set.Weights[id] = w
	default:
		return false
	}
	return true
}

// surveyKnownOption reports whether a setting's key names no option (it is not a weight), or
// an option some template scores.
func surveyKnownOption(tpls []surveys.Template, key string) bool {
	id, weight := strings.CutPrefix(key, "weight.")
	if !weight {
		return true
	}
	for _, tpl := range tpls {
		if i := tpl.Option(id); i >= 0 && !tpl.Options[i].Excluded {
			return true
		}
	}
	return false
}
