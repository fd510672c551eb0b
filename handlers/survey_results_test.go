package handlers

import (
	"fmt"
	"math"
	"testing"

	"zhucun/store"
	"zhucun/surveys"
)

func surveyStandardTemplate(t testing.TB) surveys.Template {
	t.Helper()
	all, err := surveys.All()
	if err != nil || len(all) == 0 || all[0].ID != "assessment" {
		t.Fatalf("templates: %v (%v), want the assessment template", all, err)
	}
	return all[0]
}

func Example_surveyRate() {
	tpl, _ := surveys.All()
	// 满意 6, 基本满意 2, 不满意 2, 不了解 3: the 3 who do not know do not count.
	counts := []int{6, 2, 2, 3}
	share, valid := surveyRate(tpl[0], surveys.FormulaShare, counts)
	weighted, _ := surveyRate(tpl[0], surveys.FormulaWeighted, counts)
	fmt.Printf("%d answers count; share %s, weighted %s\n", valid, surveyPercent(share), surveyPercent(weighted))
	// Output: 10 answers count; share 80.0%, weighted 86.0%
}

func TestSurveyRate(t *testing.T) {
	t.Parallel()
	tpl := surveyStandardTemplate(t)
	for _, tc := range []struct {
		name      string
		formula   string
		counts    []int
		wantRate  float64
		wantValid int
	}{
		{"all satisfied", surveys.FormulaShare, []int{5, 0, 0, 0}, 1, 5},
		{"basically counts", surveys.FormulaShare, []int{1, 1, 2, 0}, 0.5, 4},
		{"don't know left out", surveys.FormulaShare, []int{3, 0, 1, 6}, 0.75, 4},
		{"only don't know", surveys.FormulaShare, []int{0, 0, 0, 4}, 0, 0},
		{"nothing", surveys.FormulaShare, []int{0, 0, 0, 0}, 0, 0},
		{"weighted", surveys.FormulaWeighted, []int{1, 1, 1, 1}, (1 + 0.75 + 0.55) / 3, 3},
		{"weighted dissatisfied", surveys.FormulaWeighted, []int{0, 0, 2, 0}, 0.55, 2},
	} {
		rate, valid := surveyRate(tpl, tc.formula, tc.counts)
		if valid != tc.wantValid || math.Abs(rate-tc.wantRate) > 1e-9 {
			t.Errorf("%s: got %v over %d, want %v over %d", tc.name, rate, valid, tc.wantRate, tc.wantValid)
		}
	}
}

func TestTallyBallots(t *testing.T) {
	t.Parallel()
	tpl := surveyStandardTemplate(t)
	b := func(source string, choices ...string) store.Ballot {
		m := map[string]string{}
		for i, c := range choices {
			m[tpl.Questions[i].ID] = c
		}
		return store.Ballot{Source: source, Choices: m}
	}
	got := tallyBallots(tpl, []store.Ballot{
		b(store.BallotSlip, "satisfied", "dissatisfied", "dont_know", "basically_satisfied"),
		b(store.BallotSlip, "satisfied", "satisfied", "satisfied", "satisfied"),
		b(store.BallotPaper, "dissatisfied", "no_such_option"), // what the template lacks is not counted
	})
	want := [][]int{{2, 0, 1, 0}, {1, 0, 1, 0}, {1, 0, 0, 1}, {1, 1, 0, 0}}
	if fmt.Sprint(got.counts) != fmt.Sprint(want) || got.total != 3 || got.bySource[store.BallotSlip] != 2 || got.bySource[store.BallotPaper] != 1 {
		t.Fatalf("got %d ballots %v, counts %v; want 3 (2 slip, 1 paper), %v", got.total, got.bySource, got.counts, want)
	}
	if paper := got.sources[store.BallotPaper]; fmt.Sprint(paper[0]) != "[0 0 1 0]" {
		t.Fatalf("paper counts of Q1: got %v, want [0 0 1 0]", paper[0])
	}
}

func TestSurveyPayloadRouting(t *testing.T) {
	t.Parallel()
	invite, _ := newInviteToken()
	survey, hash := newSurveyToken()
	for _, tc := range []struct {
		name    string
		payload string
		survey  bool
		valid   bool
	}{
		{"survey token", survey, true, true},
		{"invite token", invite, false, false},
		{"invite token that starts like a survey's", "s_" + invite[2:], false, false},
		{"made-up survey token", "s_nope", true, false},
		{"survey token too long", survey + "A", true, false},
	} {
		if got := isSurveyPayload(tc.payload); got != tc.survey {
			t.Errorf("%s: isSurveyPayload(%q) = %v, want %v", tc.name, tc.payload, got, tc.survey)
		}
		if got := validSurveyToken(tc.payload); got != tc.valid {
			t.Errorf("%s: validSurveyToken(%q) = %v, want %v", tc.name, tc.payload, got, tc.valid)
		}
	}
	if len(survey) != 24 || len(hash) != 32 || string(hashToken(survey)) != string(hash) {
		t.Fatalf("survey token %q (%d chars), hash of %d bytes", survey, len(survey), len(hash))
	}
}
