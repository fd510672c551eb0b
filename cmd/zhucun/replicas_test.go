package main

// Tests that run the real binary as child processes: two replicas in webhook mode on
// one schema and one Redis prefix, and a SIGTERM under load in polling mode.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/go-telegram/bot/models"

	"zhucun/bot/bottest"
	"zhucun/store"
	"zhucun/store/storetest"
)

// testBinary is the zhucun binary, built once with deploy/Dockerfile's build line for
// the tests that run it as a child process. TestMain removes it.
var testBinary struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// TestMain exists only to remove the binary the tests built.
func TestMain(m *testing.M) {
	code := m.Run()
	if testBinary.dir != "" {
		os.RemoveAll(testBinary.dir)
	}
	os.Exit(code)
}

// zhucunBinary builds the binary on first use and returns its path.
func zhucunBinary(t *testing.T) string {
	t.Helper()
	testBinary.once.Do(func() {
		line, err := readDockerfileBuildLine()
		if err != nil {
			testBinary.err = err
			return
		}
		if testBinary.dir, testBinary.err = os.MkdirTemp("", "zhucun-test-"); testBinary.err != nil {
			return
		}
		testBinary.path = filepath.Join(testBinary.dir, "zhucun")
		ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
		defer cancel()
		cmd, err := line.command(ctx, testBinary.path)
		if err != nil {
			testBinary.err = err
			return
		}
		if out, err := cmd.CombinedOutput(); err != nil {
			testBinary.err = fmt.Errorf("%s: %w\n%s", cmd, err, out)
		}
	})
	if testBinary.err != nil {
		t.Fatalf("build zhucun: %v", testBinary.err)
	}
	return testBinary.path
}

// childLog collects a child's output and wakes waiters on every write.
type childLog struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{}
}

func (l *childLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	close(l.changed)
	l.changed = make(chan struct{})
	return l.buf.Write(p)
}

func (l *childLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// child is one `zhucun serve` process.
type child struct {
	cmd  *exec.Cmd
	log  *childLog
	done chan struct{} // closed once the process has exited
	err  error         // what cmd.Wait returned, once done is closed
	addr string        // host:port of its HTTP server
}

// world is what a set of replicas share: the fake Bot API, a schema, a Redis prefix.
type world struct {
	api    *bottest.Server
	db     *store.DB
	dbURL  string
	prefix string
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{api: bottest.NewServer(t, testToken)}
	w.db, w.dbURL = storetest.DBURL(t)
	_, w.prefix = storetest.Redis(t)
	return w
}

// env is the whole environment of a child: nothing is inherited but PATH.
func (w *world) env(t *testing.T, webhook bool) []string {
	t.Helper()
	home := t.TempDir()
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"TELEGRAM_BOT_TOKEN=" + testToken,
		"TELEGRAM_API_URL=" + w.api.URL(),
		"DATABASE_URL=" + w.dbURL,
		"REDIS_URL=" + storetest.RedisURL(),
		"ZHUCUN_REDIS_PREFIX=" + w.prefix,
		"ZHUCUN_SECRET=" + testSecret,
		"ZHUCUN_ADMIN_IDS=" + strconv.Itoa(adminID),
		"ZHUCUN_HTTP_ADDR=127.0.0.1:0", // the child logs the port it got
		"ZHUCUN_DATA_DIR=" + filepath.Join(home, "data"),
		"ZHUCUN_REMINDERS=off", // they run on the wall clock; reminders_test.go tests them
	}
	if webhook {
		env = append(env, "ZHUCUN_WEBHOOK_URL=https://bot.example.org"+replicaHookPath, "ZHUCUN_WEBHOOK_SECRET="+hookSecret)
	}
	return env
}

const replicaHookPath = "/hook"

