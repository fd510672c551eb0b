package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-telegram/bot/models"

	"zhucun/bot/bottest"
	"zhucun/store"
	"zhucun/store/storetest"
)

const (
	testToken   = "424242:AAtestTOKENdoNotLeakThisAnywhere_0123"
	testSecret  = "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=" // 32 bytes, base64
	adminID     = 9001
	hookSecret  = "hook-secret_ABC123"
	hookPath    = "/telegram/hook"
	demoRegions = "../../deploy/regions-demo.csv"
)

// logBuffer collects log lines from the bot and lets a test wait for one.
type logBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{}
}

func newLogBuffer() *logBuffer { return &logBuffer{changed: make(chan struct{})} }

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	close(l.changed)
	l.changed = make(chan struct{})
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// waitFor blocks until the logs contain s.
func (l *logBuffer) waitFor(t *testing.T, s string) {
	t.Helper()
	l.waitForWithin(t, s, 10*time.Second)
}

// waitForWithin is waitFor for at most d.
func (l *logBuffer) waitForWithin(t *testing.T, s string, d time.Duration) {
	t.Helper()
	deadline := time.After(d)
	for {
		l.mu.Lock()
		found, changed := strings.Contains(l.buf.String(), s), l.changed
		l.mu.Unlock()
		if found {
			return
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("logs never contained %q; got:\n%s", s, l.String())
		}
	}
}

// env is a world for the bot: a fake Bot API, a fresh schema and a Redis prefix, or
// (embedded) nothing but a data dir, where the bot makes its SQLite files and secret.
type env struct {
	dataDir  string
	api      *bottest.Server
	db       *store.DB
	dbURL    string
	prefix   string
	logs     *logBuffer
	embedded bool
}

// eachEnv runs body as two subtests, on a fresh env of each backend: "postgres"
// (Postgres and Redis) and "sqlite" (the embedded store and state: no DATABASE_URL, no
// REDIS_URL, no ZHUCUN_SECRET).
func eachEnv(t *testing.T, body func(t *testing.T, e *env)) {
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		body(t, newEnv(t))
	})
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		body(t, newEmbeddedEnv(t))
	})
}

