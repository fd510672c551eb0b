package main

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"zhucun/bot/bottest"
	"zhucun/store"
)

// weeklyEnv is the demo county with the teams of 青山镇 (东坪村, 西岭村, 南塘村), a
// supervisor over the township and a resident of 东坪村, at the current week.
type weeklyEnv struct {
	*checkInEnv
	nantang                        store.Region
	li, zhang, chen, wang, zhao    *bottest.User // 东坪村: 李书记, 张队员, 陈队员; 西岭村: 王书记; 南塘村: 赵书记
	supervisor, resident           *bottest.User
	monday                         time.Time // the Monday of this week in Shanghai, as days are kept
	sundayNight, nextMondayMorning time.Time // 23:30 on its Sunday and 00:10 on the next Monday, in Shanghai
}

func newWeeklyEnv(t *testing.T) *weeklyEnv {
	t.Helper()
	w := &weeklyEnv{checkInEnv: newCheckInEnv(t)}
	nantang, err := w.db.RegionByCode(w.ctx, "DEMO-QS-03")
	if err != nil {
		t.Fatal(err)
	}
	township, err := w.db.RegionByCode(w.ctx, "DEMO-QS")
	if err != nil {
		t.Fatal(err)
	}
	w.nantang = nantang
	w.li = w.join(t, 8001, "李书记", "zh-hans", store.RoleFirstSecretary, w.dongping)
	w.zhang = w.member(t, 8002, "张队员")
	w.chen = w.member(t, 8003, "陈队员")
	w.wang = w.join(t, 8004, "王书记", "zh-hans", store.RoleFirstSecretary, w.xiling)
	w.zhao = w.join(t, 8005, "赵书记", "zh-hans", store.RoleFirstSecretary, w.nantang)
	w.supervisor = w.join(t, 8006, "周督导", "zh-hans", store.RoleSupervisor, township)
	w.resident = w.join(t, 8007, "村民", "zh-hans", store.RoleResident, w.dongping)
	now := time.Now().In(w.shanghai)
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	w.monday = today.AddDate(0, 0, -((int(today.Weekday()) + 6) % 7))
	w.sundayNight = w.at(6, 23, 30)
	w.nextMondayMorning = w.at(7, 0, 10)
	return w
}

// at is hh:mm on the day that is days after this week's Monday, in Shanghai.
func (w *weeklyEnv) at(days, hh, mm int) time.Time {
	return time.Date(w.monday.Year(), w.monday.Month(), w.monday.Day()+days, hh, mm, 0, 0, w.shanghai)
}

// day is the day that is days after this week's Monday, as days are kept.
func (w *weeklyEnv) day(days int) time.Time { return w.monday.AddDate(0, 0, days) }

// label is the ISO name of the week that starts days after this week's Monday.
func (w *weeklyEnv) label(days int) string {
	y, n := w.day(days).ISOWeek()
	return fmt.Sprintf("%d-W%02d", y, n)
}

// weekName is how the bot names the week that starts days after this week's Monday.
func (w *weeklyEnv) weekName(days int) string {
	y, n := w.day(days).ISOWeek()
	return fmt.Sprintf("%d年第%d周", y, n)
}

func (w *weeklyEnv) seedCheckIn(t *testing.T, u *bottest.User, days int, onSite bool) {
	t.Helper()
	c := store.CheckIn{UserID: u.ID, RegionID: w.dongping.ID, Day: w.day(days), CheckedAt: w.at(days, 9, 0),
		Source: store.SourceSelf, RecordedBy: u.ID, OnSite: onSite, Verdict: store.VerdictSelfDeclared}
	if !onSite {
		c.OffSiteReason = "meeting"
	}
	if _, err := w.db.AddCheckIn(w.ctx, c); err != nil {
		t.Fatal(err)
	}
}

