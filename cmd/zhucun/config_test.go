package main

import (
	"bytes"
	"encoding/base64"
	"errors"
	"flag"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// cfgToken is a well-formed fake bot token; no error text may ever contain it.
const cfgToken = "123456:ABCdefGHIjklMNOpqrSTUvwxYZ0123456789"

// cfgSecret is a valid ZHUCUN_SECRET: base64 of 32 bytes.
var cfgSecret = base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0x5a}, 32))

// cfgPostgresURL is a well-formed postgres DATABASE_URL; nothing connects to it.
const cfgPostgresURL = "postgres://zhucun:pw@db.example:5432/zhucun?sslmode=disable"

// fakeEnv is a getenv that reads only m.
func fakeEnv(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// validEnv is a complete serve configuration on Postgres, plus extra.
func validEnv(extra map[string]string) map[string]string {
	env := map[string]string{
		"TELEGRAM_BOT_TOKEN": cfgToken,
		"DATABASE_URL":       cfgPostgresURL,
		"ZHUCUN_SECRET":      cfgSecret,
	}
	maps.Copy(env, extra)
	return env
}

// withoutKeys returns a copy of env without the given keys.
func withoutKeys(env map[string]string, keys ...string) map[string]string {
	out := maps.Clone(env)
	for _, k := range keys {
		delete(out, k)
	}
	return out
}

// load runs loadConfig on a fresh flag set, as run does.
func load(t *testing.T, args []string, env map[string]string, needBot bool) (config, error) {
	t.Helper()
	fs := flag.NewFlagSet("zhucun test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return loadConfig(fs, args, fakeEnv(env), needBot)
}

// errorLines checks that err is a *configError and returns its lines.
func errorLines(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		t.Fatalf("got error nil, want a *configError")
	}
	var ce *configError
	if !errors.As(err, &ce) {
		t.Fatalf("got error %T (%v), want a *configError", err, err)
	}
	return strings.Split(err.Error(), "\n")
}

// variables returns the variable each error line names (the text before the first ": ").
func variables(lines []string) []string {
	var out []string
	for _, l := range lines {
		name, _, _ := strings.Cut(l, ": ")
		out = append(out, name)
	}
	return out
}

func TestConfigDefaults(t *testing.T) {
	t.Parallel()
	c, err := load(t, nil, validEnv(nil), true)
	if err != nil {
		t.Fatalf("got error %v, want nil", err)
	}
	tests := []struct {
		name string
		got  any
		want any
	}{
		{name: "Token", got: c.Token, want: cfgToken},
		{name: "APIURL", got: c.APIURL, want: "https://api.telegram.org"},
		{name: "DatabaseURL", got: c.DatabaseURL, want: cfgPostgresURL},
		{name: "RedisURL", got: c.RedisURL, want: ""},
		{name: "WebhookURL", got: c.WebhookURL, want: ""},
		{name: "WebhookSecret", got: c.WebhookSecret, want: ""},
		{name: "HTTPAddr", got: c.HTTPAddr, want: ":8080"},
		{name: "Timezone", got: c.Timezone.String(), want: "Asia/Shanghai"},
		{name: "DefaultLocale", got: c.DefaultLocale, want: "zh-Hans"},
		{name: "ConversationTTL", got: c.ConversationTTL, want: 24 * time.Hour},
		{name: "DataDir", got: c.DataDir, want: "./data"},
		{name: "Secret", got: base64.StdEncoding.EncodeToString(c.Secret), want: cfgSecret},
		{name: "AdminIDs", got: len(c.AdminIDs), want: 0},
		{name: "RedisPrefix", got: c.RedisPrefix, want: "zhucun:"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if tc.got != tc.want {
				t.Errorf("got %s %v, want %v", tc.name, tc.got, tc.want)
			}
		})
	}
}

