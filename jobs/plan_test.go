package jobs_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"zhucun/store"
)

// The people of the simulated day (2026-10-09, a Friday and a working day, in county K).
const (
	secretary1 = 101 // first secretary of 东坪村 (V1); checked in at 08:00
	liMing     = 102 // member of V1; checked in at 09:00 (doubtful)
	zhangHua   = 103 // member of V1; checks in at 10:30, after the reminder
	zhaoMin    = 104 // member of V1; on leave today
	chenGang   = 105 // member of V1; muted the check-in reminder
	sunLi      = 106 // member of V2; wants the reminder at 11:00, checks in at 10:45
	zhouYu     = 107 // member of V2; wants the reminder at 06:00, in the quiet hours
	wuQiang    = 108 // member of V2; blocked the bot
	secretary2 = 109 // first secretary of V2; wants the digest at 22:30, in the quiet hours
	secretary3 = 110 // first secretary of V3
	zhengJie   = 111 // member of V3; wants the reminder at 11:00
	townSup1   = 201 // supervisor of T1
	countySup  = 202 // supervisor of K
	townSup2   = 203 // supervisor of T2
)

// seedDay fills the world for the simulated day, with the county's check-in reminder on.
func seedDay(t *testing.T, w *world) {
	t.Helper()
	if err := w.db.SetReminderSettings(w.ctx, store.ReminderSettings{RegionID: w.regions["K"].ID, CheckInReminder: true,
		CheckInReminderAt: 10 * 60, DigestAt: 20 * 60, EscalateAfterDays: 3, QuietFrom: 21*60 + 30, QuietTo: 7*60 + 30}); err != nil {
		t.Fatal(err)
	}
	fs, m, sup := store.RoleFirstSecretary+"@", store.RoleMember+"@", store.RoleSupervisor+"@"
	w.person(t, secretary1, "王书记", fs+"V1")
	w.person(t, liMing, "李明", m+"V1")
	w.person(t, zhangHua, "张华", m+"V1")
	w.person(t, zhaoMin, "赵敏", m+"V1")
	w.person(t, chenGang, "陈刚", m+"V1")
	w.person(t, sunLi, "孙丽", m+"V2")
	w.person(t, zhouYu, "周宇", m+"V2")
	w.person(t, wuQiang, "吴强", m+"V2")
	w.person(t, secretary2, "刘书记", fs+"V2")
	w.person(t, secretary3, "何书记", fs+"V3")
	w.person(t, zhengJie, "郑洁", m+"V3")
	w.person(t, townSup1, "镇督导一", sup+"T1")
	w.person(t, countySup, "县督导", sup+"K")
	w.person(t, townSup2, "镇督导二", sup+"T2")

	w.checkIn(t, secretary1, "V1", local("2026-10-09", 8, 0), store.VerdictSelfDeclared)
	w.checkIn(t, liMing, "V1", local("2026-10-09", 9, 0), store.VerdictDoubtful, "low_accuracy")
	if _, err := w.db.AddLeave(w.ctx, zhaoMin, w.regions["V1"].ID, []time.Time{date("2026-10-09")}, secretary1); err != nil {
		t.Fatal(err)
	}
	if err := w.db.MarkBlocked(w.ctx, wuQiang); err != nil {
		t.Fatal(err)
	}
	w.remind(t, store.ReminderPref{UserID: chenGang, Kind: store.ReminderCheckIn, Muted: true})
	w.remind(t, store.ReminderPref{UserID: sunLi, Kind: store.ReminderCheckIn, AtMinute: minutes(11, 0)})
	w.remind(t, store.ReminderPref{UserID: zhouYu, Kind: store.ReminderCheckIn, AtMinute: minutes(6, 0)})
	w.remind(t, store.ReminderPref{UserID: zhengJie, Kind: store.ReminderCheckIn, AtMinute: minutes(11, 0)})
	w.remind(t, store.ReminderPref{UserID: secretary2, Kind: store.ReminderDigest, AtMinute: minutes(22, 30)})

	before := local("2026-09-01", 9, 0)
	w.problem(t, "V1", "村道路灯坏了三盏", before, store.StatusAssigned, liMing, "2026-10-10")      // due tomorrow
	w.problem(t, "V1", "垃圾站没有按时清运", before, store.StatusInProgress, zhangHua, "2026-09-29") // 3 working days overdue
	w.problem(t, "V1", "村委会公开栏更新不及时", before, store.StatusResolved, liMing, "2026-10-20")   // to verify
	w.problem(t, "V3", "灌溉水渠堵塞", before, store.StatusAssigned, zhengJie, "2026-09-22")      // 7 working days overdue
}

