// Package jobs runs zhucun's scheduled work on River, a job queue in Postgres (or, with
// the embedded store, in its SQLite file): the
// check-in reminders, the first secretaries' evening digests, deadline reminders,
// escalations of overdue problems and the supervisors' Monday digests.
//
// Every minute the River leader (one replica) runs a tick: it finds the occurrences of
// reminders that are due — a kind of reminder, a county, a local day, a time of day —
// and inserts each as a unique River job (by its arguments, within a day), so that two
// replicas never plan it twice. Running an occurrence plans its messages into an outbox
// in Postgres, at most one per kind, occurrence and person. Every replica's senders
// claim the messages of the outbox one at a time for a lease, send them through the
// paced sender, and record the outcome; a sender that dies leaves only the message in
// its hands, which is sent again once the lease runs out.
package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"zhucun/calendar"
	"zhucun/handlers"
	"zhucun/store"
)

// ErrUnreachable is what a Sender's error wraps when the person blocked the bot.
var ErrUnreachable = errors.New("person unreachable")

// Sender delivers one message at bulk priority.
type Sender interface {
	Send(ctx context.Context, rep handlers.Reply) error
}

// SenderFunc is a Sender made of a function.
type SenderFunc func(ctx context.Context, rep handlers.Reply) error

// Send calls f.
func (f SenderFunc) Send(ctx context.Context, rep handlers.Reply) error { return f(ctx, rep) }

// Config tunes the scheduler.
type Config struct {
	// Location is the deployment's local time (ZHUCUN_TIMEZONE); a county may set its own.
	Location *time.Location
	// AdminIDs are told once when a year has no calendar of working days.
	AdminIDs []int64
	// Calendar tells working days (escalations count them; check-in reminders go on them).
	Calendar *calendar.Calendar
	// NowFunc is the clock; nil means time.Now.
	NowFunc func() time.Time
	Logger  *slog.Logger
	// Senders is how many messages this process sends at once (each waits for the pacer,
	// so a few cover Telegram's round trips). Default 4.
	Senders int
	// Lease is how long a claimed message is left to its sender before another may take
	// it: longer than a send with its 429 waits. Default 5 minutes.
	Lease time.Duration
	// MaxLate is how long after its time an occurrence the bot missed (it was down) is
	// still run. Default 6 hours.
	MaxLate time.Duration
	// TickEvery is how often the leader looks for due occurrences; 0 means every minute,
	// a negative value never (the caller runs Tick).
	TickEvery time.Duration
	// PollEvery is how often idle senders look for messages other replicas planned.
	// Default 1 second.
	PollEvery time.Duration
	// FetchCooldown is River's minimum pause between two fetches of jobs; 0 is River's
	// default (100ms).
	FetchCooldown time.Duration
}

// DB is the database River works on: Postgres through a pgx pool of its own, or the
// embedded store's SQLite file.
type DB struct {
	pool   *pgxpool.Pool
	sqlite *sql.DB
}

// Postgres is River on a Postgres pool.
func Postgres(pool *pgxpool.Pool) DB { return DB{pool: pool} }

// SQLite is River on a SQLite database (River advises one connection: see
// riversqlite).
func SQLite(db *sql.DB) DB { return DB{sqlite: db} }

// Queue is the River client, whichever its database.
type Queue interface {
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	InsertMany(ctx context.Context, params []river.InsertManyParams) ([]*rivertype.JobInsertResult, error)
	JobList(ctx context.Context, params *river.JobListParams) (*river.JobListResult, error)
	Subscribe(kinds ...river.EventKind) (<-chan *river.Event, func())
}

// Scheduler plans reminders and sends them.
type Scheduler struct {
	cfg   Config
	db    *store.DB
	h     *handlers.Handlers
	out   Sender
	river Queue

	mu   sync.Mutex
	wake chan struct{} // closed (and replaced) when messages were planned here
}

