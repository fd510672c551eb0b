package surveys_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"zhucun/surveys"
)

func TestStandardTemplate(t *testing.T) {
	t.Parallel()
	all, err := surveys.All()
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 1 || all[0].ID != "assessment" {
		t.Fatalf("templates: got %+v, want the assessment template", all)
	}
	tpl := all[0]
	var questions, options []string
	for _, q := range tpl.Questions {
		questions = append(questions, q.ID)
	}
	for _, o := range tpl.Options {
		options = append(options, o.Text.In("zh-Hans"))
	}
	if got, want := strings.Join(questions, " "), "q_team_overall q_party_branch q_problems_handled q_dim_village_look"; got != want {
		t.Errorf("questions: got %s, want %s", got, want)
	}
	if got, want := strings.Join(options, " "), "满意 基本满意 不满意 不了解"; got != want {
		t.Errorf("options: got %s, want %s", got, want)
	}
	if r := tpl.Rules; r.MinAnswers != 5 || r.PassRate != 0.9 || r.Formula != surveys.FormulaShare || !tpl.Comment {
		t.Errorf("rules: got %+v and comment %v, want 5, 0.9, share and a comment", r, tpl.Comment)
	}
	// The weights are the data file's (S31): 1.0, 0.75, 0.55, and 不了解 is not scored.
	var weights []string
	for _, o := range tpl.Options {
		if o.Weight != nil {
			weights = append(weights, fmt.Sprint(*o.Weight))
		}
	}
	if got := strings.Join(weights, " "); got != "1 0.75 0.55" || !tpl.Options[3].Excluded {
		t.Errorf("weights: got %s (don't know excluded: %v), want 1 0.75 0.55", got, tpl.Options[3].Excluded)
	}
}

func ExampleText_In() {
	title := surveys.Text{"zh-Hans": "群众满意度测评", "en": "Residents' satisfaction survey"}
	fmt.Println(title.In("en"))
	fmt.Println(title.In("fr"))
	// Output:
	// Residents' satisfaction survey
	// 群众满意度测评
}

func TestParseRefusesBrokenTemplates(t *testing.T) {
	t.Parallel()
	good := func() map[string]any {
		text := map[string]any{"zh-Hans": "文", "en": "text"}
		return map[string]any{
			"id": "t1", "version": 1, "title": text, "intro": text, "comment": true,
			"options": []any{
				map[string]any{"id": "yes", "text": text, "satisfied": true, "weight": 1},
				map[string]any{"id": "no", "text": text, "weight": 0},
				map[string]any{"id": "unsure", "text": text, "excluded": true},
			},
			"questions": []any{map[string]any{"id": "q1", "text": text}},
			"rules":     map[string]any{"min_answers": 5, "pass_rate": 0.9, "formula": "weighted"},
		}
	}
	if _, err := parse(t, good()); err != nil {
		t.Fatalf("a good template: %v", err)
	}
	for _, tc := range []struct {
		name  string
		spoil func(m map[string]any)
		want  string
	}{
		{"no english title", func(m map[string]any) { m["title"] = map[string]any{"zh-Hans": "文"} }, "title has no en text"},
		{"bad id", func(m map[string]any) { m["id"] = "T-1" }, "id"},
		{"no questions", func(m map[string]any) { m["questions"] = []any{} }, "0 questions"},
		{"repeated question", func(m map[string]any) {
			q := map[string]any{"id": "q1", "text": map[string]any{"zh-Hans": "文", "en": "t"}}
			m["questions"] = []any{q, q}
		}, "repeated"},
		{"scored excluded option", func(m map[string]any) {
			m["options"].([]any)[2].(map[string]any)["satisfied"] = true
		}, "excluded from the rate but scored"},
		{"nothing satisfied", func(m map[string]any) {
			m["options"].([]any)[0].(map[string]any)["satisfied"] = false
		}, "no option counts as satisfied"},
		{"weighted without a weight", func(m map[string]any) {
			delete(m["options"].([]any)[1].(map[string]any), "weight")
		}, "option no has no weight"},
		{"weight above 1", func(m map[string]any) { m["options"].([]any)[0].(map[string]any)["weight"] = 2 }, "weight 2"},
		{"pass rate as a percentage", func(m map[string]any) { m["rules"].(map[string]any)["pass_rate"] = 90 }, "pass_rate 90"},
		{"no minimum", func(m map[string]any) { m["rules"].(map[string]any)["min_answers"] = 0 }, "min_answers 0"},
		{"unknown formula", func(m map[string]any) { m["rules"].(map[string]any)["formula"] = "median" }, "formula \"median\""},
	} {
		m := good()
		tc.spoil(m)
		_, err := parse(t, m)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error about %q", tc.name, err, tc.want)
		}
	}
}

func parse(t *testing.T, m map[string]any) (surveys.Template, error) {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return surveys.Parse(b)
}
