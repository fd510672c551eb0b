package handlers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"zhucun/handlers"
	"zhucun/store"
	"zhucun/surveys"
)

// Users of the survey tests, in the tree of setup: a county supervisor, the team of 一村
// (V1), a supervisor of the other township, residents.
const (
	countySupervisor = 100
	secretaryV1      = 101
	memberV1         = 102
	supervisorT2     = 103
	residentV1       = 200 // joined 一村 as a resident
	residentV2       = 201 // joined 二村 as a resident
	surveyHousehold  = 300 // first of the households with no role
)

// surveyClock is a settable time for the handlers.
type surveyClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *surveyClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *surveyClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type surveyWorld struct {
	*world
	surveyClock *surveyClock
}

// setupSurveys is setup with a secret, a surveyClock at 2026-12-01 10:00 in China, and the
// survey tests' users.
func setupSurveys(t *testing.T) *surveyWorld {
	t.Helper()
	c := &surveyClock{now: time.Date(2026, 12, 1, 10, 0, 0, 0, time.FixedZone("CST", 8*3600))}
	w := newWorld(t, handlers.Config{NowFunc: c.Now, Secret: []byte("0123456789abcdef0123456789abcdef")}, smallTree())
	w.grant(t, countySupervisor, store.RoleSupervisor, "C")
	w.grant(t, secretaryV1, store.RoleFirstSecretary, "V1")
	w.grant(t, memberV1, store.RoleMember, "V1")
	w.grant(t, supervisorT2, store.RoleSupervisor, "T2")
	w.grant(t, residentV1, store.RoleResident, "V1")
	w.grant(t, residentV2, store.RoleResident, "V2")
	return &surveyWorld{world: w, surveyClock: c}
}

// texts joins the texts of replies.
func said(replies []handlers.Reply) string {
	var out []string
	for _, r := range replies {
		out = append(out, r.Text)
	}
	return strings.Join(out, "\n")
}

// wantSaid fails unless some reply says want.
func wantSaid(t *testing.T, what string, replies []handlers.Reply, want string) {
	t.Helper()
	if !strings.Contains(said(replies), want) {
		t.Fatalf("%s: got %q, want %q", what, said(replies), want)
	}
}

// latestSurvey is the newest survey of the village.
func (w *surveyWorld) latestSurvey(t *testing.T, code string) store.Survey {
	t.Helper()
	list, err := w.db.SurveysOf(context.Background(), []int64{w.region[code].ID}, time.Time{}, 50)
	if err != nil || len(list) == 0 {
		t.Fatalf("surveys of %s: %v (%v)", code, list, err)
	}
	slices.SortFunc(list, func(a, b store.Survey) int { return int(b.ID - a.ID) })
	return list[0]
}

// open walks user through opening a survey of kind ("na" or "no") at the village for
// days, starting now, and returns it with the replies of the last step.
func (w *surveyWorld) open(t *testing.T, user int64, kind, code string, days int) (store.Survey, []handlers.Reply) {
	t.Helper()
	w.send(t, user, cmd("survey"))
	w.send(t, user, press("sv:menu:"+kind))
	w.send(t, user, press("sv:vil:v"+strconv.FormatInt(w.region[code].ID, 10)))
	w.send(t, user, press("sv:opens:0"))
	replies := w.send(t, user, press("sv:days:"+strconv.Itoa(days)))
	return w.latestSurvey(t, code), replies
}

var slipLink = regexp.MustCompile(`No\. (\d+)\t\S+\?start=(s_[A-Za-z0-9_-]+)`)

// slips has user issue n slips of the survey and returns their tokens by number.
func (w *surveyWorld) slips(t *testing.T, user int64, s store.Survey, n int) map[int]string {
	t.Helper()
	w.send(t, user, press(fmt.Sprintf("sv:menu:s%d", s.ID)))
	replies := w.send(t, user, text(strconv.Itoa(n)))
	out := map[int]string{}
	for _, r := range replies {
		if r.Document != nil && strings.HasSuffix(r.Document.Name, ".txt") {
			for _, m := range slipLink.FindAllStringSubmatch(string(r.Document.Bytes), -1) {
				no, _ := strconv.Atoi(m[1])
				out[no] = m[2]
			}
		}
	}
	if len(out) != n {
		t.Fatalf("issuing %d slips: got %d links in %+v", n, len(out), said(replies))
	}
	return out
}

