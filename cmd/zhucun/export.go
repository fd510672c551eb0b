package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"zhucun/handlers"
)

const exportUsage = "usage: zhucun export monthly --node CODE --month YYYY-MM [--out FILE] [--lang zh-Hans|en]"

// exportCommand writes a report to a file: `export monthly` the monthly report of a
// region (每月汇报), the spreadsheet the bot sends supervisors. --out - writes it to
// stdout; without --out it goes to monthly-CODE-YYYY-MM.xlsx in the current directory.
func exportCommand(ctx context.Context, fs *flag.FlagSet, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "monthly" {
		return &configError{errors.New(exportUsage)}
	}
	node := fs.String("node", "", "code of the region: a city, county, township or village")
	month := fs.String("month", "", "the month, YYYY-MM")
	out := fs.String("out", "", "file to write, - for stdout (default: monthly-CODE-YYYY-MM.xlsx)")
	lang := fs.String("lang", "", "language of the report, zh-Hans or en (default: ZHUCUN_DEFAULT_LOCALE)")
	cfg, err := loadConfig(fs, args[1:], getenv, false)
	if err != nil {
		return err
	}
	var errs []error
	if *node == "" {
		errs = append(errs, errors.New("--node: required (the code of a region, as in the regions file)"))
	}
	first, err := time.Parse("2006-01", *month)
	if err != nil {
		errs = append(errs, fmt.Errorf("--month: expected YYYY-MM, got %q", *month))
	}
	if *lang != "" && *lang != "zh-Hans" && *lang != "en" {
		errs = append(errs, fmt.Errorf("--lang: expected zh-Hans or en, got %q", *lang))
	}
	if fs.NArg() > 0 {
		errs = append(errs, fmt.Errorf("unexpected argument %q", fs.Arg(0)))
	}
	if len(errs) > 0 {
		return &configError{errors.Join(append(errs, errors.New(exportUsage))...)}
	}
	locale := cfg.DefaultLocale
	if *lang != "" {
		locale = *lang
	}

	db, err := openRecords(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		return err
	}
	region, err := db.RegionByCode(ctx, *node)
	if err != nil {
		return fmt.Errorf("region %q: %w", *node, err)
	}
	// Reports need no conversations and send no links: no Redis, no bot.
	h, err := handlers.New(handlers.Config{
		AdminIDs: cfg.AdminIDs, DefaultLocale: cfg.DefaultLocale, Location: cfg.Timezone,
		DeepLinkFunc: func(string) string { return "" },
	}, db, nil)
	if err != nil {
		return err
	}
	name, b, err := h.MonthlyReportIn(ctx, region.ID, first, locale)
	if err != nil {
		return err
	}
	switch path := *out; path {
	case "-":
		_, err = stdout.Write(b)
		return err
	case "":
		*out = name
	}
	if err := os.WriteFile(*out, b, 0o644); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	fmt.Fprintf(stdout, "wrote %s: monthly report of %s %s, %d bytes\n", *out, region.Code, first.Format("2006-01"), len(b))
	return nil
}
