package main

import (
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"zhucun/store"
)

// config is the whole configuration, read once from the environment with flags of the
// same names (kebab case) overriding it. See DESIGN §4.
type config struct {
	Token         string
	APIURL        string
	DatabaseURL   string
	RedisURL      string
	WebhookURL    string
	WebhookSecret string
	HTTPAddr      string
	DataDir       string
	Secret        []byte
	AdminIDs      []int64
	Timezone      *time.Location
	DefaultLocale string
	// ConversationTTL is how long an untouched conversation is kept (ZHUCUN_CONVERSATION_TTL).
	ConversationTTL time.Duration

	// RedisPrefix starts every Redis key (ZHUCUN_REDIS_PREFIX): deployments sharing one
	// Redis, and tests running side by side, each use their own.
	RedisPrefix string

	// Reminders says whether this process runs the scheduled reminders and digests
	// (ZHUCUN_REMINDERS), with the other replicas that do.
	Reminders bool

	// SendPerSecond bounds all the bot's sends, across replicas (ZHUCUN_SEND_PER_SECOND):
	// Telegram allows about 30 a second, more to bots with paid broadcasts.
	SendPerSecond int

	// PprofAddr serves net/http/pprof when set (ZHUCUN_PPROF_ADDR); off by default.
	PprofAddr string

	// now is the clock of the handlers and the jobs; nil is time.Now. Only tests set it.
	now func() time.Time
}

// configError is a bad configuration: main exits with code 2.
type configError struct{ err error }

func (e *configError) Error() string { return e.err.Error() }
func (e *configError) Unwrap() error { return e.err }

// setting is one variable of the contract.
type setting struct {
	env, def, usage string
	file            bool // also read from env+"_FILE"
}

var settings = []setting{
	{env: "TELEGRAM_BOT_TOKEN", usage: "bot token (required by serve)", file: true},
	{env: "TELEGRAM_API_URL", def: "https://api.telegram.org", usage: "Bot API base URL"},
	{env: "DATABASE_URL", usage: "postgres://… or a SQLite file path (default: zhucun.db in the data dir)"},
	{env: "REDIS_URL", usage: "redis://… (default: conversation state in a SQLite file beside the database, pacing in this process)"},
	{env: "ZHUCUN_WEBHOOK_URL", usage: "public https URL of the webhook; webhook mode when set"},
	{env: "ZHUCUN_WEBHOOK_SECRET", usage: "secret Telegram sends with every webhook call", file: true},
	{env: "ZHUCUN_HTTP_ADDR", def: ":8080", usage: "address of health, metrics and webhook"},
	{env: "ZHUCUN_DATA_DIR", def: "./data", usage: "photo archive, exports, embedded database"},
	{env: "ZHUCUN_SECRET", usage: "≥32 random bytes, base64: key of voter hashes and signed links (embedded store: made in the data dir's file secret when unset)", file: true},
	{env: "ZHUCUN_ADMIN_IDS", usage: "comma-separated Telegram user ids of admins"},
	{env: "ZHUCUN_TIMEZONE", def: "Asia/Shanghai", usage: "local time zone of reminders"},
	{env: "ZHUCUN_DEFAULT_LOCALE", def: "zh-Hans", usage: "language when a user's is unknown (zh-Hans or en)"},
	{env: "ZHUCUN_CONVERSATION_TTL", def: "24h", usage: "how long an untouched conversation is kept"},
	{env: "ZHUCUN_REDIS_PREFIX", def: "zhucun:", usage: "start of every Redis key, for several deployments on one Redis"},
	{env: "ZHUCUN_REMINDERS", def: "on", usage: "on: this process runs the reminders and digests (shared with other replicas); off: it does not"},
	{env: "ZHUCUN_SEND_PER_SECOND", def: "29", usage: "messages a second the bot sends at most, all replicas together (Telegram: about 30)"},
	{env: "ZHUCUN_PPROF_ADDR", usage: "address of net/http/pprof for profiling, e.g. 127.0.0.1:6060 (default: off)"},
}

// flagName turns TELEGRAM_BOT_TOKEN into telegram-bot-token.
func flagName(env string) string { return strings.ToLower(strings.ReplaceAll(env, "_", "-")) }

