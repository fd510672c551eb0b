package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"zhucun/bot"
	"zhucun/bot/bottest"
	"zhucun/calendar"
	"zhucun/handlers"
	"zhucun/jobs"
	"zhucun/store"
	"zhucun/store/storetest"
)

// testClock is a clock a test sets.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// startWithClock runs a bot like env.start, on clock.
func (e *env) startWithClock(t *testing.T, extra map[string]string, clock *testClock) *running {
	t.Helper()
	cfg, err := loadConfig(e2eFlags(), nil, e.getenv(extra), true)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	cfg.RedisPrefix, cfg.now = e.prefix, clock.now
	ctx, cancel := context.WithCancel(context.Background())
	a, err := newApp(ctx, cfg, slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		cancel()
		t.Fatalf("newApp: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- a.run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return &running{app: a, stop: stop}
}

// nextWorkingDay is the first working day after today in Shanghai.
func nextWorkingDay(t testing.TB, loc *time.Location) time.Time {
	t.Helper()
	cal, err := calendar.New()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().In(loc)
	d := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc).AddDate(0, 0, 1)
	for !cal.IsWorkingDay(d) {
		d = d.AddDate(0, 0, 1)
	}
	return d
}

func TestReminderSettingsCommand(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.importDemo(t)
	settings := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := run(context.Background(), append([]string{"settings", "DEMO"}, args...), e.getenv(nil), &out, &errOut)
		return out.String(), err
	}
	got, err := settings()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"checkin_reminder=false", "checkin_reminder_at=10:00", "digest_at=20:00",
		"escalate_after_days=3", "quiet_hours=21:30-07:30"} {
		if !strings.Contains(got, want+"\n") {
			t.Errorf("defaults: got\n%s\nwant a line %s", got, want)
		}
	}
	got, err = settings("checkin_reminder=true", "checkin_reminder_at=09:30", "digest_at=19:00", "escalate_after_days=5",
		"quiet_hours=22:00-07:00", "required_days=18")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"checkin_reminder=true", "checkin_reminder_at=09:30", "digest_at=19:00",
		"escalate_after_days=5", "quiet_hours=22:00-07:00", "required_days=18"} {
		if !strings.Contains(got, want+"\n") {
			t.Errorf("after the change: got\n%s\nwant a line %s", got, want)
		}
	}
	county, err := e.db.RegionByCode(context.Background(), "DEMO")
	if err != nil {
		t.Fatal(err)
	}
	rs, err := e.db.ReminderSettings(context.Background(), county.ID)
	if err != nil || !rs.CheckInReminder || rs.CheckInReminderAt != 9*60+30 || rs.QuietFrom != 22*60 || rs.QuietTo != 7*60 {
		t.Fatalf("stored %+v (%v)", rs, err)
	}
	for _, bad := range []string{"checkin_reminder=maybe", "digest_at=25:00", "digest_at=8", "escalate_after_days=0",
		"quiet_hours=22:00", "reminders=on"} {
		if _, err := settings(bad); err == nil {
			t.Errorf("%s was accepted", bad)
		}
	}
}

func TestMigrateAppliesRiver(t *testing.T) {
	t.Parallel()
	e := &env{api: bottest.NewServer(t, testToken), logs: newLogBuffer()}
	e.dbURL = storetest.Schema(t)
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"migrate"}, e.getenv(nil), &out, &errOut); err != nil {
		t.Fatalf("migrate: %v\n%s", err, errOut.String())
	}
	if got := out.String(); !strings.Contains(got, "006_create_reminders") || !strings.Contains(got, "river_001") {
		t.Fatalf("migrate said:\n%s\nwant our migrations and River's", got)
	}
	out.Reset()
	if err := run(context.Background(), []string{"migrate"}, e.getenv(nil), &out, &errOut); err != nil || out.String() != "applied 0 migration(s)\n" {
		t.Fatalf("second migrate: %q (%v), want nothing to apply", out.String(), err)
	}
}

