package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"zhucun/deploy"
	"zhucun/handlers"
	"zhucun/store"
	"zhucun/web"
)

// playgroundAddr is where the playground listens unless ZHUCUN_HTTP_ADDR says otherwise:
// loopback only, since the page lets anyone be anyone.
const playgroundAddr = "127.0.0.1:8080"

// playgroundCommand runs `zhucun playground [FILE]`.
func playgroundCommand(ctx context.Context, fs *flag.FlagSet, args []string, getenv func(string) string, stdout io.Writer, logger *slog.Logger) error {
	cfg, err := loadConfig(fs, args, getenv, false)
	if err != nil {
		return err
	}
	if fs.NArg() > 1 {
		return &configError{errors.New("usage: zhucun playground [FILE]")}
	}
	if getenv("ZHUCUN_HTTP_ADDR") == "" && fs.Lookup(flagName("ZHUCUN_HTTP_ADDR")).Value.String() == "" {
		cfg.HTTPAddr = playgroundAddr
	}
	file := fs.Arg(0)
	if file == "" {
		file = filepath.Join(cfg.DataDir, "playground.db")
	}
	p, err := newPlayground(ctx, cfg, file, logger)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "zhucun playground: open %s in a browser (demo data in %s; Ctrl-C stops)\n", p.url(), file)
	return p.run(ctx)
}

// openPlayground opens the embedded store at FILE for the playground: the records in
// that SQLite file, the conversations in the state file beside it, jobs on River's
// SQLite driver. DATABASE_URL and REDIS_URL play no part: the demo never touches a
// real deployment's data.
func openPlayground(ctx context.Context, cfg config, file string) (*backends, error) {
	cfg.DatabaseURL, cfg.RedisURL = file, ""
	b, _, err := openBackends(ctx, cfg)
	return b, err
}

// playground is the running web chat over the demo county.
type playground struct {
	log      *slog.Logger
	dir      string
	backend  *backends
	web      *web.Server
	listener net.Listener
	http     *http.Server
}

// playgroundDir is where the web chat keeps its data for the demo file: transcripts,
// photos, update ids and the secret.
func playgroundDir(file string) string {
	return strings.TrimSuffix(file, filepath.Ext(file)) + ".web"
}

// newPlayground opens the demo file (seeding the demo county when it is fresh) and
// wires the handlers behind the web chat.
func newPlayground(ctx context.Context, cfg config, file string, logger *slog.Logger) (p *playground, err error) {
	dir := playgroundDir(file)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("playground: %w", err)
	}
	secret := cfg.Secret
	if secret == nil {
		if secret, err = playgroundSecret(filepath.Join(dir, "secret")); err != nil {
			return nil, err
		}
	}
	p = &playground{log: logger, dir: dir}
	opened := p // p is nil once an error is returned
	defer func() {
		if err != nil {
			opened.close()
		}
	}()
	if p.backend, err = openPlayground(ctx, cfg, file); err != nil {
		return nil, err
	}
	db := p.backend.DB
	if err := seedPlayground(ctx, db, dir, cfg, logger); err != nil {
		return nil, err
	}
	if p.listener, err = net.Listen("tcp", cfg.HTTPAddr); err != nil {
		return nil, fmt.Errorf("ZHUCUN_HTTP_ADDR: %w", err)
	}
	base := p.url()
	h, err := handlers.New(handlers.Config{
		AdminIDs: append(append([]int64(nil), cfg.AdminIDs...), web.DemoAdminIDs()...), DefaultLocale: cfg.DefaultLocale,
		DeepLinkFunc: func(payload string) string { return base + "/?start=" + url.QueryEscape(payload) },
		Location:     cfg.Timezone, Secret: secret, NowFunc: cfg.now,
	}, db, p.backend.State)
	if err != nil {
		return nil, err
	}
	people, err := web.DemoPeople(ctx, db)
	if err != nil {
		return nil, err
	}
	places, err := web.DemoPlaces(ctx, db)
	if err != nil {
		return nil, err
	}
	if p.web, err = web.New(web.Config{Dir: dir, People: people, Places: places, DefaultLocale: cfg.DefaultLocale, Logger: logger}, h); err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.Handle("/", p.web.Handler())
	p.http = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
	logger.Info("playground ready", slog.String("url", base), slog.String("file", file))
	return p, nil
}

