// Command zhucun is the village work-team bot: serve it, migrate its database, import
// the region tree.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // time zones on machines without a zoneinfo database

	"zhucun/store"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	var ce *configError
	switch {
	case errors.As(err, &ce):
		for _, line := range splitLines(ce.Error()) {
			fmt.Fprintln(os.Stderr, "zhucun: config:", line)
		}
		os.Exit(2)
	case err != nil:
		fmt.Fprintln(os.Stderr, "zhucun:", err)
		os.Exit(1)
	}
}

const usage = `usage: zhucun [command] [flags]

commands:
  serve                    run the bot (the default)
  migrate                  apply the database migrations
  import regions FILE.csv  load the region tree (columns: see README)
  settings COUNTY [k=v …]  show or change a county's rules: location_required,
                           required_days, timezone, weekly_deadline_weekday,
                           weekly_deadline_hour, checkin_reminder,
                           checkin_reminder_at, digest_at, escalate_after_days,
                           quiet_hours
  export monthly --node CODE --month YYYY-MM [--out FILE]
                           write a region's monthly report (xlsx) to a file
  webhook set|info|delete  register the webhook with Telegram (ZHUCUN_WEBHOOK_URL and
                           _SECRET), show its state, or remove it (back to polling);
                           pending updates are kept
  healthcheck              exit 0 if /healthz on ZHUCUN_HTTP_ADDR answers, else 1
  playground [FILE]        try the bot in a browser: a web chat over a seeded demo
                           county (FILE: the demo database, default
                           playground.db in the data dir), at http://127.0.0.1:8080

Every setting is an environment variable (see README); a flag of the same name in
kebab case overrides it, e.g. --database-url.
`

// run is the whole program; only main exits.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
		args[0] = "help"
	}
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	logger := slog.New(slog.NewJSONHandler(stderr, nil))
	fs := flag.NewFlagSet("zhucun "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	switch cmd {
	case "serve":
		cfg, err := loadConfig(fs, args, getenv, true)
		if err != nil {
			return err
		}
		return serve(ctx, cfg, logger)
	case "migrate":
		cfg, err := loadConfig(fs, args, getenv, false)
		if err != nil {
			return err
		}
		back, applied, err := openBackends(ctx, cfg)
		if err != nil {
			return err
		}
		back.Close()
		fmt.Fprintf(stdout, "applied %d migration(s)\n", len(applied))
		for _, name := range applied {
			fmt.Fprintln(stdout, "  "+name)
		}
		return nil
	case "import":
		if len(args) == 0 || args[0] != "regions" {
			return &configError{errors.New("usage: zhucun import regions FILE.csv")}
		}
		cfg, err := loadConfig(fs, args[1:], getenv, false)
		if err != nil {
			return err
		}
		if fs.NArg() != 1 {
			return &configError{errors.New("usage: zhucun import regions FILE.csv")}
		}
		f, err := os.Open(fs.Arg(0))
		if err != nil {
			return err
		}
		defer f.Close()
		db, err := openRecords(ctx, cfg)
		if err != nil {
			return err
		}
		defer db.Close()
		if _, err := db.Migrate(ctx); err != nil {
			return err
		}
		inserted, updated, err := importRegions(ctx, db, f)
		if err != nil {
			return fmt.Errorf("import %s: %w", fs.Arg(0), err)
		}
		fmt.Fprintf(stdout, "regions: %d added, %d updated\n", inserted, updated)
		return nil
	case "settings":
		cfg, err := loadConfig(fs, args, getenv, false)
		if err != nil {
			return err
		}
		if fs.NArg() < 1 {
			return &configError{errors.New("usage: zhucun settings COUNTY_CODE [key=value …]")}
		}
		db, err := openRecords(ctx, cfg)
		if err != nil {
			return err
		}
		defer db.Close()
		if _, err := db.Migrate(ctx); err != nil {
			return err
		}
		return countySettings(ctx, db, fs.Arg(0), fs.Args()[1:], stdout)
	case "export":
		return exportCommand(ctx, fs, args, getenv, stdout)
	case "webhook":
		return webhookCommand(ctx, fs, args, getenv, stdout, stderr)
	case "healthcheck":
		return healthcheck(ctx, fs, args, getenv, stdout)
	case "playground":
		return playgroundCommand(ctx, fs, args, getenv, stdout, logger)
	case "help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return &configError{fmt.Errorf("unknown command %q", cmd)}
}

// openRecords opens the records store DATABASE_URL names: Postgres, or a SQLite file.
func openRecords(ctx context.Context, cfg config) (*store.DB, error) {
	return store.OpenURL(ctx, cfg.DatabaseURL)
}

func splitLines(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}