// seedProblem records a problem reported at a time, then its history: each step an
// action to a status at a time, the deadline set from the first step on.
func (w *weeklyEnv) seedProblem(t *testing.T, village store.Region, category string, reported time.Time, deadline time.Time, steps ...weeklyStep) {
	t.Helper()
	p, err := w.db.AddProblem(w.ctx, store.Problem{RegionID: village.ID, Year: int32(reported.Year()), Category: category,
		Description: "问题", Urgency: "normal", ReportedBy: w.zhang.ID, ReporterRole: store.RoleMember, ReportedAt: reported}, nil)
	if err != nil {
		t.Fatal(err)
	}
	from := store.StatusReported
	for _, s := range steps {
		p.Status, p.UpdatedAt, p.Deadline = s.to, s.at, &deadline
		switch s.action {
		case "resolve":
			p.ResolvedAt = &s.at
		case "verify":
			p.VerifiedAt = &s.at
		}
		if err := w.db.UpdateProblem(w.ctx, p); err != nil {
			t.Fatal(err)
		}
		if _, err := w.db.AddProblemEvent(w.ctx, store.ProblemEvent{ProblemID: p.ID, At: s.at, ActorID: w.li.ID,
			Action: s.action, FromStatus: from, ToStatus: s.to}); err != nil {
			t.Fatal(err)
		}
		from = s.to
	}
}

type weeklyStep struct {
	action, to string
	at         time.Time
}

// dated does something as u with its messages dated at, then dates them by the clock again.
func (w *weeklyEnv) dated(t *testing.T, u *bottest.User, at time.Time, do func() []bottest.Call) []bottest.Call {
	t.Helper()
	u.Date = at
	defer func() { u.Date = time.Time{} }()
	return do()
}

// text joins what the calls say.
func weeklyText(calls []bottest.Call) string {
	var parts []string
	for _, c := range calls {
		parts = append(parts, replyText(c))
	}
	return strings.Join(parts, "\n")
}

// weeklyLines fails unless text holds each of want as a whole line.
func weeklyLines(t *testing.T, what, text string, want ...string) {
	t.Helper()
	lines := strings.Split(text, "\n")
	for _, l := range want {
		if !slices.Contains(lines, l) {
			t.Fatalf("%s: got\n%s\nwant the line %q", what, text, l)
		}
	}
}

// write has a first secretary, in their draft, write a section.
func (w *weeklyEnv) write(t *testing.T, u *bottest.User, section, text string) {
	t.Helper()
	wantReplies(t, w.press(t, u, section), "请发送“"+section+"”的内容")
	if got := weeklyText(w.text(t, u, text)); !strings.Contains(got, "✓ 已保存“"+section+"”") || !strings.Contains(got, text) {
		t.Fatalf("writing %s: got %q, want it saved and shown", section, got)
	}
}