// seedPlayground seeds the demo county into a fresh database, once. A database that
// holds other regions is refused: the playground never mixes demo data into real data.
func seedPlayground(ctx context.Context, db *store.DB, dir string, cfg config, logger *slog.Logger) error {
	seeded, err := web.Seeded(ctx, db)
	if err != nil || seeded {
		return err
	}
	if top, err := db.Children(ctx, 0); err != nil {
		return err
	} else if len(top) > 0 {
		return &configError{fmt.Errorf("playground: the database holds regions (%s…) but no demo county; the playground seeds only an empty database", top[0].Code)}
	}
	rows, err := readRegionsCSV(bytes.NewReader(deploy.RegionsDemo))
	if err != nil {
		return fmt.Errorf("demo regions: %w", err)
	}
	now := time.Now()
	if cfg.now != nil {
		now = cfg.now()
	}
	if err := web.Seed(ctx, db, rows, dir, now, cfg.Timezone); err != nil {
		return err
	}
	logger.Info("demo county seeded")
	return nil
}

// playgroundSecret reads the playground's ZHUCUN_SECRET from path, making one the first
// time.
func playgroundSecret(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		s, derr := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
		if derr != nil || len(s) < 32 {
			return nil, fmt.Errorf("playground secret %s is damaged", path)
		}
		return s, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("playground secret: %w", err)
	}
	s := make([]byte, 32)
	rand.Read(s) // never fails (crypto/rand)
	if err := os.WriteFile(path, []byte(base64.StdEncoding.EncodeToString(s)+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("playground secret: %w", err)
	}
	return s, nil
}

// url is the page's address; an unspecified host is reached on loopback.
func (p *playground) url() string {
	addr := p.listener.Addr().(*net.TCPAddr)
	host := addr.IP.String()
	if addr.IP.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, fmt.Sprint(addr.Port))
}

// run serves the page until ctx ends, archiving the problems' photos meanwhile.
func (p *playground) run(ctx context.Context) error {
	defer p.close()
	errc := make(chan error, 1)
	go func() {
		if err := p.http.Serve(p.listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- err
		}
	}()
	archiveDone := make(chan struct{})
	archiveCtx, stopArchive := context.WithCancel(ctx)
	go func() {
		defer close(archiveDone)
		archiveLoop(archiveCtx, p.log, p.backend.DB, p.web.Files().Fetch, store.NewArchive(filepath.Join(p.dir, "photos")))
	}()
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	stopArchive()
	<-archiveDone
	p.web.Close() // ends the event streams, so Shutdown does not wait for them
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if serr := p.http.Shutdown(shutdownCtx); serr != nil {
		p.http.Close()
	}
	p.log.Info("playground stopped")
	return err
}

func (p *playground) close() {
	if p.listener != nil {
		p.listener.Close()
	}
	if p.backend != nil {
		p.backend.Close()
	}
}

// archiveLoop keeps the bytes of the problems' photos, as serve does, reading them from
// the web chat's files, until ctx ends.
func archiveLoop(ctx context.Context, logger *slog.Logger, db *store.DB, fetch store.FetchFunc, archive *store.Archive) {
	t := time.NewTicker(archiveEvery)
	defer t.Stop()
	for {
		n, err := db.ArchivePhotos(ctx, archive, fetch, time.Now(), 100)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			logger.Warn("archive photos", slog.String("error", err.Error()))
		case n > 0:
			logger.Info("photos archived", slog.Int("count", n))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
