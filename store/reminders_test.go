package store_test

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"zhucun/store"
	"zhucun/store/storetest"
)

func TestReminderSettings(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		k1 := importTree(t, db)["K1"]

		got, err := db.ReminderSettings(ctx, k1.ID)
		if want := store.DefaultReminderSettings(k1.ID); err != nil || got != want {
			t.Fatalf("defaults: got %+v (%v), want %+v", got, err, want)
		}
		if err := db.SetCountySettings(ctx, store.CountySettings{RegionID: k1.ID, RequiredDays: 22, Timezone: "Asia/Urumqi"}); err != nil {
			t.Fatal(err)
		}
		got, err = db.ReminderSettings(ctx, k1.ID)
		if want := store.DefaultReminderSettings(k1.ID); err != nil || got.Timezone != "Asia/Urumqi" || got.CheckInReminder || got.DigestAt != want.DigestAt {
			t.Fatalf("after the county's other rules: got %+v (%v), want the defaults in Asia/Urumqi", got, err)
		}
		want := store.ReminderSettings{RegionID: k1.ID, Timezone: "Asia/Urumqi", CheckInReminder: true, CheckInReminderAt: 9*60 + 30,
			DigestAt: 19 * 60, EscalateAfterDays: 5, QuietFrom: 22 * 60, QuietTo: 7 * 60}
		if err := db.SetReminderSettings(ctx, want); err != nil {
			t.Fatal(err)
		}
		if got, err := db.ReminderSettings(ctx, k1.ID); err != nil || got != want {
			t.Fatalf("got %+v (%v), want %+v", got, err, want)
		}
		// The county's other rules are kept.
		if cs, err := db.CountySettings(ctx, k1.ID); err != nil || cs.RequiredDays != 22 || cs.Timezone != "Asia/Urumqi" {
			t.Fatalf("county settings after reminder settings: %+v (%v)", cs, err)
		}
		bad := want
		bad.DigestAt = 24 * 60
		if err := db.SetReminderSettings(ctx, bad); err == nil {
			t.Fatal("a digest at 24:00 was accepted")
		}
	})
}

func TestReminderPrefs(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		for _, id := range []int64{1, 2} {
			if _, err := db.TouchUser(ctx, id, "u", "zh"); err != nil {
				t.Fatal(err)
			}
		}
		at := int32(11 * 60)
		for _, p := range []store.ReminderPref{
			{UserID: 1, Kind: store.ReminderCheckIn, AtMinute: &at},
			{UserID: 1, Kind: store.ReminderDigest, Muted: true},
			{UserID: 2, Kind: store.ReminderWeekly, Muted: true},
			{UserID: 1, Kind: store.ReminderDigest, Muted: false}, // changed again
		} {
			if err := db.SetReminderPref(ctx, p); err != nil {
				t.Fatal(err)
			}
		}
		got, err := db.ReminderPrefs(ctx, []int64{1})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].Kind != store.ReminderCheckIn || *got[0].AtMinute != at || got[1].Kind != store.ReminderDigest || got[1].Muted {
			t.Fatalf("got %+v, want check-in at 11:00 and the digest not muted", got)
		}
		if err := db.SetReminderPref(ctx, store.ReminderPref{UserID: 1, Kind: "nonsense"}); err == nil {
			t.Fatal("an unknown kind was accepted")
		}
	})
}

