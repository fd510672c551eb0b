package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"zhucun/bot/bottest"
	"zhucun/store"
)

// TestServeWithTokenOnly runs `zhucun serve` with nothing but the bot token (and the
// fake Bot API, a temporary data dir and a free port): it makes its SQLite files and
// its secret in the data dir, runs the reminders on River in that file, and answers
// /start.
func TestServeWithTokenOnly(t *testing.T) {
	t.Parallel()
	api := bottest.NewServer(t, testToken)
	dir := filepath.Join(t.TempDir(), "data")
	env := map[string]string{
		"TELEGRAM_BOT_TOKEN": testToken,
		"TELEGRAM_API_URL":   api.URL(),
		"ZHUCUN_DATA_DIR":    dir,
		"ZHUCUN_HTTP_ADDR":   "127.0.0.1:0",
	}
	ctx, cancel := context.WithCancel(context.Background())
	logs := newLogBuffer()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve"}, func(k string) string { return env[k] }, &bytes.Buffer{}, logs)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	// Starting applies every migration of the store and of River to fresh SQLite
	// files: slow under the race detector on a busy machine.
	logs.waitForWithin(t, `"msg":"bot ready"`, time.Minute)

	u := api.NewUser(3001, "赵六", "zh-hans")
	u.Command("start")
	if got := last(t, api, u.ID, 1).Text; got == "" {
		t.Fatal("no answer to /start")
	}
	for _, name := range []string{"zhucun.db", "zhucun.state.db", "secret"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("data dir: %v", err)
		}
	}
	info, err := os.Stat(filepath.Join(dir, "secret"))
	if err == nil && info.Mode().Perm() != 0o600 {
		t.Errorf("secret file mode %v, want 0600", info.Mode().Perm())
	}
	// The user is in the records of the SQLite file.
	db, err := store.OpenSQLite(t.Context(), filepath.Join(dir, "zhucun.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got, err := db.UserByID(t.Context(), u.ID); err != nil || got.FirstName != "赵六" {
		t.Errorf("user in the SQLite file: got %+v, %v, want 赵六", got, err)
	}
}

func TestEmbeddedSecret(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	first, err := embeddedSecret(dir)
	if err != nil || len(first) != secretFileBytes {
		t.Fatalf("first: got %d bytes, %v, want %d bytes", len(first), err, secretFileBytes)
	}
	again, err := embeddedSecret(dir)
	if err != nil || !bytes.Equal(again, first) {
		t.Fatalf("again: got %x, %v, want the same key %x", again, err, first)
	}
	b, err := os.ReadFile(filepath.Join(dir, "secret"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(b)); got != base64.StdEncoding.EncodeToString(first) {
		t.Errorf("file holds %q, want the key in base64", got)
	}
	if err := os.WriteFile(filepath.Join(dir, "secret"), []byte("short"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := embeddedSecret(dir); err == nil {
		t.Error("a file without a key: got nil error, want one")
	}
}

func TestStateFile(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  config
		want string
	}{
		{"default", config{DatabaseURL: "data/zhucun.db", DataDir: "data"}, "data/zhucun.state.db"},
		{"no extension", config{DatabaseURL: "/var/lib/z", DataDir: "data"}, "/var/lib/z.state.db"},
		{"postgres", config{DatabaseURL: "postgres://h/db", DataDir: "/srv/data"}, "/srv/data/state.db"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := stateFile(tc.cfg); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestMigrateEmbedded runs `zhucun migrate` without DATABASE_URL: the migrations of the
// records and River's go into zhucun.db in the data dir, once.
func TestMigrateEmbedded(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	getenv := func(k string) string { return map[string]string{"ZHUCUN_DATA_DIR": dir}[k] }
	var out bytes.Buffer
	if err := run(t.Context(), []string{"migrate"}, getenv, &out, &bytes.Buffer{}); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	ms, err := store.SQLiteMigrations()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), ms[len(ms)-1].Name) || !strings.Contains(out.String(), "river_") {
		t.Errorf("migrate said %q, want the store's and River's migrations", out.String())
	}
	out.Reset()
	if err := run(t.Context(), []string{"migrate"}, getenv, &out, &bytes.Buffer{}); err != nil {
		t.Fatalf("second migrate: %v", err)
	}
	if got := out.String(); got != "applied 0 migration(s)\n" {
		t.Errorf("second migrate said %q, want none applied", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "zhucun.db")); err != nil {
		t.Error(err)
	}
}
