package handlers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"zhucun/handlers"
	"zhucun/store"
)

// The weekly tests live in March 2099: members count from the day they were granted
// their role (today), so the weeks must come after it. 2099-W10 is Monday 2 March to
// Sunday 8 March; 1 March is a Sunday.
var weeklyZone = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return loc
}()

// march is hh:mm on a day of March 2099 in Shanghai.
func march(day, hh, mm int) time.Time { return time.Date(2099, 3, day, hh, mm, 0, 0, weeklyZone) }

// marchDay is a day of March 2099 as days are kept (midnight UTC).
func marchDay(day int) time.Time { return time.Date(2099, 3, day, 0, 0, 0, 0, time.UTC) }

// The cast of the weekly tests. V1–V3 lie in T1, V4 in T2, all in the county C.
const (
	wkSecretary        = 200 + iota // first secretary of V1
	wkMemberA                       // member of V1
	wkMemberB                       // member of V1
	wkSecretary2                    // first secretary of V2
	wkSecretary3                    // first secretary of V3
	wkSecretary4                    // first secretary of V4
	wkSupervisor                    // supervisor of T1
	wkOtherSupervisor               // supervisor of T2
	wkCountySupervisor              // supervisor of C
	wkResident                      // resident of V1
)

// weeklyClock is a NowFunc the test sets.
type weeklyClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *weeklyClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *weeklyClock) set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

// weeklySetup builds handlers on a fresh schema with the weeklyClock at Monday 9 March
// 2099, 12:00, a county in Asia/Shanghai and the cast granted their roles.
func weeklySetup(t *testing.T) (*world, *weeklyClock) {
	t.Helper()
	ctx := context.Background()
	c := &weeklyClock{t: march(9, 12, 0)}
	w := newWorld(t, handlers.Config{NowFunc: c.now}, []store.RegionInput{
		{Code: "C", Level: store.LevelCounty, Name: "县"},
		{Code: "T1", ParentCode: "C", Level: store.LevelTownship, Name: "一镇"},
		{Code: "T2", ParentCode: "C", Level: store.LevelTownship, Name: "二镇"},
		villageRow("V1", "T1", "一村"),
		villageRow("V2", "T1", "二村"),
		villageRow("V3", "T1", "三村"),
		villageRow("V4", "T2", "四村"),
	})
	db := w.db
	if err := db.SetCountySettings(ctx, store.CountySettings{RegionID: w.region["C"].ID, RequiredDays: 20, Timezone: "Asia/Shanghai"}); err != nil {
		t.Fatal(err)
	}
	for _, g := range []struct {
		id         int64
		role, code string
	}{
		{wkSecretary, store.RoleFirstSecretary, "V1"}, {wkMemberA, store.RoleMember, "V1"}, {wkMemberB, store.RoleMember, "V1"},
		{wkSecretary2, store.RoleFirstSecretary, "V2"}, {wkSecretary3, store.RoleFirstSecretary, "V3"},
		{wkSecretary4, store.RoleFirstSecretary, "V4"}, {wkSupervisor, store.RoleSupervisor, "T1"},
		{wkOtherSupervisor, store.RoleSupervisor, "T2"}, {wkCountySupervisor, store.RoleSupervisor, "C"},
		{wkResident, store.RoleResident, "V1"},
	} {
		w.grant(t, g.id, g.role, g.code)
	}
	return w, c
}

// at dates an input.
func weeklyAt(in handlers.Input, t time.Time) handlers.Input { in.Date = t; return in }

// all joins the texts of replies to one chat.
func weeklySaid(replies []handlers.Reply, chatID int64) string {
	var parts []string
	for _, r := range replies {
		if r.ChatID == chatID {
			parts = append(parts, r.Text)
		}
	}
	return strings.Join(parts, "\n")
}

// wantLines fails unless text holds every line of want, each as a whole line.
func weeklyLines(t *testing.T, what, text string, want ...string) {
	t.Helper()
	lines := strings.Split(text, "\n")
	for _, l := range want {
		if !slices.Contains(lines, l) {
			t.Fatalf("%s: got\n%s\nwant the line %q", what, text, l)
		}
	}
}

