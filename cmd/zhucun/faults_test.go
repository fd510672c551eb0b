package main

// Fault tests (docs/RELIABILITY.md, "Faults, replays and ordering"): the bot killed with
// SIGKILL in the middle of flows, Postgres cut off, Redis restarted and Redis silent.
// Postgres and Redis are reached through toxiproxy, run in this process; a Redis that is
// restarted is one of the test's own. `go test ./cmd/zhucun -run Faults -faults.long`
// runs the long variants.

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/Shopify/toxiproxy/v2"
	"github.com/go-telegram/bot/models"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"zhucun/bot/bottest"
	"zhucun/store"
	"zhucun/store/storetest"
)

var longFaults = flag.Bool("faults.long", false, "run the long variants of the fault tests (more kills, a 30 s Postgres outage)")

// toxi is a toxiproxy proxy in this process between the bot and one service.
type toxi struct {
	p *toxiproxy.Proxy
}

// newToxi proxies a free local port to upstream (host:port) until the test ends.
func newToxi(t *testing.T, name, upstream string) *toxi {
	t.Helper()
	srv := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop())
	p := toxiproxy.NewProxy(srv, name, "127.0.0.1:0", upstream)
	if err := p.Start(); err != nil {
		t.Fatalf("toxiproxy %s: %v", name, err)
	}
	t.Cleanup(p.Stop)
	return &toxi{p: p}
}

// addr is where the bot connects instead of the service.
func (x *toxi) addr() string { return x.p.Listen }

// cut closes every connection through the proxy and refuses new ones.
func (x *toxi) cut() { x.p.Stop() }

// restore takes connections again, on the same port.
func (x *toxi) restore(t *testing.T) {
	t.Helper()
	if err := x.p.Start(); err != nil {
		t.Fatalf("toxiproxy %s: restart: %v", x.p.Name, err)
	}
}

// add adds a toxic (toxiproxy's JSON form: type, stream, attributes).
func (x *toxi) add(t *testing.T, name, typ, stream string, attrs string) {
	t.Helper()
	body := fmt.Sprintf(`{"name":%q,"type":%q,"stream":%q,"attributes":%s}`, name, typ, stream, attrs)
	if _, err := x.p.Toxics.AddToxicJson(strings.NewReader(body)); err != nil {
		t.Fatalf("toxic %s: %v", name, err)
	}
}

// remove removes a toxic added by add.
func (x *toxi) remove(t *testing.T, name string) {
	t.Helper()
	if err := x.p.Toxics.RemoveToxic(context.Background(), name); err != nil {
		t.Fatalf("remove toxic %s: %v", name, err)
	}
}

// viaProxy rewrites the host:port of a postgres:// or redis:// URL to addr; it returns
// the upstream host:port it replaced.
func viaProxy(t *testing.T, raw string, newAddr func(upstream string) string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		t.Fatalf("the fault tests need a TCP URL, got %q (%v)", raw, err)
	}
	host := u.Host
	if u.Port() == "" {
		switch u.Scheme {
		case "redis":
			host = net.JoinHostPort(u.Hostname(), "6379")
		default:
			host = net.JoinHostPort(u.Hostname(), "5432")
		}
	}
	u.Host = newAddr(host)
	return u.String()
}

// setEnv replaces or adds key=value in env.
func setEnv(env []string, key, value string) []string {
	out := make([]string, 0, len(env)+1)
	for _, kv := range env {
		if !strings.HasPrefix(kv, key+"=") {
			out = append(out, kv)
		}
	}
	return append(out, key+"="+value)
}

func getenvOf(env []string) func(string) string {
	return func(k string) string {
		for _, kv := range env {
			if v, ok := strings.CutPrefix(kv, k+"="); ok {
				return v
			}
		}
		return ""
	}
}