func TestConfigDatabaseURLDefault(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{
			name: "default data dir",
			env:  map[string]string{"TELEGRAM_BOT_TOKEN": cfgToken},
			want: filepath.Join("./data", "zhucun.db"),
		},
		{
			name: "ZHUCUN_DATA_DIR",
			env:  map[string]string{"TELEGRAM_BOT_TOKEN": cfgToken, "ZHUCUN_DATA_DIR": dir},
			want: filepath.Join(dir, "zhucun.db"),
		},
		{
			name: "--zhucun-data-dir",
			env:  map[string]string{"TELEGRAM_BOT_TOKEN": cfgToken, "ZHUCUN_DATA_DIR": "/nowhere"},
			args: []string{"--zhucun-data-dir", dir},
			want: filepath.Join(dir, "zhucun.db"),
		},
		{
			name: "SQLite file path",
			env:  map[string]string{"TELEGRAM_BOT_TOKEN": cfgToken, "DATABASE_URL": "/var/lib/zhucun/z.db"},
			want: "/var/lib/zhucun/z.db",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// serve on SQLite needs no ZHUCUN_SECRET.
			c, err := load(t, tc.args, tc.env, true)
			if err != nil {
				t.Fatalf("got error %v, want nil", err)
			}
			if c.DatabaseURL != tc.want {
				t.Errorf("got DatabaseURL %q, want %q", c.DatabaseURL, tc.want)
			}
		})
	}
}

func TestConfigFlagsOverrideEnv(t *testing.T) {
	t.Parallel()
	env := validEnv(map[string]string{
		"ZHUCUN_TIMEZONE":       "Europe/Berlin",
		"ZHUCUN_DEFAULT_LOCALE": "en",
		"ZHUCUN_HTTP_ADDR":      ":9000",
		"ZHUCUN_ADMIN_IDS":      "1",
	})
	tests := []struct {
		name string
		args []string
		got  func(config) any
		want any
	}{
		{
			name: "--database-url",
			args: []string{"--database-url", "postgres://other:5433/x"},
			got:  func(c config) any { return c.DatabaseURL },
			want: "postgres://other:5433/x",
		},
		{
			name: "--zhucun-timezone",
			args: []string{"--zhucun-timezone=America/New_York"},
			got:  func(c config) any { return c.Timezone.String() },
			want: "America/New_York",
		},
		{
			name: "--zhucun-default-locale",
			args: []string{"-zhucun-default-locale", "zh-Hans"},
			got:  func(c config) any { return c.DefaultLocale },
			want: "zh-Hans",
		},
		{
			name: "--zhucun-http-addr",
			args: []string{"--zhucun-http-addr", "127.0.0.1:7000"},
			got:  func(c config) any { return c.HTTPAddr },
			want: "127.0.0.1:7000",
		},
		{
			name: "--telegram-bot-token",
			args: []string{"--telegram-bot-token", "987:ZYXwvuTSRqpoNMLkjiHGfe"},
			got:  func(c config) any { return c.Token },
			want: "987:ZYXwvuTSRqpoNMLkjiHGfe",
		},
		{
			name: "--zhucun-admin-ids",
			args: []string{"--zhucun-admin-ids", "7, 8"},
			got:  func(c config) any { return slices.Equal(c.AdminIDs, []int64{7, 8}) },
			want: true,
		},
		{
			name: "env when no flag",
			args: nil,
			got:  func(c config) any { return c.Timezone.String() },
			want: "Europe/Berlin",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := load(t, tc.args, env, true)
			if err != nil {
				t.Fatalf("got error %v, want nil", err)
			}
			if got := tc.got(c); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestConfigValid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		env     map[string]string
		needBot bool
		check   func(t *testing.T, c config)
	}{
		{
			name:    "migrate needs no token and no secret",
			env:     map[string]string{"DATABASE_URL": cfgPostgresURL},
			needBot: false,
			check: func(t *testing.T, c config) {
				if c.Token != "" {
					t.Errorf("got Token %q, want empty", c.Token)
				}
			},
		},
		{
			name:    "webhook mode",
			env:     validEnv(map[string]string{"ZHUCUN_WEBHOOK_URL": "https://bot.example/hook", "ZHUCUN_WEBHOOK_SECRET": "s3cr3t_-X"}),
			needBot: true,
			check: func(t *testing.T, c config) {
				if c.WebhookURL != "https://bot.example/hook" || c.WebhookSecret != "s3cr3t_-X" {
					t.Errorf("got webhook %q %q, want %q %q", c.WebhookURL, c.WebhookSecret, "https://bot.example/hook", "s3cr3t_-X")
				}
			},
		},
		{
			name:    "admin ids",
			env:     validEnv(map[string]string{"ZHUCUN_ADMIN_IDS": "42, 1000000000001"}),
			needBot: true,
			check: func(t *testing.T, c config) {
				if want := []int64{42, 1000000000001}; !slices.Equal(c.AdminIDs, want) {
					t.Errorf("got AdminIDs %v, want %v", c.AdminIDs, want)
				}
			},
		},
		{
			name:    "API URL trailing slash trimmed",
			env:     validEnv(map[string]string{"TELEGRAM_API_URL": "http://127.0.0.1:8081/"}),
			needBot: true,
			check: func(t *testing.T, c config) {
				if c.APIURL != "http://127.0.0.1:8081" {
					t.Errorf("got APIURL %q, want %q", c.APIURL, "http://127.0.0.1:8081")
				}
			},
		},
		{
			name:    "URL-safe unpadded secret",
			env:     validEnv(map[string]string{"ZHUCUN_SECRET": base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{0xff}, 33))}),
			needBot: true,
			check: func(t *testing.T, c config) {
				if !bytes.Equal(c.Secret, bytes.Repeat([]byte{0xff}, 33)) {
					t.Errorf("got Secret %x, want 33 bytes of ff", c.Secret)
				}
			},
		},
		{
			name:    "redis prefix",
			env:     validEnv(map[string]string{"ZHUCUN_REDIS_PREFIX": "county-7.zhucun:"}),
			needBot: true,
			check: func(t *testing.T, c config) {
				if c.RedisPrefix != "county-7.zhucun:" {
					t.Errorf("got RedisPrefix %q, want %q", c.RedisPrefix, "county-7.zhucun:")
				}
			},
		},
		{
			name:    "redis URL",
			env:     validEnv(map[string]string{"REDIS_URL": "redis://127.0.0.1:6379/2"}),
			needBot: true,
			check: func(t *testing.T, c config) {
				if c.RedisURL != "redis://127.0.0.1:6379/2" {
					t.Errorf("got RedisURL %q, want %q", c.RedisURL, "redis://127.0.0.1:6379/2")
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := load(t, nil, tc.env, tc.needBot)
			if err != nil {
				t.Fatalf("got error %v, want nil", err)
			}
			tc.check(t, c)
		})
	}
}

