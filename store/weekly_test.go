package store_test

import (
	"errors"
	"maps"
	"slices"
	"testing"
	"time"

	"zhucun/store"
	"zhucun/store/storetest"
)

func TestWeeklyDeadline(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		regions := importTree(t, db)
		k1, k2 := regions["K1"].ID, regions["K2"].ID

		if got, err := db.WeeklyDeadline(ctx, k1); err != nil || got != store.DefaultWeeklyDeadline {
			t.Fatalf("no settings: got %+v (%v), want %+v", got, err, store.DefaultWeeklyDeadline)
		}
		// Other settings stored first stay as they are, both ways.
		settings := store.CountySettings{RegionID: k1, LocationRequired: true, RequiredDays: 22, Timezone: "Asia/Urumqi"}
		if err := db.SetCountySettings(ctx, settings); err != nil {
			t.Fatal(err)
		}
		if got, err := db.WeeklyDeadline(ctx, k1); err != nil || got != store.DefaultWeeklyDeadline {
			t.Fatalf("after other settings: got %+v (%v), want %+v", got, err, store.DefaultWeeklyDeadline)
		}
		want := store.WeeklyDeadline{Weekday: 1, Hour: 12}
		if err := db.SetWeeklyDeadline(ctx, k1, want); err != nil {
			t.Fatal(err)
		}
		if got, err := db.WeeklyDeadline(ctx, k1); err != nil || got != want {
			t.Fatalf("got %+v (%v), want %+v", got, err, want)
		}
		if got, err := db.CountySettings(ctx, k1); err != nil || got != settings {
			t.Fatalf("county settings after the deadline: got %+v (%v), want %+v", got, err, settings)
		}
		settings.RequiredDays = 18
		if err := db.SetCountySettings(ctx, settings); err != nil {
			t.Fatal(err)
		}
		if got, err := db.WeeklyDeadline(ctx, k1); err != nil || got != want {
			t.Fatalf("deadline after changing other settings: got %+v (%v), want %+v", got, err, want)
		}
		// A county without a row gets one with the defaults of the rest.
		if err := db.SetWeeklyDeadline(ctx, k2, store.WeeklyDeadline{Weekday: 5, Hour: 18}); err != nil {
			t.Fatal(err)
		}
		if got, err := db.CountySettings(ctx, k2); err != nil || got.RequiredDays != store.DefaultRequiredDays || got.LocationRequired {
			t.Fatalf("settings of a county with only a deadline: got %+v (%v), want the defaults", got, err)
		}
		for _, bad := range []store.WeeklyDeadline{{Weekday: 0, Hour: 12}, {Weekday: 8, Hour: 12}, {Weekday: 7, Hour: 25}, {Weekday: 7, Hour: -1}} {
			if bad.Valid() {
				t.Errorf("%+v: got valid, want invalid", bad)
			}
			if err := db.SetWeeklyDeadline(ctx, k1, bad); err == nil {
				t.Errorf("SetWeeklyDeadline(%+v): got nil, want an error", bad)
			}
		}
		if !want.Valid() || !store.DefaultWeeklyDeadline.Valid() {
			t.Errorf("valid deadlines reported invalid")
		}
	})
}

