package jobs_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"go.uber.org/goleak"

	"zhucun/calendar"
	"zhucun/handlers"
	"zhucun/jobs"
	"zhucun/store"
	"zhucun/store/storetest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const adminID = 1

var shanghai = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return loc
}()

// local is a time of day in Shanghai.
func local(day string, hour, minute int) time.Time {
	d, err := time.Parse(time.DateOnly, day)
	if err != nil {
		panic(err)
	}
	return time.Date(d.Year(), d.Month(), d.Day(), hour, minute, 0, 0, shanghai)
}

func date(s string) time.Time {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return d
}

// clock is the simulated time the jobs and handlers read.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// delivery is a message a sender delivered, at the simulated time.
type delivery struct {
	chat int64
	text string
	at   time.Time
}

// recorder is a Sender that keeps what it delivered; sends to a chat in blocked fail
// as if the person had blocked the bot.
type recorder struct {
	clock   *clock
	mu      sync.Mutex
	sent    []delivery
	blocked map[int64]bool
	// hook, when set, runs before each send; it may hang or fail it.
	hook func(ctx context.Context, chat int64) error
}

func (r *recorder) Send(ctx context.Context, rep handlers.Reply) error {
	r.mu.Lock()
	hook, blocked := r.hook, r.blocked[rep.ChatID]
	r.mu.Unlock()
	if blocked {
		return fmt.Errorf("send to %d: %w", rep.ChatID, jobs.ErrUnreachable)
	}
	if hook != nil {
		if err := hook(ctx, rep.ChatID); err != nil {
			return err
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sent = append(r.sent, delivery{chat: rep.ChatID, text: rep.Text, at: r.clock.Now()})
	return nil
}

func (r *recorder) deliveries() []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.sent)
}

// to returns the deliveries to chat.
func (r *recorder) to(chat int64) []delivery {
	var out []delivery
	for _, d := range r.deliveries() {
		if d.chat == chat {
			out = append(out, d)
		}
	}
	return out
}

// world is a county on a fresh schema with a simulated clock.
type world struct {
	ctx   context.Context
	db    *store.DB
	river jobs.DB
	// backdate makes a person's roles start long before the simulated days (the store
	// has no way to say so).
	backdate func(userID int64) error
	h        *handlers.Handlers
	cal      *calendar.Calendar
	clock    *clock
	regions  map[string]store.Region
}

// newWorld builds the county K (Asia/Shanghai): townships T1 (villages V1 东坪村 and
// V2 西岭村) and T2 (village V3 柳湾村), with River's tables migrated, on Postgres.
func newWorld(t *testing.T) *world {
	t.Helper()
	return newWorldOn(t, "postgres")
}

