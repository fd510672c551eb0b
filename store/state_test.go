package store_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"zhucun/store"
	"zhucun/store/storetest"
)

const stateTTL = time.Hour

func TestStateLoadUnknown(t *testing.T) {
	t.Parallel()
	storetest.EachState(t, stateTTL, func(t *testing.T, st *store.State) {
		got, err := st.Load(t.Context(), 12345)
		if err != nil {
			t.Fatalf("Load: got %v, want nil", err)
		}
		if !reflect.DeepEqual(got, store.Conversation{}) {
			t.Errorf("Load of an unknown chat: got %+v, want the zero Conversation", got)
		}
		if got.Active() {
			t.Error("Active of the zero Conversation: got true, want false")
		}
	})
}

func TestStateSave(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	storetest.EachState(t, stateTTL, func(t *testing.T, st *store.State) {
		const chatID = -100123 // a group

		c := store.Conversation{Flow: "checkin", Step: "location", Draft: map[string]string{"village": "V1"}}
		saved, err := st.Save(ctx, chatID, c)
		if err != nil {
			t.Fatalf("Save: got %v, want nil", err)
		}
		want := c
		want.Version = 1
		if !reflect.DeepEqual(saved, want) {
			t.Errorf("Save: got %+v, want %+v", saved, want)
		}
		loaded, err := st.Load(ctx, chatID)
		if err != nil || !reflect.DeepEqual(loaded, want) {
			t.Errorf("Load: got %+v, %v, want %+v, nil", loaded, err, want)
		}
		if !loaded.Active() {
			t.Error("Active: got false, want true")
		}

		ttl, err := store.ConversationTTL(ctx, st, chatID)
		if err != nil {
			t.Fatalf("TTL: %v", err)
		}
		if ttl <= stateTTL-time.Minute || ttl > stateTTL {
			t.Errorf("TTL: got %s, want about %s", ttl, stateTTL)
		}

		// A save starts the TTL again.
		if err := store.SetConversationTTL(ctx, st, chatID, time.Minute); err != nil {
			t.Fatalf("set TTL: %v", err)
		}
		loaded.Step = "photo"
		saved, err = st.Save(ctx, chatID, loaded)
		if err != nil {
			t.Fatalf("second Save: %v", err)
		}
		if ttl, err := store.ConversationTTL(ctx, st, chatID); err != nil || ttl <= stateTTL-time.Minute {
			t.Errorf("TTL after a second save: got %s, %v, want about %s", ttl, err, stateTTL)
		}

		// Once the TTL runs out the conversation is gone, and a new one starts over.
		if err := store.SetConversationTTL(ctx, st, chatID, -time.Second); err != nil {
			t.Fatalf("set TTL: %v", err)
		}
		if got, err := st.Load(ctx, chatID); err != nil || !reflect.DeepEqual(got, store.Conversation{}) {
			t.Errorf("Load after the TTL: got %+v, %v, want the zero Conversation", got, err)
		}
		if _, err := st.Save(ctx, chatID, saved); !errors.Is(err, store.ErrConflict) {
			t.Errorf("Save at version %d after the TTL: got %v, want %v", saved.Version, err, store.ErrConflict)
		}
		if _, err := st.Save(ctx, chatID, store.Conversation{Flow: "checkin"}); err != nil {
			t.Errorf("fresh Save after the TTL: got %v, want nil", err)
		}

		// Another chat is untouched.
		if other, err := st.Load(ctx, -chatID); err != nil || !reflect.DeepEqual(other, store.Conversation{}) {
			t.Errorf("Load of another chat: got %+v, %v, want the zero Conversation", other, err)
		}
	})
}

