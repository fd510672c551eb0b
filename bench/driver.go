package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/go-telegram/bot/models"
)

// phase is a stretch of the load: updates a second offered for a while.
type phase struct {
	rate float64
	dur  time.Duration
}

// driver runs the virtual users' flows against a fake API: flows arrive open-loop at
// the rate of each phase, each flow takes a fresh user, and each step is sent once the
// user saw the bot's answer to the one before.
type driver struct {
	api         *fakeAPI
	users       []*vuser
	flows       [][]step // the flows users walk, picked by weights
	weights     []float64
	poisson     bool
	stepTimeout time.Duration

	nextUser atomic.Int64
	seq      atomic.Int64

	sendMu   sync.Mutex
	updateID int64

	start        time.Time // of the run; per-second latencies count from it
	measureStart time.Time // updates sent before are warm-up: not in the figures

	mu        sync.Mutex
	hist      *hdrhistogram.Histogram   // µs from update sent to its whole answer
	perSecond []*hdrhistogram.Histogram // the same, by the second the update was sent
	lastReply time.Time
	measured  int64 // answered updates sent after measureStart

	sent      atomic.Int64 // updates sent
	answered  atomic.Int64 // updates answered whole
	pressed   atomic.Int64 // button presses sent
	completed []atomic.Int64
	broken    atomic.Int64 // flows with a missing, extra, wrong or out-of-order reply
	timedOut  atomic.Int64 // flows whose answer never came
	noUsers   atomic.Int64 // arrivals dropped: all users used
	firstErr  atomic.Value // string
	inflight  atomic.Int64
	wg        sync.WaitGroup
}

func newHist() *hdrhistogram.Histogram { return hdrhistogram.New(1, 120_000_000, 3) }

func newDriver(api *fakeAPI, users []*vuser, flows [][]step, weights []float64, poisson bool, stepTimeout time.Duration) *driver {
	return &driver{api: api, users: users, flows: flows, weights: weights, poisson: poisson, stepTimeout: stepTimeout,
		hist: newHist(), completed: make([]atomic.Int64, len(flows))}
}

// updatesPerFlow is the mean number of updates of an arriving flow.
func (d *driver) updatesPerFlow() float64 {
	var sum, w float64
	for i, f := range d.flows {
		sum += d.weights[i] * float64(flowUpdates(f))
		w += d.weights[i]
	}
	return sum / w
}

// run offers the phases' load, the first warm lasting warmup, then waits up to drain
// for the flows in flight to end.
func (d *driver) run(ctx context.Context, warmup time.Duration, phases []phase, drain time.Duration) {
	d.start = time.Now()
	d.measureStart = d.start.Add(warmup)
	if warmup > 0 && len(phases) > 0 {
		phases = append([]phase{{rate: phases[0].rate, dur: warmup}}, phases...)
	}
	next := d.start
	perFlow := d.updatesPerFlow()
	for _, ph := range phases {
		end := next.Add(ph.dur)
		flowRate := ph.rate / perFlow
		for next.Before(end) && ctx.Err() == nil {
			if w := time.Until(next); w > 0 {
				select { // the arrival is due at next: open loop
				case <-ctx.Done():
				case <-time.After(w):
				}
			}
			d.arrive(ctx, next)
			gap := 1 / flowRate
			if d.poisson {
				gap = rand.ExpFloat64() / flowRate
			}
			next = next.Add(time.Duration(gap * float64(time.Second)))
		}
		next = end
	}
	done := make(chan struct{})
	go func() {
		d.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(drain):
	case <-ctx.Done():
	}
}

// arrive starts one flow, whose first update counts as sent at the arrival time due.
func (d *driver) arrive(ctx context.Context, due time.Time) {
	i := d.nextUser.Add(1) - 1
	if int(i) >= len(d.users) {
		d.noUsers.Add(1)
		return
	}
	r := rand.Float64()
	var total float64
	for _, w := range d.weights {
		total += w
	}
	k := 0
	for acc := d.weights[0] / total; r > acc && k < len(d.weights)-1; acc += d.weights[k] / total {
		k++
	}
	d.wg.Add(1)
	d.inflight.Add(1)
	go func() {
		defer d.wg.Done()
		defer d.inflight.Add(-1)
		err := d.walk(ctx, d.users[i], d.flows[k], due)
		switch {
		case err == nil:
			d.completed[k].Add(1)
		case ctx.Err() != nil:
		case isTimeout(err):
			d.timedOut.Add(1)
			d.firstErr.CompareAndSwap(nil, err.Error())
		default:
			d.broken.Add(1)
			d.firstErr.CompareAndSwap(nil, err.Error())
		}
	}()
}

