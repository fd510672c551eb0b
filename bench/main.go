// Command bench is zhucun's load harness: it runs the real bot (a child process, pinned
// to a CPU) and an echo bot on go-telegram/bot (the floor) against a fake Bot API
// written for load, with virtual users walking the real flows, and prints the figures
// as markdown tables. It exits non-zero when a correctness gate fails, however fast the
// run was. See docs/PERFORMANCE.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// options are the harness's flags.
type options struct {
	scenario     string
	modes        []string
	rate         float64
	duration     time.Duration
	warmup       time.Duration
	drain        time.Duration
	stepTimeout  time.Duration
	runs         int
	poisson      bool
	botCPU       string
	reportShare  float64
	villages     int
	open         int
	databaseURL  string
	redisURL     string
	botLimit     int
	chatBurst    int
	conns        int
	echo         bool
	onlyEcho     bool
	zhucunBin    string
	echoBin      string
	pprofAddr    string
	poolMaxConns int
	verbose      bool
}

const (
	benchToken  = "123456:BENCHtokenBENCHtokenBENCHtoken_000"
	benchSecret = "YmVuY2hiZW5jaGJlbmNoYmVuY2hiZW5jaGJlbmNoYmU=" // 32 bytes, base64
	hookSecret  = "bench-hook-secret"
)

func parseOptions(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.scenario, "scenario", "load", "load: open-loop at -rate; overload: 2×-rate for -duration, then -rate/2 for 30s; open: -open conversations left open, then the bot's RSS and Redis bytes")
	modes := fs.String("mode", "webhook,polling", "delivery modes, comma-separated: webhook, polling")
	fs.Float64Var(&o.rate, "rate", 300, "updates a second offered (open loop)")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "how long the load is offered (after the warm-up)")
	fs.DurationVar(&o.warmup, "warmup", 2*time.Second, "warm-up at the same rate, not in the figures")
	fs.DurationVar(&o.drain, "drain", 60*time.Second, "how long to wait for the flows in flight when the load ends")
	fs.DurationVar(&o.stepTimeout, "step-timeout", 60*time.Second, "a step whose answer takes longer is lost")
	fs.IntVar(&o.runs, "runs", 1, "runs per mode; the table shows the median and the min–max")
	fs.BoolVar(&o.poisson, "poisson", false, "Poisson arrivals instead of a constant rate")
	fs.StringVar(&o.botCPU, "bot-cpu", "1", "CPU the bots are pinned to with taskset (empty: not pinned)")
	fs.Float64Var(&o.reportShare, "report-share", 0.2, "share of the arriving flows that are problem reports (the rest: check-ins)")
	fs.IntVar(&o.villages, "villages", 200, "villages in the seeded county")
	fs.IntVar(&o.open, "open", 10000, "conversations left open by the open scenario")
	fs.StringVar(&o.databaseURL, "database-url", envOr("ZHUCUN_TEST_DATABASE_URL", "postgres://127.0.0.1:5432/test?sslmode=disable"), "Postgres; each run gets a schema of its own")
	fs.StringVar(&o.redisURL, "redis-url", envOr("ZHUCUN_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"), "Redis; each run gets a key prefix of its own")
	fs.IntVar(&o.botLimit, "bot-limit", 10000, "sends a second the fake API allows the bot (Telegram: 30, more with paid broadcasts); the bot paces to 95% of it")
	fs.IntVar(&o.chatBurst, "chat-burst", 20, "sends one private chat may get at once before Telegram's 1 a second applies")
	fs.IntVar(&o.conns, "conns", 40, "webhook connections (Telegram's default max_connections)")
	fs.BoolVar(&o.echo, "echo", true, "also run the echo floor, in the same run")
	fs.BoolVar(&o.onlyEcho, "only-echo", false, "run the echo floor alone (to find its own limit)")
	fs.StringVar(&o.zhucunBin, "zhucun", "", "the zhucun binary (default: built from ./cmd/zhucun)")
	fs.StringVar(&o.echoBin, "echo-bin", "", "the echo binary (default: built from ./bench/echo)")
	fs.IntVar(&o.poolMaxConns, "pool-max-conns", 0, "pool_max_conns of the bot's DATABASE_URL (0: the bot's default)")
	fs.StringVar(&o.pprofAddr, "pprof", "", "ZHUCUN_PPROF_ADDR for the bot, to profile it during the run")
	fs.BoolVar(&o.verbose, "v", false, "print progress")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	for _, m := range strings.Split(*modes, ",") {
		if m = strings.TrimSpace(m); m != "webhook" && m != "polling" {
			return o, fmt.Errorf("-mode: unknown mode %q (webhook or polling)", m)
		}
		o.modes = append(o.modes, strings.TrimSpace(m))
	}
	if !slices.Contains([]string{"load", "overload", "open"}, o.scenario) {
		return o, fmt.Errorf("-scenario: unknown %q (load, overload or open)", o.scenario)
	}
	if o.rate <= 0 || o.runs < 1 {
		return o, errors.New("-rate and -runs must be positive")
	}
	return o, nil
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	o, err := parseOptions(args, os.Stderr)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "zhucun-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if o.zhucunBin == "" {
		if o.zhucunBin, err = build(ctx, dir, "zhucun", "./cmd/zhucun"); err != nil {
			return err
		}
	}
	if o.echoBin == "" && (o.echo || o.onlyEcho) {
		if o.echoBin, err = build(ctx, dir, "echo", "./bench/echo"); err != nil {
			return err
		}
	}
	if o.scenario == "open" {
		return runOpen(ctx, o, dir, stdout)
	}
	var failed []string
	fmt.Fprintf(stdout, "zhucun bench: scenario %s, %.0f updates/s offered (%s), %v + %v warm-up, %d run(s), bot on CPU %q, %d cores, load average %s\n\n",
		o.scenario, o.rate, arrivalName(o.poisson), o.duration, o.warmup, o.runs, o.botCPU, numCPU(), loadAvg())
	for _, mode := range o.modes {
		var zs, es []result
		for i := range o.runs {
			if o.onlyEcho {
				e, err := runOnce(ctx, o, dir, mode, "echo")
				if err != nil {
					return err
				}
				es = append(es, e)
				failed = append(failed, e.gateFailures...)
				continue
			}
			z, err := runOnce(ctx, o, dir, mode, "zhucun")
			if err != nil {
				return err
			}
			zs = append(zs, z)
			failed = append(failed, z.gateFailures...)
			if o.echo {
				e, err := runOnce(ctx, o, dir, mode, "echo")
				if err != nil {
					return err
				}
				es = append(es, e)
				failed = append(failed, e.gateFailures...)
				zs[i].ratio = z.throughput / e.throughput
			}
			if o.verbose {
				fmt.Fprintf(os.Stderr, "%s run %d: %s\n", mode, i+1, zs[i].line())
			}
		}
		printTable(stdout, o, mode, zs, es)
	}
	if len(failed) > 0 {
		fmt.Fprintln(stdout, "\nCORRECTNESS GATES FAILED:")
		for _, f := range failed {
			fmt.Fprintln(stdout, "  - "+f)
		}
		return fmt.Errorf("%d correctness gate(s) failed", len(failed))
	}
	fmt.Fprintln(stdout, "\nAll correctness gates passed: every update handled once, each chat's order kept, records equal completed flows, no 429.")
	return nil
}