func TestOutboxOncePerOccurrence(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		now := time.Date(2026, 10, 9, 2, 0, 0, 0, time.UTC)
		m := store.OutboxMessage{Kind: store.ReminderCheckIn, Occurrence: "2026-10-09", ChatID: 7, Text: "a", PlannedAt: now, SendAfter: now}
		for i, want := range []bool{true, false} {
			added, err := db.PlanMessage(ctx, m)
			if err != nil || added != want {
				t.Fatalf("plan %d: got added=%v (%v), want %v", i, added, err, want)
			}
		}
		m.Occurrence = "2026-10-10"
		m.SendAfter = now.Add(time.Hour)
		if added, err := db.PlanMessage(ctx, m); err != nil || !added {
			t.Fatalf("another day: got %v (%v), want added", added, err)
		}
		if pending, due, err := db.PendingMessages(ctx, now); err != nil || pending != 2 || due != 1 {
			t.Fatalf("pending %d, due %d (%v), want 2 and 1", pending, due, err)
		}
		// Only the one due is claimed, once.
		c, err := db.ClaimMessage(ctx, now, time.Minute)
		if err != nil || c.Occurrence != "2026-10-09" || c.Attempts != 1 {
			t.Fatalf("claim: got %+v (%v), want the message of 2026-10-09, attempt 1", c, err)
		}
		if _, err := db.ClaimMessage(ctx, now, time.Minute); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("second claim: got %v, want ErrNotFound", err)
		}
		if err := db.FinishMessage(ctx, c, store.OutcomeSent, now, ""); err != nil {
			t.Fatal(err)
		}
		if err := db.FinishMessage(ctx, c, store.OutcomeSent, now, ""); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("finishing twice: got %v, want ErrConflict", err)
		}
		later := now.Add(time.Hour)
		c2, err := db.ClaimMessage(ctx, later, time.Minute)
		if err != nil || c2.Occurrence != "2026-10-10" {
			t.Fatalf("claim an hour later: got %+v (%v)", c2, err)
		}
		all, err := db.OutboxMessages(ctx, store.ReminderCheckIn)
		if err != nil || len(all) != 2 || all[0].Outcome != store.OutcomeSent || all[0].DoneAt == nil || all[1].Outcome != "" {
			t.Fatalf("outbox %+v (%v), want the first sent and the second pending", all, err)
		}
	})
}

func TestOutboxClaimRunsOut(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		now := time.Date(2026, 10, 9, 2, 0, 0, 0, time.UTC)
		if _, err := db.PlanMessage(ctx, store.OutboxMessage{Kind: "digest", Occurrence: "d", ChatID: 7, Text: "a", PlannedAt: now, SendAfter: now}); err != nil {
			t.Fatal(err)
		}
		dead, err := db.ClaimMessage(ctx, now, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		// Its sender dies: within the lease no one takes it, after it someone does.
		if _, err := db.ClaimMessage(ctx, now.Add(59*time.Second), time.Minute); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("claim within the lease: got %v, want ErrNotFound", err)
		}
		alive, err := db.ClaimMessage(ctx, now.Add(time.Minute), time.Minute)
		if err != nil || alive.ID != dead.ID || alive.Attempts != 2 {
			t.Fatalf("claim after the lease: got %+v (%v), want the same message, attempt 2", alive, err)
		}
		// The dead sender's late result no longer counts; the live one's does.
		if err := db.FinishMessage(ctx, dead, store.OutcomeFailed, now, "late"); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("stale finish: got %v, want ErrConflict", err)
		}
		if err := db.PostponeMessage(ctx, dead, now, "late"); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("stale postpone: got %v, want ErrConflict", err)
		}
		if err := db.PostponeMessage(ctx, alive, now.Add(time.Hour), "retry after 3600"); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ClaimMessage(ctx, now.Add(2*time.Minute), time.Minute); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("claim before the postponed time: got %v, want ErrNotFound", err)
		}
		again, err := db.ClaimMessage(ctx, now.Add(time.Hour), time.Minute)
		if err != nil || again.Attempts != 3 || again.LastError != "retry after 3600" {
			t.Fatalf("claim after postponing: got %+v (%v)", again, err)
		}
		if n, err := db.DropMessagesTo(ctx, 7, store.OutcomeBlocked, now); err != nil || n != 1 {
			t.Fatalf("drop: got %d (%v), want 1", n, err)
		}
		if err := db.FinishMessage(ctx, again, store.OutcomeSent, now, ""); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("finishing a dropped message: got %v, want ErrConflict", err)
		}
	})
}