// startKillable runs `zhucun serve` like startChild, for a test that may kill it with
// SIGKILL: when the test ends a process still running gets SIGTERM and must exit 0.
func startKillable(t *testing.T, env []string) *child {
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
		select {
		case <-c.done: // killed by the test
			return
		default:
		}
		if code, _ := c.terminate(40 * time.Second); code != 0 {
			t.Errorf("zhucun serve exited with %d after SIGTERM, want 0; logs:\n%s", code, c.log.String())
		}
	})
	ready := c.waitLog(t, 30*time.Second, func(line map[string]any) bool { return line["msg"] == "bot ready" })
	c.addr, _ = ready["http"].(string)
	c.waitReady(t, 30*time.Second)
	return c
}

// kill9 kills the process with SIGKILL and waits for it to be gone.
func (c *child) kill9() {
	c.cmd.Process.Signal(syscall.SIGKILL)
	<-c.done
}

// importDemoInto loads the demo county into the database of env.
func importDemoInto(t *testing.T, env []string) {
	t.Helper()
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"import", "regions", demoRegions}, getenvOf(env), &out, &errOut); err != nil {
		t.Fatalf("import: %v\n%s", err, errOut.String())
	}
}

// hasButton reports whether m has an inline button whose text contains label.
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

// reportScript is the problem-report flow as a user goes through it: what they do at
// each step and the replies that acknowledge it, in order ("" matches any text, e.g.
// the buttons of the summary taken away).
type reportScript struct {
	name string
	do   func(n int) models.Update // n: the number of the report, for its description
	want []string
}

func reportSteps(t *testing.T, api *bottest.Server, u *bottest.User) []reportScript {
	press := func(label string) models.Update {
		msgs := api.Messages(u.ID)
		for i := len(msgs) - 1; i >= 0; i-- {
			if hasButton(msgs[i], label) {
				return u.Press(msgs[i], msgs[i].Button(t, label))
			}
		}
		t.Fatalf("no message with a button %q in chat %d", label, u.ID)
		return models.Update{}
	}
	pressing := func(label string) func(int) models.Update {
		return func(int) models.Update { return press(label) }
	}
	return []reportScript{
		{"/report", func(int) models.Update { return u.Command("report") }, []string{"问题属于哪一类"}},
		{"category", pressing("乡风文明和村容村貌"), []string{"请用文字描述问题："}},
		{"description", func(n int) models.Update { return u.Text(reportText(n)) }, []string{"可以发 1 到 10 张照片"}},
		{"no photos", pressing("不拍照"), []string{"问题在什么位置？", "用村中心也可以"}},
		{"village centre", pressing("用村中心"), []string{"问题紧急吗？"}},
		{"urgency", pressing("一般"), []string{"请核对："}},
		{"submit", pressing("✓ 提交"), []string{"", "问题已登记："}},
	}
}

// reportText is the description of report n: characters drawn at random for n, so
// that no report looks like a duplicate of another.
func reportText(n int) string {
	rng := rand.New(rand.NewPCG(uint64(n), 7))
	var b strings.Builder
	fmt.Fprintf(&b, "第%d号：", n)
	for range 16 {
		b.WriteRune(rune(0x4e00 + rng.IntN(0x5000)))
	}
	return b.String()
}

// matches reports whether the replies got are want, in order.
func matches(got []bottest.Call, want []string) bool {
	if len(got) != len(want) {
		return false
	}
	for i, w := range want {
		if !strings.Contains(replyText(got[i]), w) {
			return false
		}
	}
	return true
}