func (w *world) weeklyCheckIn(t *testing.T, userID int64, code string, day int, onSite bool) {
	t.Helper()
	c := store.CheckIn{UserID: userID, RegionID: w.region[code].ID, Day: marchDay(day), CheckedAt: march(day, 9, 0),
		Source: store.SourceSelf, RecordedBy: userID, OnSite: onSite, Verdict: store.VerdictSelfDeclared}
	if !onSite {
		c.OffSiteReason = "meeting"
	}
	if _, err := w.db.AddCheckIn(context.Background(), c); err != nil {
		t.Fatal(err)
	}
}

// problem records a problem of a village reported at, and its history: each step an
// action taken to a status at a time. Every problem has a deadline of dueDay of March.
func (w *world) weeklyProblem(t *testing.T, code, category string, reported time.Time, dueDay int, steps ...[3]any) {
	t.Helper()
	ctx := context.Background()
	p, err := w.db.AddProblem(ctx, store.Problem{RegionID: w.region[code].ID, Year: 2099, Category: category,
		Description: "问题", Urgency: "normal", ReportedBy: wkMemberA, ReporterRole: store.RoleMember, ReportedAt: reported}, nil)
	if err != nil {
		t.Fatal(err)
	}
	from := store.StatusReported
	for _, s := range steps {
		action, to, when := s[0].(string), s[1].(string), s[2].(time.Time)
		due := marchDay(dueDay)
		p.Status, p.UpdatedAt, p.Deadline = to, when, &due
		switch action {
		case "resolve":
			p.ResolvedAt = &when
		case "verify":
			p.VerifiedAt = &when
		}
		if err := w.db.UpdateProblem(ctx, p); err != nil {
			t.Fatal(err)
		}
		if _, err := w.db.AddProblemEvent(ctx, store.ProblemEvent{ProblemID: p.ID, At: when, ActorID: wkSecretary,
			Action: action, FromStatus: from, ToStatus: to}); err != nil {
			t.Fatal(err)
		}
		from = to
	}
}

