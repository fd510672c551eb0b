package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"time"
)

// result is what one run of one bot measured.
type result struct {
	target, mode   string
	loadAvg        string
	offered        float64
	throughput     float64 // updates answered a second
	p50, p99, p999 time.Duration
	cpuPer1000     float64 // CPU-seconds of the bot per 1,000 updates
	peakRSS, hwm   int64
	peakGoroutines int
	ratio          float64 // throughput over the echo floor's in the same run
	sent, measured int64
	flows          []int64
	samples        []sample
	perSecondP99   []time.Duration
	gateFailures   []string
}

func (r *result) fill(d *driver, cpu time.Duration) {
	d.mu.Lock()
	r.p50 = time.Duration(d.hist.ValueAtQuantile(50)) * time.Microsecond
	r.p99 = time.Duration(d.hist.ValueAtQuantile(99)) * time.Microsecond
	r.p999 = time.Duration(d.hist.ValueAtQuantile(99.9)) * time.Microsecond
	r.measured = d.measured
	for _, h := range d.perSecond {
		var v time.Duration
		if h != nil {
			v = time.Duration(h.ValueAtQuantile(99)) * time.Microsecond
		}
		r.perSecondP99 = append(r.perSecondP99, v)
	}
	d.mu.Unlock()
	r.throughput = d.throughput()
	r.sent = d.sent.Load()
	if r.measured > 0 {
		r.cpuPer1000 = cpu.Seconds() / (float64(r.measured) / 1000)
	}
	for i := range d.completed {
		r.flows = append(r.flows, d.completed[i].Load())
	}
}

// gates checks what makes a run fail however fast it was.
func (r *result) gates(ctx context.Context, d *driver, api *fakeAPI, w *world, p *proc) {
	fail := func(format string, a ...any) {
		r.gateFailures = append(r.gateFailures, fmt.Sprintf("%s %s: ", r.target, r.mode)+fmt.Sprintf(format, a...))
	}
	if n := d.noUsers.Load(); n > 0 {
		fail("%d flows not started: the harness ran out of users", n)
	}
	if n := d.timedOut.Load(); n > 0 {
		fail("%d flows lost: an answer did not come within %v (first: %v)", n, d.stepTimeout, d.firstErr.Load())
	}
	if n := d.broken.Load(); n > 0 {
		fail("%d flows broken: a reply missing, extra, wrong or out of order (first: %v)", n, d.firstErr.Load())
	}
	extra := 0
	for _, u := range d.users {
		u.mu.Lock()
		extra += u.extra
		u.mu.Unlock()
	}
	if extra > 0 {
		fail("%d replies nobody asked for (an update handled twice?)", extra)
	}
	if a, s := d.answered.Load(), d.sent.Load(); a != s && d.timedOut.Load() == 0 && d.broken.Load() == 0 {
		fail("%d updates sent, %d answered", s, a)
	}
	if a, s := api.acked.Load(), d.sent.Load(); a != s {
		fail("%d updates sent, %d acknowledged", s, a)
	}
	if n := api.tooMany.Load(); n > 0 {
		fail("%d sends answered 429 (none injected)", n)
	}
	if w == nil {
		return
	}
	if c, pr := api.callback.Load(), d.pressed.Load(); c != pr {
		fail("%d buttons pressed, %d answerCallbackQuery", pr, c)
	}
	c, err := w.counts(ctx)
	if err != nil {
		fail("count records: %v", err)
		return
	}
	if c.processed != d.sent.Load() {
		fail("%d updates sent, %d marked processed", d.sent.Load(), c.processed)
	}
	if c.checkIns != r.flows[0] {
		fail("%d check-in flows completed, %d check-ins recorded", r.flows[0], c.checkIns)
	}
	if c.problems != r.flows[1] {
		fail("%d report flows completed, %d problems recorded", r.flows[1], c.problems)
	}
}

func (r result) line() string {
	return fmt.Sprintf("%s: %.0f updates/s (offered %.0f), p50 %s p99 %s p99.9 %s, %.3f CPU-s/1k, peak RSS %.1f MB, ratio %.2f, load %s",
		r.target, r.throughput, r.offered, ms(r.p50), ms(r.p99), ms(r.p999), r.cpuPer1000, mb(r.peakRSS), r.ratio, r.loadAvg)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }
func mb(b int64) float64        { return float64(b) / (1 << 20) }

// stat is the median of a figure over the runs, with its min and max.
func stat(rs []result, f func(result) float64, format string) string {
	if len(rs) == 0 {
		return "–"
	}
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = f(r)
	}
	slices.Sort(v)
	med := v[len(v)/2]
	if len(v)%2 == 0 {
		med = (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	if len(v) == 1 {
		return fmt.Sprintf(format, med)
	}
	return fmt.Sprintf(format+" ("+format+"–"+format+")", med, v[0], v[len(v)-1])
}

func printTable(w io.Writer, o options, mode string, zs, es []result) {
	fmt.Fprintf(w, "### %s, %s, %.0f updates/s offered\n\n", mode, o.scenario, o.rate)
	fmt.Fprintln(w, "| bot | updates/s | p50 ms | p99 ms | p99.9 ms | CPU-s / 1k updates | peak RSS MB | ratio to echo | load avg |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|")
	row := func(name string, rs []result, ratio bool) {
		if len(rs) == 0 {
			return
		}
		ratioCell := "–"
		if ratio && len(es) > 0 {
			ratioCell = stat(rs, func(r result) float64 { return r.ratio }, "%.2f")
		}
		var loads []string
		for _, r := range rs {
			loads = append(loads, r.loadAvg)
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s | %v |\n", name,
			stat(rs, func(r result) float64 { return r.throughput }, "%.0f"),
			stat(rs, func(r result) float64 { return msf(r.p50) }, "%.2f"),
			stat(rs, func(r result) float64 { return msf(r.p99) }, "%.2f"),
			stat(rs, func(r result) float64 { return msf(r.p999) }, "%.2f"),
			stat(rs, func(r result) float64 { return r.cpuPer1000 }, "%.3f"),
			stat(rs, func(r result) float64 { return mb(r.peakRSS) }, "%.1f"),
			ratioCell, loads)
	}
	row("zhucun", zs, true)
	row("echo floor", es, false)
	fmt.Fprintln(w)
	if o.scenario == "overload" {
		for i, r := range zs {
			fmt.Fprintf(w, "zhucun run %d, p99 ms by second (2× for %v from second %d, then %.0f/s):\n", i+1, o.duration, int(o.warmup.Seconds()), o.rate/2)
			for s, v := range r.perSecondP99 {
				fmt.Fprintf(w, "%d:%.1f ", s, msf(v))
			}
			fmt.Fprintf(w, "\npeak RSS %.1f MB, peak goroutines %d; RSS/goroutines by second: ", mb(r.peakRSS), r.peakGoroutines)
			for _, s := range r.samples {
				if s.at%time.Second < 500*time.Millisecond {
					fmt.Fprintf(w, "%d:%.0f/%d ", int(s.at.Seconds()), mb(s.rss), s.goroutines)
				}
			}
			fmt.Fprintln(w)
		}
		fmt.Fprintln(w)
	}
}

func msf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