// answer has user answer the survey through the link token with the option indexes
// given, and a comment ("" skips it), and returns the replies to the submission.
func (w *surveyWorld) answer(t *testing.T, user int64, s store.Survey, token string, options []int, comment string) []handlers.Reply {
	t.Helper()
	replies := w.send(t, user, cmd("start", token))
	wantSaid(t, "start", replies, "第 1/")
	for q, o := range options {
		w.send(t, user, press(fmt.Sprintf("sa:q:%d.%d.%d", s.ID, q, o)))
	}
	if comment == "" {
		w.send(t, user, press(fmt.Sprintf("sa:cmt:%d.skip", s.ID)))
	} else {
		w.send(t, user, text(comment))
	}
	return w.send(t, user, press(fmt.Sprintf("sa:ok:%d.ok", s.ID)))
}

func (w *surveyWorld) ballots(t *testing.T, s store.Survey) []store.Ballot {
	t.Helper()
	b, err := w.db.Ballots(context.Background(), s.ID)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSurveyWhoMaySeeAndRun(t *testing.T) {
	t.Parallel()
	w := setupSurveys(t)
	s, _ := w.open(t, countySupervisor, "na", "V1", 7)
	id := strconv.FormatInt(s.ID, 10)

	// Residents and team members have no /survey; a resident's press of a survey's
	// button is refused.
	for _, u := range []int64{residentV1, surveyHousehold, memberV1} {
		if got := only(t, w.send(t, u, cmd("survey"))); !strings.Contains(got, "没有权限") {
			t.Errorf("user %d /survey: got %q, want a refusal", u, got)
		}
		for _, data := range []string{"sv:menu:r" + id, "sv:menu:c" + id, "sv:menu:s" + id} {
			if got := only(t, w.send(t, u, press(data))); !strings.Contains(got, "过期") {
				t.Errorf("user %d pressing %s: got %q, want a refusal", u, data, got)
			}
		}
	}
	// The first secretary sees the survey but cannot run the assessment of its own team.
	w.send(t, secretaryV1, cmd("survey"))
	card := w.send(t, secretaryV1, press("sv:menu:c"+id))
	for _, b := range buttonData(card) {
		if strings.Contains(b, "sv:menu:s") || strings.Contains(b, "sv:menu:p") || strings.Contains(b, "sv:menu:x") {
			t.Errorf("first secretary's card offers %s, want no slips, paper or closing", b)
		}
	}
	for _, data := range []string{"sv:menu:s" + id, "sv:menu:p" + id, "sv:menu:X" + id} {
		if got := only(t, w.send(t, secretaryV1, press(data))); !strings.Contains(got, "没有权限") {
			t.Errorf("first secretary pressing %s: got %q, want a refusal", data, got)
		}
	}
	if got := only(t, w.send(t, secretaryV1, press("sv:menu:na"))); !strings.Contains(got, "没有您可以发起") {
		t.Errorf("first secretary opening an assessment: got %q, want no village", got)
	}
	// The supervisor of the other township sees nothing of 一村.
	w.send(t, supervisorT2, cmd("survey"))
	for _, data := range []string{"sv:menu:c" + id, "sv:menu:r" + id, "sv:menu:s" + id} {
		if got := only(t, w.send(t, supervisorT2, press(data))); !strings.Contains(got, "没有权限") {
			t.Errorf("other supervisor pressing %s: got %q, want a refusal", data, got)
		}
	}
	if s.SlipsIssued != 0 {
		t.Fatalf("slips issued: got %d, want 0", s.SlipsIssued)
	}
	// The supervisor issues slips; they take the survey to residents, who still cannot
	// see the results.
	tokens := w.slips(t, countySupervisor, s, 6)
	for n := 1; n <= 5; n++ {
		w.answer(t, surveyHousehold+int64(n), s, tokens[n], []int{0, 0, 1, 2}, "")
	}
	w.send(t, countySupervisor, press("sv:menu:x"+id))
	w.send(t, countySupervisor, press("sv:menu:X"+id))
	for _, u := range []int64{surveyHousehold + 1, residentV1} {
		w.send(t, u, cmd("survey"))
		if got := only(t, w.send(t, u, press("sv:menu:r"+id))); !strings.Contains(got, "过期") {
			t.Errorf("resident %d asking for results: got %q, want a refusal", u, got)
		}
	}
	w.send(t, secretaryV1, cmd("survey"))
	if got := said(w.send(t, secretaryV1, press("sv:menu:r"+id))); !strings.Contains(got, "满意率") {
		t.Errorf("first secretary's results: got %q, want rates", got)
	}
}

func TestSurveyAnswerRefusals(t *testing.T) {
	t.Parallel()
	w := setupSurveys(t)
	s1, _ := w.open(t, countySupervisor, "na", "V1", 7)
	s2, _ := w.open(t, countySupervisor, "na", "V2", 7)
	t1 := w.slips(t, countySupervisor, s1, 3)
	t2 := w.slips(t, countySupervisor, s2, 1)

	for _, tc := range []struct {
		name  string
		user  int64
		token string
		want  string
	}{
		{"made-up slip", surveyHousehold, "s_AAAAAAAAAAAAAAAAAAAAAA", "链接无效"},
		{"malformed slip", surveyHousehold, "s_nope", "链接无效"},
		{"slip of another village", residentV1, t2[1], "不是您所在村"},
		{"team member", memberV1, t1[1], "不能回答本村"},
		{"first secretary", secretaryV1, t1[1], "不能回答本村"},
	} {
		if got := said(w.send(t, tc.user, cmd("start", tc.token))); !strings.Contains(got, tc.want) {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
	w.answer(t, residentV1, s1, t1[1], []int{0, 1, 2, 3}, "村里的路修好了")
	if got := said(w.send(t, surveyHousehold, cmd("start", t1[1]))); !strings.Contains(got, "已经用过") {
		t.Errorf("slip used twice: got %q, want a refusal", got)
	}
	if got := len(w.ballots(t, s1)); got != 1 {
		t.Fatalf("ballots: got %d, want 1", got)
	}
}

func TestSurveyForgedPressesCountNowhere(t *testing.T) {
	t.Parallel()
	w := setupSurveys(t)
	s1, _ := w.open(t, countySupervisor, "na", "V1", 7)
	s2, _ := w.open(t, countySupervisor, "na", "V2", 7)
	t1 := w.slips(t, countySupervisor, s1, 1)
	w.slips(t, countySupervisor, s2, 1)
	u := int64(surveyHousehold)
	wantSaid(t, "start", w.send(t, u, cmd("start", t1[1])), "第 1/4 题")
	w.send(t, u, press(fmt.Sprintf("sa:q:%d.0.0", s1.ID)))
	for _, tc := range []struct{ name, data, want string }{
		{"another survey", fmt.Sprintf("sa:q:%d.1.0", s2.ID), "没有权限"},
		{"an option the template lacks", fmt.Sprintf("sa:q:%d.1.9", s1.ID), "没有权限"},
		{"a negative option", fmt.Sprintf("sa:q:%d.1.-1", s1.ID), "没有权限"},
		{"a padded option", fmt.Sprintf("sa:q:%d.1.01", s1.ID), "没有权限"},
		{"a later question", fmt.Sprintf("sa:q:%d.3.0", s1.ID), "过期"},
		{"the question answered", fmt.Sprintf("sa:q:%d.0.2", s1.ID), "过期"},
		{"submitting early", fmt.Sprintf("sa:ok:%d.ok", s1.ID), "过期"},
		{"another step's button", fmt.Sprintf("sv:menu:r%d", s1.ID), "过期"},
	} {
		if got := only(t, w.send(t, u, press(tc.data))); !strings.Contains(got, tc.want) {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
	for q, o := range []int{1, 2, 3} {
		w.send(t, u, press(fmt.Sprintf("sa:q:%d.%d.%d", s1.ID, q+1, o)))
	}
	w.send(t, u, press(fmt.Sprintf("sa:cmt:%d.skip", s1.ID)))
	if got := only(t, w.send(t, u, press(fmt.Sprintf("sa:ok:%d.ok", s2.ID)))); !strings.Contains(got, "没有权限") {
		t.Errorf("submitting for another survey: got %q, want a refusal", got)
	}
	wantSaid(t, "submit", w.send(t, u, press(fmt.Sprintf("sa:ok:%d.ok", s1.ID))), "已提交")
	got := w.ballots(t, s1)
	want := map[string]string{"q_team_overall": "satisfied", "q_party_branch": "basically_satisfied",
		"q_problems_handled": "dissatisfied", "q_dim_village_look": "dont_know"}
	if len(got) != 1 || fmt.Sprint(got[0].Choices) != fmt.Sprint(want) || got[0].Source != store.BallotSlip {
		t.Fatalf("ballots of the survey answered: got %+v, want one slip ballot %v", got, want)
	}
	if other := w.ballots(t, s2); len(other) != 0 {
		t.Fatalf("ballots of the other survey: got %+v, want none", other)
	}
	// After the answer, a forged press of the follow-up for another survey does nothing.
	if got := only(t, w.send(t, u, press(fmt.Sprintf("sa:fol:%d.yes", s2.ID)))); !strings.Contains(got, "没有权限") {
		t.Errorf("following another survey: got %q, want a refusal", got)
	}
}

func TestSurveyOpenOncePerAccount(t *testing.T) {
	t.Parallel()
	w := setupSurveys(t)
	_, replies := w.open(t, secretaryV1, "no", "V1", 7)
	s := w.latestSurvey(t, "V1")
	var token string
	for _, r := range replies {
		if m := regexp.MustCompile(`start=(s_[A-Za-z0-9_-]+)`).FindStringSubmatch(r.Text); m != nil && r.Photo != nil {
			token = m[1]
		}
	}
	if s.Kind != store.SurveyOpen || token == "" {
		t.Fatalf("open survey: got %+v and replies %q, want an open survey with a poster", s, said(replies))
	}
	w.answer(t, surveyHousehold, s, token, []int{0, 0, 0, 0}, "")
	if got := said(w.send(t, surveyHousehold, cmd("start", token))); !strings.Contains(got, "已经回答过") {
		t.Fatalf("second answer of one account: got %q, want a refusal", got)
	}
	w.answer(t, surveyHousehold+1, s, token, []int{2, 2, 2, 2}, "")
	if got := len(w.ballots(t, s)); got != 2 {
		t.Fatalf("ballots: got %d, want 2", got)
	}
}

// TestSurveyClosesOnTime lets the closing time pass: the next survey interaction closes
// the survey and sends its results, and the scheduler's CloseDueSurveys closes another.
func TestSurveyClosesOnTime(t *testing.T) {
	t.Parallel()
	w := setupSurveys(t)
	ctx := context.Background()
	s, _ := w.open(t, countySupervisor, "na", "V1", 3)
	tokens := w.slips(t, countySupervisor, s, 7)
	for n := 1; n <= 5; n++ {
		replies := w.answer(t, surveyHousehold+int64(n), s, tokens[n], []int{0, 0, 0, 2}, "")
		wantSaid(t, "answer", replies, "已提交")
	}
	wantSaid(t, "follow", w.send(t, surveyHousehold+1, press(fmt.Sprintf("sa:fol:%d.yes", s.ID))), "会告诉您")
	other, _ := w.open(t, countySupervisor, "na", "V2", 7)

	// 2026-12-03 is the last day; at midnight the survey closes.
	w.surveyClock.Add(3*24*time.Hour - 10*time.Hour - time.Second)
	if got := said(w.send(t, surveyHousehold+6, cmd("start", tokens[6]))); !strings.Contains(got, "第 1/") {
		t.Fatalf("a second before closing: got %q, want the first question", got)
	}
	w.surveyClock.Add(time.Second)
	replies := w.send(t, surveyHousehold+7, cmd("start", tokens[7]))
	byChat := map[int64][]string{}
	for _, r := range replies {
		byChat[r.ChatID] = append(byChat[r.ChatID], r.Text)
	}
	if got := strings.Join(byChat[surveyHousehold+7], "\n"); !strings.Contains(got, "已经结束") {
		t.Errorf("answering after closing: got %q, want closed", got)
	}
	for _, u := range []int64{countySupervisor, secretaryV1} {
		if got := strings.Join(byChat[u], "\n"); !strings.Contains(got, "总体满意率 75.0%") || !strings.Contains(got, "未达标") {
			t.Errorf("results to %d: got %q, want overall 75.0%% and not met", u, got)
		}
	}
	if got := strings.Join(byChat[surveyHousehold+1], "\n"); !strings.Contains(got, "5 户参与，总体满意率 75.0%") {
		t.Errorf("headline to the follower: got %q", got)
	}
	if got := strings.Join(byChat[surveyHousehold+6], "\n"); got != "" {
		t.Errorf("a resident who did not ask got %q", got)
	}
	if got := w.send(t, surveyHousehold+6, press(fmt.Sprintf("sa:q:%d.0.0", s.ID))); !strings.Contains(said(got), "没有保存") {
		t.Errorf("answering on after closing: got %q, want unsaved", said(got))
	}
	// The other survey closes when the scheduler comes round, not before.
	if n, err := w.h.CloseDueSurveys(ctx, w.surveyClock.Now()); err != nil || n != 0 {
		t.Fatalf("CloseDueSurveys before the other is due: got %d, %v; want 0", n, err)
	}
	w.surveyClock.Add(5 * 24 * time.Hour)
	if n, err := w.h.CloseDueSurveys(ctx, w.surveyClock.Now()); err != nil || n != 1 {
		t.Fatalf("CloseDueSurveys: got %d, %v; want 1", n, err)
	}
	if n, err := w.h.CloseDueSurveys(ctx, w.surveyClock.Now()); err != nil || n != 0 {
		t.Fatalf("CloseDueSurveys again: got %d, %v; want 0", n, err)
	}
	notices, err := w.h.SurveyNotices(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	var to []int64
	for _, n := range notices {
		if !slices.Contains(to, n.ChatID) {
			to = append(to, n.ChatID)
		}
		if n.ChatID == countySupervisor && strings.Contains(n.Text, "二村") && !strings.Contains(said(notices), "不予显示") {
			t.Errorf("results of a survey without answers: got %q, want withheld", said(notices))
		}
	}
	if want := []int64{countySupervisor, supervisorT2}; !slices.Equal(to, want) {
		t.Errorf("notices went to %v, want %v", to, want)
	}
	if again, err := w.h.SurveyNotices(ctx, 100); err != nil || len(again) != 0 {
		t.Errorf("notices handed out twice: %+v (%v)", again, err)
	}
	if got := w.latestSurvey(t, "V2"); got.ID != other.ID || got.ClosedAt == nil || !got.ClosedAt.Equal(got.ClosesAt) {
		t.Errorf("the other survey: got %+v, want closed at its closing time", got)
	}

	// The next assessment of 一村 is compared with this one.
	next, _ := w.open(t, countySupervisor, "na", "V1", 3)
	tokens = w.slips(t, countySupervisor, next, 5)
	for n := 1; n <= 5; n++ {
		w.answer(t, surveyHousehold+10+int64(n), next, tokens[n], []int{0, 0, 1, 0}, "")
	}
	w.send(t, countySupervisor, press(fmt.Sprintf("sv:menu:x%d", next.ID)))
	results := said(w.send(t, countySupervisor, press(fmt.Sprintf("sv:menu:X%d", next.ID))))
	for _, want := range []string{"总体满意率 100.0%", "达标 ✅", "上次测评（2026-12-04 结束）满意率 75.0%，这次变化 +25.0 个百分点"} {
		if !strings.Contains(results, want) {
			t.Errorf("results of the next assessment: got %q, want %q", results, want)
		}
	}
}

// TestSurveyDeadLetterKeepsNoAnswer sets aside updates of a survey's flows: nothing of
// what they carried is kept, while an update of another flow is kept whole.
func TestSurveyDeadLetterKeepsNoAnswer(t *testing.T) {
	t.Parallel()
	w := setupSurveys(t)
	ctx := context.Background()
	s, _ := w.open(t, countySupervisor, "na", "V1", 7)
	tokens := w.slips(t, countySupervisor, s, 1)
	u := int64(surveyHousehold)
	w.send(t, u, cmd("start", tokens[1]))
	for q := range 4 {
		w.send(t, u, press(fmt.Sprintf("sa:q:%d.%d.2", s.ID, q)))
	}
	// The chat is now at the comment step: a text it sends is a comment.
	raw := func(v any) []byte {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	chat := map[string]any{"id": u, "type": "private"}
	for _, tc := range []struct {
		name    string
		id      int64
		payload []byte
		secret  string // what must not be kept
	}{
		{"button", 9001, raw(map[string]any{"update_id": 9001, "callback_query": map[string]any{"id": "1",
			"data": fmt.Sprintf("sa:q:%d.0.2", s.ID), "message": map[string]any{"message_id": 5, "chat": chat}}}), "sa:q:"},
		{"comment", 9002, raw(map[string]any{"update_id": 9002, "message": map[string]any{"message_id": 6,
			"chat": chat, "text": "干部作风不好"}}), "干部作风不好"},
		{"slip link", 9003, raw(map[string]any{"update_id": 9003, "message": map[string]any{"message_id": 7,
			"chat": map[string]any{"id": 4242, "type": "private"}, "text": "/start " + tokens[1]}}), tokens[1]},
	} {
		if err := w.h.SetAside(ctx, tc.id, "button", 3, "boom", tc.payload); err != nil {
			t.Fatal(err)
		}
	}
	other := raw(map[string]any{"update_id": 9004, "message": map[string]any{"message_id": 8,
		"chat": map[string]any{"id": 4343, "type": "private"}, "text": "/help"}})
	if err := w.h.SetAside(ctx, 9004, "command", 3, "boom", other); err != nil {
		t.Fatal(err)
	}
	letters, err := w.db.DeadLetters(ctx)
	if err != nil || len(letters) != 4 {
		t.Fatalf("dead letters: got %d (%v), want 4", len(letters), err)
	}
	for _, d := range letters[:3] {
		if got, want := string(d.Payload), fmt.Sprintf(`{"redacted": "survey", "update_id": %d}`, d.UpdateID); got != want {
			t.Errorf("dead letter %d: got %s, want %s", d.UpdateID, got, want)
		}
	}
	if got := string(letters[3].Payload); !strings.Contains(got, "/help") {
		t.Errorf("dead letter of another flow: got %s, want it whole", got)
	}
}

func TestSurveyRules(t *testing.T) {
	t.Parallel()
	w := setupSurveys(t)
	for _, tc := range []struct {
		name, args, want string
	}{
		{"usage", "", "用法"},
		{"not a county", "T1", "没有编码为 T1 的县"},
		{"show", "C", "最少 5 份答卷才显示结果，验收线 90.0%，计算方法 share"},
		{"bad rate", "C pass_rate=120", "看不懂"},
		{"unknown option", "C weight.excellent=0.5", "看不懂"},
		{"weight of don't know", "C weight.dont_know=0.5", "看不懂"},
		{"unknown key", "C threshold=80", "看不懂"},
		{"set", "C min_answers=3 pass_rate=95 formula=weighted weight.dissatisfied=0.4",
			"最少 3 份答卷才显示结果，验收线 95.0%，计算方法 weighted，权重 satisfied=1 basically_satisfied=0.75 dissatisfied=0.4"},
	} {
		if got := only(t, w.send(t, adminID, cmd("surveyrules", tc.args))); !strings.Contains(got, tc.want) {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
	if got := only(t, w.send(t, countySupervisor, cmd("surveyrules", "C pass_rate=50"))); !strings.Contains(got, "没有权限") {
		t.Errorf("supervisor: got %q, want a refusal", got)
	}
	// A survey opened now takes the county's rules.
	s, _ := w.open(t, countySupervisor, "na", "V1", 7)
	var tpl surveys.Template
	if err := json.Unmarshal(s.Template, &tpl); err != nil {
		t.Fatal(err)
	}
	i := tpl.Option("dissatisfied")
	if s.MinAnswers != 3 || s.PassRate != 0.95 || s.Formula != "weighted" || i < 0 || tpl.Options[i].Weight == nil || *tpl.Options[i].Weight != 0.4 {
		t.Fatalf("survey opened: got min %d, pass %v, formula %s, options %+v; want 3, 0.95, weighted, dissatisfied 0.4",
			s.MinAnswers, s.PassRate, s.Formula, tpl.Options)
	}
}