// startChild runs `zhucun serve` with env and returns once it answers /readyz. When the test
// ends the process gets SIGTERM and must exit 0; its logs must not hold the token.
func startChild(t *testing.T, env []string) *child {
	t.Helper()
	c := &child{cmd: exec.Command(zhucunBinary(t), "serve"), log: &childLog{changed: make(chan struct{})}, done: make(chan struct{})}
	c.cmd.Env = env
	c.cmd.Dir = t.TempDir()
	c.cmd.Stdout, c.cmd.Stderr = c.log, c.log
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("start zhucun serve: %v", err)
	}
	go func() {
		c.err = c.cmd.Wait()
		close(c.done)
	}()
	t.Cleanup(func() {
		if code, _ := c.terminate(40 * time.Second); code != 0 {
			t.Errorf("zhucun serve exited with %d after SIGTERM, want 0; logs:\n%s", code, c.log.String())
		}
		if logs := c.log.String(); strings.Contains(logs, testToken) || strings.Contains(logs, strings.Split(testToken, ":")[1]) {
			t.Errorf("the bot token appears in the logs:\n%s", logs)
		}
	})
	ready := c.waitLog(t, 30*time.Second, func(line map[string]any) bool { return line["msg"] == "bot ready" })
	c.addr, _ = ready["http"].(string)
	if c.addr == "" {
		t.Fatalf("the bot ready line names no http address: %v", ready)
	}
	c.waitReady(t, 30*time.Second)
	return c
}

// waitLog waits for a JSON log line that match accepts and returns it; it fails the
// test when the process exits first or after timeout.
func (c *child) waitLog(t *testing.T, timeout time.Duration, match func(map[string]any) bool) map[string]any {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		c.log.mu.Lock()
		text, changed := c.log.buf.String(), c.log.changed
		c.log.mu.Unlock()
		for _, raw := range strings.Split(text, "\n") {
			var line map[string]any
			if json.Unmarshal([]byte(raw), &line) == nil && match(line) {
				return line
			}
		}
		select {
		case <-changed:
		case <-c.done:
			t.Fatalf("zhucun serve exited (%v) before the awaited log line; logs:\n%s", c.err, c.log.String())
		case <-deadline.C:
			t.Fatalf("no awaited log line after %v; logs:\n%s", timeout, c.log.String())
		}
	}
}

// waitReady polls /readyz until it answers 200, on a ticker, for at most timeout.
func (c *child) waitReady(t *testing.T, timeout time.Duration) {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var last string
	for {
		resp, err := http.Get("http://" + c.addr + "/readyz")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
			last = fmt.Sprintf("%d %s", resp.StatusCode, body)
		} else {
			last = err.Error()
		}
		select {
		case <-tick.C:
		case <-c.done:
			t.Fatalf("zhucun serve exited (%v) before it was ready; logs:\n%s", c.err, c.log.String())
		case <-deadline.C:
			t.Fatalf("/readyz not ready after %v: %s", timeout, last)
		}
	}
}

// terminate sends SIGTERM and waits up to timeout for the exit; after that it kills the
// process. It returns the exit code (-1 when killed) and how long the exit took.
func (c *child) terminate(timeout time.Duration) (int, time.Duration) {
	start := time.Now()
	select {
	case <-c.done:
		return c.cmd.ProcessState.ExitCode(), 0
	default:
	}
	c.cmd.Process.Signal(syscall.SIGTERM)
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	select {
	case <-c.done:
		return c.cmd.ProcessState.ExitCode(), time.Since(start)
	case <-deadline.C:
		c.cmd.Process.Kill()
		<-c.done
		return -1, time.Since(start)
	}
}