func arrivalName(poisson bool) string {
	if poisson {
		return "Poisson"
	}
	return "constant"
}

func build(ctx context.Context, dir, name, pkg string) (string, error) {
	out := filepath.Join(dir, name)
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
	cmd.Dir = moduleRoot()
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
	}
	return out, nil
}

// moduleRoot is the directory of go.mod, found from the working directory up.
func moduleRoot() string {
	dir, _ := os.Getwd()
	for d := dir; d != "/"; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
	}
	return dir
}

func numCPU() int {
	b, _ := os.ReadFile("/proc/cpuinfo")
	return strings.Count(string(b), "processor\t:")
}

func loadAvg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// phases are the load the scenario offers.
func (o options) phases() []phase {
	if o.scenario == "overload" {
		return []phase{{rate: 2 * o.rate, dur: o.duration}, {rate: o.rate / 2, dur: 30 * time.Second}}
	}
	return []phase{{rate: o.rate, dur: o.duration}}
}

// usersNeeded is how many members a run may use: every flow takes a fresh one (a
// member checks in once a day).
func (o options) usersNeeded(perFlow float64) int {
	var updates float64
	for _, ph := range o.phases() {
		updates += ph.rate * ph.dur.Seconds()
	}
	updates += o.rate * o.warmup.Seconds()
	return int(updates/perFlow*1.1) + 50
}