// seedWeek10 fills 2099-W10 of V1 with check-ins, leave and problems, and the days
// around it with records that belong to other weeks. The week's figures, by hand:
//
//	u200 (first secretary): on site Mon;                       1 on, 0 off, 0 leave
//	                        leave Mon is covered by the check-in
//	u201 (member A): on Mon Tue Thu, off Wed, on Sun 23:30;    4 on, 1 off, 0 leave
//	                 Mon 9th 00:10 is the next week
//	u202 (member B): on Tue, leave Wed Thu, off Fri;           1 on, 1 off, 2 leave
//	                 Sunday 1st is the week before
//
//	economy:  reported Mon, fixed Wed, verified Fri; reported Sun 23:30
//	          (reported Mon 9th 00:10 is the next week)         2 reported, 1 fixed, 1 verified
//	security: reported Tue, due 20th                            1 reported
//	customs:  reported 25 Feb, due 4th, in progress since       1 overdue
//	V2's problem does not count.
func seedWeek10(t *testing.T, w *world) {
	t.Helper()
	ctx := context.Background()
	w.weeklyCheckIn(t, wkSecretary, "V1", 2, true)
	if _, err := w.db.AddLeave(ctx, wkSecretary, w.region["V1"].ID, []time.Time{marchDay(2)}, wkSecretary); err != nil {
		t.Fatal(err)
	}
	for _, d := range []int{2, 3, 5} {
		w.weeklyCheckIn(t, wkMemberA, "V1", d, true)
	}
	w.weeklyCheckIn(t, wkMemberA, "V1", 4, false)
	w.weeklyCheckIn(t, wkMemberB, "V1", 1, true)
	w.weeklyCheckIn(t, wkMemberB, "V1", 3, true)
	w.weeklyCheckIn(t, wkMemberB, "V1", 6, false)
	if _, err := w.db.AddLeave(ctx, wkMemberB, w.region["V1"].ID, []time.Time{marchDay(4), marchDay(5)}, wkSecretary); err != nil {
		t.Fatal(err)
	}
	// Member A checks in through the bot on Sunday 23:30 and Monday 00:10.
	for _, when := range []time.Time{march(8, 23, 30), march(9, 0, 10)} {
		if got := weeklySaid(w.send(t, wkMemberA, weeklyAt(cmd("checkin"), when)), wkMemberA); !strings.Contains(got, when.Format("15:04")) {
			t.Fatalf("check-in at %v: got %q", when, got)
		}
		w.send(t, wkMemberA, cmd("cancel"))
	}
	w.weeklyProblem(t, "V1", "economy", march(2, 9, 0), 20,
		[3]any{"assign", store.StatusAssigned, march(2, 10, 0)}, [3]any{"start", store.StatusInProgress, march(3, 10, 0)},
		[3]any{"resolve", store.StatusResolved, march(4, 10, 0)}, [3]any{"verify", store.StatusVerified, march(6, 10, 0)})
	w.weeklyProblem(t, "V1", "economy", march(8, 23, 30), 20)
	w.weeklyProblem(t, "V1", "economy", march(9, 0, 10), 20)
	w.weeklyProblem(t, "V1", "security", march(3, 9, 0), 20, [3]any{"assign", store.StatusAssigned, march(3, 10, 0)})
	w.weeklyProblem(t, "V1", "customs", time.Date(2099, 2, 25, 9, 0, 0, 0, weeklyZone), 4,
		[3]any{"assign", store.StatusAssigned, time.Date(2099, 2, 25, 10, 0, 0, 0, weeklyZone)},
		[3]any{"start", store.StatusInProgress, time.Date(2099, 2, 26, 10, 0, 0, 0, weeklyZone)})
	w.weeklyProblem(t, "V2", "economy", march(3, 9, 0), 20)
}

// week10Figures are the lines of seedWeek10's figures in the draft.
var week10Figures = []string{
	"u200：在村 1 天，外出 0 天，请假 0 天",
	"u201：在村 4 天，外出 1 天，请假 0 天",
	"u202：在村 1 天，外出 1 天，请假 2 天",
	"经济发展缓慢：新报 2，解决 1，验收 1，逾期 0",
	"社会治安：新报 1，解决 0，验收 0，逾期 0",
	"乡风文明和村容村貌：新报 0，解决 0，验收 0，逾期 1",
	"合计：新报 3，解决 1，验收 1，逾期 1",
}

// writeAndSubmit has a first secretary open a week's draft, write the first section
// and submit it, each input dated at the given times; it returns the submit's answer.
func (w *world) writeAndSubmit(t *testing.T, secretary int64, week, text string, opened, submitted time.Time) string {
	t.Helper()
	w.send(t, secretary, weeklyAt(cmd("weekly", week), opened))
	w.send(t, secretary, weeklyAt(press("wk:d:e.0"), opened))
	if got := weeklySaid(w.send(t, secretary, weeklyAt(handlers.Input{Text: text}, opened)), secretary); !strings.Contains(got, "✓ 已保存“本周工作开展情况”") {
		t.Fatalf("writing the section: got %q", got)
	}
	return weeklySaid(w.send(t, secretary, weeklyAt(press("wk:d:s"), submitted)), secretary)
}

