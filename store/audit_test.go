package store_test

import (
	"encoding/json"
	"reflect"
	"slices"
	"testing"
	"time"

	"zhucun/store"
	"zhucun/store/storetest"
)

func TestAudit(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		actor, region := int64(1), int64(9)
		entries := []store.AuditEntry{
			{ActorID: &actor, Action: "role.grant", RegionID: &region, Subject: "user 2", Details: json.RawMessage(`{"role": "member"}`)},
			{Action: "region.import", Subject: "regions.csv"},
			{ActorID: &actor, Action: "role.grant", Subject: "user 3"},
		}
		for _, e := range entries {
			if err := db.Audit(ctx, e); err != nil {
				t.Fatalf("Audit(%s): got %v, want nil", e.Action, err)
			}
		}

		got, err := db.AuditLog(ctx, "role.grant")
		if err != nil {
			t.Fatalf("AuditLog: %v", err)
		}
		want := []store.AuditEntry{entries[0], entries[2]}
		if len(got) != len(want) {
			t.Fatalf("AuditLog(role.grant): got %d entries %+v, want %d", len(got), got, len(want))
		}
		for i, w := range want {
			g := got[i]
			wantDetails := w.Details
			if wantDetails == nil {
				wantDetails = json.RawMessage(`{}`)
			}
			if g.ID == 0 || g.Action != w.Action || g.Subject != w.Subject ||
				!equalPtr(g.ActorID, w.ActorID) || !equalPtr(g.RegionID, w.RegionID) || !jsonEqual(t, g.Details, wantDetails) {
				t.Errorf("AuditLog[%d]: got %+v (details %s), want %+v (details %s)", i, g, g.Details, w, wantDetails)
			}
			if age := time.Since(g.At); age < -time.Minute || age > time.Minute {
				t.Errorf("AuditLog[%d].At: got %s, want about now", i, g.At)
			}
		}
		if i := 1; got[i].ID <= got[i-1].ID {
			t.Errorf("AuditLog ids: got %d after %d, want oldest first", got[i].ID, got[i-1].ID)
		}

		none, err := db.AuditLog(ctx, "nothing")
		if err != nil || len(none) != 0 {
			t.Errorf("AuditLog of an action never logged: got %+v, %v, want none", none, err)
		}
	})
}

func equalPtr[T comparable](a, b *T) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func TestAddFeedback(t *testing.T) {
	t.Parallel()
	sent := time.Date(2025, 3, 14, 9, 26, 53, 123456000, time.UTC)
	user := int64(5)
	tests := []struct {
		name   string
		userID *int64
	}{
		{name: "anonymous", userID: nil},
		{name: "signed", userID: &user},
	}
	storetest.EachURL(t, func(t *testing.T, db *store.DB, url string) {
		pool := store.Raw(db)
		if _, err := db.TouchUser(t.Context(), user, "Ann", "zh-hans"); err != nil {
			t.Fatalf("TouchUser: %v", err)
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				ctx := t.Context()

				f, err := db.AddFeedback(ctx, tt.userID, "路灯坏了", sent)
				if err != nil {
					t.Fatalf("AddFeedback: got %v, want nil", err)
				}
				wantDay := time.Date(2025, 3, 14, 0, 0, 0, 0, time.UTC)
				if f.ID == 0 || !equalPtr(f.UserID, tt.userID) || f.Body != "路灯坏了" || !f.SentOn.Equal(wantDay) {
					t.Errorf("AddFeedback: got %+v, want user %v, body 路灯坏了, sent on %s", f, tt.userID, wantDay)
				}

				var userID *int64
				var createdAt *time.Time
				var sentOn string
				err = pool.QueryRow(ctx, `SELECT user_id, created_at, CAST(sent_on AS text) FROM feedback WHERE id = $1`, f.ID).
					Scan(&userID, &createdAt, &sentOn)
				if err != nil {
					t.Fatalf("read feedback: %v", err)
				}
				if !equalPtr(userID, tt.userID) {
					t.Errorf("stored user_id: got %v, want %v", userID, tt.userID)
				}
				if sentOn != "2025-03-14" {
					t.Errorf("stored sent_on: got %s, want 2025-03-14", sentOn)
				}
				switch {
				case tt.userID == nil && createdAt != nil:
					t.Errorf("stored created_at: got %s, want NULL", createdAt)
				case tt.userID != nil && (createdAt == nil || !createdAt.Equal(sent)):
					t.Errorf("stored created_at: got %v, want %s", createdAt, sent)
				}

				all, err := db.AllFeedback(ctx)
				if err != nil || !slices.ContainsFunc(all, func(g store.Feedback) bool { return reflect.DeepEqual(g, f) }) {
					t.Errorf("AllFeedback: got %+v, %v, want it to hold %+v", all, err, f)
				}
			})
		}
	})
}
