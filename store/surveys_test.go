package store_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"zhucun/store"
	"zhucun/store/storetest"
)

// surveyNow is the clock of the survey tests: the surveys they open run a week from a
// day before it.
var surveyNow = time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)

type surveySetup struct {
	db      *store.DB
	regions map[string]store.Region
}

func setupSurveys(t *testing.T, db *store.DB) surveySetup {
	t.Helper()
	regions := importTree(t, db)
	for _, id := range []int64{1, 2, 3} {
		if _, err := db.TouchUser(t.Context(), id, fmt.Sprint("u", id), "zh-hans"); err != nil {
			t.Fatal(err)
		}
	}
	return surveySetup{db: db, regions: regions}
}

// open creates a survey of kind at village code, created by user 1.
func (s surveySetup) open(t *testing.T, kind, code string) store.Survey {
	t.Helper()
	var poster []byte
	if kind == store.SurveyOpen {
		poster = tokenHash("poster-" + code + fmt.Sprint(time.Now().UnixNano()))
	}
	sv, err := s.db.CreateSurvey(t.Context(), store.Survey{
		RegionID: s.regions[code].ID, Kind: kind, TemplateID: "assessment", Template: json.RawMessage(`{"id":"assessment"}`),
		MinAnswers: 5, PassRate: 0.9, Formula: "share",
		OpensAt: surveyNow.Add(-24 * time.Hour), ClosesAt: surveyNow.Add(6 * 24 * time.Hour), CreatedBy: 1,
	}, poster)
	if err != nil {
		t.Fatalf("CreateSurvey: %v", err)
	}
	return sv
}

// slips issues one slip per token on the survey.
func (s surveySetup) slips(t *testing.T, sv store.Survey, tokens ...string) int {
	t.Helper()
	var hashes [][]byte
	for _, tok := range tokens {
		hashes = append(hashes, tokenHash(tok))
	}
	first, err := s.db.IssueSlips(t.Context(), sv.ID, hashes)
	if err != nil {
		t.Fatalf("IssueSlips: %v", err)
	}
	return first
}

func ballot(choice string) store.Ballot {
	return store.Ballot{AnsweredOn: surveyNow, Choices: map[string]string{"q1": choice}}
}

