// Package surveys holds the templates of satisfaction surveys as data files, embedded in
// the binary: the questions, the answer options with their texts in every shipped
// language, and the default rules (minimum answers, acceptance threshold, rate formula).
// Adding a template is adding a file to templates/.
package surveys

import (
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
)

//go:embed templates/*.json
var files embed.FS

// Locales every text of a template must be given in.
var Locales = []string{"zh-Hans", "en"}

// Rate formulas.
const (
	// FormulaShare is (satisfied + basically satisfied) / (all answers − don't know).
	FormulaShare = "share"
	// FormulaWeighted is Σ weight × answers / (all answers − don't know).
	FormulaWeighted = "weighted"
)

// Text is one text in several languages, by locale.
type Text map[string]string

// In returns the text in locale, or in the first shipped locale when it has none.
func (t Text) In(locale string) string {
	if s := t[locale]; s != "" {
		return s
	}
	return t[Locales[0]]
}

// Option is an answer a question can be given.
type Option struct {
	ID   string `json:"id"`
	Text Text   `json:"text"`
	// Satisfied counts the option as satisfied in the share formula.
	Satisfied bool `json:"satisfied,omitempty"`
	// Weight is the option's value in the weighted formula.
	Weight *float64 `json:"weight,omitempty"`
	// Excluded leaves the option out of the rate altogether (不了解).
	Excluded bool `json:"excluded,omitempty"`
}

// Question is one question; every question is answered with the template's options.
type Question struct {
	ID      string   `json:"id"`
	Text    Text     `json:"text"`
	Status  string   `json:"status,omitempty"`
	Note    string   `json:"note,omitempty"`
	Sources []string `json:"sources,omitempty"`
}

// Rules are a template's defaults for what a survey's results need and mean.
type Rules struct {
	// MinAnswers is the fewest answers for which any result is shown.
	MinAnswers int `json:"min_answers"`
	// PassRate is the acceptance threshold, a fraction (0.9 is 90 %).
	PassRate float64 `json:"pass_rate"`
	// Formula is FormulaShare or FormulaWeighted.
	Formula string `json:"formula"`
}

// Template is a survey's questions, options and default rules.
type Template struct {
	ID        string          `json:"id"`
	Version   int             `json:"version"`
	Title     Text            `json:"title"`
	Intro     Text            `json:"intro"`
	Options   []Option        `json:"options"`
	Questions []Question      `json:"questions"`
	Comment   bool            `json:"comment"`
	Rules     Rules           `json:"rules"`
	Source    json.RawMessage `json:"provenance,omitempty"`
}

// Option returns the index of the option with that id, -1 if there is none.
func (t Template) Option(id string) int {
	return slices.IndexFunc(t.Options, func(o Option) bool { return o.ID == id })
}

// Parse reads and checks one template.
func Parse(b []byte) (Template, error) {
	var t Template
	if err := json.Unmarshal(b, &t); err != nil {
		return Template{}, fmt.Errorf("survey template: %w", err)
	}
	if err := t.Check(); err != nil {
		return Template{}, fmt.Errorf("survey template %q: %w", t.ID, err)
	}
	return t, nil
}

// Check reports everything wrong with a template at once.
func (t Template) Check() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	texts := func(what string, tx Text) {
		for _, l := range Locales {
			if strings.TrimSpace(tx[l]) == "" {
				bad("%s has no %s text", what, l)
			}
		}
	}
	if !validID(t.ID) {
		bad("id %q: want lower-case letters, digits and _", t.ID)
	}
	texts("title", t.Title)
	texts("intro", t.Intro)
	if len(t.Questions) == 0 || len(t.Questions) > 30 {
		bad("%d questions, want 1 to 30", len(t.Questions))
	}
	if len(t.Options) < 2 || len(t.Options) > 6 {
		bad("%d options, want 2 to 6", len(t.Options))
	}
	seen := map[string]bool{}
	scored := 0
	for _, o := range t.Options {
		if !validID(o.ID) || seen["o:"+o.ID] {
			bad("option id %q is malformed or repeated", o.ID)
		}
		seen["o:"+o.ID] = true
		texts("option "+o.ID, o.Text)
		if o.Excluded && (o.Satisfied || o.Weight != nil) {
			bad("option %s is excluded from the rate but scored", o.ID)
		}
		if !o.Excluded {
			scored++
			if o.Weight != nil && (*o.Weight < 0 || *o.Weight > 1) {
				bad("option %s: weight %v, want 0 to 1", o.ID, *o.Weight)
			}
		}
	}
	if scored == 0 || !slices.ContainsFunc(t.Options, func(o Option) bool { return o.Satisfied }) {
		bad("no option counts as satisfied")
	}
	for _, q := range t.Questions {
		if !validID(q.ID) || seen["q:"+q.ID] {
			bad("question id %q is malformed or repeated", q.ID)
		}
		seen["q:"+q.ID] = true
		texts("question "+q.ID, q.Text)
	}
	if err := t.Rules.Check(t.Options); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Check reports what is wrong with rules for a template with these options.
func (r Rules) Check(options []Option) error {
	var errs []error
	if r.MinAnswers < 1 || r.MinAnswers > 1000 {
		errs = append(errs, fmt.Errorf("min_answers %d, want 1 to 1000", r.MinAnswers))
	}
	if r.PassRate <= 0 || r.PassRate > 1 {
		errs = append(errs, fmt.Errorf("pass_rate %v, want more than 0 and at most 1", r.PassRate))
	}
	switch r.Formula {
	case FormulaShare:
	case FormulaWeighted:
		for _, o := range options {
			if !o.Excluded && o.Weight == nil {
				errs = append(errs, fmt.Errorf("formula weighted: option %s has no weight", o.ID))
			}
		}
	default:
		errs = append(errs, fmt.Errorf("formula %q, want %s or %s", r.Formula, FormulaShare, FormulaWeighted))
	}
	return errors.Join(errs...)
}

func validID(s string) bool {
	if s == "" || len(s) > 40 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// All returns every embedded template, by id.
func All() ([]Template, error) {
	names, err := fs.Glob(files, "templates/*.json")
	if err != nil {
		return nil, err
	}
	var out []Template
	for _, n := range names {
		b, err := files.ReadFile(n)
		if err != nil {
			return nil, err
		}
		t, err := Parse(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", n, err)
		}
		if want := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".json"); t.ID != want {
			return nil, fmt.Errorf("%s: id %q, want %q (the file's name)", n, t.ID, want)
		}
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b Template) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}