// TestFaultsKill9DuringProblemReports kills the polling bot with SIGKILL at random
// points of the problem-report flow and starts it again on the same schema and Redis
// prefix. Every step the user saw acknowledged must stay done, the step in flight must
// be taken up where it was, and every report finished must be recorded once.
// Postgres and Redis are reached through toxiproxy with a little latency, so that the
// kill points spread over the whole of an update's handling.
func TestFaultsKill9DuringProblemReports(t *testing.T) {
	t.Parallel()
	kills := 50
	if *longFaults {
		kills = 200
	}
	ctx := context.Background()
	w := newWorld(t)
	env := w.env(t, false)
	importDemoInto(t, env)
	var pgProxy, redisProxy *toxi
	env = setEnv(env, "DATABASE_URL", viaProxy(t, w.dbURL, func(up string) string {
		pgProxy = newToxi(t, "postgres", up)
		return pgProxy.addr()
	}))
	env = setEnv(env, "REDIS_URL", viaProxy(t, storetest.RedisURL(), func(up string) string {
		redisProxy = newToxi(t, "redis", up)
		return redisProxy.addr()
	}))
	pgProxy.add(t, "pg_latency", "latency", "downstream", `{"latency":4,"jitter":2}`)
	redisProxy.add(t, "redis_latency", "latency", "downstream", `{"latency":2,"jitter":1}`)

	village, err := w.db.RegionByCode(ctx, "DEMO-QS-01")
	if err != nil {
		t.Fatal(err)
	}
	const userID = 6601
	if _, err := w.db.TouchUser(ctx, userID, "张队员", "zh-hans"); err != nil {
		t.Fatal(err)
	}
	if err := w.db.GrantRole(ctx, userID, store.RoleMember, village.ID, nil, nil); err != nil {
		t.Fatal(err)
	}
	u := w.api.NewUser(userID, "张队员", "zh-hans")
	steps := reportSteps(t, w.api, u)

	seed := time.Now().UnixNano()
	rng := rand.New(rand.NewPCG(uint64(seed), 0))
	t.Logf("seed %d", seed)
	bot := startKillable(t, env)

	var (
		killed, reports, dupes, stepsDone int
		prev                              []bottest.Call               // the replies of the step before
		took                              = map[string]time.Duration{} // a step's usual time, to aim the kills
		restartTotal                      time.Duration
		afterKill                         []time.Duration // from the restart to the step's acknowledgement
	)
	for killed < kills {
		reports++
		for _, st := range steps {
			before := len(w.api.Calls())
			start := time.Now()
			st.do(reports)
			wasKilled := false
			if d := took[st.name]; d > 0 && rng.IntN(2) == 0 {
				// A kill point anywhere from taking the update to well after its replies.
				at := time.Duration(rng.Int64N(int64(d)*3/2 + 1))
				timer := time.NewTimer(at)
				<-timer.C
				bot.kill9()
				killed++
				wasKilled = true
				rs := time.Now()
				bot = startKillable(t, env)
				restartTotal += time.Since(rs)
			}
			var got []bottest.Call
			var repeated int
			acked := w.api.WaitUntil(40*time.Second, func() bool {
				got, repeated = withoutRepeats(problemChatCalls(w.api.Calls()[before:], u.ID), prev)
				return len(got) >= len(st.want)
			})
			if !acked || !matches(got, st.want) {
				t.Fatalf("report %d, step %s (killed %v, kill %d): got replies:%s\nwant %q\nlogs:\n%s",
					reports, st.name, wasKilled, killed, describe(got), st.want, bot.log.String())
			}
			prev, dupes = got, dupes+repeated
			if wasKilled {
				afterKill = append(afterKill, time.Since(start))
			} else if took[st.name] == 0 || time.Since(start) < 2*took[st.name] {
				took[st.name] = time.Since(start)
			}
			stepsDone++
		}
	}
	// A last update, answered after everything before it: nothing else came.
	before := len(w.api.Calls())
	u.Command("help")
	var got []bottest.Call
	var repeated int
	if !w.api.WaitUntil(30*time.Second, func() bool {
		got, repeated = withoutRepeats(problemChatCalls(w.api.Calls()[before:], u.ID), prev)
		return len(got) >= 1
	}) || !matches(got, []string{wantHelp}) {
		t.Fatalf("after the last report: got replies:%s\nwant the help", describe(got))
	}
	dupes += repeated

	list, _, err := w.db.Problems(ctx, store.ProblemFilter{RegionIDs: []int64{village.ID}, Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, pr := range list {
		seen[pr.Description]++
	}
	for n := 1; n <= reports; n++ {
		if seen[reportText(n)] != 1 {
			t.Errorf("report %d recorded %d times, want once", n, seen[reportText(n)])
		}
	}
	if len(list) != reports {
		t.Errorf("%d problems recorded, want %d", len(list), reports)
	}
	var worst time.Duration
	for _, d := range afterKill {
		worst = max(worst, d)
	}
	t.Logf("kill -9: %d kills over %d reports (%d steps): every acknowledged step kept, %d problems recorded once each; "+
		"%d replies repeated after a kill; restart took %v on average; the step in flight at a kill was acknowledged within %v at worst",
		killed, reports, stepsDone, len(list), dupes, (restartTotal / time.Duration(max(killed, 1))).Round(time.Millisecond),
		worst.Round(time.Millisecond))
}

// withoutRepeats drops from got the replies that repeat one before them or one of prev
// (the previous step's): a reply sent again after a kill. It returns the rest and how
// many it dropped.
func withoutRepeats(got, prev []bottest.Call) ([]bottest.Call, int) {
	seen := map[string]bool{}
	for _, c := range prev {
		seen[c.Method+"\x00"+replyText(c)] = true
	}
	var out []bottest.Call
	for _, c := range got {
		k := c.Method + "\x00" + replyText(c)
		if !seen[k] {
			out = append(out, c)
		}
		seen[k] = true
	}
	return out, len(got) - len(out)
}

// Texts of the bot's answers in English.
const (
	enBusy = "The bot is busy"
	enHelp = "/help"
)

// answers lists the texts of the bot's messages to chatID that are not busy notices,
// and how many busy notices there were.
func answers(api *bottest.Server, chatID int64) (texts []string, busy int) {
	for _, m := range api.Messages(chatID) {
		if strings.Contains(m.Text, enBusy) || strings.Contains(m.Text, "系统繁忙") {
			busy++
			continue
		}
		texts = append(texts, m.Text)
	}
	return texts, busy
}

// outageUpdate is an update sent while a service was cut off, and who sent it.
type outageUpdate struct {
	user *bottest.User
	upd  models.Update
}

// sendDuring sends one /help from each user in turn, spread evenly over d, and returns
// what was sent.
func sendDuring(users []*bottest.User, d time.Duration, n int, send func(u *bottest.User) models.Update) []outageUpdate {
	tick := time.NewTicker(d / time.Duration(n))
	defer tick.Stop()
	var out []outageUpdate
	for i := range n {
		u := users[i%len(users)]
		out = append(out, outageUpdate{u, send(u)})
		<-tick.C
	}
	return out
}

// TestFaultsPostgresCutOff cuts the bot off from Postgres (toxiproxy) while updates
// keep arriving, in polling and in webhook mode. No update may be acknowledged without
// its record: the webhook answers 503, polling keeps its offset; once Postgres is back
// every update is handled, once. The outage lasts 5 s; -faults.long makes it 30 s.
func TestFaultsPostgresCutOff(t *testing.T) {
	t.Parallel()
	outage := 5 * time.Second
	if *longFaults {
		outage = 30 * time.Second
	}
	for _, webhook := range []bool{false, true} {
		name := "polling"
		if webhook {
			name = "webhook"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			w := newWorld(t)
			var pg *toxi
			env := setEnv(w.env(t, webhook), "DATABASE_URL", viaProxy(t, w.dbURL, func(up string) string {
				pg = newToxi(t, "postgres", up)
				return pg.addr()
			}))
			bot := startChild(t, env)
			users := make([]*bottest.User, 4)
			for i := range users {
				users[i] = w.api.NewUser(int64(7100+i), fmt.Sprintf("user %d", i), "en")
			}
			deliver := func(u models.Update) int {
				code, err := bot.deliver(u)
				if err != nil {
					t.Errorf("deliver update %d: %v", u.ID, err)
				}
				return code
			}
			// Before the outage each user is answered.
			for _, u := range users {
				upd := u.Command("help")
				if webhook && deliver(upd) != 200 {
					t.Fatalf("update %d not answered 200 before the outage", upd.ID)
				}
				w.api.WaitMessages(t, u.ID, 1)
			}

			pg.cut()
			cutAt := time.Now()
			sent := sendDuring(users, outage, 20, func(u *bottest.User) models.Update {
				upd := u.Command("help")
				if webhook {
					if code := deliver(upd); code != http.StatusServiceUnavailable {
						t.Errorf("update %d during the outage answered %d, want 503", upd.ID, code)
					}
				}
				return upd
			})
			// Nothing sent during the outage is recorded, and polling never confirmed it.
			for _, s := range sent {
				if ok, err := w.db.Processed(ctx, s.upd.ID); err != nil || ok {
					t.Errorf("update %d processed=%v (%v) during the outage, want not processed", s.upd.ID, ok, err)
				}
			}
			for _, c := range w.api.CallsTo("getUpdates") {
				if off, _ := strconv.ParseInt(c.Params["offset"], 10, 64); off > sent[0].upd.ID {
					t.Errorf("getUpdates with offset %d during the outage: past update %d, which is not recorded", off, sent[0].upd.ID)
				}
			}
			busy := 0
			for _, u := range users {
				_, n := answers(w.api, u.ID)
				busy += n
			}
			if busy == 0 {
				t.Errorf("nobody was told the bot is busy")
			}
			resp, err := http.Get("http://" + bot.addr + "/readyz")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode != http.StatusServiceUnavailable {
					t.Errorf("/readyz during the outage: %d, want 503", resp.StatusCode)
				}
			}

			pg.restore(t)
			back := time.Now()
			if webhook { // Telegram delivers again what was not answered 200
				for _, s := range sent {
					if code := deliver(s.upd); code != http.StatusOK {
						t.Errorf("update %d after the outage answered %d, want 200", s.upd.ID, code)
					}
				}
			}
			perUser := map[int64]int{}
			for _, s := range sent {
				perUser[s.user.ID]++
			}
			if !w.api.WaitUntil(90*time.Second, func() bool {
				for _, u := range users {
					if got, _ := answers(w.api, u.ID); len(got) < 1+perUser[u.ID] {
						return false
					}
				}
				return true
			}) {
				t.Fatalf("not every update was answered 90 s after Postgres came back")
			}
			recovered := time.Since(back)
			for _, s := range sent {
				if ok, err := w.db.Processed(ctx, s.upd.ID); err != nil || !ok {
					t.Errorf("update %d processed=%v (%v) after the outage, want processed", s.upd.ID, ok, err)
				}
			}
			for _, u := range users {
				got, _ := answers(w.api, u.ID)
				if len(got) != 1+perUser[u.ID] {
					t.Errorf("user %d got %d answers, want %d (one per update)", u.ID, len(got), 1+perUser[u.ID])
				}
				for _, text := range got {
					if !strings.Contains(text, enHelp) {
						t.Errorf("user %d got %q, want the help", u.ID, text)
					}
				}
			}
			t.Logf("Postgres cut off for %v (%s): %d updates arrived, none acknowledged without its record, %d busy notices; all %d handled once, %v after Postgres came back",
				back.Sub(cutAt).Round(time.Millisecond), name, len(sent), busy, len(sent), recovered.Round(time.Millisecond))
		})
	}
}