// New returns a scheduler of the records in db, with River working on rdb (the same
// database), building texts with h and sending them through out.
func New(cfg Config, db *store.DB, rdb DB, h *handlers.Handlers, out Sender) (*Scheduler, error) {
	if cfg.Location == nil {
		cfg.Location = time.FixedZone("CST", 8*60*60)
	}
	if cfg.Calendar == nil {
		return nil, errors.New("jobs: Calendar is required")
	}
	if cfg.NowFunc == nil {
		cfg.NowFunc = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Senders <= 0 {
		cfg.Senders = 4
	}
	if cfg.Lease <= 0 {
		cfg.Lease = 5 * time.Minute
	}
	if cfg.MaxLate <= 0 {
		cfg.MaxLate = 6 * time.Hour
	}
	if cfg.TickEvery == 0 {
		cfg.TickEvery = time.Minute
	}
	if cfg.PollEvery <= 0 {
		cfg.PollEvery = time.Second
	}
	s := &Scheduler{cfg: cfg, db: db, h: h, out: out, wake: make(chan struct{})}
	workers := river.NewWorkers()
	river.AddWorker(workers, &tickWorker{s: s})
	river.AddWorker(workers, &occurrenceWorker{s: s})
	rc := &river.Config{
		Queues:     map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 2}},
		Workers:    workers,
		JobTimeout: 5 * time.Minute,
		// A job whose replica died is run again after this (planning is idempotent).
		RescueStuckJobsAfter: 10 * time.Minute,
		FetchCooldown:        cfg.FetchCooldown,
		Logger:               slog.New(warnings{cfg.Logger.Handler()}),
	}
	if cfg.FetchCooldown > 0 {
		rc.FetchPollInterval = max(cfg.FetchCooldown, time.Second)
		if rdb.sqlite != nil {
			// SQLite has no notifications: River finds new jobs only by polling.
			rc.FetchPollInterval = max(cfg.FetchCooldown, 50*time.Millisecond)
		}
	}
	if cfg.TickEvery > 0 {
		rc.PeriodicJobs = []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(cfg.TickEvery),
			func() (river.JobArgs, *river.InsertOpts) {
				return TickArgs{Minute: s.now().Truncate(time.Minute)}, &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true}}
			}, &river.PeriodicJobOpts{ID: "tick", RunOnStart: true})}
	}
	var err error
	if rdb.sqlite != nil {
		s.river, err = river.NewClient(riversqlite.New(rdb.sqlite), rc)
	} else {
		s.river, err = river.NewClient(riverpgxv5.New(rdb.pool), rc)
	}
	if err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	return s, nil
}

func (s *Scheduler) now() time.Time { return s.cfg.NowFunc() }

// Run works the jobs and sends the outbox until ctx ends, then stops: no new message is
// taken, the messages in flight are finished, River waits for its running jobs (up to
// stopTimeout, after which they are cancelled and retried later).
func (s *Scheduler) Run(ctx context.Context) error {
	if err := s.river.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("start jobs: %w", err)
	}
	var wg sync.WaitGroup
	for range s.cfg.Senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.sendLoop(ctx)
		}()
	}
	<-ctx.Done()
	wg.Wait()
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stopTimeout)
	defer cancel()
	if err := s.river.Stop(stopCtx); err != nil {
		return fmt.Errorf("stop jobs: %w", err)
	}
	return nil
}

// stopTimeout bounds the wait for River's running jobs at shutdown.
const stopTimeout = 20 * time.Second

// wakeSenders tells this process's idle senders that messages were planned.
func (s *Scheduler) wakeSenders() {
	s.mu.Lock()
	close(s.wake)
	s.wake = make(chan struct{})
	s.mu.Unlock()
}

func (s *Scheduler) woken() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.wake
}

// TickArgs is the job of one minute's tick.
type TickArgs struct {
	Minute time.Time `json:"minute"`
}

// Kind names the job for River.
func (TickArgs) Kind() string { return "zhucun_reminder_tick" }

type tickWorker struct {
	river.WorkerDefaults[TickArgs]
	s *Scheduler
}

func (w *tickWorker) Work(ctx context.Context, _ *river.Job[TickArgs]) error {
	_, err := w.s.Tick(ctx)
	return err
}

// Tick plans the one-off notices due now and inserts every occurrence due now as a
// unique job; it returns how many occurrences were new.
func (s *Scheduler) Tick(ctx context.Context) (int, error) {
	now := s.now()
	if err := s.PlanNotices(ctx, now); err != nil {
		return 0, err
	}
	if err := s.closeSurveys(ctx, now); err != nil {
		return 0, err
	}
	occs, err := s.Due(ctx, now)
	if err != nil || len(occs) == 0 {
		return 0, err
	}
	// Unique by its arguments, which hold its period (the local day; the Monday of a
	// week): River keeps finished jobs a day, longer than an occurrence stays due.
	// (River's ByPeriod would bucket by the time of insertion in UTC, and so split the
	// late inserts of one occurrence across midnight UTC, 08:00 in China, into two jobs.)
	params := make([]river.InsertManyParams, len(occs))
	for i, o := range occs {
		params[i] = river.InsertManyParams{Args: o, InsertOpts: &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true}}}
	}
	res, err := s.river.InsertMany(ctx, params)
	if err != nil {
		return 0, fmt.Errorf("insert reminder occurrences: %w", err)
	}
	fresh := 0
	for _, r := range res {
		if !r.UniqueSkippedAsDuplicate {
			fresh++
		}
	}
	return fresh, nil
}

