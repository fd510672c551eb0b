package handlers_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"zhucun/store"
)

// digestDay is a day after the people of the tests joined (the day the roles are
// granted counts them in).
var digestDay = func() time.Time {
	now := time.Now().UTC()
	return time.Date(now.Year(), now.Month(), now.Day()+1, 0, 0, 0, 0, time.UTC)
}()

// digestWorld is setup's county with a first secretary of 一村 and n problems overdue on
// digestDay.
func digestWorld(t *testing.T, n int) (*world, store.User) {
	t.Helper()
	w := setup(t)
	ctx := context.Background()
	const secretary = 50
	w.grant(t, secretary, store.RoleFirstSecretary, "V1")
	reported := time.Date(2026, 9, 1, 1, 0, 0, 0, time.UTC)
	for i := range n {
		p, err := w.db.AddProblem(ctx, store.Problem{RegionID: w.region["V1"].ID, Year: 2026, Category: "economy",
			Description: fmt.Sprintf("问题%02d", i+1), Latitude: 28.2, Longitude: 112.9, Urgency: "normal",
			ReportedBy: secretary, ReporterRole: store.RoleFirstSecretary, ReportedAt: reported}, nil)
		if err != nil {
			t.Fatal(err)
		}
		deadline := digestDay.AddDate(0, 0, -8)
		p.Status, p.ResponsibleID, p.Deadline, p.UpdatedAt = store.StatusAssigned, ptr(int64(secretary)), &deadline, reported
		if err := w.db.UpdateProblem(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	u, err := w.db.UserByID(ctx, secretary)
	if err != nil {
		t.Fatal(err)
	}
	return w, u
}

func TestDigestShowsAtMostTenLines(t *testing.T) {
	t.Parallel()
	w, u := digestWorld(t, 14)
	cst := time.FixedZone("CST", 8*3600)
	text, err := w.h.EveningDigest(context.Background(), u, []store.Region{w.region["V1"]}, digestDay, cst)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(text, "\n")
	items := 0
	for _, l := range lines {
		if strings.HasPrefix(l, "• ") {
			items++
		}
	}
	// The first secretary has not checked in: one line for that, then nine of the fourteen.
	if items != 10 || !strings.Contains(text, "一村：打卡 0/1 人（请假 0），存疑 0；新问题 0，明天到期 0，已逾期 14，待验收 0") ||
		!strings.Contains(text, "• 未打卡：u50\n") || !strings.Contains(text, "……另有 5 项") ||
		!strings.Contains(text, "• 已逾期 一村 2026-009 问题09") || strings.Contains(text, "问题10") {
		t.Fatalf("digest:\n%s\nwant the counts, 10 lines by number and the 5 left out", text)
	}
}

func TestReminderTextsInTheReadersLanguage(t *testing.T) {
	t.Parallel()
	w, u := digestWorld(t, 1)
	if err := w.db.SetLocale(context.Background(), u.ID, "en"); err != nil {
		t.Fatal(err)
	}
	u.Locale = "en"
	day := digestDay
	if got := w.h.CheckInReminder(u, day, []store.Region{w.region["V1"], w.region["V2"]}); !strings.HasPrefix(got,
		"Check-in reminder: you have not checked in at 一村、二村 today ("+day.Format(time.DateOnly)+"). Tap “📍 Check in”") || !strings.Contains(got, "/settings") {
		t.Errorf("check-in reminder: %q", got)
	}
	text, err := w.h.EveningDigest(context.Background(), u, []store.Region{w.region["V1"]}, day, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(text, "Daily digest "+day.Format(time.DateOnly)+"\n一村: checked in 0/1 (on leave 0), doubtful 0; new problems 0, due tomorrow 0, overdue 1") {
		t.Errorf("digest: %q", text)
	}
	if got := w.h.CalendarMissing(store.User{ID: 99}, 2027); !strings.Contains(got, "2027 年") {
		t.Errorf("a person the bot never met gets the default language: %q", got)
	}
}