func TestCastBallotTakesTheProof(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := setupSurveys(t, db)
		ctx := t.Context()
		sv := s.open(t, store.SurveyAssessment, "V1")
		if got := s.slips(t, sv, "a", "b", "c"); got != 1 {
			t.Fatalf("first slip number: got %d, want 1", got)
		}
		if got := s.slips(t, sv, "d", "e"); got != 4 {
			t.Fatalf("first slip number of the second batch: got %d, want 4", got)
		}
		if slip, err := s.db.SlipByHash(ctx, tokenHash("e")); err != nil || slip.Number != 5 || slip.SurveyID != sv.ID || slip.Used {
			t.Fatalf("slip e: got %+v (%v), want number 5, unused", slip, err)
		}
		other := s.open(t, store.SurveyAssessment, "V2")
		s.slips(t, other, "x")
		closed := s.open(t, store.SurveyAssessment, "V3")
		s.slips(t, closed, "z")
		if ok, err := s.db.CloseSurvey(ctx, closed.ID, surveyNow); err != nil || !ok {
			t.Fatalf("CloseSurvey: %v, %v", ok, err)
		}
		if ok, err := s.db.CloseSurvey(ctx, closed.ID, surveyNow); err != nil || ok {
			t.Fatalf("CloseSurvey again: got %v, %v, want false", ok, err)
		}

		for _, tc := range []struct {
			name   string
			survey store.Survey
			proof  store.Proof
			at     time.Time
			want   error
		}{
			{"slip", sv, store.Proof{SlipHash: tokenHash("a")}, surveyNow, nil},
			{"slip again", sv, store.Proof{SlipHash: tokenHash("a")}, surveyNow, store.ErrSlipUsed},
			{"made-up slip", sv, store.Proof{SlipHash: tokenHash("nope")}, surveyNow, store.ErrNotFound},
			{"slip of another survey", sv, store.Proof{SlipHash: tokenHash("x")}, surveyNow, store.ErrNotFound},
			{"paper on slip 2", sv, store.Proof{SlipNumber: 2}, surveyNow, nil},
			{"scanning the slip answered on paper", sv, store.Proof{SlipHash: tokenHash("b")}, surveyNow, store.ErrSlipUsed},
			{"paper on a scanned slip", sv, store.Proof{SlipNumber: 1}, surveyNow, store.ErrSlipUsed},
			{"paper on no slip", sv, store.Proof{SlipNumber: 99}, surveyNow, store.ErrNotFound},
			{"poster on an assessment", sv, store.Proof{VoterHash: []byte("v")}, surveyNow, store.ErrNotFound},
			{"before it opens", sv, store.Proof{SlipHash: tokenHash("c")}, surveyNow.Add(-48 * time.Hour), store.ErrSurveyClosed},
			{"after it closes", sv, store.Proof{SlipHash: tokenHash("c")}, surveyNow.Add(7 * 24 * time.Hour), store.ErrSurveyClosed},
			{"closed early", closed, store.Proof{SlipHash: tokenHash("z")}, surveyNow, store.ErrSurveyClosed},
		} {
			err := s.db.CastBallot(ctx, tc.survey.ID, tc.proof, ballot("satisfied"), "", tc.at)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
			}
		}
		if err := s.db.CastBallot(ctx, sv.ID, store.Proof{SlipHash: tokenHash("c"), SlipNumber: 3}, ballot("satisfied"), "", surveyNow); err == nil {
			t.Errorf("two proofs: got no error, want one")
		}
		counts, err := s.db.BallotCounts(ctx, sv.ID)
		if err != nil {
			t.Fatal(err)
		}
		if want := map[string]int{store.BallotSlip: 1, store.BallotPaper: 1}; fmt.Sprint(counts) != fmt.Sprint(want) {
			t.Fatalf("ballots by source: got %v, want %v", counts, want)
		}
		for _, other := range []store.Survey{other, closed} {
			if counts, _ := s.db.BallotCounts(ctx, other.ID); len(counts) != 0 {
				t.Errorf("survey %d: got ballots %v, want none", other.ID, counts)
			}
		}
	})
}

func TestCastBallotOncePerAccount(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := setupSurveys(t, db)
		ctx := t.Context()
		sv := s.open(t, store.SurveyOpen, "V1")
		other := s.open(t, store.SurveyOpen, "V2")
		for _, tc := range []struct {
			name   string
			survey store.Survey
			voter  string
			want   error
		}{
			{"first", sv, "alice", nil},
			{"again", sv, "alice", store.ErrAlreadyAnswered},
			{"someone else", sv, "bob", nil},
			{"another survey", other, "alice", nil},
		} {
			err := s.db.CastBallot(ctx, tc.survey.ID, store.Proof{VoterHash: []byte(tc.voter)}, ballot("dissatisfied"), "", surveyNow)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
			}
		}
		if err := s.db.CastBallot(ctx, sv.ID, store.Proof{SlipNumber: 1}, ballot("satisfied"), "", surveyNow); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("paper on an open survey: got %v, want ErrNotFound", err)
		}
		if ok, err := s.db.HasAnswered(ctx, sv.ID, []byte("alice")); err != nil || !ok {
			t.Errorf("HasAnswered(alice): got %v, %v, want true", ok, err)
		}
		if ok, err := s.db.HasAnswered(ctx, sv.ID, []byte("carol")); err != nil || ok {
			t.Errorf("HasAnswered(carol): got %v, %v, want false", ok, err)
		}
		got, err := s.db.Ballots(ctx, sv.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].Source != store.BallotPoster || got[0].Choices["q1"] != "dissatisfied" ||
			!got[0].AnsweredOn.Equal(time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)) {
			t.Fatalf("ballots: got %+v, want 2 poster ballots of 2026-12-03", got)
		}
	})
}