// TestWeeklyUpdateEndToEnd: a week of records gives the draft's figures; 东坪村
// submits on time and corrects it, 西岭村 submits after the deadline, 南塘村 not at
// all; the supervisor sees each, reads both versions and sends the update back to
// the first secretary. Sunday 23:30 belongs to the week, Monday 00:10 to the next.
//
// The week's figures, by hand:
//
//	张队员: on Mon, Tue, Sun 23:30 (through the bot); off Wed; Mon 00:10 is next week   3 on, 1 off
//	李书记: nothing                                                                      0
//	陈队员: on Tue; leave Thu, Fri                                                        1 on, 2 leave
//	economy:  reported Mon, fixed Tue, verified Wed; reported next Mon 00:10 (not this week)
//	security: reported Sun 23:30
//	customs:  reported 5 days before the week, due 2 days before it, in progress: overdue
//	西岭村's problem does not count.
func TestWeeklyUpdateEndToEnd(t *testing.T) {
	t.Parallel()
	w := newWeeklyEnv(t)
	w.seedCheckIn(t, w.zhang, 0, true)
	w.seedCheckIn(t, w.zhang, 1, true)
	w.seedCheckIn(t, w.zhang, 2, false)
	w.seedCheckIn(t, w.chen, 1, true)
	if _, err := w.db.AddLeave(w.ctx, w.chen.ID, w.dongping.ID, []time.Time{w.day(3), w.day(4)}, w.li.ID); err != nil {
		t.Fatal(err)
	}
	for _, at := range []time.Time{w.sundayNight, w.nextMondayMorning} {
		wantReplies(t, w.dated(t, w.zhang, at, func() []bottest.Call { return w.tap(t, w.zhang) }), "已打卡：今天 "+at.Format("15:04"), offerLoc)
		w.command(t, w.zhang, "cancel")
	}
	w.seedProblem(t, w.dongping, "economy", w.at(0, 9, 0), w.at(10, 0, 0),
		weeklyStep{"assign", store.StatusAssigned, w.at(0, 10, 0)}, weeklyStep{"start", store.StatusInProgress, w.at(0, 11, 0)},
		weeklyStep{"resolve", store.StatusResolved, w.at(1, 10, 0)}, weeklyStep{"verify", store.StatusVerified, w.at(2, 10, 0)})
	w.seedProblem(t, w.dongping, "economy", w.nextMondayMorning, time.Time{})
	w.seedProblem(t, w.dongping, "security", w.sundayNight, time.Time{})
	w.seedProblem(t, w.dongping, "customs", w.at(-5, 9, 0), w.day(-2),
		weeklyStep{"assign", store.StatusAssigned, w.at(-5, 10, 0)}, weeklyStep{"start", store.StatusInProgress, w.at(-4, 10, 0)})
	w.seedProblem(t, w.xiling, "economy", w.at(0, 9, 0), time.Time{})

	// Notes of the team, on either side of midnight.
	got := w.dated(t, w.chen, w.sundayNight, func() []bottest.Call { return w.command(t, w.chen, "note", "周日晚上走访了两户") })
	wantReplies(t, got, "✓ 已记入东坪村 "+w.weekName(0))
	got = w.dated(t, w.chen, w.nextMondayMorning, func() []bottest.Call { return w.command(t, w.chen, "note", "周一凌晨处理漏水") })
	wantReplies(t, got, "✓ 已记入东坪村 "+w.weekName(7))

	// The first secretary's draft of this week.
	draft := weeklyText(w.command(t, w.li, "weekly"))
	weeklyLines(t, "the draft", draft,
		"状态：草稿，尚未提交",
		"张队员：在村 3 天，外出 1 天，请假 0 天",
		"李书记：在村 0 天，外出 0 天，请假 0 天",
		"陈队员：在村 1 天，外出 0 天，请假 2 天",
		"经济发展缓慢：新报 1，解决 1，验收 1，逾期 0",
		"社会治安：新报 1，解决 0，验收 0，逾期 0",
		"乡风文明和村容村貌：新报 0，解决 0，验收 0，逾期 1",
		"合计：新报 2，解决 1，验收 1，逾期 1",
		"· 陈队员（"+w.sundayNight.Format("01-02")+" 23:30）：周日晚上走访了两户")
	if strings.Contains(draft, "漏水") {
		t.Fatalf("this week's draft holds next week's note:\n%s", draft)
	}

	// Written and submitted before the deadline (Sunday 24:00): on time.
	w.write(t, w.li, "本周工作开展情况", "修了三段路")
	w.write(t, w.li, "下周工作计划", "开村民大会")
	if got := weeklyText(w.press(t, w.li, "提交周报")); !strings.Contains(got, "✓ 周报已按时提交（第 1 版）") {
		t.Fatalf("submit: got %q, want on time", got)
	}
	// Corrected before anyone reads it: version 2, version 1 kept.
	w.write(t, w.li, "本周工作开展情况", "修了三段路，装了十盏路灯")
	if got := weeklyText(w.press(t, w.li, "提交更正")); !strings.Contains(got, "✓ 更正已提交，为第 2 版") {
		t.Fatalf("correction: got %q", got)
	}
	u, err := w.db.WeeklyUpdateOf(w.ctx, w.dongping.ID, w.monday)
	if err != nil {
		t.Fatal(err)
	}
	versions, err := w.db.WeeklyVersions(w.ctx, u.ID)
	if err != nil || len(versions) != 2 || versions[0].Sections["work_done"] != "修了三段路" || versions[1].Sections["work_done"] != "修了三段路，装了十盏路灯" {
		t.Fatalf("versions: got %+v (%v), want 修了三段路 kept as version 1", versions, err)
	}

	// The county moves its deadline to Monday 00:00: this week is now past due.
	if err := w.db.SetWeeklyDeadline(w.ctx, w.county.ID, store.WeeklyDeadline{Weekday: 1, Hour: 0}); err != nil {
		t.Fatal(err)
	}
	w.command(t, w.wang, "weekly")
	w.write(t, w.wang, "本周工作开展情况", "开了党员会")
	if got := weeklyText(w.press(t, w.wang, "提交周报")); !strings.Contains(got, "记为逾期提交") {
		t.Fatalf("西岭村's submission: got %q, want late", got)
	}
	wantReplies(t, w.command(t, w.zhao, "weekly"), "📝 南塘村 · 周报") // and nothing more

	// The supervisor's view: by default this week, the latest one due.
	view := weeklyText(w.command(t, w.supervisor, "weekly"))
	weeklyLines(t, "the supervisor's view", view,
		"按时提交 1 · 逾期提交 1 · 未交 1 · 未到截止 0",
		"✅ 东坪村：按时提交（"+versions[0].SubmittedAt.In(w.shanghai).Format("2006-01-02 15:04")+"），已更正为第 2 版",
		"❌ 南塘村：未交")
	if !strings.Contains(view, "⏰ 西岭村：逾期提交（") {
		t.Fatalf("the supervisor's view: got\n%s\nwant 西岭村 late", view)
	}
	if i, j, k := strings.Index(view, "东坪村："), strings.Index(view, "南塘村："), strings.Index(view, "西岭村："); !(i < j && j < k) {
		t.Fatalf("the supervisor's view: got\n%s\nwant the villages by name", view)
	}
	opened := weeklyText(w.press(t, w.supervisor, "东坪村"))
	weeklyLines(t, "the update", opened, "修了三段路，装了十盏路灯", "开村民大会", "张队员：在村 3 天，外出 1 天，请假 0 天")
	first := weeklyText(w.press(t, w.supervisor, "看第 1 版"))
	weeklyLines(t, "version 1", first, "修了三段路")
	w.press(t, w.supervisor, "看第 2 版")
	wantReplies(t, w.press(t, w.supervisor, "退回修改"), "请写明退回的原因")
	before := len(w.api.Messages(w.li.ID))
	wantReplies(t, w.text(t, w.supervisor, "请补充路灯的位置"), "✓ 已退回，意见已发给第一书记")
	notice := w.api.WaitMessages(t, w.li.ID, before+1)[before].Text
	weeklyLines(t, "the notice", notice, "请补充路灯的位置", "发送 /weekly "+w.label(0)+" 打开并更正。")
	if !strings.Contains(notice, "被周督导退回修改") {
		t.Fatalf("the notice: got %q, want it from 周督导", notice)
	}
	draft = weeklyText(w.command(t, w.li, "weekly", w.label(0)))
	weeklyLines(t, "the returned draft", draft, "状态：第 2 版被退回修改：请补充路灯的位置")

	// Next week's draft, seen from Monday 00:20, holds what happened from Monday 00:00.
	next := weeklyText(w.dated(t, w.li, w.at(7, 0, 20), func() []bottest.Call { return w.command(t, w.li, "weekly") }))
	weeklyLines(t, "next week's draft", next,
		"张队员：在村 1 天，外出 0 天，请假 0 天",
		"经济发展缓慢：新报 1，解决 0，验收 0，逾期 0",
		"· 陈队员（"+w.nextMondayMorning.Format("01-02")+" 00:10）：周一凌晨处理漏水")
	if strings.Contains(next, "走访了两户") || strings.Contains(next, "社会治安") {
		t.Fatalf("next week's draft holds this week's records:\n%s", next)
	}

	// Nobody outside their roles.
	wantReplies(t, w.command(t, w.resident, "weekly"), notAllowed)
	wantReplies(t, w.command(t, w.resident, "monthly"), notAllowed)
	member := weeklyText(w.command(t, w.zhang, "weekly"))
	if !strings.Contains(member, "周报由第一书记填写和提交") {
		t.Fatalf("a member's /weekly: got %q, want the read-only draft", member)
	}
	msgs := w.api.Messages(w.zhang.ID)
	forged := fmt.Sprintf("wk:s:r.%d.2", u.ID)
	wantReplies(t, w.act(t, w.zhang, func() { w.zhang.Press(msgs[len(msgs)-1], forged) }), staleButton)
	wantReplies(t, w.act(t, w.zhang, func() { w.zhang.Press(msgs[len(msgs)-1], "wk:d:s") }), notAllowed)
	if v, err := w.db.WeeklyVersions(w.ctx, u.ID); err != nil || len(v) != 2 || v[1].ReadAt != nil {
		t.Fatalf("after the forged presses: got %+v (%v), want version 2 unread", v, err)
	}
}

