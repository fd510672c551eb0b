package bot_test

// Replays, ordering and poison updates through the real pipeline and handlers on a
// real Postgres schema and Redis prefix (docs/RELIABILITY.md, "Faults, replays and
// ordering"). `go test ./bot -run Faults -faults.long` runs the long variants.

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-telegram/bot/models"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"zhucun/bot"
	"zhucun/bot/bottest"
	"zhucun/handlers"
	"zhucun/store"
	"zhucun/store/storetest"
)

var longFaults = flag.Bool("faults.long", false, "run the long variants of the replay and ordering tests")

const faultsAdmin = 9001

// replica is one pipeline on shared records and state, as one process would run it.
type replica struct {
	p       *bot.Pipeline
	h       *recorder
	metrics *bot.Metrics
	hook    *httptest.Server
}

// recorder wraps the real handlers: it records, per chat, the update ids it handled
// in the order it handled them, how many chats were being handled at once at most,
// and panics on the text "boom".
type recorder struct {
	*handlers.Handlers
	mu      sync.Mutex
	order   map[int64][]int64
	busy    atomic.Int64
	maxBusy atomic.Int64
	panics  atomic.Int64
}

func (r *recorder) Handle(ctx context.Context, in handlers.Input) ([]handlers.Reply, error) {
	n := r.busy.Add(1)
	defer r.busy.Add(-1)
	for m := r.maxBusy.Load(); n > m && !r.maxBusy.CompareAndSwap(m, n); m = r.maxBusy.Load() {
	}
	if in.Text == "boom" {
		r.panics.Add(1)
		panic("boom")
	}
	replies, err := r.Handlers.Handle(ctx, in)
	if err == nil {
		r.mu.Lock()
		r.order[in.ChatID] = append(r.order[in.ChatID], in.UpdateID)
		r.mu.Unlock()
	}
	return replies, err
}

// faultWorld is a fake Bot API and the records and state replicas share.
type faultWorld struct {
	api *bottest.Server
	db  *store.DB
	st  *store.State
}

func newFaultWorld(t *testing.T) *faultWorld {
	t.Helper()
	return &faultWorld{api: bottest.NewServer(t, token), db: storetest.DB(t), st: storetest.State(t, time.Hour)}
}