// simulatedDayWant is what the simulated day sends: who, when, what.
var simulatedDayWant = []string{
	"101@10-09 20:00 【每日汇总】2026-10-09",
	"102@10-09 09:00 【到期提醒】明天（2026-10-10）是下面 1 个问题的整改期限",
	"103@10-09 10:00 打卡提醒",
	"107@10-09 07:30 打卡提醒",             // at 06:00 by choice: in the quiet hours
	"107@10-10 07:30 打卡提醒",             // Saturday 10 October is worked instead of a National Day holiday
	"109@10-09 07:30 【每日汇总】2026-10-08", // the evening before, put off to the morning
	"109@10-09 10:00 打卡提醒",
	"109@10-10 07:30 【每日汇总】2026-10-09",
	"110@10-09 10:00 打卡提醒",
	"110@10-09 20:00 【每日汇总】2026-10-09",
	"111@10-09 11:00 打卡提醒",
	"201@10-09 09:00 【逾期提醒】1 个问题超过整改期限还没有整改完",
	"202@10-09 09:00 【逾期提醒】1 个问题超过整改期限还没有整改完",
	"203@10-09 09:00 【逾期提醒】1 个问题超过整改期限还没有整改完",
}

// dayEvents are what people do during the simulated day.
func dayEvents(t *testing.T, w *world, at func(time.Time, func())) {
	at(local("2026-10-09", 10, 30), func() { w.checkIn(t, zhangHua, "V1", local("2026-10-09", 10, 30), store.VerdictSelfDeclared) })
	at(local("2026-10-09", 10, 45), func() { w.checkIn(t, sunLi, "V2", local("2026-10-09", 10, 45), store.VerdictSelfDeclared) })
	at(local("2026-10-09", 14, 0), func() {
		w.problem(t, "V1", "新发现一处危房", local("2026-10-09", 14, 0), store.StatusReported, liMing, "")
	})
}