// TestRemindersEndToEnd runs two replicas with the scheduler on, on a clock set to the
// next working day: a member mutes the check-in reminder through /settings; at 10:05
// the members without a check-in get it once, though both replicas tick; the first send
// is refused (the person blocked the bot) and the next one hits a 429.
func TestRemindersEndToEnd(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.importDemo(t)
	ctx := context.Background()
	var out, errOut bytes.Buffer
	if err := run(ctx, []string{"settings", "DEMO", "checkin_reminder=true"}, e.getenv(nil), &out, &errOut); err != nil {
		t.Fatalf("settings: %v\n%s", err, errOut.String())
	}
	village, err := e.db.RegionByCode(ctx, "DEMO-QS-01")
	if err != nil {
		t.Fatal(err)
	}
	shanghai, _ := time.LoadLocation("Asia/Shanghai")
	day := nextWorkingDay(t, shanghai)
	const checkedIn, muting = 3003, 3004
	reminded := []int64{3001, 3002, 3005}
	for _, id := range append([]int64{checkedIn, muting}, reminded...) {
		if _, err := e.db.TouchUser(ctx, id, fmt.Sprintf("队员%d", id), "zh-hans"); err != nil {
			t.Fatal(err)
		}
		if err := e.db.GrantRole(ctx, id, store.RoleMember, village.ID, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.db.AddCheckIn(ctx, store.CheckIn{UserID: checkedIn, RegionID: village.ID, Day: time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, time.UTC),
		CheckedAt: day.Add(8 * time.Hour), Source: store.SourceSelf, RecordedBy: checkedIn, OnSite: true, Verdict: store.VerdictSelfDeclared}); err != nil {
		t.Fatal(err)
	}
	clock := &testClock{t: day.Add(9 * time.Hour)}
	on := map[string]string{"ZHUCUN_REMINDERS": "on"}
	for k, v := range webhookEnv {
		on[k] = v
	}
	replicas := []*running{e.startWithClock(t, on, clock), e.startWithClock(t, on, clock)}

	// A member mutes the check-in reminder.
	u := e.api.NewUser(muting, "队员3004", "zh-hans")
	if code := replicas[0].deliver(t, u.Command("settings"), hookSecret); code != http.StatusOK {
		t.Fatalf("/settings: %d", code)
	}
	menu := last(t, e.api, muting, 1)
	if !strings.Contains(menu.Text, "打卡提醒：10:00（默认）") {
		t.Fatalf("/settings shows %q, want the check-in reminder at 10:00", menu.Text)
	}
	for _, label := range []string{"打卡提醒", "🔕 关闭"} {
		edits := len(e.api.CallsTo("editMessageText"))
		m := e.api.Messages(muting)[0]
		if code := replicas[1].deliver(t, u.Press(m, m.Button(t, label)), hookSecret); code != http.StatusOK {
			t.Fatalf("press %s: %d", label, code)
		}
		e.api.WaitCalls(t, "editMessageText", edits+1)
	}
	if got := e.api.Messages(muting)[0].Text; !strings.Contains(got, "已保存") || !strings.Contains(got, "打卡提醒：已关闭") {
		t.Fatalf("after muting: %q", got)
	}

	// 10:05: the first send finds a person who blocked the bot, the second a 429.
	before := len(e.api.CallsTo("sendMessage"))
	e.api.Fail("sendMessage", 1, http.StatusForbidden, 0)
	e.api.Fail("sendMessage", 1, http.StatusTooManyRequests, 1)
	clock.set(day.Add(10*time.Hour + 5*time.Minute))
	fresh := 0
	for _, r := range replicas {
		n, err := r.app.jobs.Tick(ctx)
		if err != nil {
			t.Fatal(err)
		}
		fresh += n
	}
	if fresh == 0 {
		t.Fatal("no occurrence was due at 10:05")
	}
	calls := e.api.WaitCalls(t, "sendMessage", before+len(reminded)+1)[before:] // a 403, a 429 and its retry, one more
	var blocked int64
	for _, c := range calls {
		if c.Status == http.StatusForbidden {
			fmt.Sscan(c.Params["chat_id"], &blocked)
		}
	}
	if blocked == 0 {
		t.Fatalf("no send was refused: %v", calls)
	}
	for _, id := range reminded {
		msgs := e.api.Messages(id)
		switch {
		case id == blocked && len(msgs) != 0:
			t.Errorf("%d blocked the bot but holds %d messages", id, len(msgs))
		case id != blocked && (len(msgs) != 1 || !strings.Contains(msgs[0].Text, "打卡提醒")):
			t.Errorf("%d holds %+v, want one check-in reminder", id, msgs)
		}
	}
	if got, err := e.db.UserByID(ctx, blocked); err != nil || got.BlockedAt == nil {
		t.Errorf("%d is not marked blocked: %+v (%v)", blocked, got, err)
	}
	for _, id := range []int64{checkedIn, muting} {
		for _, m := range e.api.Messages(id) {
			if strings.Contains(m.Text, "打卡提醒：今天") {
				t.Errorf("%d got a check-in reminder: %q", id, m.Text)
			}
		}
	}
	if got := e.api.TooManyRequests(); got != 1 {
		t.Errorf("%d answers 429, want the one injected", got)
	}
	// Ticking again, on either replica, plans nothing new.
	for _, r := range replicas {
		if n, err := r.app.jobs.Tick(ctx); err != nil || n != 0 {
			t.Errorf("second tick: %d new occurrences (%v), want 0", n, err)
		}
	}
}

// BenchmarkReminderRound sends one round of check-in reminders to 3,000 members, each
// in a chat of their own, through the jobs' senders and the paced sender, against a
// fake Bot API that answers 429 to whatever goes over Telegram's limits (30 a second).
// It reports the rate achieved, and the bulk messages that went out while a reply sent
// in the middle of the round waited. Run it with
//
//	go test -run '^$' -bench BenchmarkReminderRound -benchtime 1x ./cmd/zhucun/
func BenchmarkReminderRound(b *testing.B) {
	const members = 3000
	ctx := context.Background()
	api := bottest.NewServer(b, testToken)
	api.EnforceLimits(bottest.Limits{PerSecond: 30, ChatPerSecond: 1, ChatBurst: 4, GroupPerMinute: 20})
	db, url := storetest.DBURL(b)
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pool.Close)
	if _, err := jobs.Migrate(ctx, jobs.Postgres(pool)); err != nil {
		b.Fatal(err)
	}
	rdb, prefix := storetest.Redis(b)
	tg, err := bot.New(ctx, bot.Config{Token: testToken, APIURL: api.URL(), Metrics: bot.NewMetrics(prometheus.NewRegistry()),
		Pacer: bot.NewPacer(rdb, prefix, bot.DefaultLimits())})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(tg.Close)
	shanghai, _ := time.LoadLocation("Asia/Shanghai")
	clock := &testClock{}
	h, err := handlers.New(handlers.Config{NowFunc: clock.now, Location: shanghai, DeepLinkFunc: tg.DeepLink}, db, store.NewState(rdb, prefix, time.Hour))
	if err != nil {
		b.Fatal(err)
	}
	cal, err := calendar.New()
	if err != nil {
		b.Fatal(err)
	}
	// Halfway through the round a reply is sent; sent counts the round's messages.
	var sent atomic.Int64
	var halfway atomic.Pointer[chan struct{}]
	counting := jobs.SenderFunc(func(ctx context.Context, rep handlers.Reply) error {
		err := bulkSender{tg}.Send(ctx, rep)
		if sent.Add(1) == members/2 {
			close(*halfway.Load())
		}
		return err
	})
	s, err := jobs.New(jobs.Config{Location: shanghai, Calendar: cal, NowFunc: clock.now, TickEvery: -1}, db, jobs.Postgres(pool), h, counting)
	if err != nil {
		b.Fatal(err)
	}
	f := func(v float64) *float64 { return &v }
	radius := int32(1000)
	if _, _, err := db.UpsertRegions(ctx, []store.RegionInput{
		{Code: "K", Level: store.LevelCounty, Name: "县"},
		{Code: "T", ParentCode: "K", Level: store.LevelTownship, Name: "镇"},
		{Code: "V", ParentCode: "T", Level: store.LevelVillage, Name: "村", Latitude: f(28.2), Longitude: f(112.9), RadiusM: &radius},
	}); err != nil {
		b.Fatal(err)
	}
	county, _ := db.RegionByCode(ctx, "K")
	village, _ := db.RegionByCode(ctx, "V")
	rs := store.DefaultReminderSettings(county.ID)
	rs.CheckInReminder = true
	if err := db.SetReminderSettings(ctx, rs); err != nil {
		b.Fatal(err)
	}
	for i := range members {
		id := int64(100000 + i)
		if _, err := db.TouchUser(ctx, id, fmt.Sprintf("队员%d", i), "zh-hans"); err != nil {
			b.Fatal(err)
		}
		if err := db.GrantRole(ctx, id, store.RoleMember, village.ID, nil, nil); err != nil {
			b.Fatal(err)
		}
	}
	day := nextWorkingDay(b, shanghai)
	const senders = 4
	for i := 0; i < b.N; i++ {
		half := make(chan struct{})
		halfway.Store(&half)
		sent.Store(0)
		clock.set(day.Add(10*time.Hour + 5*time.Minute))
		occs, err := s.Due(ctx, clock.now())
		if err != nil {
			b.Fatal(err)
		}
		planned := 0
		for _, o := range occs {
			n, err := s.Plan(ctx, o, clock.now())
			if err != nil {
				b.Fatal(err)
			}
			planned += n
		}
		if planned != members {
			b.Fatalf("planned %d reminders, want %d", planned, members)
		}
		b.ResetTimer()
		start := time.Now()
		var wg sync.WaitGroup
		for range senders {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := s.Deliver(ctx); err != nil {
					b.Error(err)
				}
			}()
		}
		// A reply in the middle of the round.
		<-half
		replyFrom := len(api.CallsTo("sendMessage"))
		if err := tg.Send(ctx, handlers.Reply{ChatID: 42, Text: "您的打卡已记录"}); err != nil {
			b.Fatal(err)
		}
		ahead := -1
		for i, c := range api.CallsTo("sendMessage")[replyFrom:] {
			if c.Params["chat_id"] == "42" {
				ahead = i
			}
		}
		wg.Wait()
		elapsed := time.Since(start)
		b.StopTimer()
		if got := api.TooManyRequests(); got != 0 {
			b.Fatalf("the API answered 429 %d times, want 0", got)
		}
		for j := range members {
			if n := len(api.Messages(int64(100000 + j))); n != 1 {
				b.Fatalf("member %d holds %d messages, want 1", j, n)
			}
		}
		rate := float64(members) / elapsed.Seconds()
		b.ReportMetric(rate, "msgs/s")
		b.ReportMetric(100*rate/30, "%_of_30/s")
		b.ReportMetric(float64(ahead), "bulk_ahead_of_reply")
		day = day.AddDate(0, 0, 1)
		for !cal.IsWorkingDay(day) {
			day = day.AddDate(0, 0, 1)
		}
		b.StartTimer()
	}
}