func TestWeeklyUpdateVersions(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		regions := importTree(t, db)
		v1, v2 := regions["V1"].ID, regions["V2"].ID
		const secretary, supervisor = 1, 2
		for _, id := range []int64{secretary, supervisor} {
			if _, err := db.TouchUser(ctx, id, "u", "zh"); err != nil {
				t.Fatal(err)
			}
		}
		monday := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
		deadline := time.Date(2026, 11, 8, 16, 0, 0, 0, time.UTC) // Sunday 24:00 in China
		at := func(h int) time.Time { return deadline.Add(time.Duration(h) * time.Hour) }

		if _, err := db.WeeklyUpdateOf(ctx, v1, monday); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("before any: got %v, want ErrNotFound", err)
		}
		u, err := db.EnsureWeeklyUpdate(ctx, v1, monday)
		if err != nil {
			t.Fatal(err)
		}
		if u.Version != 0 || u.Submitted() || len(u.Sections) != 0 || !u.Week.Equal(monday) {
			t.Fatalf("new draft: got %+v, want an empty draft of %s", u, monday.Format(time.DateOnly))
		}
		if again, err := db.EnsureWeeklyUpdate(ctx, v1, monday); err != nil || again.ID != u.ID {
			t.Fatalf("second Ensure: got %d (%v), want the same update %d", again.ID, err, u.ID)
		}
		if _, err := db.EnsureWeeklyUpdate(ctx, v1, monday.AddDate(0, 0, 1)); err == nil {
			t.Fatal("an update of a week starting on a Tuesday was accepted")
		}

		write := func(section, text string) {
			t.Helper()
			if err := db.SetWeeklySection(ctx, u.ID, section, text, secretary, at(-10)); err != nil {
				t.Fatal(err)
			}
		}
		write("work_done", "修路")
		write("next_week_plan", "开会")
		v, err := db.SubmitWeeklyUpdate(ctx, u.ID, []byte(`{"week":"2026-W45"}`), secretary, at(-1), deadline)
		if err != nil || v != 1 {
			t.Fatalf("first submission: got version %d (%v), want 1", v, err)
		}
		write("work_done", "修路，装灯")
		// The correction comes after the deadline and under another one: the first counts.
		if v, err = db.SubmitWeeklyUpdate(ctx, u.ID, []byte(`{"week":"2026-W45","n":2}`), secretary, at(5), deadline.Add(time.Hour)); err != nil || v != 2 {
			t.Fatalf("correction: got version %d (%v), want 2", v, err)
		}
		u, err = db.WeeklyUpdateOf(ctx, v1, monday)
		if err != nil {
			t.Fatal(err)
		}
		if u.Version != 2 || !u.SubmittedAt.Equal(at(-1)) || !u.DeadlineAt.Equal(deadline) || u.Late() || u.Read() || u.Returned() {
			t.Fatalf("after a correction: got version %d, submitted %v, deadline %v, late %t; want 2, %v, %v, on time",
				u.Version, u.SubmittedAt, u.DeadlineAt, u.Late(), at(-1), deadline)
		}
		versions, err := db.WeeklyVersions(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		wantSections := []map[string]string{{"work_done": "修路", "next_week_plan": "开会"}, {"work_done": "修路，装灯", "next_week_plan": "开会"}}
		if len(versions) != 2 {
			t.Fatalf("got %d versions, want 2", len(versions))
		}
		for i, ver := range versions {
			if ver.Version != int32(i+1) || !maps.Equal(ver.Sections, wantSections[i]) || ver.SubmittedBy != secretary {
				t.Errorf("version %d: got %d %v by %d, want %v by %d", i+1, ver.Version, ver.Sections, ver.SubmittedBy, wantSections[i], secretary)
			}
		}
		if !jsonEqual(t, versions[1].Figures, []byte(`{"n": 2, "week": "2026-W45"}`)) {
			t.Errorf("figures of version 2: got %s, want the snapshot given", versions[1].Figures)
		}

		// Only the latest version is read or sent back, and only once.
		if err := db.MarkWeeklyRead(ctx, u.ID, 1, supervisor, at(6)); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("reading version 1 of 2: got %v, want ErrConflict", err)
		}
		if err := db.ReturnWeeklyUpdate(ctx, u.ID, 2, supervisor, at(6), "补充照片"); err != nil {
			t.Fatal(err)
		}
		if err := db.MarkWeeklyRead(ctx, u.ID, 2, supervisor, at(7)); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("reading a returned version: got %v, want ErrConflict", err)
		}
		if u, err = db.WeeklyUpdateOf(ctx, v1, monday); err != nil || !u.Returned() || u.ReturnComment != "补充照片" || u.Read() {
			t.Fatalf("returned: got %+v (%v), want returned with the comment", u, err)
		}
		if _, err := db.SubmitWeeklyUpdate(ctx, u.ID, []byte(`{}`), secretary, at(8), deadline); err != nil {
			t.Fatal(err)
		}
		if err := db.MarkWeeklyRead(ctx, u.ID, 3, supervisor, at(9)); err != nil {
			t.Fatal(err)
		}
		if err := db.ReturnWeeklyUpdate(ctx, u.ID, 3, supervisor, at(9), "x"); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("sending back a read version: got %v, want ErrConflict", err)
		}
		if u, err = db.WeeklyUpdateByID(ctx, u.ID, false); err != nil || !u.Read() || u.Returned() || u.Version != 3 {
			t.Fatalf("read: got %+v (%v), want version 3 read", u, err)
		}
		if versions, err = db.WeeklyVersions(ctx, u.ID); err != nil || len(versions) != 3 || versions[1].ReturnComment != "补充照片" || versions[1].ReturnedBy == nil {
			t.Fatalf("versions after all: got %+v (%v), want 3, the second returned with its comment", versions, err)
		}

		// A late first submission stays late; lists are by village and week.
		late, err := db.EnsureWeeklyUpdate(ctx, v2, monday)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.SubmitWeeklyUpdate(ctx, late.ID, []byte(`{}`), secretary, at(1), deadline); err != nil {
			t.Fatal(err)
		}
		if _, err := db.EnsureWeeklyUpdate(ctx, v2, monday.AddDate(0, 0, 7)); err != nil {
			t.Fatal(err)
		}
		list, err := db.WeeklyUpdatesOf(ctx, []int64{v1, v2}, monday, monday.AddDate(0, 0, 7))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, u := range list {
			got = append(got, u.Week.Format(time.DateOnly)+" "+map[bool]string{true: "late", false: "-"}[u.Late()])
		}
		if want := []string{"2026-11-02 -", "2026-11-02 late", "2026-11-09 -"}; !slices.Equal(got, want) {
			t.Fatalf("WeeklyUpdatesOf: got %q, want %q", got, want)
		}
	})
}