// redisServer is a redis-server of the test's own, with its append-only file, that the
// test can kill and start again on the same port and data.
type redisServer struct {
	port int
	dir  string
	cmd  *exec.Cmd
	done chan struct{}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startRedis starts redis-server on port with its data in dir and waits for PONG.
func startRedis(t *testing.T, port int, dir string) *redisServer {
	t.Helper()
	r := &redisServer{port: port, dir: dir, done: make(chan struct{})}
	r.cmd = exec.Command("redis-server", "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
		"--appendonly", "yes", "--appendfsync", "always", "--save", "", "--logfile", "redis.log")
	if err := r.cmd.Start(); err != nil {
		t.Fatalf("start redis-server (it must be installed; make test installs it): %v", err)
	}
	go func() {
		r.cmd.Wait()
		close(r.done)
	}()
	t.Cleanup(r.kill)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		rdb, err := store.OpenRedis(ctx, r.url())
		if err == nil {
			rdb.Close()
			return r
		}
		select {
		case <-tick.C:
		case <-r.done:
			t.Fatalf("redis-server on port %d exited: %v", port, r.cmd.ProcessState)
		case <-ctx.Done():
			t.Fatalf("redis-server on port %d not answering: %v", port, err)
		}
	}
}

func (r *redisServer) url() string { return fmt.Sprintf("redis://127.0.0.1:%d/0", r.port) }

