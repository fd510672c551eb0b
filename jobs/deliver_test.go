package jobs_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"zhucun/handlers"
	"zhucun/jobs"
	"zhucun/store"
)

// startRiver starts a scheduler's River client (not its senders: the test delivers)
// until the test ends.
func startRiver(t *testing.T, s *jobs.Scheduler) riverWatch {
	t.Helper()
	w := watch(s)
	if err := s.Client().Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		w.stop()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := s.Client().Stop(ctx); err != nil {
			t.Errorf("stop River: %v", err)
		}
	})
	return w
}

// TestTwoSchedulersSendEachOnce runs the simulated day on two schedulers ("replicas"),
// each with its own River client, on one database: both tick at every step (as a new
// leader would), River runs each occurrence once, both send at once. Everyone gets
// exactly what one scheduler alone sends. It runs on Postgres and on the embedded
// store (River's SQLite driver in the same file).
func TestTwoSchedulersSendEachOnce(t *testing.T) {
	t.Parallel()
	for _, backend := range []string{"postgres", "sqlite"} {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			twoSchedulersSendEachOnce(t, newWorldOn(t, backend))
		})
	}
}

func twoSchedulersSendEachOnce(t *testing.T, w *world) {
	seedDay(t, w)
	out := &recorder{clock: w.clock}
	replicas := []*jobs.Scheduler{w.scheduler(t, out, nil), w.scheduler(t, out, nil)}
	watches := []riverWatch{startRiver(t, replicas[0]), startRiver(t, replicas[1])}
	events := map[time.Time][]func(){}
	dayEvents(t, w, func(at time.Time, fn func()) { events[at] = append(events[at], fn) })

	ctx := context.Background()
	inserted := 0
	for now := local("2026-10-09", 3, 0); !now.After(local("2026-10-10", 8, 0)); now = now.Add(15 * time.Minute) {
		w.clock.set(now)
		for _, fn := range events[now] {
			fn()
		}
		fresh := 0
		for _, s := range replicas {
			n, err := s.Tick(ctx)
			if err != nil {
				t.Fatal(err)
			}
			fresh += n
		}
		waitJobs(t, fresh, watches...)
		inserted += fresh
		var wg sync.WaitGroup
		for _, s := range replicas {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := s.Deliver(ctx); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
	}
	if got := summary(out.deliveries()); !slices.Equal(got, simulatedDayWant) {
		t.Errorf("deliveries:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(simulatedDayWant, "\n"))
	}
	// Every occurrence was inserted once, though both replicas ticked every time.
	jobsRun, err := replicas[0].Client().JobList(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(jobsRun.Jobs) != inserted || inserted == 0 {
		t.Errorf("%d River jobs, want the %d inserted once each", len(jobsRun.Jobs), inserted)
	}
}

// TestKilledSenderLosesNothing kills one replica while it sends a batch of check-in
// reminders: the message it had sent but not recorded goes again, once; all others go
// exactly once.
func TestKilledSenderLosesNothing(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	rs := store.DefaultReminderSettings(w.regions["K"].ID)
	rs.CheckInReminder = true
	if err := w.db.SetReminderSettings(w.ctx, rs); err != nil {
		t.Fatal(err)
	}
	const members = 40
	for i := range members {
		w.person(t, int64(1000+i), fmt.Sprintf("队员%02d", i), store.RoleMember+"@V1")
	}
	telegram := &recorder{clock: w.clock}
	// Replica A's sends reach Telegram until the 6th: that one reaches it and then the
	// process freezes (and dies); its other senders freeze before their sends go out.
	release := make(chan struct{})
	var mu sync.Mutex
	sendsA, frozenChat := 0, int64(0)
	killed := make(chan struct{})
	a := jobs.SenderFunc(func(ctx context.Context, rep handlers.Reply) error {
		mu.Lock()
		sendsA++
		n := sendsA
		if n == 6 {
			frozenChat = rep.ChatID
		}
		mu.Unlock()
		switch {
		case n < 6:
			return telegram.Send(ctx, rep)
		case n == 6:
			if err := telegram.Send(ctx, rep); err != nil {
				return err
			}
			close(killed)
		}
		<-release
		return errors.New("killed")
	})
	replicaA := w.scheduler(t, a, func(c *jobs.Config) { c.Lease = time.Minute })
	replicaB := w.scheduler(t, telegram, func(c *jobs.Config) { c.Lease = time.Minute })
	watchA := startRiver(t, replicaA)
	watchB := startRiver(t, replicaB)

	ctx := context.Background()
	w.clock.set(local("2026-10-09", 10, 0))
	n, err := replicaA.Tick(ctx)
	if err != nil || n == 0 {
		t.Fatalf("tick: %d occurrences (%v), want the check-in reminder's among them", n, err)
	}
	waitJobs(t, n, watchA, watchB)

	// A sends with four senders until it freezes; then it is gone.
	ctxA, kill := context.WithCancel(ctx)
	var senders sync.WaitGroup
	for range 4 {
		senders.Add(1)
		go func() {
			defer senders.Done()
			for {
				if took, err := replicaA.DeliverOne(ctxA); err != nil || !took {
					return
				}
			}
		}()
	}
	<-killed
	kill()

	// B takes over. Within A's leases it cannot take what A held; after them it can.
	if _, err := replicaB.Deliver(ctx); err != nil {
		t.Fatal(err)
	}
	pending, _, err := w.db.PendingMessages(ctx, w.clock.Now())
	if err != nil || pending == 0 {
		t.Fatalf("pending after B's first round: %d (%v), want A's claimed messages", pending, err)
	}
	w.clock.set(local("2026-10-09", 10, 1))
	if _, err := replicaB.Deliver(ctx); err != nil {
		t.Fatal(err)
	}
	got := map[int64]int{}
	for _, d := range telegram.deliveries() {
		got[d.chat]++
	}
	dups := 0
	for i := range members {
		chat := int64(1000 + i)
		switch got[chat] {
		case 1:
		case 2:
			dups++
			if chat != frozenChat {
				t.Errorf("member %d got the reminder twice, but A froze sending to %d", chat, frozenChat)
			}
		default:
			t.Errorf("member %d got the reminder %d times, want 1", chat, got[chat])
		}
	}
	if dups > 1 {
		t.Errorf("%d reminders went twice, want at most the one in flight", dups)
	}
	// The frozen senders come back to life: their late results no longer count.
	close(release)
	senders.Wait()
	if pending, _, err := w.db.PendingMessages(ctx, w.clock.Now()); err != nil || pending != 0 {
		t.Fatalf("pending at the end: %d (%v), want 0", pending, err)
	}
	all, err := w.db.OutboxMessages(ctx, store.ReminderCheckIn)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range all {
		if m.Outcome != store.OutcomeSent {
			t.Errorf("message to %d: outcome %q, want sent", m.ChatID, m.Outcome)
		}
	}
}

// TestBlockedPersonGetsNothingMore checks that a person who blocked the bot is marked
// so at the first failed reminder, and is sent nothing after it.
func TestBlockedPersonGetsNothingMore(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	seedDay(t, w)
	out := &recorder{clock: w.clock, blocked: map[int64]bool{secretary3: true}}
	sim := w.simulate(w.scheduler(t, out, nil))
	sim.run(t, local("2026-10-09", 9, 55), local("2026-10-09", 20, 30), 5*time.Minute)
	if got := out.to(secretary3); len(got) != 0 {
		t.Fatalf("the person who blocked the bot got %d messages", len(got))
	}
	u, err := w.db.UserByID(w.ctx, secretary3)
	if err != nil || u.BlockedAt == nil {
		t.Fatalf("user %+v (%v), want marked blocked", u, err)
	}
	msgs, err := w.db.OutboxMessages(w.ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, m := range msgs {
		if m.ChatID == secretary3 {
			kinds = append(kinds, m.Kind+" "+m.Outcome)
		}
	}
	// The check-in reminder found them blocked; the evening digest was not planned.
	if want := []string{"checkin blocked"}; !slices.Equal(kinds, want) {
		t.Fatalf("outbox for the person: %q, want %q", kinds, want)
	}
	// Others still got theirs.
	if got := out.to(secretary1); len(got) != 1 {
		t.Fatalf("the other first secretary got %d messages, want the digest", len(got))
	}
}

// TestFailedSendIsTriedAgain checks that a send that failed (not a block) is tried again
// later, and counts once delivered.
func TestFailedSendIsTriedAgain(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	seedDay(t, w)
	out := &recorder{clock: w.clock}
	failures := 2
	var mu sync.Mutex
	out.hook = func(_ context.Context, chat int64) error {
		mu.Lock()
		defer mu.Unlock()
		if chat == zhangHua && failures > 0 {
			failures--
			return errors.New("Telegram: 502 Bad Gateway")
		}
		return nil
	}
	sim := w.simulate(w.scheduler(t, out, nil))
	sim.run(t, local("2026-10-09", 10, 0), local("2026-10-09", 10, 20), time.Minute)
	got := out.to(zhangHua)
	// Tried at 10:00, again after 1 minute (10:01), then after 4 minutes (10:05).
	if len(got) != 1 || got[0].at != local("2026-10-09", 10, 5) {
		t.Fatalf("deliveries %+v, want one at 10:05 after two failures", got)
	}
}