func TestConfigMalformed(t *testing.T) {
	t.Parallel()
	short := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 16))
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		needBot bool
		wantVar string // the one variable the error names
	}{
		{name: "DATABASE_URL bad port", env: validEnv(map[string]string{"DATABASE_URL": "postgres://u:p@host:notaport/db"}), needBot: true, wantVar: "DATABASE_URL"},
		{name: "DATABASE_URL mysql", env: validEnv(map[string]string{"DATABASE_URL": "mysql://u:p@host/db"}), needBot: true, wantVar: "DATABASE_URL"},
		{name: "DATABASE_URL bad port for migrate", env: map[string]string{"DATABASE_URL": "postgresql://u:p@host:99999999999/db"}, needBot: false, wantVar: "DATABASE_URL"},
		{name: "webhook URL without secret", env: validEnv(map[string]string{"ZHUCUN_WEBHOOK_URL": "https://bot.example/hook"}), needBot: true, wantVar: "ZHUCUN_WEBHOOK_SECRET"},
		{name: "webhook secret without URL", env: validEnv(map[string]string{"ZHUCUN_WEBHOOK_SECRET": "abc"}), needBot: true, wantVar: "ZHUCUN_WEBHOOK_URL"},
		{name: "webhook URL http", env: validEnv(map[string]string{"ZHUCUN_WEBHOOK_URL": "http://bot.example/hook", "ZHUCUN_WEBHOOK_SECRET": "abc"}), needBot: true, wantVar: "ZHUCUN_WEBHOOK_URL"},
		{name: "webhook URL without host", env: validEnv(map[string]string{"ZHUCUN_WEBHOOK_URL": "https:///hook", "ZHUCUN_WEBHOOK_SECRET": "abc"}), needBot: true, wantVar: "ZHUCUN_WEBHOOK_URL"},
		{name: "webhook secret bad characters", env: validEnv(map[string]string{"ZHUCUN_WEBHOOK_URL": "https://bot.example/hook", "ZHUCUN_WEBHOOK_SECRET": "not/allowed!"}), needBot: true, wantVar: "ZHUCUN_WEBHOOK_SECRET"},
		{name: "webhook secret too long", env: validEnv(map[string]string{"ZHUCUN_WEBHOOK_URL": "https://bot.example/hook", "ZHUCUN_WEBHOOK_SECRET": strings.Repeat("a", 257)}), needBot: true, wantVar: "ZHUCUN_WEBHOOK_SECRET"},
		{name: "unknown time zone", env: validEnv(map[string]string{"ZHUCUN_TIMEZONE": "Mars/Olympus_Mons"}), needBot: true, wantVar: "ZHUCUN_TIMEZONE"},
		{name: "admin id not a number", env: validEnv(map[string]string{"ZHUCUN_ADMIN_IDS": "12,abc"}), needBot: true, wantVar: "ZHUCUN_ADMIN_IDS"},
		{name: "admin id negative", env: validEnv(map[string]string{"ZHUCUN_ADMIN_IDS": "-5"}), needBot: true, wantVar: "ZHUCUN_ADMIN_IDS"},
		{name: "admin id zero", env: validEnv(map[string]string{"ZHUCUN_ADMIN_IDS": "0"}), needBot: true, wantVar: "ZHUCUN_ADMIN_IDS"},
		{name: "unknown locale", env: validEnv(map[string]string{"ZHUCUN_DEFAULT_LOCALE": "fr"}), needBot: true, wantVar: "ZHUCUN_DEFAULT_LOCALE"},
		{name: "ZHUCUN_SECRET too short", env: validEnv(map[string]string{"ZHUCUN_SECRET": short}), needBot: true, wantVar: "ZHUCUN_SECRET"},
		{name: "ZHUCUN_SECRET not base64", env: validEnv(map[string]string{"ZHUCUN_SECRET": "not base64 at all!!"}), needBot: true, wantVar: "ZHUCUN_SECRET"},
		{name: "ZHUCUN_SECRET missing on postgres", env: withoutKeys(validEnv(nil), "ZHUCUN_SECRET"), needBot: true, wantVar: "ZHUCUN_SECRET"},
		{name: "HTTP addr without port", env: validEnv(map[string]string{"ZHUCUN_HTTP_ADDR": "8080"}), needBot: true, wantVar: "ZHUCUN_HTTP_ADDR"},
		{name: "HTTP addr empty port", env: validEnv(map[string]string{"ZHUCUN_HTTP_ADDR": "localhost:"}), needBot: true, wantVar: "ZHUCUN_HTTP_ADDR"},
		{
			name: "HTTP addr port out of range", env: validEnv(map[string]string{"ZHUCUN_HTTP_ADDR": ":99999"}), needBot: true, wantVar: "ZHUCUN_HTTP_ADDR",
		},
		{name: "REDIS_URL wrong scheme", env: validEnv(map[string]string{"REDIS_URL": "http://127.0.0.1:6379"}), needBot: true, wantVar: "REDIS_URL"},
		{name: "REDIS_URL without host", env: validEnv(map[string]string{"REDIS_URL": "redis://"}), needBot: true, wantVar: "REDIS_URL"},
		{name: "REDIS_URL bad port", env: validEnv(map[string]string{"REDIS_URL": "redis://h:notaport/0"}), needBot: true, wantVar: "REDIS_URL"},
		{name: "TELEGRAM_API_URL not http", env: validEnv(map[string]string{"TELEGRAM_API_URL": "ftp://api.example"}), needBot: true, wantVar: "TELEGRAM_API_URL"},
		{name: "conversation TTL too short", env: validEnv(map[string]string{"ZHUCUN_CONVERSATION_TTL": "30s"}), needBot: true, wantVar: "ZHUCUN_CONVERSATION_TTL"},
		{name: "redis prefix with a space", env: validEnv(map[string]string{"ZHUCUN_REDIS_PREFIX": "zhu cun:"}), needBot: true, wantVar: "ZHUCUN_REDIS_PREFIX"},
		{name: "redis prefix with a glob", env: validEnv(map[string]string{"ZHUCUN_REDIS_PREFIX": "zhucun*"}), needBot: true, wantVar: "ZHUCUN_REDIS_PREFIX"},
		{name: "redis prefix too long", env: validEnv(map[string]string{"ZHUCUN_REDIS_PREFIX": strings.Repeat("z", 65)}), needBot: true, wantVar: "ZHUCUN_REDIS_PREFIX"},
		{name: "conversation TTL not a duration", env: validEnv(map[string]string{"ZHUCUN_CONVERSATION_TTL": "a day"}), needBot: true, wantVar: "ZHUCUN_CONVERSATION_TTL"},
		{name: "token missing for serve", env: withoutKeys(validEnv(nil), "TELEGRAM_BOT_TOKEN"), needBot: true, wantVar: "TELEGRAM_BOT_TOKEN"},
		{name: "token malformed", env: validEnv(map[string]string{"TELEGRAM_BOT_TOKEN": "123:short-secret-value"}), needBot: true, wantVar: "TELEGRAM_BOT_TOKEN"},
		{name: "token malformed for migrate", env: map[string]string{"TELEGRAM_BOT_TOKEN": "no-colon-in-this-token-at-all"}, needBot: false, wantVar: "TELEGRAM_BOT_TOKEN"},
		{name: "flag overrides a good env value", env: validEnv(nil), args: []string{"--zhucun-timezone", "Nowhere/Never"}, needBot: true, wantVar: "ZHUCUN_TIMEZONE"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := load(t, tc.args, tc.env, tc.needBot)
			lines := errorLines(t, err)
			if got := variables(lines); !slices.Equal(got, []string{tc.wantVar}) {
				t.Errorf("got error naming %q (%q), want one line naming %q", got, err, tc.wantVar)
			}
		})
	}
}

