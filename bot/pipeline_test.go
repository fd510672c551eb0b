package bot_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"

	"zhucun/bot"
	"zhucun/bot/bottest"
	"zhucun/handlers"
	"zhucun/store/storetest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const token = "777:AApipelineTEST_token_value_0123456789"

// faulty wraps the real handlers: it panics on the text "boom", and while down is set
// it fails every input and reports the services unreachable.
type faulty struct {
	*handlers.Handlers
	down atomic.Bool
}

func (f *faulty) Handle(ctx context.Context, in handlers.Input) ([]handlers.Reply, error) {
	if in.Text == "boom" {
		panic("boom")
	}
	if f.down.Load() {
		return nil, errors.New("connection refused")
	}
	return f.Handlers.Handle(ctx, in)
}

func (f *faulty) Ready(ctx context.Context) error {
	if f.down.Load() {
		return errors.New("postgres: connection refused")
	}
	return f.Handlers.Ready(ctx)
}

type fixture struct {
	api     *bottest.Server
	h       *faulty
	p       *bot.Pipeline
	metrics *bot.Metrics
	reg     *prometheus.Registry
}

func setup(t *testing.T, cfg bot.PipelineConfig) *fixture {
	t.Helper()
	ctx := context.Background()
	api := bottest.NewServer(t, token)
	reg := prometheus.NewRegistry()
	m := bot.NewMetrics(reg)
	b, err := bot.New(ctx, bot.Config{Token: token, APIURL: api.URL(), Metrics: m, PollTimeout: time.Second,
		Logger: slog.New(slog.NewJSONHandler(testWriter{t}, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	h, err := handlers.New(handlers.Config{DeepLinkFunc: b.DeepLink}, storetest.DB(t), storetest.State(t, time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	f := &faulty{Handlers: h}
	return &fixture{api: api, h: f, p: bot.NewPipeline(b, f, cfg), metrics: m, reg: reg}
}

// poll runs the polling loop until the test ends.
func (f *fixture) poll(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := f.p.Poll(ctx); err != nil {
			t.Errorf("poll: %v", err)
		}
	}()
	t.Cleanup(func() { cancel(); wg.Wait() })
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	if strings.Contains(string(p), token) {
		w.t.Errorf("token in log line: %s", p)
	}
	return len(p), nil
}

func TestPanicIsSetAsideAndOtherChatsGoOn(t *testing.T) {
	t.Parallel()
	f := setup(t, bot.PipelineConfig{MaxAttempts: 3})
	f.poll(t)
	bad := f.api.NewUser(1, "坏", "zh-hans")
	good := f.api.NewUser(2, "好", "zh-hans")
	bad.Text("boom")
	bad.Command("help")
	good.Command("help")

	if got := f.api.WaitMessages(t, good.ID, 1)[0].Text; !strings.Contains(got, "/help") {
		t.Fatalf("good chat got %q, want the help", got)
	}
	msgs := f.api.WaitMessages(t, bad.ID, 2)
	if !strings.Contains(msgs[0].Text, "抱歉") || !strings.Contains(msgs[1].Text, "/help") {
		t.Fatalf("bad chat got %q then %q, want the apology then the help", msgs[0].Text, msgs[1].Text)
	}
	if got := testutil.ToFloat64(f.metrics.DeadLetters()); got != 1 {
		t.Fatalf("dead letters metric %v, want 1", got)
	}
}

func TestUnavailableUpdateIsFetchedAgainInOrder(t *testing.T) {
	t.Parallel()
	f := setup(t, bot.PipelineConfig{})
	f.h.down.Store(true)
	f.poll(t)
	u := f.api.NewUser(3, "三", "en")
	u.Command("me")
	u.Command("help")

	busy := f.api.WaitMessages(t, u.ID, 1)[0]
	if !strings.Contains(busy.Text, "busy") {
		t.Fatalf("got %q, want the busy notice", busy.Text)
	}
	f.h.down.Store(false)
	msgs := f.api.WaitMessages(t, u.ID, 3)
	if !strings.Contains(msgs[1].Text, "(ID 3)") || !strings.Contains(msgs[2].Text, "/help") {
		t.Fatalf("after recovery got %q then %q, want /me then /help", msgs[1].Text, msgs[2].Text)
	}
	if n := len(f.api.Messages(u.ID)); n != 3 {
		t.Fatalf("%d messages, want 3 (one busy notice, one reply each)", n)
	}
}

func TestWebhookAnswers503WhileUnavailable(t *testing.T) {
	t.Parallel()
	f := setup(t, bot.PipelineConfig{WebhookSecret: "s3cret"})
	srv := httptest.NewServer(f.p.WebhookHandler())
	t.Cleanup(srv.Close)
	u := f.api.NewUser(4, "四", "en")
	upd := u.Command("help")

	deliver := func() int {
		req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(marshal(t, upd)))
		req.Header.Set("X-Telegram-Bot-Api-Secret-Token", "s3cret")
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	f.h.down.Store(true)
	if got := deliver(); got != http.StatusServiceUnavailable {
		t.Fatalf("while down: got %d, want 503", got)
	}
	f.h.down.Store(false)
	if got := deliver(); got != http.StatusOK {
		t.Fatalf("after recovery: got %d, want 200", got)
	}
	msgs := f.api.Messages(u.ID)
	if len(msgs) != 2 || !strings.Contains(msgs[1].Text, "/help") {
		t.Fatalf("messages %+v, want the busy notice then the help", msgs)
	}
}