// TestCastBallotLeavesNoOrder casts ballots one transaction after another and checks
// that the rows cannot be put back in the order of answering: all rows of the survey
// carry one transaction id, and the comments do not lie in the order they were written.
func TestCastBallotLeavesNoOrder(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := setupSurveys(t, db)
		ctx := t.Context()
		pool := store.Raw(s.db)
		sv := s.open(t, store.SurveyAssessment, "V1")
		const n = 12
		var tokens, written []string
		for i := range n {
			tokens = append(tokens, fmt.Sprint("slip-", i))
		}
		s.slips(t, sv, tokens...)
		poll := s.open(t, store.SurveyOpen, "V2")
		for i, tok := range tokens {
			comment := fmt.Sprintf("comment %02d", i)
			written = append(written, comment)
			if err := s.db.CastBallot(ctx, sv.ID, store.Proof{SlipHash: tokenHash(tok)}, ballot("satisfied"), comment, surveyNow); err != nil {
				t.Fatal(err)
			}
			if err := s.db.CastBallot(ctx, poll.ID, store.Proof{VoterHash: []byte(tok)}, ballot("satisfied"), "", surveyNow); err != nil {
				t.Fatal(err)
			}
		}
		for _, tc := range []struct {
			table  string
			survey store.Survey
		}{
			{"survey_ballots", sv}, {"survey_comments", sv}, {"survey_slips", sv},
			{"survey_ballots", poll}, {"survey_voters", poll},
		} {
			if s.db.Embedded() {
				break // SQLite rows carry no transaction id
			}
			q := `SELECT count(DISTINCT xmin::text) FROM ` + tc.table + ` WHERE survey_id = $1`
			if got := queryInt(t, pool, q, tc.survey.ID); got != 1 {
				t.Errorf("%s of survey %d: rows carry %d transaction ids, want 1", tc.table, tc.survey.ID, got)
			}
		}
		var stored []string
		physical := "ctid" // the order rows lie in
		if s.db.Embedded() {
			physical = "rowid"
		}
		rows, err := pool.Query(ctx, `SELECT body FROM survey_comments WHERE survey_id = $1 ORDER BY `+physical, sv.ID)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var b string
			if err := rows.Scan(&b); err != nil {
				t.Fatal(err)
			}
			stored = append(stored, b)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		// 12 rows left in their order by chance: one in 12! (4.8e8).
		if slices.Equal(stored, written) {
			t.Fatalf("comments lie in the order they were written: %q", stored)
		}
		slices.Sort(stored)
		if !slices.Equal(stored, written) {
			t.Fatalf("comments: got %q, want %q in any order", stored, written)
		}
	})
}

func TestCastBallotOneUsePerSlipUnderRace(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := setupSurveys(t, db)
		sv := s.open(t, store.SurveyAssessment, "V1")
		s.slips(t, sv, "only")
		const n = 10
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = s.db.CastBallot(t.Context(), sv.ID, store.Proof{SlipHash: tokenHash("only")}, ballot("satisfied"), "", surveyNow)
			}()
		}
		wg.Wait()
		ok, used := 0, 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case errors.Is(err, store.ErrSlipUsed):
				used++
			default:
				t.Errorf("got %v, want nil or ErrSlipUsed", err)
			}
		}
		counts, err := s.db.BallotCounts(t.Context(), sv.ID)
		if err != nil {
			t.Fatal(err)
		}
		if ok != 1 || used != n-1 || counts[store.BallotSlip] != 1 {
			t.Fatalf("got %d cast, %d refused, %d stored; want 1, %d, 1", ok, used, counts[store.BallotSlip], n-1)
		}
	})
}