func TestStateSaveConflict(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		version int64
	}{
		{name: "fresh save over a stored one", version: 0},
		{name: "stale version", version: 1},
		{name: "version from the future", version: 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			storetest.EachState(t, stateTTL, func(t *testing.T, st *store.State) {
				c := store.Conversation{Flow: "checkin", Step: "location"}
				for range 2 {
					var err error
					if c, err = st.Save(ctx, 1, c); err != nil {
						t.Fatalf("Save: %v", err)
					}
				}

				late := store.Conversation{Flow: "feedback", Step: "body", Version: tt.version}
				if _, err := st.Save(ctx, 1, late); !errors.Is(err, store.ErrConflict) {
					t.Errorf("Save at version %d over version 2: got %v, want %v", tt.version, err, store.ErrConflict)
				}
				got, err := st.Load(ctx, 1)
				if err != nil || !reflect.DeepEqual(got, c) {
					t.Errorf("Load after the conflict: got %+v, %v, want %+v, nil", got, err, c)
				}
			})
		})
	}
}

func TestStateSaveConcurrent(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), concurrentTimeout)
	defer cancel()
	storetest.EachState(t, stateTTL, func(t *testing.T, st *store.State) {
		base, err := st.Save(ctx, 1, store.Conversation{Flow: "checkin", Step: "location"})
		if err != nil {
			t.Fatalf("Save: %v", err)
		}

		const writers = 8
		saved := make([]store.Conversation, writers)
		errs := make([]error, writers)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range writers {
			wg.Go(func() {
				<-start
				c := base
				c.Draft = map[string]string{"writer": fmt.Sprint(i)}
				saved[i], errs[i] = st.Save(ctx, 1, c)
			})
		}
		close(start)
		wg.Wait()

		winner := -1
		for i, err := range errs {
			switch {
			case err == nil && winner == -1:
				winner = i
			case err == nil:
				t.Errorf("Save by writers %d and %d: both won, want one", winner, i)
			case !errors.Is(err, store.ErrConflict):
				t.Errorf("Save by writer %d: got %v, want nil or %v", i, err, store.ErrConflict)
			}
		}
		if winner == -1 {
			t.Fatal("Save: got no winner, want one")
		}
		got, err := st.Load(ctx, 1)
		if err != nil || !reflect.DeepEqual(got, saved[winner]) || got.Version != base.Version+1 {
			t.Errorf("Load: got %+v, %v, want the winner's %+v at version %d", got, err, saved[winner], base.Version+1)
		}
	})
}

func TestStateLeaveFlowKeepsVersion(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	storetest.EachState(t, stateTTL, func(t *testing.T, st *store.State) {
		c, err := st.Save(ctx, 1, store.Conversation{Flow: "checkin", Step: "location"})
		if err != nil {
			t.Fatalf("Save: %v", err)
		}
		left, err := st.Save(ctx, 1, store.Conversation{Version: c.Version})
		if err != nil {
			t.Fatalf("Save leaving the flow: got %v, want nil", err)
		}
		want := store.Conversation{Version: 2}
		if !reflect.DeepEqual(left, want) {
			t.Errorf("Save leaving the flow: got %+v, want %+v", left, want)
		}
		got, err := st.Load(ctx, 1)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("Load: got %+v, %v, want %+v, nil", got, err, want)
		}
		if got.Active() {
			t.Error("Active after leaving the flow: got true, want false")
		}
		// A late writer that loaded the flow at version 1 loses.
		if _, err := st.Save(ctx, 1, c); !errors.Is(err, store.ErrConflict) {
			t.Errorf("late Save at version %d: got %v, want %v", c.Version, err, store.ErrConflict)
		}
	})
}

func TestStateLoadCorrupt(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	storetest.EachState(t, stateTTL, func(t *testing.T, st *store.State) {
		if err := store.SetConversationRaw(ctx, st, 1, "not json"); err != nil {
			t.Fatalf("store a corrupt record: %v", err)
		}
		if got, err := st.Load(ctx, 1); err == nil {
			t.Errorf("Load of a corrupt record: got %+v, nil, want an error", got)
		}
	})
}

func TestStatePing(t *testing.T) {
	t.Parallel()
	storetest.EachState(t, stateTTL, func(t *testing.T, st *store.State) {
		if err := st.Ping(t.Context()); err != nil {
			t.Errorf("Ping: got %v, want nil", err)
		}
	})
}

