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
	"math/rand/v2"
	"net"
	"net/url"
	"os/exec"
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

func reportText(n int) string { return fmt.Sprintf("第%d号问题：村口的路灯坏了", n) }

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