func TestFollowersAndNotices(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := setupSurveys(t, db)
		ctx := t.Context()
		sv := s.open(t, store.SurveyAssessment, "V1")
		other := s.open(t, store.SurveyAssessment, "V2")
		for _, f := range []struct{ survey, chat int64 }{{sv.ID, 7}, {sv.ID, 8}, {sv.ID, 7}, {other.ID, 9}} {
			if err := s.db.AddFollower(ctx, f.survey, f.chat); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.db.TakeFollowers(ctx, sv.ID)
		slices.Sort(got)
		if err != nil || !slices.Equal(got, []int64{7, 8}) {
			t.Fatalf("TakeFollowers: got %v (%v), want [7 8]", got, err)
		}
		if got, err := s.db.TakeFollowers(ctx, sv.ID); err != nil || len(got) != 0 {
			t.Fatalf("TakeFollowers again: got %v (%v), want none", got, err)
		}
		if got, err := s.db.TakeFollowers(ctx, other.ID); err != nil || !slices.Equal(got, []int64{9}) {
			t.Fatalf("TakeFollowers of the other survey: got %v (%v), want [9]", got, err)
		}

		var queued []json.RawMessage
		for i := range 5 {
			queued = append(queued, json.RawMessage(fmt.Sprintf(`{"n":%d}`, i)))
		}
		if err := s.db.QueueSurveyNotices(ctx, queued); err != nil {
			t.Fatal(err)
		}
		var taken []string
		for {
			batch, err := s.db.TakeSurveyNotices(ctx, 2)
			if err != nil {
				t.Fatal(err)
			}
			if len(batch) == 0 {
				break
			}
			for _, b := range batch {
				taken = append(taken, strings.ReplaceAll(string(b), " ", ""))
			}
		}
		if want := []string{`{"n":0}`, `{"n":1}`, `{"n":2}`, `{"n":3}`, `{"n":4}`}; !slices.Equal(taken, want) {
			t.Fatalf("notices taken: got %v, want %v", taken, want)
		}
	})
}

func TestSurveySettingsAndOverseers(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := setupSurveys(t, db)
		ctx := t.Context()
		county := s.regions["K1"]
		got, err := s.db.SurveySettings(ctx, county.ID)
		if err != nil || got.MinAnswers != nil || got.PassRate != nil || got.Formula != nil || len(got.Weights) != 0 {
			t.Fatalf("settings of a county without any: got %+v (%v), want none set", got, err)
		}
		want := store.SurveySettings{RegionID: county.ID, MinAnswers: ptr(int32(8)), PassRate: ptr(0.95),
			Formula: ptr("weighted"), Weights: map[string]float64{"satisfied": 1, "dissatisfied": 0.4}}
		if err := s.db.SetSurveySettings(ctx, want); err != nil {
			t.Fatal(err)
		}
		got, err = s.db.SurveySettings(ctx, county.ID)
		if err != nil || *got.MinAnswers != 8 || *got.PassRate != 0.95 || *got.Formula != "weighted" || fmt.Sprint(got.Weights) != fmt.Sprint(want.Weights) {
			t.Fatalf("settings: got %+v (%v), want %+v", got, err, want)
		}
		bad := want
		bad.Formula = ptr("median")
		if err := s.db.SetSurveySettings(ctx, bad); err == nil {
			t.Fatalf("formula median: got no error")
		}

		// 1 supervises the city, 2 leads V1, 3 is a member of V1 and supervises the other county.
		for _, g := range []struct {
			user       int64
			role, code string
		}{
			{1, store.RoleSupervisor, "C1"}, {2, store.RoleFirstSecretary, "V1"}, {3, store.RoleMember, "V1"},
			{3, store.RoleSupervisor, "K2"}, {2, store.RoleFirstSecretary, "V2"},
		} {
			if err := s.db.GrantRole(ctx, g.user, g.role, s.regions[g.code].ID, nil, nil); err != nil {
				t.Fatal(err)
			}
		}
		for _, tc := range []struct {
			code string
			want []int64
		}{{"V1", []int64{1, 2}}, {"V2", []int64{1, 2}}, {"V3", []int64{3}}} {
			users, err := s.db.Overseers(ctx, s.regions[tc.code])
			if err != nil {
				t.Fatal(err)
			}
			var ids []int64
			for _, u := range users {
				ids = append(ids, u.ID)
			}
			if !slices.Equal(ids, tc.want) {
				t.Errorf("overseers of %s: got %v, want %v", tc.code, ids, tc.want)
			}
		}
	})
}