func TestWeeklyFiguresAndWeekBoundaries(t *testing.T) {
	t.Parallel()
	w, _ := weeklySetup(t)
	ctx := context.Background()
	seedWeek10(t, w)

	// Notes on Sunday 23:30 and Monday 00:10 go to two weeks.
	if got := weeklySaid(w.send(t, wkMemberB, weeklyAt(cmd("note", "周日晚上走访两户"), march(8, 23, 30))), wkMemberB); !strings.Contains(got, "2099年第10周") {
		t.Fatalf("note on Sunday 23:30: got %q, want it in week 10", got)
	}
	// A note asked for on Sunday 23:59 and written on Monday 00:12 is Monday's.
	w.send(t, wkMemberB, weeklyAt(cmd("note"), march(8, 23, 59)))
	if got := weeklySaid(w.send(t, wkMemberB, weeklyAt(text("周一凌晨处理漏水"), march(9, 0, 12))), wkMemberB); !strings.Contains(got, "2099年第11周") {
		t.Fatalf("note written on Monday 00:12: got %q, want it in week 11", got)
	}

	// Week 10's draft, opened after the week.
	draft := weeklySaid(w.send(t, wkSecretary, weeklyAt(cmd("weekly", "2099-W10"), march(9, 0, 20))), wkSecretary)
	weeklyLines(t, "week 10's draft", draft, append([]string{
		"📝 一村 · 周报 · 2099年第10周（2099-03-02 至 2099-03-08）",
		"截止时间：2099-03-08 24:00",
		"状态：草稿，尚未提交",
		"· u202（03-08 23:30）：周日晚上走访两户",
	}, week10Figures...)...)
	if strings.Contains(draft, "漏水") {
		t.Fatalf("week 10's draft holds week 11's note:\n%s", draft)
	}
	// Week 11's, the week of the message, holds Monday 00:10.
	next := weeklySaid(w.send(t, wkSecretary, weeklyAt(cmd("weekly"), march(9, 0, 20))), wkSecretary)
	weeklyLines(t, "week 11's draft", next,
		"📝 一村 · 周报 · 2099年第11周（2099-03-09 至 2099-03-15）",
		"u201：在村 1 天，外出 0 天，请假 0 天",
		"经济发展缓慢：新报 1，解决 0，验收 0，逾期 0",
		"· u202（03-09 00:12）：周一凌晨处理漏水")
	if strings.Contains(next, "走访两户") {
		t.Fatalf("week 11's draft holds week 10's note:\n%s", next)
	}
	if got := weeklySaid(w.send(t, wkSecretary, weeklyAt(cmd("weekly", "2099-W12"), march(9, 0, 20))), wkSecretary); !strings.Contains(got, "以后的周报") {
		t.Fatalf("a later week: got %q, want a refusal", got)
	}

	// Submitted at Sunday 23:59 it is on time, at Monday 00:10 late.
	if got := w.writeAndSubmit(t, wkSecretary, "2099-W10", "修了三段路", march(8, 23, 40), march(8, 23, 59)); !strings.Contains(got, "✓ 周报已按时提交（第 1 版）") {
		t.Fatalf("submitted at 23:59: got %q, want on time", got)
	}
	if got := w.writeAndSubmit(t, wkSecretary2, "2099-W10", "开了村民会", march(8, 23, 40), march(9, 0, 10)); !strings.Contains(got, "已过截止时间 2099-03-08 24:00，记为逾期提交") {
		t.Fatalf("submitted at 00:10: got %q, want late", got)
	}

	// The figures were stored with the update, as the draft showed them.
	u, err := w.db.WeeklyUpdateOf(ctx, w.region["V1"].ID, marchDay(2))
	if err != nil {
		t.Fatal(err)
	}
	versions, err := w.db.WeeklyVersions(ctx, u.ID)
	if err != nil || len(versions) != 1 {
		t.Fatalf("versions: got %d (%v), want 1", len(versions), err)
	}
	var snapshot struct {
		Week    string `json:"week"`
		Members []struct {
			Name  string `json:"name"`
			On    int    `json:"on_site"`
			Off   int    `json:"off_site"`
			Leave int    `json:"leave"`
		} `json:"members"`
		Problems []struct {
			Category                              string
			Reported, Resolved, Verified, Overdue int
		} `json:"problems"`
	}
	if err := json.Unmarshal(versions[0].Figures, &snapshot); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range snapshot.Members {
		got = append(got, fmt.Sprintf("%s %d/%d/%d", m.Name, m.On, m.Off, m.Leave))
	}
	for _, p := range snapshot.Problems {
		got = append(got, fmt.Sprintf("%s %d/%d/%d/%d", p.Category, p.Reported, p.Resolved, p.Verified, p.Overdue))
	}
	want := []string{"u200 1/0/0", "u201 4/1/0", "u202 1/1/2", "economy 2/1/1/0", "security 1/0/0/0", "customs 0/0/0/1"}
	if snapshot.Week != "2099-W10" || !slices.Equal(got, want) {
		t.Fatalf("stored figures: got %s %q, want 2099-W10 %q", snapshot.Week, got, want)
	}

	// The supervisor's view of the week, by default the latest one due.
	view := weeklySaid(w.send(t, wkSupervisor, weeklyAt(cmd("weekly"), march(9, 0, 30))), wkSupervisor)
	weeklyLines(t, "supervisor's view", view,
		"📋 一镇 · 2099年第10周（2099-03-02 至 2099-03-08） 周报情况（按村名排列）",
		"按时提交 1 · 逾期提交 1 · 未交 1 · 未到截止 0",
		"✅ 一村：按时提交（2099-03-08 23:59）",
		"⏰ 二村：逾期提交（2099-03-09 00:10）",
		"❌ 三村：未交")
	// Week 11 is not due yet.
	view = weeklySaid(w.send(t, wkSupervisor, weeklyAt(cmd("weekly", "2099-W11"), march(9, 0, 30))), wkSupervisor)
	weeklyLines(t, "supervisor's view of week 11", view,
		"按时提交 0 · 逾期提交 0 · 未交 0 · 未到截止 3",
		"⏳ 一村：尚未提交，截止 2099-03-15 24:00")
}