// startBot starts one bot under test on api and waits until it is ready.
func startBot(o options, dir, target, mode string, api *fakeAPI, w *world) (*proc, string, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, "", err
	}
	var p *proc
	if target == "echo" {
		args := []string{"-token", benchToken, "-api-url", api.URL(), "-webhook-secret", hookSecret}
		if mode == "webhook" {
			args = append(args, "-webhook-addr", addr)
		}
		if p, err = startProc(o.botCPU, o.echoBin, "echo ready", args, nil); err != nil {
			return nil, "", err
		}
	} else {
		env := []string{
			"TELEGRAM_BOT_TOKEN=" + benchToken, "TELEGRAM_API_URL=" + api.URL(), "DATABASE_URL=" + w.dbURL + poolParam(o.poolMaxConns),
			"REDIS_URL=" + o.redisURL, "ZHUCUN_REDIS_PREFIX=" + w.prefix, "ZHUCUN_SECRET=" + benchSecret,
			"ZHUCUN_HTTP_ADDR=" + addr, "ZHUCUN_DATA_DIR=" + filepath.Join(dir, "data-"+randomHex(4)), "ZHUCUN_REMINDERS=off",
			"ZHUCUN_SEND_PER_SECOND=" + strconv.Itoa(max(o.botLimit*95/100, 2)),
		}
		if mode == "webhook" {
			env = append(env, "ZHUCUN_WEBHOOK_URL=https://bench.invalid/hook", "ZHUCUN_WEBHOOK_SECRET="+hookSecret)
		}
		if o.pprofAddr != "" {
			env = append(env, "ZHUCUN_PPROF_ADDR="+o.pprofAddr)
		}
		if p, err = startProc(o.botCPU, o.zhucunBin, `"msg":"bot ready"`, []string{"serve"}, env); err != nil {
			return nil, "", err
		}
		p.metricsURL = "http://" + addr + "/metrics"
	}
	err = p.waitReady(60 * time.Second)
	if err != nil {
		p.stop()
		return nil, "", err
	}
	return p, "http://" + addr + "/hook", nil
}

// runOnce runs one bot in one mode with the scenario's load, and checks the gates.
func runOnce(ctx context.Context, o options, dir, mode, target string) (result, error) {
	res := result{target: target, mode: mode, offered: o.rate, loadAvg: loadAvg()}
	flows, weights := [][]step{checkInFlow, reportFlow}, []float64{1 - o.reportShare, o.reportShare}
	if target == "echo" {
		flows, weights = [][]step{echoFlow}, []float64{1}
	}
	perFlow := (&driver{flows: flows, weights: weights}).updatesPerFlow()
	n := o.usersNeeded(perFlow)
	var w *world
	var users []*vuser
	if target == "zhucun" {
		var err error
		if w, err = newWorld(ctx, o.zhucunBin, o.databaseURL, o.redisURL, dir, o.villages, n); err != nil {
			return res, err
		}
		defer w.drop(context.WithoutCancel(ctx)) //nolint:errcheck // best effort
		users = w.users
	} else {
		users = make([]*vuser, n)
		for i := range users {
			users[i] = newVUser(int64(20_000_000+i), "用户"+strconv.Itoa(i), 0, 0)
		}
	}
	byChat := func(chatID int64) *vuser {
		i := chatID - users[0].id
		if i < 0 || i >= int64(len(users)) {
			return nil
		}
		return users[i]
	}
	api, err := newFakeAPI(benchToken, apiLimits{PerSecond: o.botLimit, ChatPerSecond: 1, ChatBurst: o.chatBurst}, byChat)
	if err != nil {
		return res, err
	}
	defer api.close()
	p, hookURL, err := startBot(o, dir, target, mode, api, w)
	if err != nil {
		return res, err
	}
	if mode == "webhook" {
		api.startWebhook(hookURL, hookSecret, o.conns, len(users)+1)
	}
	d := newDriver(api, users, flows, weights, o.poisson, o.stepTimeout)
	var startCPU atomic.Int64
	p.sampleEvery(500*time.Millisecond, time.Now())
	warmed := time.AfterFunc(o.warmup, func() { startCPU.Store(int64(p.cpu())) })
	d.run(ctx, o.warmup, o.phases(), o.drain)
	warmed.Stop()
	// Polling acknowledges a batch with the next getUpdates: give it a moment.
	api.waitAcked(d.sent.Load(), 5*time.Second)
	cpu := p.cpu() - time.Duration(startCPU.Load())
	p.stopSampling()
	res.peakRSS, res.peakGoroutines, res.samples = p.peakRSS, p.peakGo, p.samples
	res.hwm = p.status("VmHWM")
	if err := p.stop(); err != nil && target == "zhucun" {
		res.gateFailures = append(res.gateFailures, fmt.Sprintf("%s %s: the bot did not stop cleanly: %v", target, mode, err))
	}
	res.fill(d, cpu)
	res.gates(ctx, d, api, w, p)
	return res, nil
}

// poolParam sets the bot's pool size in its database URL (which has a query already).
func poolParam(n int) string {
	if n <= 0 {
		return ""
	}
	return "&pool_max_conns=" + strconv.Itoa(n)
}
