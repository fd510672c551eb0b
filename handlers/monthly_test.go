package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"zhucun/store"
	"zhucun/surveys"
)

// TestMonthlyReport builds the report of March 2099 for the township T1 and checks it
// against figures computed by hand. March 2099 starts on a Sunday; its weeks are
// 2099-W10 to W13 (the week of 30 March has its Thursday in April).
//
// Days in the village (31 days, 20 required of everyone, all joined before):
//
//	一村 u200: on 2nd                                        1 on, 0 off, 0 leave, 30 missing
//	     u201: on 2nd 3rd 5th 8th 9th, off 4th                5 on, 1 off, 0 leave, 25 missing
//	     u202: on 1st 3rd, off 6th, leave 4th 5th             2 on, 1 off, 2 leave, 26 missing
//	     total                                                8 on / 60 required, 2 off, 2 leave, 81 missing
//	二村, 三村: their first secretary only, no records        0 on / 20, 31 missing
//
// Problems: 一村 opened 4 in March (economy 2nd, 8th, 9th; security 3rd), fixed 1
// (economy, verified too); overdue at the month's end 2 (customs due 4th, security due
// 20th). 二村 opened 1.
//
// Weekly updates: 一村 W10 on time, W11 late, W12 on time and corrected, W13 missing;
// 二村 W10 late, the rest missing; 三村 has only a draft of W13: all missing.
func TestMonthlyReport(t *testing.T) {
	t.Parallel()
	w, c := weeklySetup(t)
	ctx := context.Background()
	seedWeek10(t, w)
	w.writeAndSubmit(t, wkSecretary, "2099-W10", "第十周的工作", march(8, 23, 40), march(8, 23, 59))
	w.writeAndSubmit(t, wkSecretary, "2099-W11", "第十一周的工作", march(16, 9, 0), march(16, 10, 0))
	w.writeAndSubmit(t, wkSecretary, "2099-W12", "第十二周的工作", march(20, 10, 0), march(20, 10, 5))
	w.send(t, wkSecretary, weeklyAt(press("wk:d:e.3"), march(21, 9, 0)))
	w.send(t, wkSecretary, weeklyAt(text("请县里协调水利局"), march(21, 9, 0)))
	w.send(t, wkSecretary, weeklyAt(press("wk:d:s"), march(21, 9, 1)))
	w.writeAndSubmit(t, wkSecretary2, "2099-W10", "二村第十周", march(8, 20, 0), march(9, 0, 10))
	w.send(t, wkSecretary3, weeklyAt(cmd("weekly"), march(25, 9, 0)))
	w.send(t, wkSecretary3, weeklyAt(press("wk:d:e.0"), march(25, 9, 0)))
	w.send(t, wkSecretary3, weeklyAt(text("三村的草稿"), march(25, 9, 0)))
	// Satisfaction: 一村's latest assessment closed in March (25th) has 4 households
	// satisfied with everything and 1 dissatisfied with everything: 16 of 20 answers,
	// 80.0 %, under the 90 % threshold. Its February assessment (100 %) is older, and one
	// closed on 1 April is after the month. 二村's assessment has 4 answers, too few to
	// show a rate; 三村 has none.
	seedAssessment(t, w, "V1", march(-15, 9, 0), march(-8, 18, 0), 5, 0)
	seedAssessment(t, w, "V1", march(20, 9, 0), march(25, 18, 0), 4, 1)
	seedAssessment(t, w, "V1", march(30, 9, 0), march(32, 10, 0), 5, 0)
	seedAssessment(t, w, "V2", march(20, 9, 0), march(25, 18, 0), 4, 0)
	c.set(march(33, 12, 0)) // 2 April

	replies := w.send(t, wkSupervisor, cmd("monthly", "2099-03"))
	if len(replies) != 1 || replies[0].Document == nil {
		t.Fatalf("/monthly: got %+v, want one document", replies)
	}
	doc := replies[0].Document
	if doc.Name != "monthly-T1-2099-03.xlsx" || replies[0].Text != "一镇 2099-03 驻村工作月报" {
		t.Fatalf("/monthly: got %q captioned %q, want monthly-T1-2099-03.xlsx captioned 一镇 2099-03 驻村工作月报", doc.Name, replies[0].Text)
	}
	name, direct, err := w.h.MonthlyReport(ctx, w.region["T1"].ID, marchDay(15))
	if err != nil || name != doc.Name || !bytes.Equal(direct, doc.Bytes) {
		t.Fatalf("MonthlyReport: got %q, %d bytes (%v); want the document of /monthly, %d bytes", name, len(direct), err, len(doc.Bytes))
	}
	f, err := excelize.OpenReader(bytes.NewReader(doc.Bytes))
	if err != nil {
		t.Fatalf("open the report: %v", err)
	}
	defer f.Close()
	if got, want := f.GetSheetList(), []string{"汇总", "一村", "三村", "二村"}; !slices.Equal(got, want) {
		t.Fatalf("sheets: got %q, want %q (the summary, then the villages by name)", got, want)
	}
	rows := func(sheet string) [][]string {
		t.Helper()
		out, err := f.GetRows(sheet)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	wantSheetRows(t, "汇总", rows("汇总"), [][]string{
		{"村", "乡镇", "工作队人数", "在村天数", "要求天数", "外出天数", "请假天数", "未打卡天数", "新报问题", "解决问题", "逾期问题", "周报按时", "周报逾期提交", "周报未交", "最近一次满意度测评", "验收"},
		{"一村", "一镇", "3", "8", "60", "2", "2", "81", "4", "1", "2", "2", "1", "1", "80.0% (2099-03-25)", "未达标"},
		{"三村", "一镇", "1", "0", "20", "0", "0", "31", "0", "0", "0", "0", "0", "4", "无"},
		{"二村", "一镇", "1", "0", "20", "0", "0", "31", "1", "0", "0", "0", "1", "3", "无"},
	})
	wantSheetRows(t, "一村", rows("一村"), [][]string{
		{"一村 · 一镇 · 2099-03"},
		nil,
		{"在岗情况（每月要求在村 20 天）"},
		{"队员", "在村天数", "要求天数", "外出天数", "请假天数", "未打卡天数"},
		{"u200", "1", "20", "0", "0", "30"},
		{"u201", "5", "20", "1", "0", "25"},
		{"u202", "2", "20", "1", "2", "26"},
		nil,
		{"问题台账（本月）"},
		{"问题类别", "新报问题", "解决问题", "验收问题", "逾期问题"},
		{"经济发展缓慢", "3", "1", "1", "0"},
		{"社会治安", "1", "0", "0", "1"},
		{"乡风文明和村容村貌", "0", "0", "0", "1"},
		{"合计", "4", "1", "1", "2"},
		nil,
		{"周报"},
		{"周次", "起止日期", "状态", "首次提交时间", "版本", "本周工作开展情况", "本周解决的问题", "下周工作计划", "需协调解决的困难"},
		{"2099-W10", "2099-03-02 ~ 2099-03-08", "按时提交", "2099-03-08 23:59", "1", "第十周的工作"},
		{"2099-W11", "2099-03-09 ~ 2099-03-15", "逾期提交", "2099-03-16 10:00", "1", "第十一周的工作"},
		{"2099-W12", "2099-03-16 ~ 2099-03-22", "按时提交", "2099-03-20 10:05", "2", "第十二周的工作", "", "", "请县里协调水利局"},
		{"2099-W13", "2099-03-23 ~ 2099-03-29", "未交"},
	})
	if got := rows("三村"); len(got) == 0 || !slices.Equal(got[len(got)-1], []string{"2099-W13", "2099-03-23 ~ 2099-03-29", "未交"}) {
		t.Fatalf("三村: got %q, want W13 missing (a draft is not submitted) last", got)
	}

	// In English, from the function the scheduler calls.
	_, en, err := w.h.MonthlyReportIn(ctx, w.region["T1"].ID, marchDay(1), "en")
	if err != nil {
		t.Fatal(err)
	}
	fe, err := excelize.OpenReader(bytes.NewReader(en))
	if err != nil {
		t.Fatal(err)
	}
	defer fe.Close()
	summary, err := fe.GetRows("Summary")
	if err != nil || len(summary) != 4 || !slices.Equal(summary[0][:3], []string{"Village", "Township", "Team members"}) {
		t.Fatalf("English summary: got %q (%v)", summary, err)
	}

	// A supervisor of several regions picks one; the county's report holds every village.
	replies = w.send(t, wkCountySupervisor, cmd("monthly", "2099-03"))
	if len(replies) != 1 || replies[0].Document == nil || replies[0].Document.Name != "monthly-C-2099-03.xlsx" {
		t.Fatalf("county supervisor's /monthly: got %+v, want the county's report", replies)
	}
	fc, err := excelize.OpenReader(bytes.NewReader(replies[0].Document.Bytes))
	if err != nil {
		t.Fatal(err)
	}
	defer fc.Close()
	if got, want := fc.GetSheetList(), []string{"汇总", "一村", "三村", "二村", "四村"}; !slices.Equal(got, want) {
		t.Fatalf("county's sheets: got %q, want %q", got, want)
	}
	replies = w.send(t, adminID, cmd("monthly", "2099-03"))
	if got := buttonData(replies); len(got) != 0 || len(replies) != 1 || replies[0].Document == nil {
		// One top region: the admin gets its report at once.
		t.Fatalf("admin's /monthly: got %+v, want the county's report", replies)
	}
	if got := only(t, w.send(t, wkSupervisor, cmd("monthly", "2099-13"))); !strings.Contains(got, "月份格式不对") {
		t.Fatalf("a bad month: got %q", got)
	}
}

// wantRows compares a sheet's rows with want, row by row.
func wantSheetRows(t *testing.T, sheet string, got, want [][]string) {
	t.Helper()
	for i := range max(len(got), len(want)) {
		var g, w []string
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if !slices.Equal(g, w) {
			t.Fatalf("sheet %s row %d: got %q, want %q\nall rows: %q", sheet, i+1, g, w, got)
		}
	}
}

// seedAssessment records a closed assessment of the village with that code: satisfied
// households answer "satisfied" to every question, dissatisfied ones "dissatisfied",
// all on paper.
func seedAssessment(t *testing.T, w *world, code string, opens, closed time.Time, satisfied, dissatisfied int) {
	t.Helper()
	ctx := context.Background()
	all, err := surveys.All()
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(all, func(tpl surveys.Template) bool { return tpl.ID == "assessment" })
	tpl := all[i]
	snapshot, err := json.Marshal(tpl)
	if err != nil {
		t.Fatal(err)
	}
	s, err := w.db.CreateSurvey(ctx, store.Survey{
		RegionID: w.region[code].ID, Kind: store.SurveyAssessment, TemplateID: tpl.ID, Template: snapshot,
		MinAnswers: 5, PassRate: 0.9, Formula: "share", OpensAt: opens, ClosesAt: closed.Add(time.Hour), CreatedBy: wkSupervisor,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	n := satisfied + dissatisfied
	var hashes [][]byte
	for k := 0; k < n; k++ {
		hashes = append(hashes, []byte(fmt.Sprintf("slip-%d-%d", s.ID, k)))
	}
	first, err := w.db.IssueSlips(ctx, s.ID, hashes)
	if err != nil {
		t.Fatal(err)
	}
	for k := 0; k < n; k++ {
		option := "satisfied"
		if k >= satisfied {
			option = "dissatisfied"
		}
		choices := map[string]string{}
		for _, q := range tpl.Questions {
			choices[q.ID] = option
		}
		proof := store.Proof{SlipNumber: int32(first + k)}
		if err := w.db.CastBallot(ctx, s.ID, proof, store.Ballot{Choices: choices}, "", opens.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.db.CloseSurvey(ctx, s.ID, closed); err != nil {
		t.Fatal(err)
	}
}
