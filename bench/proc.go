package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proc is a bot under test: a child process, pinned to a CPU with taskset when asked.
type proc struct {
	cmd  *exec.Cmd
	done chan error
	logs *tail

	mu         sync.Mutex
	peakRSS    int64 // bytes, sampled
	peakGo     int   // goroutines, sampled from /metrics when metricsURL is set
	samples    []sample
	metricsURL string
	stopSample context.CancelFunc
	sampleDone chan struct{}
}

// sample is the bot's size at one moment of the run.
type sample struct {
	at         time.Duration
	rss        int64
	goroutines int
}

// tail keeps the last lines a process wrote, for the report of a failure, and tells
// when a line with a given text comes.
type tail struct {
	mu      sync.Mutex
	lines   []string
	want    string
	matched chan struct{} // closed when a line contains want
}

func newTail(want string) *tail { return &tail{want: want, matched: make(chan struct{})} }

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, l := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		t.lines = append(t.lines, l)
		if t.want != "" && strings.Contains(l, t.want) {
			t.want = ""
			close(t.matched)
		}
	}
	if len(t.lines) > 200 {
		t.lines = t.lines[len(t.lines)-200:]
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.Join(t.lines, "\n")
}

// startProc runs path with args and env, pinned to cpu ("" for no pinning); ready is
// the text of the line the process writes once it is ready (see waitReady).
func startProc(cpu, path, ready string, args, env []string) (*proc, error) {
	name, argv := path, args
	if cpu != "" {
		name, argv = "taskset", append([]string{"-c", cpu, path}, args...)
	}
	p := &proc{cmd: exec.Command(name, argv...), done: make(chan error, 1), logs: newTail(ready)}
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", path, err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	return p, nil
}

// sampleEvery records the process's RSS (and goroutines) until stop.
func (p *proc) sampleEvery(d time.Duration, start time.Time) {
	ctx, cancel := context.WithCancel(context.Background())
	p.stopSample, p.sampleDone = cancel, make(chan struct{})
	go func() {
		defer close(p.sampleDone)
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			s := sample{at: time.Since(start), rss: p.rss(), goroutines: p.goroutines()}
			p.mu.Lock()
			p.samples = append(p.samples, s)
			p.peakRSS = max(p.peakRSS, s.rss)
			p.peakGo = max(p.peakGo, s.goroutines)
			p.mu.Unlock()
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}

func (p *proc) stopSampling() {
	if p.stopSample != nil {
		p.stopSample()
		<-p.sampleDone
		p.stopSample = nil
	}
}

// stop sends SIGTERM and waits for the process to end.
func (p *proc) stop() error {
	p.stopSampling()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		return err
	case <-time.After(40 * time.Second):
		_ = p.cmd.Process.Kill()
		return <-p.done
	}
}

// status reads a field of /proc/PID/status in bytes (the kernel writes kB).
func (p *proc) status(field string) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb * 1024
		}
	}
	return 0
}

func (p *proc) rss() int64 { return p.status("VmRSS") }

// cpu is the CPU time the process used so far, user and system. taskset execs the
// bot, so the pid is the bot's.
func (p *proc) cpu() time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(fields) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(fields[11], 10, 64)
	st, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ is 100 on Linux
}

// goroutines reads go_goroutines from the bot's /metrics, 0 when it has none.
func (p *proc) goroutines() int {
	if p.metricsURL == "" {
		return 0
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.metricsURL, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(io.LimitReader(resp.Body, 4<<20))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "go_goroutines "); ok {
			n, _ := strconv.ParseFloat(v, 64)
			return int(n)
		}
	}
	return 0
}

// freeAddr is a free local TCP address.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// waitReady waits until the process says it is ready, ends, or timeout passes.
func (p *proc) waitReady(timeout time.Duration) error {
	select {
	case <-p.logs.matched:
		return nil
	case err := <-p.done:
		p.done <- err
		return fmt.Errorf("bot exited: %v\n%s", err, p.logs)
	case <-time.After(timeout):
		return fmt.Errorf("bot not ready after %v\n%s", timeout, p.logs)
	}
}