func TestConfigManyProblems(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		env      map[string]string
		needBot  bool
		wantVars []string
	}{
		{
			name: "four at once",
			env: map[string]string{
				"ZHUCUN_TIMEZONE":       "Mars/Olympus_Mons",
				"ZHUCUN_DEFAULT_LOCALE": "klingon",
				"ZHUCUN_HTTP_ADDR":      "nowhere",
			},
			needBot:  true,
			wantVars: []string{"TELEGRAM_BOT_TOKEN", "ZHUCUN_DEFAULT_LOCALE", "ZHUCUN_HTTP_ADDR", "ZHUCUN_TIMEZONE"},
		},
		{
			name: "everything wrong",
			env: map[string]string{
				"TELEGRAM_BOT_TOKEN":      "123:short-secret-value",
				"TELEGRAM_API_URL":        "ftp://x",
				"DATABASE_URL":            "mysql://u:p@h/db",
				"REDIS_URL":               "memcached://h",
				"ZHUCUN_WEBHOOK_URL":      "http://bot.example/hook",
				"ZHUCUN_WEBHOOK_SECRET":   "bad secret",
				"ZHUCUN_HTTP_ADDR":        "nowhere",
				"ZHUCUN_SECRET":           "c2hvcnQ=",
				"ZHUCUN_ADMIN_IDS":        "x",
				"ZHUCUN_TIMEZONE":         "Mars/Olympus_Mons",
				"ZHUCUN_DEFAULT_LOCALE":   "klingon",
				"ZHUCUN_CONVERSATION_TTL": "forever",
			},
			needBot: true,
			wantVars: []string{
				"DATABASE_URL", "REDIS_URL", "TELEGRAM_API_URL", "TELEGRAM_BOT_TOKEN",
				"ZHUCUN_ADMIN_IDS", "ZHUCUN_CONVERSATION_TTL", "ZHUCUN_DEFAULT_LOCALE",
				"ZHUCUN_HTTP_ADDR", "ZHUCUN_SECRET", "ZHUCUN_TIMEZONE",
				"ZHUCUN_WEBHOOK_SECRET", "ZHUCUN_WEBHOOK_URL",
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := load(t, nil, tc.env, tc.needBot)
			lines := errorLines(t, err)
			got := variables(lines)
			slices.Sort(got)
			if !slices.Equal(got, tc.wantVars) {
				t.Errorf("got lines naming %q, want %q; error:\n%v", got, tc.wantVars, err)
			}
			// main prints one "zhucun: config:" line per problem.
			if got := len(splitLines(err.Error())); got != len(tc.wantVars) {
				t.Errorf("got %d lines from splitLines, want %d", got, len(tc.wantVars))
			}
		})
	}
}

func TestConfigSecretsNotInErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte("123:short-secret-value\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		secret  string // must not appear in the error
		wantVar string // must be named by the error
	}{
		{
			name:    "malformed token",
			env:     validEnv(map[string]string{"TELEGRAM_BOT_TOKEN": "123:short-secret-value"}),
			secret:  "short-secret-value",
			wantVar: "TELEGRAM_BOT_TOKEN",
		},
		{
			name:    "malformed token by flag",
			env:     validEnv(nil),
			args:    []string{"--telegram-bot-token", "123:short-secret-value"},
			secret:  "short-secret-value",
			wantVar: "TELEGRAM_BOT_TOKEN",
		},
		{
			name:    "malformed token from file",
			env:     withoutKeys(validEnv(map[string]string{"TELEGRAM_BOT_TOKEN_FILE": tokenFile}), "TELEGRAM_BOT_TOKEN"),
			secret:  "short-secret-value",
			wantVar: "TELEGRAM_BOT_TOKEN",
		},
		{
			name:    "good token, other errors",
			env:     validEnv(map[string]string{"ZHUCUN_TIMEZONE": "Mars/Olympus_Mons", "DATABASE_URL": "mysql://x"}),
			secret:  strings.SplitN(cfgToken, ":", 2)[1],
			wantVar: "ZHUCUN_TIMEZONE",
		},
		{
			name:    "password in bad postgres URL",
			env:     validEnv(map[string]string{"DATABASE_URL": "postgres://u:hunter2pass@host:notaport/db"}),
			secret:  "hunter2pass",
			wantVar: "DATABASE_URL",
		},
		{
			name:    "password in unsupported URL",
			env:     validEnv(map[string]string{"DATABASE_URL": "mysql://u:hunter2pass@host/db"}),
			secret:  "hunter2pass",
			wantVar: "DATABASE_URL",
		},
		{
			name:    "password in bad redis URL",
			env:     validEnv(map[string]string{"REDIS_URL": "redis://:hunter2pass@host:notaport/0"}),
			secret:  "hunter2pass",
			wantVar: "REDIS_URL",
		},
		{
			name:    "bad webhook secret",
			env:     validEnv(map[string]string{"ZHUCUN_WEBHOOK_URL": "https://b.example/h", "ZHUCUN_WEBHOOK_SECRET": "hunter2 pass"}),
			secret:  "hunter2",
			wantVar: "ZHUCUN_WEBHOOK_SECRET",
		},
		{
			name:    "short ZHUCUN_SECRET",
			env:     validEnv(map[string]string{"ZHUCUN_SECRET": "aHVudGVyMnBhc3M="}),
			secret:  "aHVudGVyMnBhc3M",
			wantVar: "ZHUCUN_SECRET",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := load(t, tc.args, tc.env, true)
			lines := errorLines(t, err)
			if !slices.Contains(variables(lines), tc.wantVar) {
				t.Errorf("got error %q, want a line naming %s", err, tc.wantVar)
			}
			if strings.Contains(err.Error(), tc.secret) {
				t.Errorf("got error %q, want it without %q", err, tc.secret)
			}
		})
	}
}