func TestOpenRedisFails(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		url  string
	}{
		{name: "wrong scheme", url: "http://:s3cret@127.0.0.1:6379"},
		{name: "bad database number", url: "redis://:s3cret@127.0.0.1:6379/zero"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rdb, err := store.OpenRedis(t.Context(), tt.url)
			if err == nil {
				rdb.Close()
				t.Fatalf("OpenRedis(%q): got nil error, want one", tt.url)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("OpenRedis: got error %q, want one without the password", err)
			}
		})
	}
}

func ExampleConversation_Active() {
	fmt.Println(store.Conversation{}.Active())
	fmt.Println(store.Conversation{Flow: "checkin", Step: "location"}.Active())
	// Output:
	// false
	// true
}

func TestDraftPhotos(t *testing.T) {
	t.Parallel()
	storetest.EachState(t, stateTTL, func(t *testing.T, st *store.State) {
		ctx := t.Context()
		const chatID, max = 7, 3
		photo := func(id int, album string) store.DraftPhoto {
			return store.DraftPhoto{MessageID: id, FileID: fmt.Sprint("f", id), UniqueID: fmt.Sprint("u", id), MediaGroupID: album}
		}
		steps := []struct {
			photo                  store.DraftPhoto
			count                  int
			firstOfAlbum, overflow bool
		}{
			{photo(12, "A"), 1, true, false},
			{photo(11, "A"), 2, false, false},
			{photo(11, "A"), 2, false, false}, // a replay changes nothing
			{photo(20, ""), 3, false, false},
			{photo(10, "B"), 3, true, true}, // the latest by message id is dropped
		}
		for i, s := range steps {
			count, first, overflow, err := st.AddDraftPhoto(ctx, chatID, s.photo, max)
			if err != nil || count != s.count || first != s.firstOfAlbum || overflow != s.overflow {
				t.Errorf("AddDraftPhoto %d (%d): got %d, %t, %t, %v; want %d, %t, %t, nil",
					i, s.photo.MessageID, count, first, overflow, err, s.count, s.firstOfAlbum, s.overflow)
			}
		}
		got, err := st.DraftPhotos(ctx, chatID)
		want := []store.DraftPhoto{photo(10, "B"), photo(11, "A"), photo(12, "A")}
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("DraftPhotos: got %+v, %v, want %+v", got, err, want)
		}
		if other, err := st.DraftPhotos(ctx, chatID+1); err != nil || len(other) != 0 {
			t.Errorf("DraftPhotos of another chat: got %+v, %v, want none", other, err)
		}
		if err := st.ClearDraftPhotos(ctx, chatID); err != nil {
			t.Fatalf("ClearDraftPhotos: %v", err)
		}
		if got, err := st.DraftPhotos(ctx, chatID); err != nil || len(got) != 0 {
			t.Errorf("DraftPhotos after clearing: got %+v, %v, want none", got, err)
		}
		// The album was seen already: a late photo of it is not its first.
		if _, first, _, err := st.AddDraftPhoto(ctx, chatID, photo(13, "A"), max); err != nil || first {
			t.Errorf("AddDraftPhoto of a known album: got first %t, %v, want false, nil", first, err)
		}
	})
}

// TestEmbeddedStateSurvivesRestart closes the state's file and opens it again, as a
// restart of the bot does: the conversation and its draft photos are still there.
func TestEmbeddedStateSurvivesRestart(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "state.db")
	st, err := store.OpenEmbeddedState(ctx, path, stateTTL)
	if err != nil {
		t.Fatal(err)
	}
	saved, err := st.Save(ctx, 5, store.Conversation{Flow: "report", Step: "photos", Draft: map[string]string{"category": "security"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := st.AddDraftPhoto(ctx, 5, store.DraftPhoto{MessageID: 3, FileID: "f3", UniqueID: "u3"}, 10); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	st = storetest.EmbeddedState(t, path, stateTTL)
	got, err := st.Load(ctx, 5)
	if err != nil || !reflect.DeepEqual(got, saved) {
		t.Errorf("Load after a restart: got %+v, %v, want %+v", got, err, saved)
	}
	photos, err := st.DraftPhotos(ctx, 5)
	if err != nil || len(photos) != 1 || photos[0].FileID != "f3" {
		t.Errorf("DraftPhotos after a restart: got %+v, %v, want the photo f3", photos, err)
	}
}