func TestWeeklyCorrectionSendBackAndRead(t *testing.T) {
	t.Parallel()
	w, c := weeklySetup(t)
	ctx := context.Background()
	c.set(march(6, 18, 0)) // Friday of week 10

	if got := weeklySaid(w.send(t, wkSecretary, press("wk:d:s")), wkSecretary); !strings.Contains(got, "过期") {
		t.Fatalf("a press outside the flow: got %q, want stale", got)
	}
	w.send(t, wkSecretary, cmd("weekly"))
	if got := weeklySaid(w.send(t, wkSecretary, press("wk:d:s")), wkSecretary); !strings.Contains(got, "请先填写“本周工作开展情况”") {
		t.Fatalf("submitting an empty draft: got %q", got)
	}
	if got := w.writeAndSubmit(t, wkSecretary, "", "修了三段路", march(6, 18, 0), march(6, 18, 5)); !strings.Contains(got, "第 1 版") {
		t.Fatalf("first submission: got %q", got)
	}
	c.set(march(6, 18, 10))
	if got := weeklySaid(w.send(t, wkSecretary, press("wk:d:s")), wkSecretary); !strings.Contains(got, "没有改动") {
		t.Fatalf("submitting again unchanged: got %q, want nothing to submit", got)
	}
	// A correction before it is read keeps the first version.
	w.send(t, wkSecretary, press("wk:d:e.0"))
	w.send(t, wkSecretary, text("修了三段路，装了十盏路灯"))
	w.send(t, wkSecretary, press("wk:d:e.2"))
	w.send(t, wkSecretary, text("下周修水渠"))
	if got := weeklySaid(w.send(t, wkSecretary, press("wk:d:s")), wkSecretary); !strings.Contains(got, "✓ 更正已提交，为第 2 版") {
		t.Fatalf("correction: got %q", got)
	}
	u, err := w.db.WeeklyUpdateOf(ctx, w.region["V1"].ID, marchDay(2))
	if err != nil {
		t.Fatal(err)
	}
	versions, err := w.db.WeeklyVersions(ctx, u.ID)
	if err != nil || len(versions) != 2 || versions[0].Sections["work_done"] != "修了三段路" ||
		versions[1].Sections["work_done"] != "修了三段路，装了十盏路灯" || versions[1].Sections["next_week_plan"] != "下周修水渠" {
		t.Fatalf("versions: got %+v (%v), want the first kept and the correction", versions, err)
	}

	// The supervisor reads both versions, then sends the latest back.
	id := strconv.FormatInt(u.ID, 10)
	w.send(t, wkSupervisor, cmd("weekly", "2099-W10"))
	latest := w.send(t, wkSupervisor, press("wk:s:u."+id+".0"))
	weeklyLines(t, "latest version", weeklySaid(latest, wkSupervisor), "第 2 版（共 2 版），u200 提交于 2099-03-06 18:10", "修了三段路，装了十盏路灯", "下周修水渠")
	if got := buttonData(latest); !slices.Contains(got, "✓ 标记已阅=wk:s:r."+id+".2") || !slices.Contains(got, "↩ 退回修改=wk:s:b."+id+".2") ||
		!slices.Contains(got, "看第 1 版=wk:s:u."+id+".1") {
		t.Fatalf("buttons of the latest version: got %q", got)
	}
	first := weeklySaid(w.send(t, wkSupervisor, press("wk:s:u."+id+".1")), wkSupervisor)
	weeklyLines(t, "first version", first, "修了三段路")
	if strings.Contains(first, "路灯") {
		t.Fatalf("the first version shows the correction:\n%s", first)
	}
	if got := weeklySaid(w.send(t, wkSupervisor, press("wk:s:r."+id+".1")), wkSupervisor); !strings.Contains(got, "刚有变化") {
		t.Fatalf("marking an earlier version read: got %q, want moved on", got)
	}
	w.send(t, wkSupervisor, press("wk:s:b."+id+".2"))
	replies := w.send(t, wkSupervisor, text("请补充路灯的照片和位置"))
	if got := weeklySaid(replies, wkSupervisor); !strings.Contains(got, "✓ 已退回，意见已发给第一书记") {
		t.Fatalf("send back: got %q", got)
	}
	notice := weeklySaid(replies, wkSecretary)
	weeklyLines(t, "the first secretary's notice", notice,
		"↩ 您提交的一村 2099年第10周周报（第 2 版）被u206退回修改：", "请补充路灯的照片和位置", "发送 /weekly 2099-W10 打开并更正。")
	if got := weeklySaid(replies, wkMemberA); got != "" {
		t.Fatalf("a member was told %q, want nothing", got)
	}

	// The first secretary sees why, corrects it, and the supervisor reads it.
	draft := weeklySaid(w.send(t, wkSecretary, cmd("weekly", "2099-W10")), wkSecretary)
	weeklyLines(t, "returned draft", draft, "状态：第 2 版被退回修改：请补充路灯的照片和位置")
	w.send(t, wkSecretary, press("wk:d:e.1"))
	w.send(t, wkSecretary, text("路灯位置：村口、学校"))
	if got := weeklySaid(w.send(t, wkSecretary, press("wk:d:s")), wkSecretary); !strings.Contains(got, "第 3 版") {
		t.Fatalf("correction after the send-back: got %q", got)
	}
	w.send(t, wkSupervisor, cmd("weekly", "2099-W10"))
	if got := weeklySaid(w.send(t, wkSupervisor, press("wk:s:r."+id+".3")), wkSupervisor); !strings.Contains(got, "✓ 已标记为已阅") {
		t.Fatalf("mark read: got %q", got)
	}
	// Read, it can no longer be corrected.
	draft = weeklySaid(w.send(t, wkSecretary, cmd("weekly", "2099-W10")), wkSecretary)
	weeklyLines(t, "read draft", draft, "状态：第 3 版已被主管阅读，不能再更正")
	if got := buttonData(w.send(t, wkSecretary, cmd("weekly", "2099-W10"))); len(got) != 0 {
		t.Fatalf("buttons of a read update: got %q, want none", got)
	}
	for _, data := range []string{"wk:d:e.0", "wk:d:s"} {
		if got := weeklySaid(w.send(t, wkSecretary, press(data)), wkSecretary); !strings.Contains(got, "不能再更正") {
			t.Fatalf("%s on a read update: got %q, want a refusal", data, got)
		}
	}
	if versions, err := w.db.WeeklyVersions(ctx, u.ID); err != nil || len(versions) != 3 || versions[2].ReadAt == nil || versions[1].ReturnComment != "请补充路灯的照片和位置" {
		t.Fatalf("versions at the end: got %+v (%v)", versions, err)
	}
	view := weeklySaid(w.send(t, wkSupervisor, cmd("weekly", "2099-W10")), wkSupervisor)
	weeklyLines(t, "list", view, "✅ 一村：按时提交（2099-03-06 18:05），已阅，已更正为第 3 版")
}