func TestConfigFileVariants(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tokenFile := write("token", cfgToken+"\n")
	secretFile := write("secret", cfgSecret+"\n")
	crlfSecretFile := write("secret-crlf", cfgSecret+"\r\n")
	webhookFile := write("webhook", "hook_secret\n")
	missing := filepath.Join(dir, "does-not-exist")

	tests := []struct {
		name    string
		env     map[string]string
		check   func(t *testing.T, c config)
		wantVar string // non-empty: the error must name it
	}{
		{
			name: "TELEGRAM_BOT_TOKEN_FILE",
			env:  withoutKeys(validEnv(map[string]string{"TELEGRAM_BOT_TOKEN_FILE": tokenFile}), "TELEGRAM_BOT_TOKEN"),
			check: func(t *testing.T, c config) {
				if c.Token != cfgToken {
					t.Errorf("got Token %q, want %q", c.Token, cfgToken)
				}
			},
		},
		{
			name: "ZHUCUN_SECRET_FILE",
			env:  withoutKeys(validEnv(map[string]string{"ZHUCUN_SECRET_FILE": secretFile}), "ZHUCUN_SECRET"),
			check: func(t *testing.T, c config) {
				if got := base64.StdEncoding.EncodeToString(c.Secret); got != cfgSecret {
					t.Errorf("got Secret %q, want %q", got, cfgSecret)
				}
			},
		},
		{
			name: "ZHUCUN_SECRET_FILE with CRLF",
			env:  withoutKeys(validEnv(map[string]string{"ZHUCUN_SECRET_FILE": crlfSecretFile}), "ZHUCUN_SECRET"),
			check: func(t *testing.T, c config) {
				if got := base64.StdEncoding.EncodeToString(c.Secret); got != cfgSecret {
					t.Errorf("got Secret %q, want %q", got, cfgSecret)
				}
			},
		},
		{
			name: "ZHUCUN_WEBHOOK_SECRET_FILE",
			env:  validEnv(map[string]string{"ZHUCUN_WEBHOOK_URL": "https://b.example/h", "ZHUCUN_WEBHOOK_SECRET_FILE": webhookFile}),
			check: func(t *testing.T, c config) {
				if c.WebhookSecret != "hook_secret" {
					t.Errorf("got WebhookSecret %q, want %q", c.WebhookSecret, "hook_secret")
				}
			},
		},
		{
			name:    "TELEGRAM_BOT_TOKEN_FILE missing",
			env:     withoutKeys(validEnv(map[string]string{"TELEGRAM_BOT_TOKEN_FILE": missing}), "TELEGRAM_BOT_TOKEN"),
			wantVar: "TELEGRAM_BOT_TOKEN_FILE",
		},
		{
			name:    "TELEGRAM_BOT_TOKEN_FILE is a directory",
			env:     withoutKeys(validEnv(map[string]string{"TELEGRAM_BOT_TOKEN_FILE": dir}), "TELEGRAM_BOT_TOKEN"),
			wantVar: "TELEGRAM_BOT_TOKEN_FILE",
		},
		{
			name:    "ZHUCUN_SECRET_FILE missing",
			env:     withoutKeys(validEnv(map[string]string{"ZHUCUN_SECRET_FILE": missing}), "ZHUCUN_SECRET"),
			wantVar: "ZHUCUN_SECRET_FILE",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := load(t, nil, tc.env, true)
			if tc.wantVar == "" {
				if err != nil {
					t.Fatalf("got error %v, want nil", err)
				}
				tc.check(t, c)
				return
			}
			lines := errorLines(t, err)
			if !slices.Contains(variables(lines), tc.wantVar) {
				t.Errorf("got error %q, want a line naming %s", err, tc.wantVar)
			}
		})
	}
}