// newEmbeddedEnv is an env without DATABASE_URL, REDIS_URL and ZHUCUN_SECRET: the bot
// keeps everything in its data dir. e.db is the same SQLite file, for the test to look.
func newEmbeddedEnv(t *testing.T) *env {
	t.Helper()
	e := &env{dataDir: t.TempDir(), api: bottest.NewServer(t, testToken), logs: newLogBuffer(), embedded: true}
	db, err := store.OpenSQLite(t.Context(), filepath.Join(e.dataDir, "zhucun.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	if _, err := db.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	e.db = db
	t.Cleanup(func() {
		if strings.Contains(e.logs.String(), testToken) || strings.Contains(e.logs.String(), strings.Split(testToken, ":")[1]) {
			t.Errorf("the bot token appears in the logs:\n%s", e.logs.String())
		}
	})
	return e
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{dataDir: t.TempDir(), api: bottest.NewServer(t, testToken), logs: newLogBuffer()}
	e.db, e.dbURL = storetest.DBURL(t)
	_, e.prefix = storetest.Redis(t)
	t.Cleanup(func() {
		if strings.Contains(e.logs.String(), testToken) || strings.Contains(e.logs.String(), strings.Split(testToken, ":")[1]) {
			t.Errorf("the bot token appears in the logs:\n%s", e.logs.String())
		}
	})
	return e
}

func (e *env) getenv(extra map[string]string) func(string) string {
	vals := map[string]string{
		"TELEGRAM_BOT_TOKEN": testToken,
		"TELEGRAM_API_URL":   e.api.URL(),
		"DATABASE_URL":       e.dbURL,
		"REDIS_URL":          storetest.RedisURL(),
		"ZHUCUN_SECRET":      testSecret,
		"ZHUCUN_ADMIN_IDS":   strconv.Itoa(adminID),
		"ZHUCUN_HTTP_ADDR":   "127.0.0.1:0",
		"ZHUCUN_DATA_DIR":    e.dataDir,
		// Reminders run on the wall clock and would reach these tests' people at some
		// hours; reminders_test.go turns them on with a clock of its own.
		"ZHUCUN_REMINDERS": "off",
	}
	if e.embedded {
		delete(vals, "DATABASE_URL")
		delete(vals, "REDIS_URL")
		delete(vals, "ZHUCUN_SECRET")
	}
	for k, v := range extra {
		vals[k] = v
	}
	return func(k string) string { return vals[k] }
}

// running is one bot process, built by newApp exactly as serve builds it.
type running struct {
	app  *app
	stop func()
}

// start runs a bot on e until the test ends or stop is called.
func (e *env) start(t *testing.T, extra map[string]string) *running {
	t.Helper()
	cfg, err := loadConfig(e2eFlags(), nil, e.getenv(extra), true)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	cfg.RedisPrefix = e.prefix
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

func (r *running) url(path string) string { return "http://" + r.app.listener.Addr().String() + path }

// deliver posts an update to the bot's webhook with the given secret header.
func (r *running) deliver(t *testing.T, u models.Update, secret string) int {
	t.Helper()
	body, _ := json.Marshal(u)
	return r.post(t, body, secret)
}

func (r *running) post(t *testing.T, body []byte, secret string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, r.url(hookPath), bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if secret != "" {
		req.Header.Set("X-Telegram-Bot-Api-Secret-Token", secret)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("post webhook: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

var webhookEnv = map[string]string{
	"ZHUCUN_WEBHOOK_URL":    "https://bot.example.org" + hookPath,
	"ZHUCUN_WEBHOOK_SECRET": hookSecret,
}

// importDemo loads the demo county through the import command.
func (e *env) importDemo(t *testing.T) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"import", "regions", demoRegions}, e.getenv(nil), &out, &errOut)
	if err != nil {
		t.Fatalf("import: %v\n%s", err, errOut.String())
	}
	if got, want := strings.TrimSpace(out.String()), "regions: 9 added, 0 updated"; got != want {
		t.Fatalf("import said %q, want %q", got, want)
	}
}

// last returns the newest message of a chat once there are at least n.
func last(t *testing.T, api *bottest.Server, chatID int64, n int) bottest.Message {
	t.Helper()
	msgs := api.WaitMessages(t, chatID, n)
	return msgs[n-1]
}

var linkToken = regexp.MustCompile(`\?start=([A-Za-z0-9_-]+)`)

// inviteFirstSecretary walks the admin through /invite for the first secretary of
// 东坪村 and returns the token of the link, and how many messages the admin's chat holds.
func inviteFirstSecretary(t *testing.T, api *bottest.Server, admin *bottest.User, seen int) (string, int) {
	t.Helper()
	admin.Command("invite")
	seen++
	last(t, api, admin.ID, seen)
	for _, label := range []string{"第一书记", "示范县", "青山镇", "东坪村", "7 天"} {
		press(t, api, admin, seen, label)
	}
	// The created message replaces the picker, and the QR code follows.
	seen++
	qr := last(t, api, admin.ID, seen)
	if qr.Photo == nil || len(qr.Photo.Bytes) == 0 || !strings.Contains(qr.Text, "东坪村") {
		t.Fatalf("want a QR code photo for 东坪村, got %+v", qr)
	}
	created := api.Messages(admin.ID)[seen-2]
	match := linkToken.FindStringSubmatch(created.Text)
	if match == nil {
		t.Fatalf("no deep link in %q", created.Text)
	}
	if want := "https://t.me/" + api.BotUsername() + "?start="; !strings.Contains(created.Text, want) {
		t.Fatalf("link in %q does not start with %s", created.Text, want)
	}
	return match[1], seen
}

// press presses the button labelled label on message n of u's chat and returns that
// message once the bot has edited it.
func press(t *testing.T, api *bottest.Server, u *bottest.User, n int, label string) bottest.Message {
	t.Helper()
	edits := len(api.CallsTo("editMessageText"))
	m := api.Messages(u.ID)[n-1]
	u.Press(m, m.Button(t, label))
	api.WaitCalls(t, "editMessageText", edits+1)
	return api.Messages(u.ID)[n-1]
}

func e2eFlags() *flag.FlagSet { return flag.NewFlagSet("e2e", flag.ContinueOnError) }

func TestOnboardingThroughInvite(t *testing.T) {
	t.Parallel()
	eachEnv(t, onboardingThroughInvite)
}

func onboardingThroughInvite(t *testing.T, e *env) {
	e.importDemo(t)
	e.start(t, nil)
	ctx := context.Background()

	admin := e.api.NewUser(adminID, "王管理", "zh-hans")
	token, seen := inviteFirstSecretary(t, e.api, admin, 0)

	village, err := e.db.RegionByCode(ctx, "DEMO-QS-01")
	if err != nil {
		t.Fatal(err)
	}

	// The invitee joins through the deep link and holds the role.
	li := e.api.NewUser(2001, "李四", "zh-hans")
	li.Command("start", token)
	if got := last(t, e.api, li.ID, 1).Text; !strings.Contains(got, "欢迎") || !strings.Contains(got, "第一书记") || !strings.Contains(got, "示范县 / 青山镇 / 东坪村") {
		t.Fatalf("invitee got %q, want a welcome as 第一书记 of 示范县 / 青山镇 / 东坪村", got)
	}
	roles, err := e.db.RolesOf(ctx, li.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(roles) != 1 || roles[0].Role != store.RoleFirstSecretary || roles[0].Region.ID != village.ID {
		t.Fatalf("invitee holds %+v, want first_secretary at %d", roles, village.ID)
	}
	seen++
	if got := last(t, e.api, admin.ID, seen).Text; !strings.Contains(got, "李四") {
		t.Fatalf("admin was told %q, want a notice that 李四 joined", got)
	}
	li.Command("me")
	if got := last(t, e.api, li.ID, 2).Text; !strings.Contains(got, "第一书记 — 示范县 / 青山镇 / 东坪村") {
		t.Fatalf("/me says %q", got)
	}

	// The same single-use link fails for a second person and grants nothing.
	zhang := e.api.NewUser(2002, "张三", "zh-hans")
	zhang.Command("start", token)
	if got, want := last(t, e.api, zhang.ID, 1).Text, "这个邀请已经被使用过了"; !strings.Contains(got, want) {
		t.Fatalf("second person got %q, want %q", got, want)
	}
	// The invitee following the link again is told they joined already.
	li.Command("start", token)
	if got, want := last(t, e.api, li.ID, 3).Text, "您已经用这个邀请加入过了"; !strings.Contains(got, want) {
		t.Fatalf("invitee again got %q, want %q", got, want)
	}

	// An expired token and a forged one fail with their own messages.
	expired := "AAAAAAAAAAAAAAAAAAAAAA"
	sum := sha256.Sum256([]byte(expired))
	if _, err := e.db.CreateInvite(ctx, sum[:], store.Invite{Role: store.RoleMember, RegionID: village.ID,
		CreatedBy: adminID, MaxUses: 1, ExpiresAt: time.Now().Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	zhang.Command("start", expired)
	if got, want := last(t, e.api, zhang.ID, 2).Text, "这个邀请已过期"; !strings.Contains(got, want) {
		t.Fatalf("expired token got %q, want %q", got, want)
	}
	for i, forged := range []string{"BBBBBBBBBBBBBBBBBBBBBB", token[:21] + "x", "not-a-token", strings.Repeat("z", 60)} {
		zhang.Command("start", forged)
		if got, want := last(t, e.api, zhang.ID, 3+i).Text, "邀请链接无效"; !strings.Contains(got, want) {
			t.Fatalf("forged token %q got %q, want %q", forged, got, want)
		}
	}
	roles, err = e.db.RolesOf(ctx, zhang.ID)
	if err != nil || len(roles) != 0 {
		t.Fatalf("second person holds %+v (%v), want nothing", roles, err)
	}
}

func TestSingleUseInviteUnderConcurrentRedemption(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.importDemo(t)
	e.start(t, nil)
	admin := e.api.NewUser(adminID, "王管理", "zh-hans")
	token, _ := inviteFirstSecretary(t, e.api, admin, 0)

	const n = 20
	users := make([]*bottest.User, n)
	for i := range users {
		users[i] = e.api.NewUser(int64(3000+i), fmt.Sprintf("用户%d", i), "zh-hans")
	}
	var wg sync.WaitGroup
	for _, u := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u.Command("start", token)
		}()
	}
	wg.Wait()
	joined, refused := 0, 0
	for _, u := range users {
		switch got := last(t, e.api, u.ID, 1).Text; {
		case strings.Contains(got, "欢迎"):
			joined++
		case strings.Contains(got, "已经被使用过"):
			refused++
		default:
			t.Errorf("user %d got %q", u.ID, got)
		}
	}
	if joined != 1 || refused != n-1 {
		t.Fatalf("got %d joined and %d refused, want 1 and %d", joined, refused, n-1)
	}
	var holders int
	for _, u := range users {
		roles, err := e.db.RolesOf(context.Background(), u.ID)
		if err != nil {
			t.Fatal(err)
		}
		holders += len(roles)
	}
	if holders != 1 {
		t.Fatalf("%d role assignments, want 1", holders)
	}
}

func TestReplayedUpdateChangesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// Two replicas on the same records and state, both in webhook mode.
	r1 := e.start(t, webhookEnv)
	r2 := e.start(t, webhookEnv)
	u := e.api.NewUser(4001, "赵六", "zh-hans")

	for _, upd := range []models.Update{u.Command("feedback"), u.Text("村口路灯坏了三个月了")} {
		if code := r1.deliver(t, upd, hookSecret); code != http.StatusOK {
			t.Fatalf("webhook answered %d, want 200", code)
		}
	}
	prompt := last(t, e.api, u.ID, 2)
	press := u.Press(prompt, prompt.Button(t, "匿名提交"))
	sendsBefore := len(e.api.Calls())

	// Three deliveries at once across both replicas, then three more one after another.
	var wg sync.WaitGroup
	codes := make([]int, 3)
	for i, r := range []*running{r1, r2, r1} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i] = r.deliver(t, press, hookSecret)
		}()
	}
	wg.Wait()
	for i := 0; i < 3; i++ {
		codes = append(codes, r2.deliver(t, press, hookSecret))
	}
	for i, c := range codes {
		if c != http.StatusOK {
			t.Fatalf("delivery %d answered %d, want 200", i, c)
		}
	}
	fb, err := e.db.AllFeedback(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(fb) != 1 || fb[0].UserID != nil || fb[0].Body != "村口路灯坏了三个月了" {
		t.Fatalf("feedback records %+v, want one anonymous record", fb)
	}
	// One reply to the user (the prompt edited into thanks) and one to the admin; the
	// callback query may be answered on every delivery.
	var replies []string
	for _, c := range e.api.Calls()[sendsBefore:] {
		if c.Method == "sendMessage" || c.Method == "editMessageText" {
			replies = append(replies, c.Method+" "+c.Params["chat_id"])
		}
	}
	want := []string{"editMessageText 4001", "sendMessage " + strconv.Itoa(adminID)}
	if strings.Join(replies, ",") != strings.Join(want, ",") {
		t.Fatalf("replies %v, want %v", replies, want)
	}
	if got := e.api.Messages(u.ID)[1].Text; !strings.Contains(got, "已收到") {
		t.Fatalf("user sees %q, want the thanks", got)
	}
	if got := last(t, e.api, adminID, 1).Text; !strings.Contains(got, "匿名") || strings.Contains(got, "赵六") || strings.Contains(got, "4001") {
		t.Fatalf("admin got %q, want an anonymous message", got)
	}
}

// TestFlowContinuesAfterRestart: on the embedded state the conversation is read back
// from its SQLite file by the new bot.
func TestFlowContinuesAfterRestart(t *testing.T) {
	t.Parallel()
	eachEnv(t, flowContinuesAfterRestart)
}

func flowContinuesAfterRestart(t *testing.T, e *env) {
	first := e.start(t, nil)
	u := e.api.NewUser(5001, "孙七", "en")
	u.Command("feedback")
	if got := last(t, e.api, u.ID, 1).Text; !strings.Contains(got, "complaint or suggestion") {
		t.Fatalf("got %q, want the feedback prompt", got)
	}
	first.stop() // the bot instance is discarded

	e.start(t, nil) // a new one on the same Redis and Postgres
	u.Text("The well pump is broken")
	m := last(t, e.api, u.ID, 2)
	if !strings.Contains(m.Text, "anonymously") {
		t.Fatalf("after the restart got %q, want the anonymity question (the next step)", m.Text)
	}
	press(t, e.api, u, 2, "With my name")
	fb, err := e.db.AllFeedback(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(fb) != 1 || fb[0].UserID == nil || *fb[0].UserID != u.ID || fb[0].Body != "The well pump is broken" {
		t.Fatalf("feedback %+v, want one named record from %d", fb, u.ID)
	}
}

func TestWebhookRefusesWrongSecret(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.start(t, webhookEnv)
	u := e.api.NewUser(6001, "周八", "zh-hans")
	upd := u.Command("help")
	for _, tc := range []struct {
		name, secret string
	}{
		{"missing", ""},
		{"wrong", "something-else"},
		{"prefix only", hookSecret[:len(hookSecret)-1]},
		{"longer", hookSecret + "x"},
	} {
		if code := r.deliver(t, upd, tc.secret); code != http.StatusUnauthorized {
			t.Errorf("%s secret: got %d, want 401", tc.name, code)
		}
	}
	if ok, err := e.db.Processed(context.Background(), upd.ID); err != nil || ok {
		t.Fatalf("refused update processed=%v (%v), want not processed", ok, err)
	}
	if n := len(e.api.Messages(u.ID)); n != 0 {
		t.Fatalf("%d messages sent after refused deliveries, want 0", n)
	}
	if code := r.post(t, bytes.Repeat([]byte(" "), 1<<20+1), hookSecret); code != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized body: got %d, want 413", code)
	}
	if code := r.post(t, []byte(`{"nope":`), hookSecret); code != http.StatusBadRequest {
		t.Errorf("malformed body: got %d, want 400", code)
	}
	if code := r.deliver(t, upd, hookSecret); code != http.StatusOK {
		t.Fatalf("right secret: got %d, want 200", code)
	}
	if got := last(t, e.api, u.ID, 1).Text; !strings.Contains(got, "/help") {
		t.Fatalf("got %q, want the help", got)
	}
}

func TestHealthReadinessAndMetrics(t *testing.T) {
	t.Parallel()
	eachEnv(t, healthReadinessAndMetrics)
}

func healthReadinessAndMetrics(t *testing.T, e *env) {
	r := e.start(t, nil)
	u := e.api.NewUser(7001, "吴九", "en")
	u.Command("help")
	last(t, e.api, u.ID, 1)
	for _, tc := range []struct{ path, want string }{
		{"/healthz", "ok"},
		{"/readyz", "ok"},
		{"/metrics", `zhucun_updates_total{kind="command",outcome="ok"} 1`},
		{"/metrics", `zhucun_sends_total{method="sendMessage",outcome="ok"} 1`},
		{"/metrics", "zhucun_update_duration_seconds_bucket"},
		{"/metrics", "zhucun_dead_letters_total 0"},
	} {
		// The counters move once the update is done, just after its reply went out:
		// ask again until they show it, for a while.
		deadline := time.Now().Add(10 * time.Second)
		tick := time.NewTicker(50 * time.Millisecond)
		for {
			resp, err := http.Get(r.url(tc.path))
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && strings.Contains(string(body), tc.want) {
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("GET %s: %d, body lacks %q:\n%.2000s", tc.path, resp.StatusCode, tc.want, body)
				break
			}
			<-tick.C
		}
		tick.Stop()
	}
}

func TestReplayedUpdateWhilePolling(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.start(t, nil)
	u := e.api.NewUser(4101, "钱一", "zh-hans")
	u.Command("feedback")
	u.Text("希望多开几次村民会")
	prompt := last(t, e.api, u.ID, 2)
	press := u.Press(prompt, prompt.Button(t, "署名提交"))
	e.api.WaitCalls(t, "editMessageText", 1)
	for i := 0; i < 3; i++ {
		e.api.Enqueue(press)
	}
	// A later update of the same chat is handled after the replays: once it is
	// answered, the replays were taken and found processed.
	u.Command("help")
	last(t, e.api, u.ID, 3)
	fb, err := e.db.AllFeedback(context.Background())
	if err != nil || len(fb) != 1 {
		t.Fatalf("feedback %+v (%v), want exactly one record", fb, err)
	}
	if n := len(e.api.CallsTo("editMessageText")); n != 1 {
		t.Fatalf("%d edits, want 1 (the replays answer nothing)", n)
	}
	if n := len(e.api.Messages(adminID)); n != 1 {
		t.Fatalf("admin got %d messages, want 1", n)
	}
}

// TestTokenNeverLogged makes every Bot API call after getMe fail at the network level,
// the errors that carry the request URL (and so the token), and checks the logs.
func TestTokenNeverLogged(t *testing.T) {
	t.Parallel()
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/getMe") {
			fmt.Fprint(w, `{"ok":true,"result":{"id":424242,"is_bot":true,"first_name":"zhucun","username":"zhucun_test_bot"}}`)
			return
		}
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	}))
	t.Cleanup(api.Close)
	e := newEnv(t)
	e.start(t, map[string]string{"TELEGRAM_API_URL": api.URL})
	e.logs.waitFor(t, "getUpdates failed")
	logs := e.logs.String()
	if !strings.Contains(logs, "/bot<token>/getUpdates") {
		t.Fatalf("the failure is logged without its redacted URL:\n%s", logs)
	}
	// newEnv's cleanup fails the test if the token is anywhere in the logs.
}