// closeSurveys closes the surveys past their closing time and sends their results to
// the first secretaries and supervisors (and the headline to residents who asked). A
// notice is handed out once: one that cannot be sent is logged, not retried.
func (s *Scheduler) closeSurveys(ctx context.Context, now time.Time) error {
	if _, err := s.h.CloseDueSurveys(ctx, now); err != nil {
		return fmt.Errorf("close due surveys: %w", err)
	}
	notices, err := s.h.SurveyNotices(ctx, 500)
	if err != nil {
		return fmt.Errorf("survey notices: %w", err)
	}
	for _, rep := range notices {
		if err := s.out.Send(ctx, rep); err != nil {
			s.cfg.Logger.Warn("survey notice not sent", slog.Int64("chat_id", rep.ChatID), slog.String("error", err.Error()))
		}
	}
	return nil
}

type occurrenceWorker struct {
	river.WorkerDefaults[Occurrence]
	s *Scheduler
}

func (w *occurrenceWorker) Work(ctx context.Context, job *river.Job[Occurrence]) error {
	n, err := w.s.Plan(ctx, job.Args, w.s.now())
	if err != nil {
		return err
	}
	if n > 0 {
		w.s.cfg.Logger.Info("reminders planned", slog.String("kind", job.Args.Reminder), slog.Int64("region_id", job.Args.RegionID),
			slog.String("day", job.Args.Day), slog.Int("messages", n))
		w.s.wakeSenders()
	}
	return nil
}

// Client is the River client, for tests that watch its jobs.
func (s *Scheduler) Client() Queue { return s.river }

// Migrate applies River's own migrations to rdb (its tables live next to ours, in the
// schema of the connections' search_path, or in the same SQLite file), each in its own
// transaction, under an advisory lock on Postgres so that replicas starting together
// apply them once (on SQLite each migration's transaction holds the write lock). It
// returns the migrations applied.
func Migrate(ctx context.Context, rdb DB) ([]string, error) {
	if rdb.sqlite != nil {
		m, err := rivermigrate.New(riversqlite.New(rdb.sqlite), &rivermigrate.Config{Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			return nil, fmt.Errorf("river migrations: %w", err)
		}
		return migrateRiver(ctx, m)
	}
	pool := rdb.pool
	m, err := rivermigrate.New(riverpgxv5.New(pool), &rivermigrate.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return nil, fmt.Errorf("river migrations: %w", err)
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("river migrations: %w", err)
	}
	defer conn.Release()
	var key int64
	if err := conn.QueryRow(ctx, `SELECT hashtext('zhucun.river.migrate.' || current_schema())`).Scan(&key); err != nil {
		return nil, fmt.Errorf("river migrations: lock key: %w", err)
	}
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, key); err != nil {
		return nil, fmt.Errorf("river migrations: lock: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, key) //nolint:errcheck // the session ends with the connection anyway
	return migrateRiver(ctx, m)
}

func migrateRiver[TTx any](ctx context.Context, m *rivermigrate.Migrator[TTx]) ([]string, error) {
	res, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil)
	if err != nil {
		return nil, fmt.Errorf("river migrations: %w", err)
	}
	var applied []string
	for _, v := range res.Versions {
		applied = append(applied, fmt.Sprintf("river_%03d_%s", v.Version, v.Name))
	}
	return applied, nil
}

// warnings passes on River's log records of level Warn and above only.
type warnings struct{ slog.Handler }

func (w warnings) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn && w.Handler.Enabled(ctx, l)
}

func (w warnings) WithAttrs(attrs []slog.Attr) slog.Handler {
	return warnings{w.Handler.WithAttrs(attrs)}
}
func (w warnings) WithGroup(name string) slog.Handler { return warnings{w.Handler.WithGroup(name)} }
