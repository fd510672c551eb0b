package bot_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"zhucun/bot"
	"zhucun/bot/bottest"
	"zhucun/handlers"
	"zhucun/store/storetest"
)

// pacedBot is a Bot on api whose sends go through a pacer with limits, counting in the
// test Redis under prefix (replicas share a prefix).
func pacedBot(t *testing.T, api *bottest.Server, prefix string, limits bot.Limits) *bot.Bot {
	t.Helper()
	rdb, _ := storetest.Redis(t)
	b, err := bot.New(context.Background(), bot.Config{Token: token, APIURL: api.URL(), Metrics: bot.NewMetrics(prometheus.NewRegistry()),
		Pacer: bot.NewPacer(rdb, prefix, limits)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

func newPrefix(t *testing.T) string {
	t.Helper()
	_, prefix := storetest.Redis(t)
	return prefix
}

func text(chatID int64, s string) handlers.Reply { return handlers.Reply{ChatID: chatID, Text: s} }

// sendAll sends one bulk message to each chat from workers goroutines.
func sendAll(t *testing.T, b *bot.Bot, chats []int64, workers int) {
	t.Helper()
	next := make(chan int64)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range next {
				if err := b.SendBulk(context.Background(), text(id, "提醒")); err != nil {
					t.Errorf("send to %d: %v", id, err)
				}
			}
		}()
	}
	for _, id := range chats {
		next <- id
	}
	close(next)
	wg.Wait()
}

func chatRange(from, n int) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = int64(from + i)
	}
	return out
}

// telegramLimits model Telegram's flood limits: 30 sends a second, one a second to a
// chat after a short burst, 20 a minute to a group.
var telegramLimits = bottest.Limits{PerSecond: 30, ChatPerSecond: 1, ChatBurst: 4, GroupPerMinute: 20}

// TestPacerKeepsTwoReplicasWithinLimits runs two bots ("replicas") sharing one pacer
// prefix against a fake Bot API that answers 429 to any send over Telegram's limits.
// The bot-wide limit is scaled up (100 a second instead of 30) to keep the test short;
// BenchmarkReminderRound measures the real one.
func TestPacerKeepsTwoReplicasWithinLimits(t *testing.T) {
	t.Parallel()
	api := bottest.NewServer(t, token)
	scaled := telegramLimits
	scaled.PerSecond = 100
	api.EnforceLimits(scaled)
	limits := bot.DefaultLimits()
	limits.PerSecond, limits.BulkPerSecond = 95, 90
	prefix := newPrefix(t)
	keepsWithinLimits(t, api, []*bot.Bot{pacedBot(t, api, prefix, limits), pacedBot(t, api, prefix, limits)})
}

// TestLocalPacerKeepsWithinLimits is TestPacerKeepsTwoReplicasWithinLimits for a bot
// that counts in its own process (no Redis): one replica sends it all.
func TestLocalPacerKeepsWithinLimits(t *testing.T) {
	t.Parallel()
	api := bottest.NewServer(t, token)
	scaled := telegramLimits
	scaled.PerSecond = 100
	api.EnforceLimits(scaled)
	limits := bot.DefaultLimits()
	limits.PerSecond, limits.BulkPerSecond = 95, 90
	b := localBot(t, api, limits)
	keepsWithinLimits(t, api, []*bot.Bot{b, b})
}