func TestRunConfigError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		args     []string
		env      map[string]string
		wantText string // the error must contain it
	}{
		{
			name:     "serve with bad config",
			args:     []string{"serve"},
			env:      map[string]string{"TELEGRAM_BOT_TOKEN": cfgToken, "ZHUCUN_TIMEZONE": "Mars/Olympus_Mons"},
			wantText: "ZHUCUN_TIMEZONE",
		},
		{
			name:     "default command is serve",
			args:     nil,
			env:      map[string]string{},
			wantText: "TELEGRAM_BOT_TOKEN",
		},
		{
			name:     "flags without command",
			args:     []string{"--zhucun-default-locale", "fr"},
			env:      map[string]string{"TELEGRAM_BOT_TOKEN": cfgToken},
			wantText: "ZHUCUN_DEFAULT_LOCALE",
		},
		{
			name:     "unknown command",
			args:     []string{"frobnicate"},
			env:      validEnv(nil),
			wantText: `unknown command "frobnicate"`,
		},
		{
			name:     "unknown flag",
			args:     []string{"serve", "--no-such-flag"},
			env:      validEnv(nil),
			wantText: "no-such-flag",
		},
		{
			name:     "import without regions",
			args:     []string{"import"},
			env:      validEnv(nil),
			wantText: "usage: zhucun import regions FILE.csv",
		},
		{
			name:     "import regions without file",
			args:     []string{"import", "regions"},
			env:      validEnv(nil),
			wantText: "usage: zhucun import regions FILE.csv",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			err := run(t.Context(), tc.args, fakeEnv(tc.env), &stdout, &stderr)
			var ce *configError
			if !errors.As(err, &ce) {
				t.Fatalf("got error %T (%v), want a *configError", err, err)
			}
			if !strings.Contains(err.Error(), tc.wantText) {
				t.Errorf("got error %q, want it to contain %q", err, tc.wantText)
			}
			for _, bad := range []string{"goroutine ", "panic", ".go:", cfgToken} {
				if strings.Contains(stderr.String(), bad) || strings.Contains(err.Error(), bad) {
					t.Errorf("got stderr %q and error %q, want neither to contain %q", stderr.String(), err, bad)
				}
			}
			if stdout.Len() != 0 {
				t.Errorf("got stdout %q, want nothing", stdout.String())
			}
		})
	}
}