// TestMonthlyReportEndToEnd: the supervisor asks for the month and gets the
// spreadsheet; nobody else does.
func TestMonthlyReportEndToEnd(t *testing.T) {
	t.Parallel()
	w := newWeeklyEnv(t)
	// The month this week belongs to: the month of its Thursday.
	w.seedProblem(t, w.dongping, "economy", w.at(3, 9, 0), time.Time{})
	w.command(t, w.li, "weekly")
	w.write(t, w.li, "本周工作开展情况", "修了三段路")
	w.press(t, w.li, "提交周报")
	month := w.day(3).Format("2006-01")
	got := w.command(t, w.supervisor, "monthly", month)
	wantReplies(t, got, "青山镇 "+month+" 驻村工作月报")
	doc := got[0].Files["document"]
	if got[0].Method != "sendDocument" || doc.Name != "monthly-DEMO-QS-"+month+".xlsx" {
		t.Fatalf("/monthly: got %s of %q, want the document monthly-DEMO-QS-%s.xlsx", got[0].Method, doc.Name, month)
	}
	f, err := excelize.OpenReader(bytes.NewReader(doc.Bytes))
	if err != nil {
		t.Fatalf("open the report: %v", err)
	}
	defer f.Close()
	if got, want := f.GetSheetList(), []string{"汇总", "东坪村", "南塘村", "西岭村"}; !slices.Equal(got, want) {
		t.Fatalf("sheets: got %q, want %q", got, want)
	}
	rows, err := f.GetRows("汇总")
	if err != nil {
		t.Fatal(err)
	}
	header := []string{"村", "乡镇", "工作队人数", "在村天数", "要求天数", "外出天数", "请假天数", "未打卡天数", "新报问题", "解决问题", "逾期问题", "周报按时", "周报逾期提交", "周报未交", "最近一次满意度测评", "验收"}
	if len(rows) != 4 || !slices.Equal(rows[0], header) {
		t.Fatalf("summary: got %q, want the header %q and three villages", rows, header)
	}
	// 东坪村: 3 on the team, 1 problem opened; 西岭村 and 南塘村: their first secretary.
	for i, want := range [][]string{{"东坪村", "青山镇", "3"}, {"南塘村", "青山镇", "1"}, {"西岭村", "青山镇", "1"}} {
		if !slices.Equal(rows[i+1][:3], want) {
			t.Fatalf("summary row %d: got %q, want it to start %q", i+2, rows[i+1], want)
		}
	}
	if rows[1][8] != "1" {
		t.Fatalf("东坪村's problems opened: got %q, want 1", rows[1][8])
	}
	updates, err := f.GetRows("东坪村")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(updates, func(r []string) bool { return slices.Contains(r, "修了三段路") }) {
		t.Fatalf("东坪村's sheet: got %q, want this week's update in it", updates)
	}

	wantReplies(t, w.command(t, w.resident, "monthly"), notAllowed)
	wantReplies(t, w.command(t, w.li, "monthly"), notAllowed)
	wantReplies(t, w.command(t, w.zhang, "monthly"), notAllowed)
	hexi, err := w.db.RegionByCode(w.ctx, "DEMO-HX")
	if err != nil {
		t.Fatal(err)
	}
	outsider := w.join(t, 8100, "吴督导", "zh-hans", store.RoleSupervisor, hexi)
	wantReplies(t, w.command(t, outsider, "monthly", "DEMO-QS"), "不在您的管辖范围内")
}