// replica starts a pipeline on the world with its own Bot API client and metrics,
// serving its webhook on an httptest server.
func (w *faultWorld) replica(t *testing.T, cfg bot.PipelineConfig) *replica {
	t.Helper()
	reg := prometheus.NewRegistry()
	m := bot.NewMetrics(reg)
	b, err := bot.New(context.Background(), bot.Config{Token: token, APIURL: w.api.URL(), Metrics: m, PollTimeout: time.Second,
		Logger: slog.New(slog.NewJSONHandler(testWriter{t}, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	h, err := handlers.New(handlers.Config{DeepLinkFunc: b.DeepLink, AdminIDs: []int64{faultsAdmin}}, w.db, w.st)
	if err != nil {
		t.Fatal(err)
	}
	cfg.WebhookSecret = "s3cret"
	r := &replica{h: &recorder{Handlers: h, order: map[int64][]int64{}}, metrics: m}
	r.p = bot.NewPipeline(b, r.h, cfg)
	r.hook = httptest.NewServer(r.p.WebhookHandler())
	t.Cleanup(r.hook.Close)
	return r
}

// deliver posts an update to the replica's webhook as Telegram would and returns the
// status. It runs on load goroutines, so it returns errors rather than failing.
func (r *replica) deliver(u models.Update) (int, error) {
	body, err := json.Marshal(u)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequest(http.MethodPost, r.hook.URL, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("X-Telegram-Bot-Api-Secret-Token", "s3cret")
	resp, err := r.hook.Client().Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// poll runs the replica's polling loop until the test ends.
func (r *replica) poll(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := r.p.Poll(ctx); err != nil {
			t.Errorf("poll: %v", err)
		}
	})
	t.Cleanup(func() { cancel(); wg.Wait() })
}

// sentTo counts the bot's successful calls of method in chatID.
func sentTo(api *bottest.Server, method string, chatID int64) int {
	n := 0
	for _, c := range api.CallsTo(method) {
		if c.Status == http.StatusOK && c.Params["chat_id"] == strconv.FormatInt(chatID, 10) {
			n++
		}
	}
	return n
}

// TestFaultsReplayedUpdates records 1,000 updates (250 chats, each /feedback, its text,
// the anonymity button, /help) and delivers every one of them three times over two
// replicas: for half the chats the three deliveries of an update at once, for the other
// half one after another. Each update must be recorded once and answered once.
func TestFaultsReplayedUpdates(t *testing.T) {
	t.Parallel()
	chats := 250
	if *longFaults {
		chats = 2500
	}
	const deliveries = 3
	w := newFaultWorld(t)
	replicas := []*replica{w.replica(t, bot.PipelineConfig{}), w.replica(t, bot.PipelineConfig{})}

	var (
		next      atomic.Uint64
		delivered atomic.Int64
		failed    atomic.Int64
	)
	// send delivers upd deliveries times, at once or one after another, taking turns
	// over the replicas; every delivery must be answered 200.
	send := func(upd models.Update, atOnce bool) {
		var wg sync.WaitGroup
		one := func() {
			r := replicas[(next.Add(1)-1)%uint64(len(replicas))]
			code, err := r.deliver(upd)
			delivered.Add(1)
			if err != nil || code != http.StatusOK {
				failed.Add(1)
				t.Errorf("update %d: delivery answered %d (%v), want 200", upd.ID, code, err)
			}
		}
		for range deliveries {
			if atOnce {
				wg.Go(one)
			} else {
				one()
			}
		}
		wg.Wait()
	}
	users := make([]*bottest.User, chats)
	for i := range users {
		users[i] = w.api.NewUser(int64(20000+i), fmt.Sprintf("队员%d", i), "zh-hans")
	}
	start := time.Now()
	sem := make(chan struct{}, 32)
	var wg sync.WaitGroup
	for i, u := range users {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			atOnce := i%2 == 1
			send(u.Command("feedback"), atOnce)
			send(u.Text(fmt.Sprintf("第%d组：村口的路灯坏了", i)), atOnce)
			msgs := w.api.Messages(u.ID)
			if len(msgs) != 2 || !hasButton(msgs[1], "匿名提交") {
				t.Errorf("chat %d: after the text the chat holds %d messages, want 2, the last with the anonymity buttons", u.ID, len(msgs))
				return
			}
			send(u.Press(msgs[1], buttonData(msgs[1], "匿名提交")), atOnce)
			send(u.Command("help"), atOnce)
		}()
	}
	wg.Wait()
	took := time.Since(start)
	if t.Failed() {
		t.FailNow()
	}

	fb, err := w.db.AllFeedback(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var got, want []string
	for _, f := range fb {
		got = append(got, f.Body)
	}
	for i := range users {
		want = append(want, fmt.Sprintf("第%d组：村口的路灯坏了", i))
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("feedback records: got %d, want %d, one per chat (%d duplicates)", len(got), len(want), len(got)-len(slices.Compact(got)))
	}
	dupReplies := 0
	for _, u := range users {
		// The prompt, the anonymity question (edited into the thanks), the help.
		if n := sentTo(w.api, "sendMessage", u.ID); n != 3 {
			t.Errorf("chat %d: %d messages sent, want 3", u.ID, n)
			dupReplies += max(n-3, 0)
		}
		if n := sentTo(w.api, "editMessageText", u.ID); n != 1 {
			t.Errorf("chat %d: %d edits, want 1", u.ID, n)
			dupReplies += max(n-1, 0)
		}
	}
	if n := sentTo(w.api, "sendMessage", faultsAdmin); n != chats {
		t.Errorf("the admin got %d feedback notices, want %d", n, chats)
		dupReplies += max(n-chats, 0)
	}
	t.Logf("replays: %d updates delivered %d times each (%d deliveries, half at once, over 2 replicas) in %v: "+
		"%d feedback records for %d chats, %d duplicate records, %d duplicate replies, %d deliveries not answered 200",
		4*chats, deliveries, delivered.Load(), took.Round(time.Millisecond), len(fb), chats,
		len(got)-len(slices.Compact(slices.Clone(got))), dupReplies, failed.Load())
}

func hasButton(m bottest.Message, label string) bool {
	if m.Markup == nil {
		return false
	}
	for _, row := range m.Markup.InlineKeyboard {
		for _, b := range row {
			if strings.Contains(b.Text, label) {
				return true
			}
		}
	}
	return false
}

func buttonData(m bottest.Message, label string) string {
	for _, row := range m.Markup.InlineKeyboard {
		for _, b := range row {
			if strings.Contains(b.Text, label) {
				return b.CallbackData
			}
		}
	}
	return ""
}

// TestFaultsOrderPerChat queues 50 updates from each of 100 chats, interleaved at
// random (each chat's own in order), for one polling pipeline: every chat's updates
// must be handled in update_id order, each once, with several chats handled at once.
func TestFaultsOrderPerChat(t *testing.T) {
	t.Parallel()
	chats, perChat := 100, 50
	if *longFaults {
		chats, perChat = 500, 100
	}
	w := newFaultWorld(t)
	r := w.replica(t, bot.PipelineConfig{})
	users := make([]*bottest.User, chats)
	left := make([]int, chats)
	for i := range users {
		users[i] = w.api.NewUser(int64(30000+i), fmt.Sprintf("队员%d", i), "en")
		left[i] = perChat
	}
	seed := time.Now().UnixNano()
	rng := rand.New(rand.NewPCG(uint64(seed), 1))
	t.Logf("seed %d", seed)
	sent := map[int64][]int64{}
	var pending []int
	for i := range users {
		pending = append(pending, i)
	}
	for len(pending) > 0 {
		k := rng.IntN(len(pending))
		i := pending[k]
		u := users[i].Text(fmt.Sprintf("message %d", perChat-left[i]))
		sent[users[i].ID] = append(sent[users[i].ID], u.ID)
		if left[i]--; left[i] == 0 {
			pending = slices.Delete(pending, k, k+1)
		}
	}
	start := time.Now()
	r.poll(t)
	total := chats * perChat
	if !w.api.WaitUntil(5*time.Minute, func() bool { return len(w.api.CallsTo("sendMessage")) >= total }) {
		t.Fatalf("%d replies after 5 minutes, want %d", len(w.api.CallsTo("sendMessage")), total)
	}
	took := time.Since(start)
	r.h.mu.Lock()
	defer r.h.mu.Unlock()
	outOfOrder := 0
	for _, u := range users {
		if got := r.h.order[u.ID]; !slices.Equal(got, sent[u.ID]) {
			outOfOrder++
			t.Errorf("chat %d: handled %v, want %v", u.ID, got, sent[u.ID])
		}
	}
	if r.h.maxBusy.Load() < 2 {
		t.Errorf("at most %d chats handled at once, want several", r.h.maxBusy.Load())
	}
	t.Logf("ordering: %d chats × %d updates interleaved, handled in %v (%.0f updates/s); %d chats out of order; up to %d chats at once",
		chats, perChat, took.Round(time.Millisecond), float64(total)/took.Seconds(), outOfOrder, r.h.maxBusy.Load())
}

// TestFaultsPoisonUpdate sends, among 30 chats all talking at once, one update whose
// handling panics every time. It must be tried MaxAttempts times, set aside in the
// dead letters (and counted in the metrics), answered with the apology, and the chat's
// next update handled; no other chat may notice.
func TestFaultsPoisonUpdate(t *testing.T) {
	t.Parallel()
	const chats = 30
	w := newFaultWorld(t)
	r := w.replica(t, bot.PipelineConfig{MaxAttempts: 3})
	r.poll(t)
	users := make([]*bottest.User, chats)
	for i := range users {
		users[i] = w.api.NewUser(int64(40000+i), fmt.Sprintf("user %d", i), "en")
	}
	poisoned := users[0]
	var poison models.Update
	for round := range 3 {
		for i, u := range users {
			if i == 0 && round == 1 {
				poison = u.Text("boom")
				continue
			}
			u.Command("help")
		}
	}
	for i, u := range users {
		msgs := w.api.WaitMessages(t, u.ID, 3)
		for j, m := range msgs {
			want := "/help"
			if i == 0 && j == 1 {
				want = "Sorry"
			}
			if !strings.Contains(m.Text, want) {
				t.Errorf("chat %d, message %d: got %q, want %q in it", u.ID, j+1, m.Text, want)
			}
		}
	}
	if n := r.h.panics.Load(); n != 3 {
		t.Errorf("the poison update was tried %d times, want 3", n)
	}
	dead, err := w.db.DeadLetters(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(dead) != 1 || dead[0].UpdateID != poison.ID || dead[0].Attempts != 3 || !strings.Contains(dead[0].LastError, "panic: boom") {
		t.Fatalf("dead letters %+v, want update %d after 3 attempts with its panic", dead, poison.ID)
	}
	if got := testutil.ToFloat64(r.metrics.DeadLetters()); got != 1 {
		t.Errorf("zhucun_dead_letters_total %v, want 1", got)
	}
	r.h.mu.Lock()
	handled := len(r.h.order[poisoned.ID])
	r.h.mu.Unlock()
	if handled != 2 {
		t.Errorf("the poisoned chat had %d other updates handled, want 2", handled)
	}
	t.Logf("poison: tried %d times, dead-lettered (metric %v), %d other chats all answered, the poisoned chat answered after it",
		r.h.panics.Load(), testutil.ToFloat64(r.metrics.DeadLetters()), chats-1)
}
