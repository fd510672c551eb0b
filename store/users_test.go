package store_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"zhucun/store"
	"zhucun/store/storetest"
)

func updatedAt(t *testing.T, pool store.Querier, userID int64) time.Time {
	t.Helper()
	var at time.Time
	if err := pool.QueryRow(t.Context(), `SELECT updated_at FROM users WHERE id = $1`, userID).Scan(&at); err != nil {
		t.Fatalf("read updated_at of %d: %v", userID, err)
	}
	return at
}

func TestTouchUser(t *testing.T) {
	t.Parallel()
	storetest.EachURL(t, func(t *testing.T, db *store.DB, url string) {
		pool := store.Raw(db)
		tests := []struct {
			name       string
			fresh      bool // no earlier touch
			before     func(t *testing.T, id int64)
			firstName  string
			lang       string
			want       store.User // without ID
			wantChange bool       // updated_at moves
		}{
			{
				name:  "new user",
				fresh: true, firstName: "Ann", lang: "zh-hans",
				want: store.User{FirstName: "Ann", LanguageCode: "zh-hans"},
			},
			{
				name:      "same data",
				firstName: "Ann", lang: "zh-hans",
				want: store.User{FirstName: "Ann", LanguageCode: "zh-hans"},
			},
			{
				name:      "new name",
				firstName: "Anna", lang: "zh-hans",
				want:       store.User{FirstName: "Anna", LanguageCode: "zh-hans"},
				wantChange: true,
			},
			{
				name:      "new language",
				firstName: "Ann", lang: "en",
				want:       store.User{FirstName: "Ann", LanguageCode: "en"},
				wantChange: true,
			},
			{
				name: "blocked user writes again",
				before: func(t *testing.T, id int64) {
					if err := db.MarkBlocked(t.Context(), id); err != nil {
						t.Fatalf("MarkBlocked: %v", err)
					}
				},
				firstName: "Ann", lang: "zh-hans",
				want:       store.User{FirstName: "Ann", LanguageCode: "zh-hans"},
				wantChange: true,
			},
			{
				name: "keeps the chosen locale",
				before: func(t *testing.T, id int64) {
					if err := db.SetLocale(t.Context(), id, "en"); err != nil {
						t.Fatalf("SetLocale: %v", err)
					}
				},
				firstName: "Anna", lang: "zh-hans",
				want:       store.User{FirstName: "Anna", LanguageCode: "zh-hans", Locale: "en"},
				wantChange: true,
			},
		}
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				ctx := t.Context()
				id := int64(1000 + i)
				want := tt.want
				want.ID = id

				var before time.Time
				if !tt.fresh {
					if _, err := db.TouchUser(ctx, id, "Ann", "zh-hans"); err != nil {
						t.Fatalf("first TouchUser: %v", err)
					}
					if tt.before != nil {
						tt.before(t, id)
					}
					before = updatedAt(t, pool, id)
				}

				got, err := db.TouchUser(ctx, id, tt.firstName, tt.lang)
				if err != nil {
					t.Fatalf("TouchUser: got %v, want nil", err)
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("TouchUser: got %+v, want %+v", got, want)
				}
				stored, err := db.UserByID(ctx, id)
				if err != nil || !reflect.DeepEqual(stored, want) {
					t.Errorf("UserByID: got %+v, %v, want %+v, nil", stored, err, want)
				}
				if tt.fresh {
					return
				}
				after := updatedAt(t, pool, id)
				if changed := !after.Equal(before); changed != tt.wantChange {
					t.Errorf("updated_at moved: got %v (%s → %s), want %v", changed, before, after, tt.wantChange)
				}
			})
		}
	})
}

func TestUserByIDNotFound(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		if _, err := db.UserByID(t.Context(), 404); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("UserByID(404): got %v, want %v", err, store.ErrNotFound)
		}
	})
}

func TestSetLocale(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		if _, err := db.TouchUser(ctx, 1, "Ann", "zh-hans"); err != nil {
			t.Fatalf("TouchUser: %v", err)
		}
		if err := db.SetLocale(ctx, 1, "en"); err != nil {
			t.Fatalf("SetLocale: got %v, want nil", err)
		}
		u, err := db.UserByID(ctx, 1)
		if err != nil {
			t.Fatalf("UserByID: %v", err)
		}
		if u.Locale != "en" {
			t.Errorf("locale: got %q, want %q", u.Locale, "en")
		}
		if err := db.SetLocale(ctx, 2, "en"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("SetLocale of an unknown user: got %v, want %v", err, store.ErrNotFound)
		}
	})
}