// deliver posts an update to the child's webhook as Telegram would, and returns the
// status. It runs on load goroutines, so it returns errors rather than failing.
func (c *child) deliver(u models.Update) (int, error) {
	body, err := json.Marshal(u)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequest(http.MethodPost, "http://"+c.addr+replicaHookPath, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Telegram-Bot-Api-Secret-Token", hookSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// updatesHandled sums zhucun_updates_total{outcome="ok"} on the child's /metrics.
func (c *child) updatesHandled(t *testing.T) float64 {
	t.Helper()
	resp, err := http.Get("http://" + c.addr + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	var sum float64
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "zhucun_updates_total{") || !strings.Contains(line, `outcome="ok"`) {
			continue
		}
		v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		sum += v
	}
	return sum
}

// goroutineT lets helpers that fail with Fatalf (bottest's WaitMessages and
// Message.Button) run on a load goroutine: a failure is recorded with Errorf and ends
// only that goroutine, whose deferred calls still run.
type goroutineT struct{ testing.TB }

func (g goroutineT) Fatalf(format string, args ...any) {
	g.TB.Helper()
	g.TB.Errorf(format, args...)
	runtime.Goexit()
}

func (g goroutineT) Fatal(args ...any) {
	g.TB.Helper()
	g.TB.Error(args...)
	runtime.Goexit()
}

func (g goroutineT) FailNow() {
	g.TB.Fail()
	runtime.Goexit()
}

// loadChat is one chat of the load and what its script sent.
type loadChat struct {
	user    *bottest.User
	body    string
	named   bool
	updates []models.Update
}

func newLoadChats(api *bottest.Server, n int) []*loadChat {
	chats := make([]*loadChat, n)
	for i := range chats {
		chats[i] = &loadChat{
			user:  api.NewUser(int64(8000+i), fmt.Sprintf("队员%d", i), "zh-hans"),
			body:  fmt.Sprintf("第%d组：村口的路灯坏了", i),
			named: i%2 == 1,
		}
	}
	return chats
}

func (lc *loadChat) label() string {
	if lc.named {
		return "署名提交"
	}
	return "匿名提交"
}

// Texts of the bot's messages, as zh-Hans has them.
const (
	wantPrompt = "请写下您的意见"
	wantThanks = "已收到"
	wantHelp   = "可用命令"
)

// runWebhookScript plays one chat's script — /feedback, its text, the anonymity button,
// /help, /me — one update after another, each delivered by front and answered before
// the next. It runs on a load goroutine.
func runWebhookScript(t testing.TB, api *bottest.Server, lc *loadChat, front func(models.Update) (int, error)) {
	t.Helper()
	u := lc.user
	send := func(upd models.Update) {
		t.Helper()
		lc.updates = append(lc.updates, upd)
		code, err := front(upd)
		if err != nil || code != http.StatusOK {
			t.Fatalf("chat %d: update %d answered %d (%v), want 200", u.ID, upd.ID, code, err)
		}
	}
	send(u.Command("feedback"))
	api.WaitMessages(t, u.ID, 1)
	send(u.Text(lc.body))
	prompt := api.WaitMessages(t, u.ID, 2)[1]
	send(u.Press(prompt, prompt.Button(t, lc.label())))
	if got := api.Messages(u.ID)[1]; !got.Edited || !strings.Contains(got.Text, wantThanks) {
		t.Fatalf("chat %d: after the button the prompt reads %q (edited %v), want the thanks", u.ID, got.Text, got.Edited)
	}
	send(u.Command("help"))
	api.WaitMessages(t, u.ID, 3)
	send(u.Command("me"))
	api.WaitMessages(t, u.ID, 4)
}

// runLoad runs every chat's script on its own goroutine and waits for all.
func runLoad(t *testing.T, api *bottest.Server, chats []*loadChat, front func(models.Update) (int, error)) {
	t.Helper()
	var wg sync.WaitGroup
	for _, lc := range chats {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runWebhookScript(goroutineT{t}, api, lc, front)
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
}

// repliesTo counts the bot's successful calls of method in chatID.
func repliesTo(api *bottest.Server, method string, chatID int64) int {
	n := 0
	for _, c := range api.CallsTo(method) {
		if c.Status == http.StatusOK && c.Params["chat_id"] == strconv.FormatInt(chatID, 10) {
			n++
		}
	}
	return n
}

// feedbackRecords lists the feedback of db as sorted "anonymous|body" or "user ID|body".
func feedbackRecords(t *testing.T, db *store.DB) []string {
	t.Helper()
	fb, err := db.AllFeedback(context.Background())
	if err != nil {
		t.Fatalf("AllFeedback: %v", err)
	}
	var out []string
	for _, f := range fb {
		who := "anonymous"
		if f.UserID != nil {
			who = strconv.FormatInt(*f.UserID, 10)
		}
		out = append(out, who+"|"+f.Body)
	}
	slices.Sort(out)
	return out
}

// wantRecords is what feedbackRecords must find after chats' scripts.
func wantRecords(chats []*loadChat) []string {
	var out []string
	for _, lc := range chats {
		who := "anonymous"
		if lc.named {
			who = strconv.FormatInt(lc.user.ID, 10)
		}
		out = append(out, who+"|"+lc.body)
	}
	slices.Sort(out)
	return out
}

// checkProcessed fails the test for every update of chats that is not processed.
func checkProcessed(t *testing.T, db *store.DB, chats []*loadChat) {
	t.Helper()
	for _, lc := range chats {
		for _, u := range lc.updates {
			ok, err := db.Processed(context.Background(), u.ID)
			if err != nil || !ok {
				t.Errorf("chat %d: update %d processed=%v (%v), want processed", lc.user.ID, u.ID, ok, err)
			}
		}
	}
}

// TestTwoReplicasWebhook runs two serve processes in webhook mode on one schema and one
// Redis prefix, behind a round-robin front, and compares what they did with what one
// process does with the same script.
func TestTwoReplicasWebhook(t *testing.T) {
	t.Parallel()
	const nChats = 20

	w := newWorld(t)
	replicas := []*child{startChild(t, w.env(t, true)), startChild(t, w.env(t, true))}
	var next atomic.Uint64
	roundRobin := func(u models.Update) (int, error) {
		return replicas[(next.Add(1)-1)%uint64(len(replicas))].deliver(u)
	}
	chats := newLoadChats(w.api, nChats)
	runLoad(t, w.api, chats, roundRobin)

	for _, lc := range chats {
		id := lc.user.ID
		msgs := w.api.Messages(id)
		if len(msgs) != 4 {
			t.Errorf("chat %d holds %d bot messages, want 4", id, len(msgs))
			continue
		}
		for i, want := range []string{wantPrompt, wantThanks, wantHelp, fmt.Sprintf("ID %d", id)} {
			if !strings.Contains(msgs[i].Text, want) {
				t.Errorf("chat %d: message %d reads %q, want %q in it (steps out of order?)", id, i+1, msgs[i].Text, want)
			}
		}
		if got := repliesTo(w.api, "sendMessage", id); got != 4 {
			t.Errorf("chat %d: %d sendMessage calls, want 4 (one per message)", id, got)
		}
		if got := repliesTo(w.api, "editMessageText", id); got != 1 {
			t.Errorf("chat %d: %d editMessageText calls, want 1", id, got)
		}
	}
	if got := repliesTo(w.api, "sendMessage", adminID); got != nChats {
		t.Errorf("the admin got %d feedback notices, want %d", got, nChats)
	}
	checkProcessed(t, w.db, chats)
	handled := make([]float64, len(replicas))
	for i, r := range replicas {
		handled[i] = r.updatesHandled(t)
		if handled[i] == 0 {
			t.Errorf("replica %d handled no update", i)
		}
	}
	if total := handled[0] + handled[1]; total != 5*nChats {
		t.Errorf("the replicas handled %v updates together (%v), want %d: each delivered update once", total, handled, 5*nChats)
	}
	got := feedbackRecords(t, w.db)

	// The same script against one process on a fresh schema and prefix.
	single := newWorld(t)
	one := startChild(t, single.env(t, true))
	runLoad(t, single.api, newLoadChats(single.api, nChats), one.deliver)
	want := feedbackRecords(t, single.db)
	if !slices.Equal(want, wantRecords(chats)) {
		t.Fatalf("one process recorded %q, want %q", want, wantRecords(chats))
	}
	if !slices.Equal(got, want) {
		t.Errorf("two replicas recorded\n%q\none process\n%q", got, want)
	}
}

// TestSIGTERMUnderLoadPolling stops a polling process with SIGTERM while a batch of
// updates is in hand: it must exit 0 in time, every update answered before it stopped
// must be recorded, and the rest must be handled by a new process on the same schema
// and prefix, each exactly once.
func TestSIGTERMUnderLoadPolling(t *testing.T) {
	t.Parallel()
	const nChats = 40
	ctx := context.Background()
	w := newWorld(t)
	env := w.env(t, false)
	first := startChild(t, env)
	chats := newLoadChats(w.api, nChats)

	// Wave 1: every chat starts /feedback and writes its text; all are answered.
	for _, lc := range chats {
		lc.updates = append(lc.updates, lc.user.Command("feedback"), lc.user.Text(lc.body))
	}
	prompts := make([]bottest.Message, nChats)
	for i, lc := range chats {
		prompts[i] = w.api.WaitMessages(t, lc.user.ID, 2)[1]
	}

	// Wave 2, queued at once, chat after chat: the anonymity button, /help, /me, /help.
	// 160 updates are more than one getUpdates batch (100), so some are still queued
	// when the SIGTERM comes, button presses among them.
	for i, lc := range chats {
		lc.updates = append(lc.updates, lc.user.Press(prompts[i], prompts[i].Button(t, lc.label())),
			lc.user.Command("help"), lc.user.Command("me"), lc.user.Command("help"))
	}
	w.api.WaitCalls(t, "editMessageText", 5) // the batch is being handled
	code, took := first.terminate(40 * time.Second)
	if code != 0 {
		t.Fatalf("after SIGTERM the process exited with %d after %v, want 0; logs:\n%s", code, took, first.log.String())
	}
	t.Logf("SIGTERM under load: exited 0 after %v", took.Round(time.Millisecond))

	// What was answered before the exit is recorded.
	answered, total := 0, 0
	for _, lc := range chats {
		msgs := w.api.Messages(lc.user.ID)
		acked := 2 // wave 1
		if msgs[1].Edited {
			acked++
			if !strings.Contains(msgs[1].Text, wantThanks) {
				t.Errorf("chat %d: the prompt was edited into %q, want the thanks", lc.user.ID, msgs[1].Text)
			}
			acked += len(msgs) - 2
		} else if len(msgs) > 2 {
			t.Errorf("chat %d: %d messages but the button press unanswered: out of order", lc.user.ID, len(msgs))
		}
		for _, u := range lc.updates[:acked] {
			if ok, err := w.db.Processed(ctx, u.ID); err != nil || !ok {
				t.Errorf("chat %d: update %d was answered but processed=%v (%v)", lc.user.ID, u.ID, ok, err)
			}
		}
		answered += acked
		total += len(lc.updates)
	}
	answeredFeedback := len(feedbackRecords(t, w.db))
	t.Logf("at exit: %d of %d updates answered, %d of %d feedback records", answered, total, answeredFeedback, nChats)
	if answered == total {
		t.Errorf("every update was answered before the exit: the load did not outlast the SIGTERM")
	}

	// A new process on the same schema and prefix takes up what is left.
	startChild(t, env)
	for _, lc := range chats {
		w.api.WaitMessages(t, lc.user.ID, 5)
	}
	w.api.WaitCalls(t, "editMessageText", nChats)
	checkProcessed(t, w.db, chats)
	if got, want := feedbackRecords(t, w.db), wantRecords(chats); !slices.Equal(got, want) {
		t.Errorf("feedback records\n%q\nwant\n%q", got, want)
	}
	for _, lc := range chats {
		id := lc.user.ID
		msgs := w.api.Messages(id)
		for i, want := range []string{wantPrompt, wantThanks, wantHelp, fmt.Sprintf("ID %d", id), wantHelp} {
			if i >= len(msgs) || !strings.Contains(msgs[i].Text, want) {
				t.Errorf("chat %d: message %d is not the expected %q: %+v", id, i+1, want, msgs)
				break
			}
		}
		if got := repliesTo(w.api, "sendMessage", id); got != 5 {
			t.Errorf("chat %d: %d sendMessage calls, want 5 (none repeated after the restart)", id, got)
		}
		if got := repliesTo(w.api, "editMessageText", id); got != 1 {
			t.Errorf("chat %d: %d editMessageText calls, want 1", id, got)
		}
	}
	if got := repliesTo(w.api, "sendMessage", adminID); got != nChats {
		t.Errorf("the admin got %d feedback notices, want %d", got, nChats)
	}
}
