package jobs_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"zhucun/store"
	"zhucun/surveys"
)

// TestTickClosesDueSurveys: an assessment past its closing time is closed by the
// scheduler's tick, and its results reach the village's first secretary and the
// supervisors over it, once.
func TestTickClosesDueSurveys(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.person(t, 11, "第一书记", "first_secretary@V1")
	w.person(t, 12, "镇督导", "supervisor@T1")
	w.person(t, 13, "另一镇督导", "supervisor@T2")
	all, err := surveys.All()
	if err != nil {
		t.Fatal(err)
	}
	tpl := all[slices.IndexFunc(all, func(tp surveys.Template) bool { return tp.ID == "assessment" })]
	snapshot, err := json.Marshal(tpl)
	if err != nil {
		t.Fatal(err)
	}
	opens, closes := local("2026-11-20", 9, 0), local("2026-11-27", 0, 0)
	sv, err := w.db.CreateSurvey(w.ctx, store.Survey{RegionID: w.regions["V1"].ID, Kind: store.SurveyAssessment,
		TemplateID: tpl.ID, Template: snapshot, MinAnswers: 5, PassRate: 0.9, Formula: "share",
		OpensAt: opens, ClosesAt: closes, CreatedBy: 12}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var hashes [][]byte
	for i := 0; i < 5; i++ {
		hashes = append(hashes, []byte(fmt.Sprintf("slip-%d", i)))
	}
	first, err := w.db.IssueSlips(w.ctx, sv.ID, hashes)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		choices := map[string]string{}
		for _, q := range tpl.Questions {
			choices[q.ID] = "satisfied"
		}
		if err := w.db.CastBallot(w.ctx, sv.ID, store.Proof{SlipNumber: int32(first + i)}, store.Ballot{Choices: choices}, "", opens.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	out := &recorder{clock: w.clock, blocked: map[int64]bool{}}
	s := w.scheduler(t, out, nil)

	w.clock.set(local("2026-11-26", 12, 0)) // still open
	if _, err := s.Tick(w.ctx); err != nil {
		t.Fatal(err)
	}
	if got := out.deliveries(); len(got) != 0 {
		t.Fatalf("before the closing time: got %v, want nothing sent", summary(got))
	}
	w.clock.set(local("2026-11-27", 0, 5))
	for i := 0; i < 2; i++ { // the second tick finds nothing more to close
		if _, err := s.Tick(w.ctx); err != nil {
			t.Fatal(err)
		}
	}
	closed, err := w.db.SurveyByID(w.ctx, sv.ID, false)
	if err != nil || closed.ClosedAt == nil {
		t.Fatalf("survey after the tick: %+v (%v), want closed", closed, err)
	}
	for _, chat := range []int64{11, 12} {
		got := out.to(chat)
		if len(got) == 0 || !strings.Contains(summaryText(got), "100.0%") {
			t.Errorf("chat %d got %v, want the results (100.0%%) once", chat, summary(got))
		}
	}
	if got := out.to(13); len(got) != 0 {
		t.Errorf("the other township's supervisor got %v, want nothing", summary(got))
	}
	sent := len(out.deliveries())
	w.clock.set(local("2026-11-27", 0, 10))
	if _, err := s.Tick(w.ctx); err != nil {
		t.Fatal(err)
	}
	if got := len(out.deliveries()); got != sent {
		t.Fatalf("a later tick sent %d more, want none", got-sent)
	}
}

func summaryText(ds []delivery) string {
	var b strings.Builder
	for _, d := range ds {
		b.WriteString(d.text)
		b.WriteByte('\n')
	}
	return b.String()
}