func TestRunUnknownCommandUsage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
	}{
		{name: "unknown word", args: []string{"frobnicate"}},
		{name: "unknown word with flags", args: []string{"servee", "--database-url", "x"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			err := run(t.Context(), tc.args, fakeEnv(nil), &stdout, &stderr)
			var ce *configError
			if !errors.As(err, &ce) {
				t.Fatalf("got error %T (%v), want a *configError", err, err)
			}
			if got := stderr.String(); got != usage {
				t.Errorf("got stderr %q, want the usage", got)
			}
		})
	}
}

func TestRunHelp(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
	}{
		{name: "help", args: []string{"help"}},
		{
			name: "-h",
			args: []string{"-h"},
		},
		{
			name: "--help",
			args: []string{"--help"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			err := run(t.Context(), tc.args, fakeEnv(nil), &stdout, &stderr)
			if err != nil {
				t.Fatalf("got error %v, want nil", err)
			}
			if got := stdout.String(); got != usage {
				t.Errorf("got stdout %q, want the usage %q", got, usage)
			}
			if stderr.Len() != 0 {
				t.Errorf("got stderr %q, want nothing", stderr.String())
			}
		})
	}
}

// TestBinaryConfigError builds the real command and checks what an operator sees: exit
// code 2 and one line per problem on stderr, never the token.
func TestBinaryConfigError(t *testing.T) {
	t.Parallel()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("got error %v looking up go, want the go command on PATH", err)
	}
	bin := filepath.Join(t.TempDir(), "zhucun")
	build := exec.CommandContext(t.Context(), goBin, "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: got error %v, want nil; output:\n%s", err, out)
	}

	tests := []struct {
		name      string
		args      []string
		env       []string
		wantLines []string // prefixes of the stderr lines, in order
		secret    string   // must not appear on stderr
	}{
		{
			name:      "bad timezone",
			env:       []string{"TELEGRAM_BOT_TOKEN=" + cfgToken, "ZHUCUN_TIMEZONE=Mars/Olympus_Mons"},
			wantLines: []string{"zhucun: config: ZHUCUN_TIMEZONE: "},
			secret:    cfgToken,
		},
		{
			name:      "bad timezone by flag",
			args:      []string{"serve", "--zhucun-timezone", "Mars/Olympus_Mons"},
			env:       []string{"TELEGRAM_BOT_TOKEN=" + cfgToken},
			wantLines: []string{"zhucun: config: ZHUCUN_TIMEZONE: "},
			secret:    cfgToken,
		},
		{
			name:      "malformed token",
			env:       []string{"TELEGRAM_BOT_TOKEN=123:short-secret-value"},
			wantLines: []string{"zhucun: config: TELEGRAM_BOT_TOKEN: "},
			secret:    "short-secret-value",
		},
		{
			name: "two problems",
			env:  []string{"TELEGRAM_BOT_TOKEN=" + cfgToken, "ZHUCUN_TIMEZONE=Mars/Olympus_Mons", "ZHUCUN_DEFAULT_LOCALE=fr"},
			wantLines: []string{
				"zhucun: config: ZHUCUN_TIMEZONE: ",
				"zhucun: config: ZHUCUN_DEFAULT_LOCALE: ",
			},
			secret: cfgToken,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			home := t.TempDir()
			cmd := exec.CommandContext(t.Context(), bin, tc.args...)
			cmd.Dir = home
			cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + home}, tc.env...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			var exitErr *exec.ExitError
			if !errors.As(err, &exitErr) {
				t.Fatalf("got error %v, want an exit error", err)
			}
			if got := exitErr.ExitCode(); got != 2 {
				t.Errorf("got exit code %d, want 2", got)
			}
			out := stderr.String()
			if !strings.HasSuffix(out, "\n") {
				t.Fatalf("got stderr %q, want it to end with a newline", out)
			}
			lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			if len(lines) != len(tc.wantLines) {
				t.Fatalf("got %d stderr lines %q, want %d", len(lines), lines, len(tc.wantLines))
			}
			for i, want := range tc.wantLines {
				if !strings.HasPrefix(lines[i], want) {
					t.Errorf("got stderr line %d %q, want it to start with %q", i+1, lines[i], want)
				}
			}
			if strings.Contains(out, tc.secret) {
				t.Errorf("got stderr %q, want it without %q", out, tc.secret)
			}
			if stdout.Len() != 0 {
				t.Errorf("got stdout %q, want nothing", stdout.String())
			}
		})
	}
}