func TestWeeklyOnlyWithinRoles(t *testing.T) {
	t.Parallel()
	w, c := weeklySetup(t)
	ctx := context.Background()
	c.set(march(6, 18, 0))
	w.writeAndSubmit(t, wkSecretary, "", "一村的周报", march(6, 18, 0), march(6, 18, 1))
	w.writeAndSubmit(t, wkSecretary4, "", "四村的周报", march(6, 18, 0), march(6, 18, 1))
	// V3 has a draft only.
	w.send(t, wkSecretary3, cmd("weekly"))
	w.send(t, wkSecretary3, press("wk:d:e.0"))
	w.send(t, wkSecretary3, text("三村的草稿"))
	c.set(march(9, 12, 0))
	updateID := func(code string) string {
		u, err := w.db.WeeklyUpdateOf(ctx, w.region[code].ID, marchDay(2))
		if err != nil {
			t.Fatal(err)
		}
		return strconv.FormatInt(u.ID, 10)
	}
	v1, v3, v4 := updateID("V1"), updateID("V3"), updateID("V4")
	refused := func(t *testing.T, who int64, in handlers.Input, want string) {
		t.Helper()
		if got := weeklySaid(w.send(t, who, in), who); !strings.Contains(got, want) {
			t.Fatalf("%d %s%s: got %q, want %q", who, in.Text, func() string {
				if in.Callback != nil {
					return in.Callback.Data
				}
				return ""
			}(), got, want)
		}
	}
	t.Run("roles", func(t *testing.T) {
		roleCases(t, w, refused, v1, v3, v4)
	})
	if versions, err := w.db.WeeklyVersions(ctx, weeklyID(t, v1)); err != nil || versions[0].ReadAt != nil || versions[0].ReturnedAt != nil {
		t.Fatalf("V1's update after the forged presses: got %+v (%v), want untouched", versions, err)
	}
}

