package bottest

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	tgbot "github.com/go-telegram/bot"
)

// fakeClock is a settable clock for the limiter.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// limited starts a server enforcing l on a clock the test moves.
func limited(t *testing.T, l Limits) (*Server, *fakeClock) {
	t.Helper()
	s := NewServer(t, testToken)
	s.EnforceLimits(l)
	clock := &fakeClock{t: time.Date(2026, 10, 9, 10, 0, 0, 0, time.UTC)}
	s.mu.Lock()
	s.limits.now = clock.now
	s.mu.Unlock()
	return s, clock
}

func send(t *testing.T, s *Server, chatID int64) (int, apiResponse) {
	t.Helper()
	return postJSON(t, s, s.Token(), "sendMessage", map[string]any{"chat_id": chatID, "text": "hi"})
}

func TestEnforceLimitsPerSecond(t *testing.T) {
	t.Parallel()
	s, clock := limited(t, Limits{PerSecond: 3})
	for i := int64(1); i <= 3; i++ {
		if status, r := send(t, s, i); status != http.StatusOK {
			t.Fatalf("send %d: got %d %s, want 200", i, status, r.Description)
		}
	}
	status, r := send(t, s, 4)
	if status != http.StatusTooManyRequests || r.Parameters.RetryAfter != 1 {
		t.Fatalf("fourth send in a second: got %d retry_after %d, want 429 and 1", status, r.Parameters.RetryAfter)
	}
	// getMe and answers that are no sends are not limited.
	if status, _ := postJSON(t, s, s.Token(), "getMe", map[string]any{}); status != http.StatusOK {
		t.Fatalf("getMe over the limit: got %d, want 200", status)
	}
	clock.advance(999 * time.Millisecond)
	if status, _ := send(t, s, 4); status != http.StatusTooManyRequests {
		t.Fatalf("send after 999ms: got %d, want 429", status)
	}
	clock.advance(time.Millisecond)
	if status, _ := send(t, s, 4); status != http.StatusOK {
		t.Fatalf("send after a second: got %d, want 200", status)
	}
	if got, want := s.TooManyRequests(), 2; got != want {
		t.Fatalf("TooManyRequests: got %d, want %d", got, want)
	}
	if got, want := len(s.Messages(4)), 1; got != want {
		t.Fatalf("chat 4 holds %d messages, want %d (rejected sends deliver nothing)", got, want)
	}
}

func TestEnforceLimitsPerChat(t *testing.T) {
	t.Parallel()
	s, clock := limited(t, Limits{PerSecond: 30, ChatPerSecond: 1, ChatBurst: 2, GroupPerMinute: 2})
	for i, want := range []int{http.StatusOK, http.StatusOK, http.StatusTooManyRequests} {
		if status, _ := send(t, s, 5); status != want {
			t.Fatalf("send %d to chat 5: got %d, want %d", i+1, status, want)
		}
	}
	if status, _ := send(t, s, 6); status != http.StatusOK {
		t.Fatalf("another chat: got %d, want 200", status)
	}
	clock.advance(time.Second)
	for i, want := range []int{http.StatusOK, http.StatusTooManyRequests} {
		if status, _ := send(t, s, 5); status != want {
			t.Fatalf("a second later, send %d to chat 5: got %d, want %d", i+1, status, want)
		}
	}
	// A group: at most GroupPerMinute in any minute.
	for i, want := range []int{http.StatusOK, http.StatusOK, http.StatusTooManyRequests} {
		if status, _ := send(t, s, -100); status != want {
			t.Fatalf("send %d to the group: got %d, want %d", i+1, status, want)
		}
	}
	clock.advance(59 * time.Second)
	if status, r := send(t, s, -100); status != http.StatusTooManyRequests || r.Parameters.RetryAfter != 1 {
		t.Fatalf("group after 59s: got %d retry_after %d, want 429 and 1", status, r.Parameters.RetryAfter)
	}
	clock.advance(time.Second)
	if status, _ := send(t, s, -100); status != http.StatusOK {
		t.Fatalf("group after a minute: got %d, want 200", status)
	}
}

func TestMigrateChat(t *testing.T) {
	t.Parallel()
	s := NewServer(t, testToken)
	s.MigrateChat(-100, -1001234)
	b, err := tgbot.New(s.Token(), tgbot.WithServerURL(s.URL()), tgbot.WithSkipGetMe())
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.SendMessage(context.Background(), &tgbot.SendMessageParams{ChatID: -100, Text: "hi"})
	var migrated *tgbot.MigrateError
	if !errors.As(err, &migrated) || migrated.MigrateToChatID != -1001234 {
		t.Fatalf("send to the old group: got %v, want a MigrateError to -1001234", err)
	}
	if _, err := b.SendMessage(context.Background(), &tgbot.SendMessageParams{ChatID: -1001234, Text: "hi"}); err != nil {
		t.Fatalf("send to the supergroup: %v", err)
	}
	if got := len(s.Messages(-1001234)); got != 1 {
		t.Fatalf("the supergroup holds %d messages, want 1", got)
	}
}