// TestWeeklyDraftSurvivesRestart: the draft is a record and the step a conversation:
// a section half-written when the bot stops is finished on the next one.
func TestWeeklyDraftSurvivesRestart(t *testing.T) {
	t.Parallel()
	w := &checkInEnv{env: newEnv(t), ctx: context.Background()}
	w.importDemo(t)
	dongping, err := w.db.RegionByCode(w.ctx, "DEMO-QS-01")
	if err != nil {
		t.Fatal(err)
	}
	w.dongping = dongping
	if w.shanghai, err = time.LoadLocation("Asia/Shanghai"); err != nil {
		t.Fatal(err)
	}
	first := w.start(t, nil)
	li := w.join(t, 8201, "李书记", "zh-hans", store.RoleFirstSecretary, dongping)
	w.command(t, li, "weekly")
	wantReplies(t, w.press(t, li, "本周工作开展情况"), "请发送“本周工作开展情况”的内容")
	first.stop()

	w.start(t, nil) // a new bot on the same Postgres and Redis
	got := weeklyText(w.text(t, li, "修了三段路"))
	if !strings.Contains(got, "✓ 已保存“本周工作开展情况”") {
		t.Fatalf("after the restart: got %q, want the section saved", got)
	}
	w.press(t, li, "下周工作计划")
	w.text(t, li, "开村民大会")
	draft := weeklyText(w.command(t, li, "weekly"))
	weeklyLines(t, "the draft after the restart", draft, "修了三段路", "开村民大会", "状态：草稿，尚未提交")
}