// newWorldOn is newWorld on a backend: "postgres" (with Redis) or "sqlite" (the
// embedded store, with River in the same file and embedded state).
func newWorldOn(t *testing.T, backend string) *world {
	t.Helper()
	ctx := context.Background()
	var db *store.DB
	var rdb jobs.DB
	var state *store.State
	var backdate func(int64) error
	switch backend {
	case "postgres":
		var url string
		db, url = storetest.DBURL(t)
		pool, err := pgxpool.New(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(pool.Close)
		rdb, state = jobs.Postgres(pool), storetest.State(t, time.Hour)
		backdate = func(userID int64) error {
			_, err := pool.Exec(ctx, `UPDATE role_assignments SET created_at = '2026-01-01' WHERE user_id = $1`, userID)
			return err
		}
	case "sqlite":
		var path string
		db, path = storetest.SQLiteURL(t)
		sqldb, err := store.OpenSQLiteDB(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { sqldb.Close() })
		rdb, state = jobs.SQLite(sqldb), storetest.EmbeddedState(t, path+"-state", time.Hour)
		backdate = func(userID int64) error {
			_, err := sqldb.ExecContext(ctx, `UPDATE role_assignments SET created_at = '2026-01-01 00:00:00.000000' WHERE user_id = $1`, userID)
			return err
		}
	default:
		t.Fatalf("unknown backend %q", backend)
	}
	if _, err := jobs.Migrate(ctx, rdb); err != nil {
		t.Fatal(err)
	}
	w := &world{ctx: ctx, db: db, river: rdb, backdate: backdate, clock: &clock{}, regions: map[string]store.Region{}}
	var err error
	w.h, err = handlers.New(handlers.Config{AdminIDs: []int64{adminID}, NowFunc: w.clock.Now, Location: shanghai,
		DeepLinkFunc: func(p string) string { return "https://t.me/test_bot?start=" + p }}, db, state)
	if err != nil {
		t.Fatal(err)
	}
	if w.cal, err = calendar.New(); err != nil {
		t.Fatal(err)
	}
	f := func(v float64) *float64 { return &v }
	radius := int32(1000)
	village := func(code, parent, name string) store.RegionInput {
		return store.RegionInput{Code: code, ParentCode: parent, Level: store.LevelVillage, Name: name,
			Latitude: f(28.2), Longitude: f(112.9), RadiusM: &radius}
	}
	rows := []store.RegionInput{
		{Code: "K", Level: store.LevelCounty, Name: "示范县"},
		{Code: "T1", ParentCode: "K", Level: store.LevelTownship, Name: "青山镇"},
		{Code: "T2", ParentCode: "K", Level: store.LevelTownship, Name: "河西镇"},
		village("V1", "T1", "东坪村"), village("V2", "T1", "西岭村"), village("V3", "T2", "柳湾村"),
	}
	if _, _, err := db.UpsertRegions(ctx, rows); err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if w.regions[r.Code], err = db.RegionByCode(ctx, r.Code); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.SetCountySettings(ctx, store.CountySettings{RegionID: w.regions["K"].ID, RequiredDays: 20, Timezone: "Asia/Shanghai"}); err != nil {
		t.Fatal(err)
	}
	return w
}

// scheduler returns a scheduler of the world sending through out; ticks are the test's.
func (w *world) scheduler(t *testing.T, out jobs.Sender, tweak func(*jobs.Config)) *jobs.Scheduler {
	t.Helper()
	cfg := jobs.Config{Location: shanghai, AdminIDs: []int64{adminID}, Calendar: w.cal, NowFunc: w.clock.Now,
		TickEvery: -1, FetchCooldown: 5 * time.Millisecond}
	if tweak != nil {
		tweak(&cfg)
	}
	s, err := jobs.New(cfg, w.db, w.river, w.h, out)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// person records a user and gives them roles, each "role@code".
func (w *world) person(t *testing.T, id int64, name string, roles ...string) {
	t.Helper()
	if _, err := w.db.TouchUser(w.ctx, id, name, "zh-hans"); err != nil {
		t.Fatal(err)
	}
	for _, r := range roles {
		role, code, _ := strings.Cut(r, "@")
		if err := w.db.GrantRole(w.ctx, id, role, w.regions[code].ID, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.backdate(id); err != nil {
		t.Fatal(err)
	}
}

func (w *world) checkIn(t *testing.T, userID int64, village string, at time.Time, verdict string, reasons ...string) {
	t.Helper()
	_, err := w.db.AddCheckIn(w.ctx, store.CheckIn{UserID: userID, RegionID: w.regions[village].ID,
		Day: date(at.In(shanghai).Format(time.DateOnly)), CheckedAt: at, Source: store.SourceSelf, RecordedBy: userID,
		OnSite: true, Verdict: verdict, Reasons: reasons})
	if err != nil {
		t.Fatal(err)
	}
}

func (w *world) remind(t *testing.T, p store.ReminderPref) {
	t.Helper()
	if err := w.db.SetReminderPref(w.ctx, p); err != nil {
		t.Fatal(err)
	}
}

func minutes(h, m int) *int32 {
	v := int32(h*60 + m)
	return &v
}

// problem records a problem of a village reported at, then moves it to status with a
// responsible person and a deadline ("" for none).
func (w *world) problem(t *testing.T, village, desc string, at time.Time, status string, responsible int64, deadline string) store.Problem {
	t.Helper()
	p, err := w.db.AddProblem(w.ctx, store.Problem{RegionID: w.regions[village].ID, Year: int32(at.Year()), Category: "customs",
		Description: desc, Latitude: 28.2, Longitude: 112.9, Urgency: "normal", ReportedBy: responsible,
		ReporterRole: store.RoleMember, ReportedAt: at}, nil)
	if err != nil {
		t.Fatal(err)
	}
	p.Status, p.UpdatedAt = status, at
	if responsible != 0 && status != store.StatusReported {
		p.ResponsibleID = &responsible
	}
	if deadline != "" {
		d := date(deadline)
		p.Deadline = &d
	}
	if status == store.StatusResolved {
		p.ResolvedAt = &at
	}
	if err := w.db.UpdateProblem(w.ctx, p); err != nil {
		t.Fatal(err)
	}
	return p
}

// simulation drives schedulers through simulated time without River: at each step it
// plans notices, runs every due occurrence once (as River's unique jobs would) and
// sends what is due.
type simulation struct {
	w      *world
	s      *jobs.Scheduler
	ran    map[string]bool
	events map[time.Time][]func()
}

func (w *world) simulate(s *jobs.Scheduler) *simulation {
	return &simulation{w: w, s: s, ran: map[string]bool{}, events: map[time.Time][]func(){}}
}

// at runs fn at the step of time t, before anything is planned.
func (sim *simulation) at(t time.Time, fn func()) { sim.events[t] = append(sim.events[t], fn) }

func (sim *simulation) run(t *testing.T, from, to time.Time, step time.Duration) {
	t.Helper()
	ctx := sim.w.ctx
	for now := from; !now.After(to); now = now.Add(step) {
		sim.w.clock.set(now)
		for _, fn := range sim.events[now] {
			fn()
		}
		if err := sim.s.PlanNotices(ctx, now); err != nil {
			t.Fatal(err)
		}
		occs, err := sim.s.Due(ctx, now)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range occs {
			key := fmt.Sprint(o.Reminder, o.RegionID, o.Day, o.At)
			if sim.ran[key] {
				continue
			}
			sim.ran[key] = true
			if _, err := sim.s.Plan(ctx, o, now); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := sim.s.Deliver(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

// summary lists deliveries as "chat@MM-DD hh:mm" and the start of their first line (up
// to a colon), sorted, for comparing.
func summary(ds []delivery) []string {
	var out []string
	for _, d := range ds {
		first, _, _ := strings.Cut(d.text, "\n")
		first, _, _ = strings.Cut(first, "：")
		out = append(out, fmt.Sprintf("%d@%s %s", d.chat, d.at.In(shanghai).Format("01-02 15:04"), first))
	}
	slices.Sort(out)
	return out
}

// riverRun waits for n River jobs of the clients to finish.
type riverWatch struct {
	events <-chan *river.Event
	stop   func()
}

func watch(s *jobs.Scheduler) riverWatch {
	ch, stop := s.Client().Subscribe(river.EventKindJobCompleted, river.EventKindJobFailed, river.EventKindJobCancelled)
	return riverWatch{events: ch, stop: stop}
}

// waitJobs waits for n jobs to end on any of the watched clients.
func waitJobs(t *testing.T, n int, ws ...riverWatch) {
	t.Helper()
	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	cases := make(chan *river.Event)
	done := make(chan struct{})
	defer close(done)
	for _, w := range ws {
		go func() {
			for {
				select {
				case e := <-w.events:
					select {
					case cases <- e:
					case <-done:
						return
					}
				case <-done:
					return
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		select {
		case e := <-cases:
			if e.Kind != river.EventKindJobCompleted {
				t.Fatalf("job %s ended %s: %v", e.Job.Kind, e.Kind, e.Job.Errors)
			}
		case <-deadline.C:
			t.Fatalf("waited 30s for %d jobs, %d ended", n, i)
		}
	}
}