func isTimeout(err error) bool { return errors.Is(err, errTimeout) }

// walk takes u through a flow.
func (d *driver) walk(ctx context.Context, u *vuser, flow []step, due time.Time) error {
	var last []reply
	for si, s := range flow {
		ups, err := s.updates(u, d, last)
		if err != nil {
			return fmt.Errorf("user %d, %s: %w", u.id, s.name, err)
		}
		u.mu.Lock()
		u.inbox = u.inbox[:0]
		u.waiting = true
		u.mu.Unlock()
		sentAt := make([]time.Time, len(ups))
		for i, up := range ups {
			sentAt[i] = time.Now()
			if si == 0 && i == 0 {
				sentAt[i] = due // open loop: the wait for the harness counts too
			}
			d.send(up)
		}
		got, err := d.await(ctx, u, s)
		if err != nil {
			return fmt.Errorf("user %d, %s: %w", u.id, s.name, err)
		}
		k := 0
		for i, want := range s.want {
			for j, w := range want {
				r := got[k]
				k++
				if (w.edit && r.method == "sendmessage") || (w.text != "" && !strings.Contains(r.text, w.text)) {
					return fmt.Errorf("user %d, %s: %w: reply %d to update %d is %s %q, want %q", u.id, s.name, errFlow, j+1, i+1, r.method, r.text, w.text)
				}
			}
			d.record(sentAt[i], got[k-1].at)
		}
		last = got
	}
	return nil
}

// await waits for the whole answer to a step: as many replies as it expects, and
// fails on more.
func (d *driver) await(ctx context.Context, u *vuser, s step) ([]reply, error) {
	n := 0
	for _, w := range s.want {
		n += len(w)
	}
	timeout := time.NewTimer(d.stepTimeout)
	defer timeout.Stop()
	for {
		u.mu.Lock()
		have, ch := len(u.inbox), u.arrived
		if have >= n {
			got := append([]reply(nil), u.inbox...)
			u.waiting = false
			u.mu.Unlock()
			if have > n {
				return nil, fmt.Errorf("%w: %d replies, want %d", errFlow, have, n)
			}
			return got, nil
		}
		u.mu.Unlock()
		select {
		case <-ch:
		case <-timeout.C:
			u.mu.Lock()
			u.waiting = false
			u.mu.Unlock()
			return nil, fmt.Errorf("%w: %d of %d replies after %v", errTimeout, have, n, d.stepTimeout)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// send hands an update to the fake API, numbered in the order sent.
func (d *driver) send(up models.Update) {
	if up.CallbackQuery != nil {
		d.pressed.Add(1)
	}
	var chatID int64
	if up.Message != nil {
		chatID = up.Message.Chat.ID
	} else {
		chatID = up.CallbackQuery.From.ID
	}
	d.sendMu.Lock()
	defer d.sendMu.Unlock()
	d.updateID++
	up.ID = d.updateID
	body, err := json.Marshal(&up)
	if err != nil {
		panic(err) // the harness's own types: cannot fail
	}
	d.sent.Add(1)
	d.api.enqueue(queued{id: up.ID, chatID: chatID, body: body})
}

// record keeps the latency of one update, from sent to its whole answer.
func (d *driver) record(sent, answered time.Time) {
	d.answered.Add(1)
	if sent.Before(d.measureStart) {
		return
	}
	us := answered.Sub(sent).Microseconds()
	sec := int(sent.Sub(d.start) / time.Second)
	d.mu.Lock()
	defer d.mu.Unlock()
	d.measured++
	if answered.After(d.lastReply) {
		d.lastReply = answered
	}
	_ = d.hist.RecordValue(max(us, 1))
	for len(d.perSecond) <= sec {
		d.perSecond = append(d.perSecond, nil)
	}
	if d.perSecond[sec] == nil {
		d.perSecond[sec] = newHist()
	}
	_ = d.perSecond[sec].RecordValue(max(us, 1))
}

// throughput is the updates answered a second, from the end of the warm-up to the
// last answer.
func (d *driver) throughput() float64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	el := d.lastReply.Sub(d.measureStart).Seconds()
	if el <= 0 {
		return 0
	}
	return float64(d.measured) / el
}
