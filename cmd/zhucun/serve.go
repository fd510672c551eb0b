package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"zhucun/bot"
	"zhucun/calendar"
	"zhucun/handlers"
	"zhucun/jobs"
	"zhucun/store"
)

// app is the running bot: records, state, the Telegram side and the HTTP endpoints.
type app struct {
	cfg      config
	log      *slog.Logger
	back     *backends
	db       *store.DB
	handlers *handlers.Handlers
	pipeline *bot.Pipeline
	listener net.Listener
	http     *http.Server
	// archive keeps photo bytes; fetch downloads them from Telegram.
	archive *store.Archive
	fetch   store.FetchFunc
	// jobs (nil with ZHUCUN_REMINDERS=off) runs the reminders and digests.
	jobs *jobs.Scheduler
}

// newApp wires the bot exactly as serve runs it; tests build it the same way.
func newApp(ctx context.Context, cfg config, logger *slog.Logger) (_ *app, err error) {
	a := &app{cfg: cfg, log: logger}
	defer func() {
		if err != nil {
			a.close()
		}
	}()
	if cfg.Secret == nil { // the embedded store (loadConfig requires it on Postgres)
		if cfg.Secret, err = embeddedSecret(cfg.DataDir); err != nil {
			return nil, err
		}
	}
	var applied []string
	if a.back, applied, err = openBackends(ctx, cfg); err != nil {
		return nil, err
	}
	a.db = a.back.DB
	if len(applied) > 0 {
		logger.Info("migrations applied", slog.Any("migrations", applied))
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	b, err := bot.New(ctx, bot.Config{Token: cfg.Token, APIURL: cfg.APIURL, Logger: logger, Metrics: bot.NewMetrics(reg),
		Pacer: a.back.Pacer})
	if err != nil {
		return nil, err
	}
	a.handlers, err = handlers.New(handlers.Config{
		AdminIDs: cfg.AdminIDs, DefaultLocale: cfg.DefaultLocale, DeepLinkFunc: b.DeepLink, Location: cfg.Timezone,
		Secret: cfg.Secret, NowFunc: cfg.now,
	}, a.db, a.back.State)
	if err != nil {
		return nil, err
	}
	if cfg.Reminders {
		cal, err := calendar.New()
		if err != nil {
			return nil, err
		}
		a.jobs, err = jobs.New(jobs.Config{Location: cfg.Timezone, AdminIDs: cfg.AdminIDs, Calendar: cal, NowFunc: cfg.now,
			Logger: logger}, a.db, a.back.River, a.handlers, bulkSender{b})
		if err != nil {
			return nil, err
		}
	}
	a.pipeline = bot.NewPipeline(b, a.handlers, bot.PipelineConfig{WebhookSecret: cfg.WebhookSecret})
	a.archive, a.fetch = store.NewArchive(filepath.Join(cfg.DataDir, "photos")), b.Fetch

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := a.handlers.Ready(ctx); err != nil {
			http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	if cfg.WebhookURL != "" {
		u, _ := url.Parse(cfg.WebhookURL) // validated by loadConfig
		path := u.Path
		if path == "" {
			path = "/"
		}
		mux.Handle(path, a.pipeline.WebhookHandler())
	}
	a.http = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
	if a.listener, err = net.Listen("tcp", cfg.HTTPAddr); err != nil {
		return nil, fmt.Errorf("ZHUCUN_HTTP_ADDR: %w", err)
	}
	logger.Info("bot ready", slog.String("username", b.Username()), slog.String("http", a.listener.Addr().String()),
		slog.Bool("webhook", cfg.WebhookURL != ""))
	return a, nil
}

// run serves until ctx ends, then shuts down: the webhook stops taking updates, polling
// finishes the batch in hand, and nothing unfinished is acknowledged.
func (a *app) run(ctx context.Context) error {
	defer a.close()
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	errc := make(chan error, 3)
	go func() {
		if err := a.http.Serve(a.listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- err
		}
	}()
	polling := a.cfg.WebhookURL == ""
	pollDone := make(chan struct{})
	go func() {
		defer close(pollDone)
		if polling {
			if err := a.pipeline.Poll(ctx); err != nil {
				errc <- err
			}
		}
	}()
	archiveDone := make(chan struct{})
	go func() {
		defer close(archiveDone)
		a.archivePhotos(ctx)
	}()
	// The reminders: River's jobs, and the senders of their messages. Stopping finishes
	// the messages in flight and waits for River's running jobs.
	jobsDone := make(chan struct{})
	go func() {
		defer close(jobsDone)
		if a.jobs == nil {
			return
		}
		if err := a.jobs.Run(ctx); err != nil {
			errc <- err
		}
	}()
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	stop()
	<-archiveDone
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if serr := a.http.Shutdown(shutdownCtx); serr != nil {
		// Webhook requests still running are cut off: they were not answered 200, so
		// Telegram delivers their updates again. Nothing half-done is committed.
		a.log.Warn("shutdown deadline passed: webhook updates in flight left unacknowledged", slog.String("error", serr.Error()))
		a.http.Close()
	}
	select {
	case <-pollDone:
	case <-shutdownCtx.Done():
		// The polling offset never moved past the batch in hand: it is fetched again.
		a.log.Warn("shutdown deadline passed: polled updates in flight left unacknowledged")
	}
	select {
	case <-jobsDone:
	case <-shutdownCtx.Done():
		// A reminder in flight is claimed still: another replica (or this one, restarted)
		// sends it once the claim runs out. A River job still running is rescued by River.
		a.log.Warn("shutdown deadline passed: reminders in flight left to their claims")
	}
	a.log.Info("stopped")
	return err
}

// archiveEvery is how often photos not yet archived are looked for.
const archiveEvery = 30 * time.Second

// archivePhotos keeps the bytes of the photos in the problem ledger (Telegram's file ids
// serve only this bot), until ctx ends. What to archive is in Postgres, so the work
// survives a crash, and several replicas share it (each photo is taken by one).
func (a *app) archivePhotos(ctx context.Context) {
	t := time.NewTicker(archiveEvery)
	defer t.Stop()
	for {
		n, err := a.db.ArchivePhotos(ctx, a.archive, a.fetch, time.Now(), 100)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			a.log.Warn("archive photos", slog.String("error", err.Error()))
		case n > 0:
			a.log.Info("photos archived", slog.Int("count", n))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// shutdownTimeout bounds the shutdown: longer than the pipeline's UpdateTimeout (30s),
// so that updates in flight normally finish; shorter than the 45s Kubernetes and the
// systemd unit give the process before they kill it.
const shutdownTimeout = 35 * time.Second

func (a *app) close() {
	if a.listener != nil {
		a.listener.Close()
	}
	if a.back != nil {
		a.back.Close()
	}
}

// openRiverPool opens River's connection pool on the records' database. River keeps
// its own (it holds one connection to listen for notifications).
func openRiverPool(ctx context.Context, cfg config) (*pgxpool.Pool, error) {
	pool, err := pgxpool.New(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, fmt.Errorf("open database for jobs: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to database for jobs: %w", err)
	}
	return pool, nil
}

// bulkSender sends the reminders at bulk priority, and tells the jobs who blocked the bot.
type bulkSender struct{ b *bot.Bot }

func (s bulkSender) Send(ctx context.Context, rep handlers.Reply) error {
	err := s.b.SendBulk(ctx, rep)
	if errors.Is(err, bot.ErrBlocked) {
		return fmt.Errorf("%w: %w", jobs.ErrUnreachable, err)
	}
	return err
}

func serve(ctx context.Context, cfg config, logger *slog.Logger) error {
	a, err := newApp(ctx, cfg, logger)
	if err != nil {
		return err
	}
	return a.run(ctx)
}
