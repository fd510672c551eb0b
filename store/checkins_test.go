package store_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"zhucun/store"
	"zhucun/store/storetest"
)

func TestCountySettings(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		regions := importTree(t, db)
		k1 := regions["K1"]

		got, err := db.CountySettings(ctx, k1.ID)
		if err != nil || got.LocationRequired || got.RequiredDays != store.DefaultRequiredDays || got.Timezone != "" {
			t.Fatalf("defaults: got %+v (%v), want no location required, %d days", got, err, store.DefaultRequiredDays)
		}
		want := store.CountySettings{RegionID: k1.ID, LocationRequired: true, RequiredDays: 22, Timezone: "Asia/Urumqi"}
		for i := 0; i < 2; i++ { // the second write updates
			if err := db.SetCountySettings(ctx, want); err != nil {
				t.Fatal(err)
			}
		}
		if got, err := db.CountySettings(ctx, k1.ID); err != nil || got != want {
			t.Fatalf("got %+v (%v), want %+v", got, err, want)
		}
		if err := db.SetCountySettings(ctx, store.CountySettings{RegionID: k1.ID, RequiredDays: 40}); err == nil {
			t.Fatal("40 required days a month was accepted")
		}

		for _, tc := range []struct{ code, want string }{{"V1", "K1"}, {"T2", "K2"}, {"K1", "K1"}} {
			got, err := db.CountyOf(ctx, regions[tc.code])
			if err != nil || got.Code != tc.want {
				t.Errorf("CountyOf(%s): got %s (%v), want %s", tc.code, got.Code, err, tc.want)
			}
		}
		if _, err := db.CountyOf(ctx, regions["C1"]); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("CountyOf(city): got %v, want ErrNotFound", err)
		}
	})
}

func TestCheckIns(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		regions := importTree(t, db)
		v1, v2 := regions["V1"], regions["V2"]
		for _, id := range []int64{1, 2} {
			if _, err := db.TouchUser(ctx, id, "u", "zh"); err != nil {
				t.Fatal(err)
			}
		}
		day := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
		at := time.Date(2026, 11, 20, 1, 30, 0, 0, time.UTC)
		c, err := db.AddCheckIn(ctx, store.CheckIn{UserID: 1, RegionID: v1.ID, Day: day, CheckedAt: at,
			Source: store.SourceSelf, RecordedBy: 1, OnSite: true, Verdict: store.VerdictSelfDeclared})
		if err != nil {
			t.Fatal(err)
		}
		if !c.Day.Equal(day) || c.Reasons == nil || len(c.Reasons) != 0 {
			t.Fatalf("stored %+v", c)
		}
		if _, err := db.AddCheckIn(ctx, store.CheckIn{UserID: 1, RegionID: v2.ID, Day: day, CheckedAt: at,
			Source: store.SourceSelf, RecordedBy: 1, OnSite: true, Verdict: store.VerdictSelfDeclared}); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("second check-in of the day (another village): got %v, want ErrConflict", err)
		}

		lat, lon, live := 29.1, 106.5, true
		located := at.Add(time.Minute)
		c.Source, c.Latitude, c.Longitude, c.Live, c.LocatedAt = store.SourceLocation, &lat, &lon, &live, &located
		c.Verdict, c.Reasons = store.VerdictVerified, []string{"outside_fence"}
		if err := db.UpdateCheckIn(ctx, c); err != nil {
			t.Fatal(err)
		}
		got, err := db.CheckInOn(ctx, 1, day)
		if err != nil || got.Verdict != store.VerdictVerified || *got.Latitude != lat || !slices.Equal(got.Reasons, c.Reasons) {
			t.Fatalf("after update: %+v (%v)", got, err)
		}
		if _, err := db.CheckInOn(ctx, 2, day); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("no check-in: got %v, want ErrNotFound", err)
		}
		if err := db.UpdateCheckIn(ctx, store.CheckIn{ID: 999999, Verdict: store.VerdictProxy, Source: store.SourceProxy}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("update of nothing: got %v, want ErrNotFound", err)
		}

		prev, err := db.PreviousLocated(ctx, 1, 0, located.Add(time.Hour))
		if err != nil || prev.ID != c.ID {
			t.Fatalf("PreviousLocated: %+v (%v), want check-in %d", prev, err, c.ID)
		}
		if _, err := db.PreviousLocated(ctx, 1, c.ID, located.Add(time.Hour)); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("PreviousLocated except itself: got %v, want ErrNotFound", err)
		}

		list, err := db.CheckInsOf(ctx, []int64{v1.ID, v2.ID}, day.AddDate(0, 0, -1), day)
		if err != nil || len(list) != 1 {
			t.Fatalf("CheckInsOf: %d (%v), want 1", len(list), err)
		}
		if list, err := db.CheckInsOf(ctx, []int64{v2.ID}, day, day); err != nil || len(list) != 0 {
			t.Fatalf("CheckInsOf other village: %d (%v), want 0", len(list), err)
		}
	})
}

func TestLeaveAndTeam(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		regions := importTree(t, db)
		v1, v3 := regions["V1"], regions["V3"]
		for _, id := range []int64{1, 2, 3} {
			if _, err := db.TouchUser(ctx, id, map[int64]string{1: "甲", 2: "乙", 3: "丙"}[id], "zh"); err != nil {
				t.Fatal(err)
			}
		}
		grants := []struct {
			user   int64
			role   string
			region int64
		}{
			{1, store.RoleFirstSecretary, v1.ID}, {1, store.RoleMember, v1.ID}, {2, store.RoleMember, v1.ID},
			{3, store.RoleMember, v3.ID}, {3, store.RoleSupervisor, regions["K1"].ID},
		}
		for _, g := range grants {
			if err := db.GrantRole(ctx, g.user, g.role, g.region, nil, nil); err != nil {
				t.Fatal(err)
			}
		}
		team, err := db.TeamOf(ctx, []int64{v1.ID})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, m := range team {
			got = append(got, m.FirstName+":"+m.Role)
		}
		if want := []string{"甲:first_secretary", "乙:member"}; !slices.Equal(got, want) {
			t.Fatalf("TeamOf: got %v, want %v", got, want)
		}

		d := time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC)
		days := []time.Time{d, d.AddDate(0, 0, 1)}
		if n, err := db.AddLeave(ctx, 2, v1.ID, days, 1); err != nil || n != 2 {
			t.Fatalf("AddLeave: %d (%v), want 2", n, err)
		}
		if n, err := db.AddLeave(ctx, 2, v1.ID, append(days, d.AddDate(0, 0, 2)), 1); err != nil || n != 1 {
			t.Fatalf("AddLeave again: %d (%v), want 1 new day", n, err)
		}
		leave, err := db.LeaveOf(ctx, []int64{v1.ID}, d, d.AddDate(0, 0, 1))
		if err != nil || len(leave) != 2 {
			t.Fatalf("LeaveOf: %d (%v), want 2 in range", len(leave), err)
		}

		villages, err := db.VillagesUnder(ctx, regions["K1"])
		if err != nil || !slices.Equal(codes(villages), []string{"V1", "V2"}) {
			t.Fatalf("VillagesUnder(K1): %v (%v)", codes(villages), err)
		}
		if villages, err := db.VillagesUnder(ctx, v3); err != nil || !slices.Equal(codes(villages), []string{"V3"}) {
			t.Fatalf("VillagesUnder(V3): %v (%v)", codes(villages), err)
		}
	})
}