func TestMarkBlocked(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		if _, err := db.TouchUser(ctx, 1, "Ann", "zh-hans"); err != nil {
			t.Fatalf("TouchUser: %v", err)
		}
		if err := db.MarkBlocked(ctx, 1); err != nil {
			t.Fatalf("MarkBlocked: got %v, want nil", err)
		}
		u, err := db.UserByID(ctx, 1)
		if err != nil {
			t.Fatalf("UserByID: %v", err)
		}
		if u.BlockedAt == nil {
			t.Fatal("BlockedAt: got nil, want a time")
		}
		if age := time.Since(*u.BlockedAt); age < -time.Minute || age > time.Minute {
			t.Errorf("BlockedAt: got %s, want about now", u.BlockedAt)
		}

		// A second mark keeps the first time.
		first := *u.BlockedAt
		if err := db.MarkBlocked(ctx, 1); err != nil {
			t.Fatalf("second MarkBlocked: got %v, want nil", err)
		}
		u, err = db.UserByID(ctx, 1)
		if err != nil {
			t.Fatalf("UserByID: %v", err)
		}
		if u.BlockedAt == nil || !u.BlockedAt.Equal(first) {
			t.Errorf("BlockedAt after a second mark: got %v, want %s", u.BlockedAt, first)
		}
	})
}

func TestGrantRole(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		regions := importTree(t, db)
		for _, id := range []int64{1, 2} {
			if _, err := db.TouchUser(ctx, id, "u", "zh-hans"); err != nil {
				t.Fatalf("TouchUser(%d): %v", id, err)
			}
		}
		admin := int64(2)

		roles, err := db.RolesOf(ctx, 1)
		if err != nil || len(roles) != 0 {
			t.Fatalf("RolesOf before any grant: got %+v, %v, want none", roles, err)
		}

		grants := []struct {
			role string
			code string
		}{
			{store.RoleMember, "V1"},
			{store.RoleFirstSecretary, "V1"},
			{store.RoleSupervisor, "K1"},
		}
		for _, g := range grants {
			if err := db.GrantRole(ctx, 1, g.role, regions[g.code].ID, &admin, nil); err != nil {
				t.Fatalf("GrantRole(%s at %s): got %v, want nil", g.role, g.code, err)
			}
		}

		roles, err = db.RolesOf(ctx, 1)
		if err != nil {
			t.Fatalf("RolesOf: %v", err)
		}
		// Top of the tree first, then by code and role.
		want := []struct {
			role string
			code string
		}{
			{store.RoleSupervisor, "K1"},
			{store.RoleFirstSecretary, "V1"},
			{store.RoleMember, "V1"},
		}
		if len(roles) != len(want) {
			t.Fatalf("RolesOf: got %d roles %+v, want %d", len(roles), roles, len(want))
		}
		for i, w := range want {
			if roles[i].Role != w.role || !reflect.DeepEqual(roles[i].Region, regions[w.code]) {
				t.Errorf("RolesOf[%d]: got %s at %+v, want %s at %+v", i, roles[i].Role, roles[i].Region, w.role, regions[w.code])
			}
			if roles[i].ID == 0 {
				t.Errorf("RolesOf[%d]: got id 0, want the assignment's id", i)
			}
		}

		err = db.GrantRole(ctx, 1, store.RoleMember, regions["V1"].ID, &admin, nil)
		if !errors.Is(err, store.ErrConflict) {
			t.Errorf("GrantRole twice: got %v, want %v", err, store.ErrConflict)
		}
		if err := db.GrantRole(ctx, 1, store.RoleMember, regions["V2"].ID, nil, nil); err != nil {
			t.Errorf("GrantRole at another region: got %v, want nil", err)
		}
		if roles, err := db.RolesOf(ctx, 2); err != nil || len(roles) != 0 {
			t.Errorf("RolesOf another user: got %+v, %v, want none", roles, err)
		}
	})
}