// roleCases are the parallel cases of TestWeeklyOnlyWithinRoles, each with its own cast.
func roleCases(t *testing.T, w *world, refused func(*testing.T, int64, handlers.Input, string), v1, v3, v4 string) {
	const notAllowed = "您没有权限进行这项操作"
	t.Run("a resident sees none", func(t *testing.T) {
		t.Parallel()
		for _, name := range []string{"weekly", "note", "monthly"} {
			refused(t, wkResident, cmd(name), notAllowed)
		}
		if got := only(t, w.send(t, wkResident, cmd("help"))); strings.Contains(got, "/weekly") || strings.Contains(got, "/monthly") || strings.Contains(got, "/note") {
			t.Fatalf("resident's help lists weekly commands: %q", got)
		}
	})
	t.Run("a member reads the draft and cannot write it", func(t *testing.T) {
		t.Parallel()
		draft := weeklySaid(w.send(t, wkMemberA, cmd("weekly", "2099-W10")), wkMemberA)
		weeklyLines(t, "member's view", draft, "一村的周报", "周报由第一书记填写和提交。您可以用 /note 把本周的工作补充进草稿。")
		if got := buttonData(w.send(t, wkMemberA, cmd("weekly", "2099-W10"))); len(got) != 0 {
			t.Fatalf("member's buttons: got %q, want none", got)
		}
		refused(t, wkMemberA, press("wk:d:s"), notAllowed)
		refused(t, wkMemberA, press("wk:d:e.0"), notAllowed)
		refused(t, wkMemberA, cmd("monthly"), notAllowed)
	})
	t.Run("a first secretary sees only their own team", func(t *testing.T) {
		t.Parallel()
		draft := weeklySaid(w.send(t, wkSecretary2, cmd("weekly", "2099-W10")), wkSecretary2)
		if !strings.Contains(draft, "二村") || strings.Contains(draft, "一村") {
			t.Fatalf("V2's first secretary: got\n%s\nwant only 二村", draft)
		}
		// Buttons of the supervisors' step are stale on the draft step.
		refused(t, wkSecretary2, press("wk:s:u."+v1+".0"), "过期")
	})
	t.Run("a supervisor on a team opens the draft by the village's code", func(t *testing.T) {
		t.Parallel()
		const both = 290
		w.grant(t, both, store.RoleSupervisor, "T2")
		if err := w.db.GrantRole(context.Background(), both, store.RoleFirstSecretary, w.region["V4"].ID, nil, nil); err != nil {
			t.Fatal(err)
		}
		if got := weeklySaid(w.send(t, both, cmd("weekly", "2099-W10")), both); !strings.Contains(got, "📋 二镇") {
			t.Fatalf("/weekly: got %q, want the township's list", got)
		}
		replies := w.send(t, both, cmd("weekly", "V4", "2099-W10"))
		weeklyLines(t, "/weekly V4", weeklySaid(replies, both), "📝 四村 · 周报 · 2099年第10周（2099-03-02 至 2099-03-08）", "四村的周报")
		if got := buttonData(replies); !slices.Contains(got, "📤 提交更正=wk:d:s") {
			t.Fatalf("/weekly V4: got buttons %q, want the first secretary's", got)
		}
		refused(t, both, cmd("weekly", "V1"), "不在您的管辖范围内")
	})
	t.Run("a supervisor sees the villages under them, by name", func(t *testing.T) {
		t.Parallel()
		view := weeklySaid(w.send(t, wkOtherSupervisor, cmd("weekly", "2099-W10")), wkOtherSupervisor)
		weeklyLines(t, "T2's view", view, "✅ 四村：按时提交（2099-03-06 18:01）")
		for _, other := range []string{"一村", "二村", "三村"} {
			if strings.Contains(view, other) {
				t.Fatalf("T2's supervisor sees %s:\n%s", other, view)
			}
		}
		for _, data := range []string{"wk:s:u." + v1 + ".0", "wk:s:r." + v1 + ".1", "wk:s:b." + v1 + ".1", "wk:s:u." + v3 + ".0",
			"wk:s:l." + strconv.FormatInt(w.region["T1"].ID, 10) + ".20990302", "wk:s:l." + strconv.FormatInt(w.region["C"].ID, 10) + ".20990302"} {
			refused(t, wkOtherSupervisor, press(data), notAllowed)
		}
		if got := weeklySaid(w.send(t, wkOtherSupervisor, press("wk:s:u."+v4+".0")), wkOtherSupervisor); !strings.Contains(got, "四村的周报") {
			t.Fatalf("T2's supervisor opening 四村: got %q", got)
		}
		refused(t, wkOtherSupervisor, cmd("weekly", "T1"), "不在您的管辖范围内")
		refused(t, wkOtherSupervisor, cmd("monthly", "C"), "不在您的管辖范围内")
		// A draft is the team's: not even the supervisor over it opens it.
		w.send(t, wkSupervisor, cmd("weekly", "2099-W10"))
		refused(t, wkSupervisor, press("wk:s:u."+v3+".0"), notAllowed)
		view = weeklySaid(w.send(t, wkCountySupervisor, cmd("weekly", "2099-W10")), wkCountySupervisor)
		names := []string{"一村", "三村", "二村", "四村"} // by name, as Go orders strings
		var at []int
		for _, n := range names {
			at = append(at, strings.Index(view, n+"："))
		}
		if !slices.IsSorted(at) || at[0] < 0 {
			t.Fatalf("county's list: got\n%s\nwant %q in this order", view, names)
		}
	})
}

func weeklyID(t *testing.T, s string) int64 {
	t.Helper()
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return id
}
