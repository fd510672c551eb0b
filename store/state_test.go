package store_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"zhucun/store"
	"zhucun/store/storetest"
)

const stateTTL = time.Hour

// setupState is conversation state under a fresh prefix, with the client and prefix so
// a test can look at the keys.
func setupState(t *testing.T) (*store.State, *redis.Client, string) {
	t.Helper()
	rdb, prefix := storetest.Redis(t)
	return store.NewState(rdb, prefix, stateTTL), rdb, prefix
}

func convKey(prefix string, chatID int64) string {
	return prefix + "conv:" + strconv.FormatInt(chatID, 10)
}

func TestStateLoadUnknown(t *testing.T) {
	t.Parallel()
	st := storetest.State(t, stateTTL)
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
}

func TestStateSave(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	st, rdb, prefix := setupState(t)
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

	key := convKey(prefix, chatID)
	ttl, err := rdb.PTTL(ctx, key).Result()
	if err != nil {
		t.Fatalf("PTTL %s: %v", key, err)
	}
	if ttl <= stateTTL-time.Minute || ttl > stateTTL {
		t.Errorf("PTTL %s: got %s, want about %s", key, ttl, stateTTL)
	}

	// A save starts the TTL again.
	if err := rdb.PExpire(ctx, key, time.Minute).Err(); err != nil {
		t.Fatalf("PEXPIRE: %v", err)
	}
	loaded.Step = "photo"
	if _, err := st.Save(ctx, chatID, loaded); err != nil {
		t.Fatalf("second Save: %v", err)
	}
	if ttl, err := rdb.PTTL(ctx, key).Result(); err != nil || ttl <= stateTTL-time.Minute {
		t.Errorf("PTTL after a second save: got %s, %v, want about %s", ttl, err, stateTTL)
	}

	// Another chat is untouched.
	if other, err := st.Load(ctx, -chatID); err != nil || !reflect.DeepEqual(other, store.Conversation{}) {
		t.Errorf("Load of another chat: got %+v, %v, want the zero Conversation", other, err)
	}
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
			st := storetest.State(t, stateTTL)
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
	}
}

func TestStateSaveConcurrent(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), concurrentTimeout)
	defer cancel()
	st := storetest.State(t, stateTTL)
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
}

func TestStateLeaveFlowKeepsVersion(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	st := storetest.State(t, stateTTL)
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
}

func TestStateLoadCorrupt(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	st, rdb, prefix := setupState(t)
	if err := rdb.Set(ctx, convKey(prefix, 1), "not json", time.Minute).Err(); err != nil {
		t.Fatalf("SET: %v", err)
	}
	if got, err := st.Load(ctx, 1); err == nil {
		t.Errorf("Load of a corrupt record: got %+v, nil, want an error", got)
	}
}

func TestStatePing(t *testing.T) {
	t.Parallel()
	st := storetest.State(t, stateTTL)
	if err := st.Ping(t.Context()); err != nil {
		t.Errorf("Ping: got %v, want nil", err)
	}
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