func TestOutboxConcurrentClaims(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		now := time.Date(2026, 10, 9, 2, 0, 0, 0, time.UTC)
		const n = 60
		for i := range n {
			if _, err := db.PlanMessage(ctx, store.OutboxMessage{Kind: "checkin", Occurrence: "d", ChatID: int64(i + 1), Text: "a", PlannedAt: now, SendAfter: now}); err != nil {
				t.Fatal(err)
			}
		}
		var mu sync.Mutex
		var claimed []int64
		var wg sync.WaitGroup
		for range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					m, err := db.ClaimMessage(ctx, now, time.Minute)
					if errors.Is(err, store.ErrNotFound) {
						return
					}
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					claimed = append(claimed, m.ChatID)
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		slices.Sort(claimed)
		if len(slices.Compact(slices.Clone(claimed))) != n || len(claimed) != n {
			t.Fatalf("claimed %d messages (%d distinct), want each of %d once", len(claimed), len(slices.Compact(claimed)), n)
		}
	})
}

func TestEscalationsAndHolders(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		regions := importTree(t, db)
		for _, id := range []int64{1, 2, 3} {
			if _, err := db.TouchUser(ctx, id, "u", "zh"); err != nil {
				t.Fatal(err)
			}
		}
		for _, g := range []struct {
			user int64
			role string
			code string
		}{{1, store.RoleSupervisor, "T1"}, {2, store.RoleSupervisor, "K1"}, {3, store.RoleMember, "V1"}, {1, store.RoleSupervisor, "K1"}} {
			if err := db.GrantRole(ctx, g.user, g.role, regions[g.code].ID, nil, nil); err != nil {
				t.Fatal(err)
			}
		}
		holders, err := db.RoleHolders(ctx, store.RoleSupervisor, []int64{regions["T1"].ID, regions["K1"].ID})
		if err != nil {
			t.Fatal(err)
		}
		if len(holders) != 3 {
			t.Fatalf("supervisors of T1 and K1: got %+v, want 3", holders)
		}
		counties, err := db.RegionsAt(ctx, store.LevelCounty)
		if err != nil || len(counties) != 2 || counties[0].Code != "K1" || counties[1].Code != "K2" {
			t.Fatalf("counties: %v (%v)", codes(counties), err)
		}
		users, err := db.UsersByID(ctx, []int64{3, 1, 99})
		if err != nil || len(users) != 2 || users[0].ID != 1 || users[1].ID != 3 {
			t.Fatalf("users: %+v (%v), want 1 and 3", users, err)
		}

		p := seedProblemWithPhotos(t, db, regions["V1"])
		deadline := time.Date(2026, 9, 29, 0, 0, 0, 0, time.UTC)
		at := time.Date(2026, 10, 9, 1, 0, 0, 0, time.UTC)
		es := []store.Escalation{{ProblemID: p.ID, Level: 1, Deadline: deadline, UserID: 1, EscalatedAt: at}}
		for range 2 {
			if err := db.AddEscalations(ctx, es); err != nil {
				t.Fatal(err)
			}
		}
		got, err := db.Escalations(ctx, []int64{p.ID})
		if err != nil || len(got) != 1 || !got[0].Deadline.Equal(deadline) || got[0].Level != 1 {
			t.Fatalf("escalations %+v (%v), want one at level 1 for %s", got, err, deadline.Format(time.DateOnly))
		}

		// ProblemsSince: open problems, and those finished since (reported before it).
		since := p.ReportedAt.Add(time.Hour)
		list, err := db.ProblemsSince(ctx, []int64{regions["V1"].ID}, since)
		if err != nil || len(list) != 1 {
			t.Fatalf("open problems: %+v (%v)", list, err)
		}
		done := list[0]
		closedAt := since.Add(-time.Minute)
		done.Status, done.ClosedAt, done.UpdatedAt = store.StatusClosed, &closedAt, closedAt
		if err := db.UpdateProblem(ctx, done); err != nil {
			t.Fatal(err)
		}
		if list, err := db.ProblemsSince(ctx, []int64{regions["V1"].ID}, since); err != nil || len(list) != 0 {
			t.Fatalf("closed before since: got %d problems (%v), want 0", len(list), err)
		}
		if list, err := db.ProblemsSince(ctx, []int64{regions["V1"].ID}, closedAt); err != nil || len(list) != 1 {
			t.Fatalf("closed at since: got %d problems (%v), want 1", len(list), err)
		}
	})
}