func TestWeeklyNotes(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		regions := importTree(t, db)
		if _, err := db.TouchUser(ctx, 7, "张三", "zh"); err != nil {
			t.Fatal(err)
		}
		monday := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
		for i, body := range []string{"走访 5 户", "协调水渠"} {
			n := store.WeeklyNote{RegionID: regions["V1"].ID, Week: monday, UserID: 7, Body: body, CreatedAt: monday.Add(time.Duration(i+1) * time.Hour)}
			if err := db.AddWeeklyNote(ctx, n); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.AddWeeklyNote(ctx, store.WeeklyNote{RegionID: regions["V1"].ID, Week: monday.AddDate(0, 0, 7), UserID: 7, Body: "下周", CreatedAt: monday}); err != nil {
			t.Fatal(err)
		}
		notes, err := db.WeeklyNotes(ctx, regions["V1"].ID, monday)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, n := range notes {
			got = append(got, n.Author+":"+n.Body)
		}
		if want := []string{"张三:走访 5 户", "张三:协调水渠"}; !slices.Equal(got, want) {
			t.Fatalf("got %q, want %q", got, want)
		}
	})
}

// TestProblemCounts counts a week of seeded problems against a table computed by hand.
func TestProblemCounts(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		regions := importTree(t, db)
		v1 := regions["V1"].ID
		if _, err := db.TouchUser(ctx, 1, "u", "zh"); err != nil {
			t.Fatal(err)
		}
		cst := time.FixedZone("CST", 8*3600)
		// The week of Monday 2 November 2026, in China.
		from, to := time.Date(2026, 11, 2, 0, 0, 0, 0, cst), time.Date(2026, 11, 9, 0, 0, 0, 0, cst)
		at := func(day, hour int) time.Time { return time.Date(2026, 11, day, hour, 0, 0, 0, cst) }
		date := func(day int) *time.Time { d := time.Date(2026, 11, day, 0, 0, 0, 0, time.UTC); return &d }

		// add reports a problem at reported and runs its history: each step a status at a time.
		type step struct {
			action, to string
			at         time.Time
		}
		add := func(category string, reported time.Time, deadline *time.Time, steps ...step) {
			t.Helper()
			p, err := db.AddProblem(ctx, store.Problem{RegionID: v1, Year: 2026, Category: category, Description: "d",
				Urgency: "normal", ReportedBy: 1, ReporterRole: store.RoleMember, ReportedAt: reported}, nil)
			if err != nil {
				t.Fatal(err)
			}
			from := store.StatusReported
			for _, s := range steps {
				p.Status, p.UpdatedAt, p.Deadline = s.to, s.at, deadline
				switch s.action {
				case "resolve":
					p.ResolvedAt = &s.at
				case "verify":
					p.VerifiedAt = &s.at
				case "send_back":
					p.ResolvedAt = nil
				}
				if err := db.UpdateProblem(ctx, p); err != nil {
					t.Fatal(err)
				}
				if _, err := db.AddProblemEvent(ctx, store.ProblemEvent{ProblemID: p.ID, At: s.at, ActorID: 1, Action: s.action, FromStatus: from, ToStatus: s.to}); err != nil {
					t.Fatal(err)
				}
				from = s.to
			}
		}
		// economy: reported Monday, fixed Wednesday, verified Friday.
		add("economy", at(2, 9), date(20), step{"assign", store.StatusAssigned, at(2, 10)},
			step{"resolve", store.StatusResolved, at(4, 10)}, step{"verify", store.StatusVerified, at(6, 10)})
		// economy: reported Sunday 23:30 (in the week), nothing else.
		add("economy", time.Date(2026, 11, 8, 23, 30, 0, 0, cst), nil)
		// economy: reported Monday 00:10 of the next week: not in it.
		add("economy", time.Date(2026, 11, 9, 0, 10, 0, 0, cst), nil)
		// customs: reported before the week, deadline 5 November, still in progress: overdue.
		add("customs", at(1, 9), date(5), step{"assign", store.StatusAssigned, at(1, 10)}, step{"start", store.StatusInProgress, at(3, 10)})
		// customs: deadline Sunday 8 November, assigned: overdue at the week's end.
		add("customs", at(1, 9), date(8), step{"assign", store.StatusAssigned, at(1, 10)})
		// customs: deadline 9 November (the next Monday): not overdue in the week.
		add("customs", at(1, 9), date(9), step{"assign", store.StatusAssigned, at(1, 10)})
		// security: deadline 3 November, fixed after the week (so overdue at its end), and
		// sent back and fixed again in the week before: resolved counts once.
		add("security", at(1, 9), date(3), step{"assign", store.StatusAssigned, at(1, 10)},
			step{"resolve", store.StatusResolved, at(3, 12)}, step{"send_back", store.StatusInProgress, at(4, 12)},
			step{"resolve", store.StatusResolved, at(5, 12)}, step{"send_back", store.StatusInProgress, at(6, 12)},
			step{"resolve", store.StatusResolved, at(11, 12)})
		// security: deadline 4 November, fixed on the 6th: not overdue at the week's end.
		add("security", at(1, 9), date(4), step{"assign", store.StatusAssigned, at(1, 10)}, step{"resolve", store.StatusResolved, at(6, 10)})

		want := []store.ProblemCount{
			{RegionID: v1, Category: "customs", Overdue: 2},
			{RegionID: v1, Category: "economy", Reported: 2, Resolved: 1, Verified: 1},
			{RegionID: v1, Category: "security", Resolved: 2, Overdue: 1},
		}
		got, err := db.ProblemCounts(ctx, []int64{v1}, from, to, to, time.Date(2026, 11, 9, 0, 0, 0, 0, time.UTC))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("the week's end:\ngot  %+v\nwant %+v", got, want)
		}

		// As of Wednesday 4 November noon, with the 4th the local day.
		// economy: reported Monday, fixed Wednesday 10:00. customs (5th, 8th, 9th): not
		// yet past. security 3rd: fixed on the 3rd and sent back at noon, exactly then, so
		// in progress and overdue; security 4th: not before the 4th.
		want = []store.ProblemCount{
			{RegionID: v1, Category: "economy", Reported: 1, Resolved: 1},
			{RegionID: v1, Category: "security", Resolved: 1, Overdue: 1},
		}
		got, err = db.ProblemCounts(ctx, []int64{v1}, from, at(4, 12), at(4, 12), time.Date(2026, 11, 4, 0, 0, 0, 0, time.UTC))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("Wednesday noon:\ngot  %+v\nwant %+v", got, want)
		}
	})
}