var tokenShape = regexp.MustCompile(`^[0-9]{1,20}:[A-Za-z0-9_-]{20,}$`)
var webhookSecretShape = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)
var redisPrefixShape = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,64}$`)

// loadConfig reads the settings from getenv and args (flags after the subcommand).
// needBot says whether the subcommand talks to Telegram; needSecret whether it needs
// ZHUCUN_SECRET. Every problem is reported, one line each, naming the variable.
func loadConfig(fs *flag.FlagSet, args []string, getenv func(string) string, needBot bool) (config, error) {
	vals := map[string]*string{}
	for _, s := range settings {
		vals[s.env] = fs.String(flagName(s.env), "", s.usage)
	}
	if err := fs.Parse(args); err != nil {
		return config{}, &configError{err}
	}
	var errs []error
	bad := func(env, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", env, fmt.Sprintf(format, a...)))
	}
	get := func(s setting) string {
		if v := *vals[s.env]; v != "" {
			return v
		}
		if v := getenv(s.env); v != "" {
			return v
		}
		if s.file {
			if path := getenv(s.env + "_FILE"); path != "" {
				b, err := os.ReadFile(path)
				if err != nil {
					bad(s.env+"_FILE", "cannot read %s", path)
					return ""
				}
				return strings.TrimSpace(string(b))
			}
		}
		return s.def
	}
	v := map[string]string{}
	for _, s := range settings {
		v[s.env] = get(s)
	}

	var c config
	c.Token = v["TELEGRAM_BOT_TOKEN"]
	switch {
	case c.Token == "" && needBot:
		bad("TELEGRAM_BOT_TOKEN", "required (the token @BotFather gave the bot)")
	case c.Token != "" && !tokenShape.MatchString(c.Token):
		bad("TELEGRAM_BOT_TOKEN", "malformed (expected digits, a colon and at least 20 letters)")
	}

	c.APIURL = strings.TrimSuffix(v["TELEGRAM_API_URL"], "/")
	if u, err := url.Parse(c.APIURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("TELEGRAM_API_URL", "malformed (expected an http or https URL)")
	}

	c.DataDir = v["ZHUCUN_DATA_DIR"]

	c.DatabaseURL = v["DATABASE_URL"]
	switch {
	case c.DatabaseURL == "":
		c.DatabaseURL = filepath.Join(c.DataDir, "zhucun.db")
	case isPostgresURL(c.DatabaseURL):
		if _, err := pgxpool.ParseConfig(c.DatabaseURL); err != nil {
			bad("DATABASE_URL", "malformed postgres URL")
		}
	case strings.Contains(c.DatabaseURL, "://"):
		bad("DATABASE_URL", "unsupported scheme (expected postgres://… or a SQLite file path)")
	}

	c.RedisURL = v["REDIS_URL"]
	if c.RedisURL != "" {
		u, err := url.Parse(c.RedisURL)
		if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
			bad("REDIS_URL", "malformed (expected redis://host:port/db)")
		}
	}

	c.WebhookURL, c.WebhookSecret = v["ZHUCUN_WEBHOOK_URL"], v["ZHUCUN_WEBHOOK_SECRET"]
	if c.WebhookURL != "" {
		u, err := url.Parse(c.WebhookURL)
		if err != nil || u.Scheme != "https" || u.Host == "" {
			bad("ZHUCUN_WEBHOOK_URL", "malformed (Telegram needs an https URL)")
		}
		if c.WebhookSecret == "" {
			bad("ZHUCUN_WEBHOOK_SECRET", "required when ZHUCUN_WEBHOOK_URL is set")
		}
	}
	if c.WebhookSecret != "" && !webhookSecretShape.MatchString(c.WebhookSecret) {
		bad("ZHUCUN_WEBHOOK_SECRET", "malformed (1–256 characters of A–Z, a–z, 0–9, _ and -)")
	}
	if c.WebhookSecret != "" && c.WebhookURL == "" {
		bad("ZHUCUN_WEBHOOK_URL", "required when ZHUCUN_WEBHOOK_SECRET is set")
	}

	c.HTTPAddr = v["ZHUCUN_HTTP_ADDR"]
	if _, port, err := net.SplitHostPort(c.HTTPAddr); err != nil || !validPort(port) {
		bad("ZHUCUN_HTTP_ADDR", "malformed (expected host:port or :port)")
	}

	if s := v["ZHUCUN_SECRET"]; s != "" {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			b, err = base64.RawURLEncoding.DecodeString(s)
		}
		switch {
		case err != nil:
			bad("ZHUCUN_SECRET", "malformed (expected base64)")
		case len(b) < 32:
			bad("ZHUCUN_SECRET", "too short (%d bytes; at least 32 random bytes are needed)", len(b))
		default:
			c.Secret = b
		}
	} else if needBot && isPostgresURL(c.DatabaseURL) {
		bad("ZHUCUN_SECRET", "required with a postgres DATABASE_URL (make one with: head -c 32 /dev/urandom | base64)")
	}

	if s := v["ZHUCUN_ADMIN_IDS"]; s != "" {
		for _, f := range strings.Split(s, ",") {
			id, err := strconv.ParseInt(strings.TrimSpace(f), 10, 64)
			if err != nil || id <= 0 {
				bad("ZHUCUN_ADMIN_IDS", "malformed id %q (expected comma-separated Telegram user ids)", strings.TrimSpace(f))
				continue
			}
			c.AdminIDs = append(c.AdminIDs, id)
		}
	}

	tz, err := time.LoadLocation(v["ZHUCUN_TIMEZONE"])
	if err != nil || v["ZHUCUN_TIMEZONE"] == "" {
		bad("ZHUCUN_TIMEZONE", "unknown time zone %q (expected an IANA name such as Asia/Shanghai)", v["ZHUCUN_TIMEZONE"])
	}
	c.Timezone = tz

	c.DefaultLocale = v["ZHUCUN_DEFAULT_LOCALE"]
	if !slices.Contains([]string{"zh-Hans", "en"}, c.DefaultLocale) {
		bad("ZHUCUN_DEFAULT_LOCALE", "unknown locale %q (expected zh-Hans or en)", c.DefaultLocale)
	}

	ttl, err := time.ParseDuration(v["ZHUCUN_CONVERSATION_TTL"])
	if err != nil || ttl < time.Minute {
		bad("ZHUCUN_CONVERSATION_TTL", "malformed duration %q (at least 1m, e.g. 24h)", v["ZHUCUN_CONVERSATION_TTL"])
	}
	c.ConversationTTL = ttl
	c.RedisPrefix = v["ZHUCUN_REDIS_PREFIX"]
	if !redisPrefixShape.MatchString(c.RedisPrefix) {
		bad("ZHUCUN_REDIS_PREFIX", "malformed %q (1–64 characters of A–Z, a–z, 0–9, _ . : and -, e.g. zhucun:)", c.RedisPrefix)
	}

	switch v["ZHUCUN_REMINDERS"] {
	case "on":
		c.Reminders = true
	case "off":
	default:
		bad("ZHUCUN_REMINDERS", "malformed %q (on or off)", v["ZHUCUN_REMINDERS"])
	}

	if n, err := strconv.Atoi(v["ZHUCUN_SEND_PER_SECOND"]); err != nil || n < 2 {
		bad("ZHUCUN_SEND_PER_SECOND", "malformed %q (a whole number of messages a second, at least 2)", v["ZHUCUN_SEND_PER_SECOND"])
	} else {
		c.SendPerSecond = n
	}

	c.PprofAddr = v["ZHUCUN_PPROF_ADDR"]
	if c.PprofAddr != "" {
		if _, port, err := net.SplitHostPort(c.PprofAddr); err != nil || !validPort(port) {
			bad("ZHUCUN_PPROF_ADDR", "malformed (expected host:port, e.g. 127.0.0.1:6060)")
		}
	}

	if len(errs) > 0 {
		return c, &configError{errors.Join(errs...)}
	}
	return c, nil
}

func isPostgresURL(s string) bool { return store.IsPostgresURL(s) }

func validPort(s string) bool {
	n, err := strconv.Atoi(s)
	return err == nil && n >= 0 && n <= 65535
}