// TestSimulatedDay runs the jobs through a simulated day, every five minutes: each
// reminder goes at its local time to exactly the right people.
func TestSimulatedDay(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	seedDay(t, w)
	out := &recorder{clock: w.clock}
	sim := w.simulate(w.scheduler(t, out, nil))
	dayEvents(t, w, sim.at)
	sim.run(t, local("2026-10-09", 3, 0), local("2026-10-10", 8, 0), 5*time.Minute)

	if got := summary(out.deliveries()); !slices.Equal(got, simulatedDayWant) {
		t.Errorf("deliveries:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(simulatedDayWant, "\n"))
	}

	// The first secretary of 东坪村: counts first, then the lines, by name and number.
	digest := out.to(secretary1)[0].text
	wantDigest := strings.Join([]string{
		"【每日汇总】2026-10-09",
		"东坪村：打卡 3/5 人（请假 1），存疑 1；新问题 1，明天到期 1，已逾期 1，待验收 1",
		"• 未打卡：陈刚",
		"• 已打卡：张华、李明、王书记",
		"• 存疑打卡：李明 09:00（定位精度太低）",
		"• 已逾期 东坪村 2026-002 垃圾站没有按时清运（期限 2026-09-29，负责人 张华）",
		"• 明天到期 东坪村 2026-001 村道路灯坏了三盏（负责人 李明）",
		"• 待验收 东坪村 2026-003 村委会公开栏更新不及时",
		"• 新问题 东坪村 2026-004 新发现一处危房",
		"发送 /settings 可以关闭这类提醒或者改时间。",
	}, "\n")
	if digest != wantDigest {
		t.Errorf("digest of 东坪村:\n%s\nwant:\n%s", digest, wantDigest)
	}
	// 西岭村's first secretary learns who cannot be reached.
	if d := out.to(secretary2); len(d) != 3 || !strings.Contains(d[2].text, "联系不上（已停用机器人）：吴强") {
		t.Errorf("digest of 西岭村: %+v, want it to name 吴强 as unreachable", d)
	}
	// The county's supervisor hears of the problem overdue by 2×3 working days only.
	if d := out.to(countySup); len(d) != 1 || !strings.Contains(d[0].text, "柳湾村 2026-001 灌溉水渠堵塞：期限 2026-09-22，已逾期 7 个工作日，负责人 郑洁") {
		t.Errorf("county supervisor got %+v", d)
	}
	// Every message says how to mute it and asks for no answer.
	for _, d := range out.deliveries() {
		if !strings.Contains(d.text, "/settings") || strings.Contains(d.text, "请回复") {
			t.Errorf("message to %d does not say how to mute it, or asks for an answer:\n%s", d.chat, d.text)
		}
	}
}

// TestEscalationAcrossNationalDay follows a problem due on Tuesday 29 September 2026
// through the National Day holiday (1–7 October) and the Saturday worked instead
// (10 October): three working days later (30 September, 8 and 9 October) it goes to the
// township, six working days later (…, 10, 12 and 13 October) to the county.
func TestEscalationAcrossNationalDay(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	sup := store.RoleSupervisor + "@"
	w.person(t, zhangHua, "张华", store.RoleMember+"@V1")
	w.person(t, townSup1, "镇督导一", sup+"T1")
	w.person(t, countySup, "县督导", sup+"K")
	w.person(t, townSup2, "镇督导二", sup+"T2") // another township: never told
	w.problem(t, "V1", "垃圾站没有按时清运", local("2026-09-01", 9, 0), store.StatusInProgress, zhangHua, "2026-09-29")
	out := &recorder{clock: w.clock}
	sim := w.simulate(w.scheduler(t, out, nil))
	for d := date("2026-09-29"); !d.After(date("2026-10-16")); d = d.AddDate(0, 0, 1) {
		day := d.Format(time.DateOnly)
		sim.run(t, local(day, 8, 0), local(day, 10, 0), time.Hour)
	}
	who := map[int64]string{townSup1: "township", countySup: "county", townSup2: "other township"}
	var got []string
	for _, d := range out.deliveries() {
		if !strings.HasPrefix(d.text, "【逾期提醒】") {
			continue // the Monday digests
		}
		days := d.text[strings.Index(d.text, "已逾期"):]
		days = days[:strings.Index(days, "，")]
		got = append(got, d.at.In(shanghai).Format("01-02 15:04")+" "+who[d.chat]+" "+days)
	}
	want := []string{"10-09 09:00 township 已逾期 3 个工作日", "10-13 09:00 county 已逾期 6 个工作日"}
	if !slices.Equal(got, want) {
		t.Errorf("escalations %q, want %q", got, want)
	}
}

// TestEscalationFollowsCountySetting checks that the number of working days is the
// county's, and that a new deadline starts the count again.
func TestEscalationFollowsCountySetting(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	rs := store.DefaultReminderSettings(w.regions["K"].ID)
	rs.EscalateAfterDays = 1
	if err := w.db.SetReminderSettings(w.ctx, rs); err != nil {
		t.Fatal(err)
	}
	w.person(t, zhangHua, "张华", store.RoleMember+"@V1")
	w.person(t, townSup1, "镇督导一", store.RoleSupervisor+"@T1")
	p := w.problem(t, "V1", "垃圾站没有按时清运", local("2026-09-01", 9, 0), store.StatusInProgress, zhangHua, "2026-11-02")
	out := &recorder{clock: w.clock}
	sim := w.simulate(w.scheduler(t, out, nil))
	sim.run(t, local("2026-11-03", 9, 0), local("2026-11-03", 9, 0), time.Hour) // Tuesday: 1 working day
	sim.run(t, local("2026-11-04", 9, 0), local("2026-11-04", 9, 0), time.Hour) // told already
	p.Deadline = new(time.Time)
	*p.Deadline = date("2026-11-04")
	if err := w.db.UpdateProblem(w.ctx, p); err != nil {
		t.Fatal(err)
	}
	sim.run(t, local("2026-11-05", 9, 0), local("2026-11-05", 9, 0), time.Hour) // the new deadline passed
	if got := summary(out.to(townSup1)); len(got) != 2 || !strings.Contains(got[0], "11-03 09:00") || !strings.Contains(got[1], "11-05 09:00") {
		t.Errorf("township supervisor got %q, want escalations on 11-03 and 11-05", got)
	}
}

func TestWeeklyDigest(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	seedDay(t, w)
	w.person(t, 301, "市督导", store.RoleSupervisor+"@K") // a second county supervisor who muted it
	w.remind(t, store.ReminderPref{UserID: 301, Kind: store.ReminderWeekly, Muted: true})
	out := &recorder{clock: w.clock}
	sim := w.simulate(w.scheduler(t, out, nil))
	// Sunday 11 October, then Monday 12 October: the digest of 5–11 October goes out on
	// Monday at 09:00.
	sim.run(t, local("2026-10-11", 8, 0), local("2026-10-12", 10, 0), 30*time.Minute)
	var weekly []delivery
	for _, d := range out.deliveries() {
		if strings.HasPrefix(d.text, "【每周汇总】") {
			weekly = append(weekly, d)
		}
	}
	if got := summary(weekly); !slices.Equal(got, []string{
		"201@10-12 09:00 【每周汇总】2026-10-05 至 2026-10-11 · 青山镇",
		"202@10-12 09:00 【每周汇总】2026-10-05 至 2026-10-11 · 示范县",
		"203@10-12 09:00 【每周汇总】2026-10-05 至 2026-10-11 · 河西镇",
	}) {
		t.Fatalf("weekly digests %q", got)
	}
	text := out.to(townSup1)
	i := slices.IndexFunc(text, func(d delivery) bool { return strings.HasPrefix(d.text, "【每周汇总】") })
	want := strings.Join([]string{
		"【每周汇总】2026-10-05 至 2026-10-11 · 青山镇",
		"2 个村，驻村 9 人，在村打卡 2 人次；新问题 0，已整改 0，已验收 0；未办结 3，其中已逾期 2、待验收 1",
		"• 已逾期 东坪村 2026-001 村道路灯坏了三盏（期限 2026-10-10，负责人 李明）",
		"• 已逾期 东坪村 2026-002 垃圾站没有按时清运（期限 2026-09-29，负责人 张华）",
		"• 待验收 东坪村 2026-003 村委会公开栏更新不及时",
		"发送 /settings 可以关闭这类提醒或者改时间。",
	}, "\n")
	if text[i].text != want {
		t.Errorf("weekly digest of 青山镇:\n%s\nwant:\n%s", text[i].text, want)
	}
}

func TestCalendarMissingToldOnce(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	if _, err := w.db.TouchUser(w.ctx, adminID, "管理员", "en"); err != nil {
		t.Fatal(err)
	}
	out := &recorder{clock: w.clock}
	sim := w.simulate(w.scheduler(t, out, nil))
	sim.run(t, local("2026-12-31", 12, 0), local("2026-12-31", 12, 0), time.Hour) // 2026 is known
	sim.run(t, local("2027-01-01", 3, 0), local("2027-01-02", 12, 0), time.Hour)  // quiet until 07:30
	got := out.to(adminID)
	if len(got) != 1 || !strings.Contains(got[0].text, "2027") || got[0].at != local("2027-01-01", 8, 0) {
		t.Fatalf("admin got %+v, want one note on 2027 at 08:00 on 1 January", got)
	}
	if !strings.Contains(got[0].text, "no calendar") {
		t.Errorf("the note is not in the admin's language (en): %q", got[0].text)
	}
}

// TestWeeklyUpdateReminder checks that first secretaries whose village's weekly update is
// not submitted are reminded on the deadline's day (a deadline from noon on), or the
// day before (a morning deadline).
func TestWeeklyUpdateReminder(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	seedDay(t, w)
	county := w.regions["K"].ID
	if err := w.db.SetWeeklyDeadline(w.ctx, county, store.WeeklyDeadline{Weekday: 5, Hour: 18}); err != nil {
		t.Fatal(err)
	}
	// 东坪村's update of the week of 5 October is in; 西岭村's and 柳湾村's are not.
	u, err := w.db.EnsureWeeklyUpdate(w.ctx, w.regions["V1"].ID, date("2026-10-05"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.db.SubmitWeeklyUpdate(w.ctx, u.ID, []byte(`{}`), secretary1, local("2026-10-08", 16, 0), local("2026-10-09", 18, 0)); err != nil {
		t.Fatal(err)
	}
	out := &recorder{clock: w.clock}
	sim := w.simulate(w.scheduler(t, out, nil))
	sim.run(t, local("2026-10-08", 8, 0), local("2026-10-09", 10, 0), time.Hour) // Thursday and Friday
	var got []string
	for _, d := range out.deliveries() {
		if strings.HasPrefix(d.text, "周报提醒") {
			got = append(got, summary([]delivery{d})[0]+" | "+strings.SplitN(d.text, "\n", 2)[0])
		}
	}
	want := []string{
		"109@10-09 09:00 周报提醒 | 周报提醒：西岭村 2026-W41 的周报还没有提交，截止时间 2026-10-09 18:00。可以用 /weekly 填写，本周的数字机器人会自动填好；不需要回复这条消息。",
		"110@10-09 09:00 周报提醒 | 周报提醒：柳湾村 2026-W41 的周报还没有提交，截止时间 2026-10-09 18:00。可以用 /weekly 填写，本周的数字机器人会自动填好；不需要回复这条消息。",
	}
	if !slices.Equal(got, want) {
		t.Errorf("update reminders:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// A deadline on Monday at 10:00 is reminded of on the Sunday before.
	if err := w.db.SetWeeklyDeadline(w.ctx, county, store.WeeklyDeadline{Weekday: 1, Hour: 10}); err != nil {
		t.Fatal(err)
	}
	sim.run(t, local("2026-10-11", 8, 0), local("2026-10-12", 10, 0), time.Hour)
	var sunday []string
	for _, d := range out.deliveries() {
		if strings.Contains(d.text, "2026-W42") {
			sunday = append(sunday, summary([]delivery{d})[0])
		}
	}
	if want := []string{"101@10-11 09:00 周报提醒", "109@10-11 09:00 周报提醒", "110@10-11 09:00 周报提醒"}; !slices.Equal(sunday, want) {
		t.Errorf("reminders of the week of 12 October: %q, want %q", sunday, want)
	}
}