// kill stops the server with SIGKILL: what it acknowledged is in its append-only file.
func (r *redisServer) kill() {
	select {
	case <-r.done:
		return
	default:
	}
	r.cmd.Process.Signal(syscall.SIGKILL)
	<-r.done
}

// TestFaultsRedisRestarted kills Redis (SIGKILL; it keeps an append-only file) while
// three people are in the middle of reporting a problem, and starts it again. The bot
// must not crash, must tell who writes meanwhile that it is busy, must reconnect by
// itself, and every draft acknowledged before the restart must be there after it.
func TestFaultsRedisRestarted(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t)
	rs := startRedis(t, freePort(t), t.TempDir())
	env := setEnv(w.env(t, false), "REDIS_URL", rs.url())
	importDemoInto(t, env)
	village, err := w.db.RegionByCode(ctx, "DEMO-QS-01")
	if err != nil {
		t.Fatal(err)
	}
	bot := startChild(t, env)
	users := make([]*bottest.User, 3)
	scripts := make([][]reportScript, len(users))
	for i := range users {
		id := int64(7200 + i)
		if _, err := w.db.TouchUser(ctx, id, "队员", "zh-hans"); err != nil {
			t.Fatal(err)
		}
		if err := w.db.GrantRole(ctx, id, store.RoleMember, village.ID, nil, nil); err != nil {
			t.Fatal(err)
		}
		users[i] = w.api.NewUser(id, "队员", "zh-hans")
		scripts[i] = reportSteps(t, w.api, users[i])
	}
	// step plays step k of user i's report and waits for its acknowledgement.
	step := func(i, k int) {
		t.Helper()
		u, st := users[i], scripts[i][k]
		before := len(w.api.Calls())
		st.do(100 + i)
		var got []bottest.Call
		if !w.api.WaitUntil(60*time.Second, func() bool {
			got = withoutBusy(problemChatCalls(w.api.Calls()[before:], u.ID))
			return len(got) >= len(st.want)
		}) || !matches(got, st.want) {
			t.Fatalf("user %d, step %s: got replies:%s\nwant %q\nlogs:\n%s", u.ID, st.name, describe(got), st.want, bot.log.String())
		}
	}
	// Each user stops at a different step, the last one with the description given.
	for i := range users {
		for k := 0; k <= 2+i; k++ {
			step(i, k)
		}
	}
	rs.kill()
	killedAt := time.Now()
	// While Redis is down the first user goes on: the bot says it is busy.
	before := len(w.api.Calls())
	scripts[0][3].do(100)
	if !w.api.WaitUntil(30*time.Second, func() bool {
		for _, c := range problemChatCalls(w.api.Calls()[before:], users[0].ID) {
			if strings.Contains(replyText(c), "系统繁忙") {
				return true
			}
		}
		return false
	}) {
		t.Fatalf("no busy notice while Redis was down; logs:\n%s", bot.log.String())
	}
	busyAfter := time.Since(killedAt)
	startRedis(t, rs.port, rs.dir)
	restartedAt := time.Now()
	bot.waitReady(t, 60*time.Second)
	// The update sent while Redis was down is handled now, by itself.
	var got []bottest.Call
	if !w.api.WaitUntil(60*time.Second, func() bool {
		got = withoutBusy(problemChatCalls(w.api.Calls()[before:], users[0].ID))
		return len(got) >= len(scripts[0][3].want)
	}) || !matches(got, scripts[0][3].want) {
		t.Fatalf("the update sent while Redis was down: got replies:%s\nwant %q", describe(got), scripts[0][3].want)
	}
	resumed := time.Since(restartedAt)
	for i := range users {
		first := 3 + i
		if i == 0 {
			first = 4
		}
		for k := first; k < len(scripts[i]); k++ {
			step(i, k)
		}
	}
	list, _, err := w.db.Problems(ctx, store.ProblemFilter{RegionIDs: []int64{village.ID}, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var descs []string
	for _, pr := range list {
		descs = append(descs, pr.Description)
	}
	slices.Sort(descs)
	want := []string{reportText(100), reportText(101), reportText(102)}
	slices.Sort(want)
	if !slices.Equal(descs, want) {
		t.Errorf("problems recorded %q, want %q: the drafts kept through the restart", descs, want)
	}
	t.Logf("Redis killed and restarted: busy notice %v after the kill; the update sent meanwhile handled %v after Redis was back; %d drafts kept, %d problems recorded",
		busyAfter.Round(time.Millisecond), resumed.Round(time.Millisecond), len(users), len(list))
}

// withoutBusy drops the busy notices from calls.
func withoutBusy(calls []bottest.Call) []bottest.Call {
	var out []bottest.Call
	for _, c := range calls {
		if !strings.Contains(replyText(c), "系统繁忙") {
			out = append(out, c)
		}
	}
	return out
}

// goroutines reads go_goroutines from the child's /metrics.
func (c *child) goroutines(t *testing.T) float64 {
	t.Helper()
	resp, err := http.Get("http://" + c.addr + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, "go_goroutines "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
	}
	t.Fatalf("no go_goroutines in /metrics")
	return 0
}

// TestFaultsRedisSilent makes Redis swallow everything (toxiproxy's timeout toxic with
// no timeout: connections stay open, nothing comes back). Every Redis call must give up
// at its deadline, every user must be told the bot is busy, the bot must take up the
// updates once Redis answers again, and its goroutines must come back to what they were.
func TestFaultsRedisSilent(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	var rp *toxi
	env := setEnv(w.env(t, false), "REDIS_URL", viaProxy(t, storetest.RedisURL(), func(up string) string {
		rp = newToxi(t, "redis", up)
		return rp.addr()
	}))
	bot := startChild(t, env)
	users := make([]*bottest.User, 5)
	for i := range users {
		users[i] = w.api.NewUser(int64(7300+i), fmt.Sprintf("user %d", i), "en")
		users[i].Command("help")
		w.api.WaitMessages(t, users[i].ID, 1)
	}
	baseline := bot.goroutines(t)

	rp.add(t, "silent", "timeout", "downstream", `{"timeout":0}`)
	silentAt := time.Now()
	for _, u := range users {
		u.Command("help")
	}
	if !w.api.WaitUntil(60*time.Second, func() bool {
		for _, u := range users {
			if _, busy := answers(w.api, u.ID); busy == 0 {
				return false
			}
		}
		return true
	}) {
		t.Fatalf("not every user was told the bot is busy within 60 s of Redis going silent; logs:\n%s", bot.log.String())
	}
	busyWithin := time.Since(silentAt)
	during := bot.goroutines(t)

	rp.remove(t, "silent")
	back := time.Now()
	if !w.api.WaitUntil(90*time.Second, func() bool {
		for _, u := range users {
			if got, _ := answers(w.api, u.ID); len(got) < 2 {
				return false
			}
		}
		return true
	}) {
		t.Fatalf("the updates sent while Redis was silent were not handled within 90 s of its coming back")
	}
	handledWithin := time.Since(back)
	for _, u := range users {
		if got, _ := answers(w.api, u.ID); len(got) != 2 {
			t.Errorf("user %d got %d answers, want 2: %q", u.ID, len(got), got)
		}
	}
	// The goroutines of the calls that gave up are gone: back to the baseline (a few
	// more are allowed for connections the pools opened anew).
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(30 * time.Second)
	var after float64
	for after = bot.goroutines(t); after > baseline+4; after = bot.goroutines(t) {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("goroutines: %v before, %v while Redis was silent, still %v 30 s after it came back", baseline, during, after)
		}
	}
	t.Logf("Redis silent: every user told the bot is busy within %v; all updates handled %v after Redis answered again; goroutines %v before, %v during, %v after",
		busyWithin.Round(time.Millisecond), handledWithin.Round(time.Millisecond), baseline, during, after)
}