// localBot is a Bot on api whose sends go through a pacer counting in this process.
func localBot(t *testing.T, api *bottest.Server, limits bot.Limits) *bot.Bot {
	t.Helper()
	b, err := bot.New(context.Background(), bot.Config{Token: token, APIURL: api.URL(), Metrics: bot.NewMetrics(prometheus.NewRegistry()),
		Pacer: bot.NewLocalPacer(limits)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

// pacerBot is a Bot on api with a pacer of the kind named: "redis" or "local".
func pacerBot(t *testing.T, pacer string, api *bottest.Server, limits bot.Limits) *bot.Bot {
	t.Helper()
	if pacer == "redis" {
		return pacedBot(t, api, newPrefix(t), limits)
	}
	return localBot(t, api, limits)
}

// keepsWithinLimits sends, through the two replicas at once, a bulk message to each of
// 200 chats, reminders and replies to two people and messages to a group, and checks
// that the API (enforcing Telegram's limits) never answered 429 and everything arrived.
func keepsWithinLimits(t *testing.T, api *bottest.Server, replicas []*bot.Bot) {
	t.Helper()
	var wg sync.WaitGroup
	for i, b := range replicas {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sendAll(t, b, chatRange(1000+100*i, 100), 4)
		}()
	}
	// Meanwhile, replies in a row to one person (within Telegram's short burst) and two
	// messages to one group.
	wg.Add(3)
	go func() { // reminders to one person: paced to their chat
		defer wg.Done()
		for i := range 6 {
			if err := replicas[i%2].SendBulk(context.Background(), text(8, "提醒 "+strconv.Itoa(i))); err != nil {
				t.Errorf("reminder %d: %v", i, err)
			}
		}
	}()
	go func() {
		defer wg.Done()
		for i := range 4 {
			if err := replicas[i%2].Send(context.Background(), text(7, "回复 "+strconv.Itoa(i))); err != nil {
				t.Errorf("reply %d: %v", i, err)
			}
		}
	}()
	go func() {
		defer wg.Done()
		for i := range 2 {
			if err := replicas[0].Send(context.Background(), text(-500, "群 "+strconv.Itoa(i))); err != nil {
				t.Errorf("group message %d: %v", i, err)
			}
		}
	}()
	wg.Wait()

	if got := api.TooManyRequests(); got != 0 {
		for _, c := range api.Calls() {
			if c.Status == http.StatusTooManyRequests {
				t.Logf("429: %s %v", c.Method, c.Params)
			}
		}
		t.Errorf("the API answered 429 %d times, want 0", got)
	}
	for _, id := range append(chatRange(1000, 100), chatRange(1100, 100)...) {
		if got := len(api.Messages(id)); got != 1 {
			t.Errorf("chat %d holds %d messages, want 1", id, got)
		}
	}
	if got := len(api.Messages(7)); got != 4 {
		t.Errorf("the person holds %d replies, want 4", got)
	}
	if got := len(api.Messages(8)); got != 6 {
		t.Errorf("the person holds %d reminders, want 6", got)
	}
	if got := len(api.Messages(-500)); got != 2 {
		t.Errorf("the group holds %d messages, want 2", got)
	}
}

func TestSendWaitsOutRetryAfter(t *testing.T) {
	t.Parallel()
	for _, pacer := range []string{"redis", "local"} {
		t.Run(pacer, func(t *testing.T) {
			t.Parallel()
			api := bottest.NewServer(t, token)
			b := pacerBot(t, pacer, api, bot.DefaultLimits())
			sendWaitsOutRetryAfter(t, api, b)
		})
	}
}

func sendWaitsOutRetryAfter(t *testing.T, api *bottest.Server, b *bot.Bot) {
	t.Helper()
	api.Fail("sendMessage", 1, http.StatusTooManyRequests, 1)
	if err := b.SendBulk(context.Background(), text(42, "提醒")); err != nil {
		t.Fatalf("send: got %v, want nil after waiting", err)
	}
	calls := api.CallsTo("sendMessage")
	if len(calls) != 2 || calls[0].Status != http.StatusTooManyRequests || calls[1].Status != http.StatusOK {
		t.Fatalf("calls %v, want a 429 then a 200", statuses(calls))
	}
	if got := len(api.Messages(42)); got != 1 {
		t.Fatalf("chat holds %d messages, want 1 (not lost, not twice)", got)
	}
}

func statuses(calls []bottest.Call) []int {
	var out []int
	for _, c := range calls {
		out = append(out, c.Status)
	}
	return out
}

func TestSendBlocked(t *testing.T) {
	t.Parallel()
	api := bottest.NewServer(t, token)
	b := pacedBot(t, api, newPrefix(t), bot.DefaultLimits())
	api.Fail("sendMessage", 1, http.StatusForbidden, 0)
	if err := b.SendBulk(context.Background(), text(42, "提醒")); !errors.Is(err, bot.ErrBlocked) {
		t.Fatalf("send: got %v, want ErrBlocked", err)
	}
	if got := len(api.CallsTo("sendMessage")); got != 1 {
		t.Fatalf("%d calls, want 1 (no retry to a user who blocked the bot)", got)
	}
}

func TestSendFollowsMigratedGroup(t *testing.T) {
	t.Parallel()
	api := bottest.NewServer(t, token)
	api.MigrateChat(-100, -1001)
	limits := bot.DefaultLimits()
	limits.GroupPerMinute = 600 // not what this test is about
	b := pacedBot(t, api, newPrefix(t), limits)
	for i := range 2 {
		if err := b.Send(context.Background(), text(-100, fmt.Sprintf("第%d条", i+1))); err != nil {
			t.Fatalf("send %d: %v", i+1, err)
		}
	}
	if got := len(api.Messages(-1001)); got != 2 {
		t.Fatalf("the supergroup holds %d messages, want 2", got)
	}
	var to []string
	for _, c := range api.CallsTo("sendMessage") {
		to = append(to, c.Params["chat_id"])
	}
	if want := []string{"-100", "-1001", "-1001"}; fmt.Sprint(to) != fmt.Sprint(want) {
		t.Fatalf("sends went to %v, want %v (the old id once, then the new one)", to, want)
	}
}

// TestInteractiveGoesAheadOfBulk starts a bulk run and sends a reply in the middle of
// it: the reply must not wait for the bulk sends queued before it. It counts, among the
// API's calls, the bulk messages delivered while the reply was on its way.
func TestInteractiveGoesAheadOfBulk(t *testing.T) {
	t.Parallel()
	for _, pacer := range []string{"redis", "local"} {
		t.Run(pacer, func(t *testing.T) {
			t.Parallel()
			api := bottest.NewServer(t, token)
			limits := bot.DefaultLimits()
			limits.PerSecond, limits.BulkPerSecond = 60, 50
			b := pacerBot(t, pacer, api, limits)
			interactiveGoesAheadOfBulk(t, api, b)
		})
	}
}

func interactiveGoesAheadOfBulk(t *testing.T, api *bottest.Server, b *bot.Bot) {
	t.Helper()
	const workers, bulk = 4, 150
	done := make(chan struct{})
	go func() {
		defer close(done)
		sendAll(t, b, chatRange(2000, bulk), workers)
	}()
	api.WaitCalls(t, "sendMessage", 20)
	before := len(api.CallsTo("sendMessage"))
	if err := b.Send(context.Background(), text(7, "您的打卡已记录")); err != nil {
		t.Fatal(err)
	}
	calls := api.CallsTo("sendMessage")
	at := -1
	for i, c := range calls {
		if c.Params["chat_id"] == "7" {
			at = i
		}
	}
	<-done
	if at < 0 {
		t.Fatal("the reply was not sent")
	}
	if queued := bulk - before; queued < 100 {
		t.Fatalf("only %d bulk messages were left when the reply was sent: the test proves nothing", queued)
	}
	// Bulk messages already on their way (one per worker) may arrive first; none of the
	// ones queued behind them may.
	if passed := at - before; passed > workers+1 {
		t.Errorf("%d bulk messages went out while the reply waited, want at most %d", passed, workers+1)
	}
}
