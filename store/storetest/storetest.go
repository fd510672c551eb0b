// Package storetest gives each test its own migrated Postgres schema (or SQLite file)
// and its own Redis key prefix (or state file), so tests that touch records run in
// parallel against the real services. Each and EachState run a test on both backends.
//
// The services are found through ZHUCUN_TEST_DATABASE_URL (default
// postgres://127.0.0.1:5432/test?sslmode=disable) and ZHUCUN_TEST_REDIS_URL (default
// redis://127.0.0.1:6379/0). A missing service fails the test: `make test` starts them.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"zhucun/store"
)

// DatabaseURL is the base URL of the test database.
func DatabaseURL() string {
	if u := os.Getenv("ZHUCUN_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return "postgres://127.0.0.1:5432/test?sslmode=disable"
}

// RedisURL is the URL of the test Redis.
func RedisURL() string {
	if u := os.Getenv("ZHUCUN_TEST_REDIS_URL"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379/0"
}

func randomName() string {
	b := make([]byte, 6)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Schema creates a fresh schema, migrates it and returns a URL whose connections use it.
// The schema is dropped when the test ends.
func Schema(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	base := DatabaseURL()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("storetest: Postgres is not reachable at ZHUCUN_TEST_DATABASE_URL (run `make test`, which starts it): %v", err)
	}
	defer conn.Close(ctx)
	schema := "test_" + randomName()
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize()); err != nil {
		t.Fatalf("storetest: create schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("storetest: drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			t.Errorf("storetest: drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("storetest: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// DB opens a store on a fresh migrated schema; it is closed when the test ends.
func DB(t testing.TB) *store.DB {
	t.Helper()
	db, _ := DBURL(t)
	return db
}

// DBURL is DB that also returns the URL of the schema, for code that opens its own pool.
func DBURL(t testing.TB) (*store.DB, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	u := Schema(t)
	db, err := store.Open(ctx, u)
	if err != nil {
		t.Fatalf("storetest: %v", err)
	}
	t.Cleanup(db.Close)
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatalf("storetest: %v", err)
	}
	return db, u
}

// Redis returns a client of the test Redis and a key prefix no other test uses; the
// prefix's keys are deleted when the test ends.
func Redis(t testing.TB) (*redis.Client, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rdb, err := store.OpenRedis(ctx, RedisURL())
	if err != nil {
		t.Fatalf("storetest: Redis is not reachable at ZHUCUN_TEST_REDIS_URL (run `make test`, which starts it): %v", err)
	}
	prefix := "test:" + randomName() + ":"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		iter := rdb.Scan(ctx, 0, prefix+"*", 100).Iterator()
		for iter.Next(ctx) {
			rdb.Del(ctx, iter.Val())
		}
		rdb.Close()
	})
	return rdb, prefix
}

// State returns conversation state on the test Redis under a fresh prefix.
func State(t testing.TB, ttl time.Duration) *store.State {
	t.Helper()
	rdb, prefix := Redis(t)
	return store.NewState(rdb, prefix, ttl)
}

// Each runs body as two subtests, "postgres" and "sqlite", each on a fresh migrated
// store of that backend: the conformance of the two backends. The subtests run one
// after the other (the test around them runs in parallel with others).
func Each(t *testing.T, body func(t *testing.T, db *store.DB)) {
	t.Helper()
	EachURL(t, func(t *testing.T, db *store.DB, _ string) { body(t, db) })
}

// EachURL is Each that also gives the DATABASE_URL of the store (a SQLite file's path),
// for code that opens its own connections.
func EachURL(t *testing.T, body func(t *testing.T, db *store.DB, url string)) {
	t.Helper()
	t.Run("postgres", func(t *testing.T) {
		db, u := DBURL(t)
		body(t, db, u)
	})
	t.Run("sqlite", func(t *testing.T) {
		db, u := SQLiteURL(t)
		body(t, db, u)
	})
}

// SQLite opens a store on a fresh migrated SQLite file; it is closed when the test ends.
func SQLite(t testing.TB) *store.DB {
	t.Helper()
	db, _ := SQLiteURL(t)
	return db
}

// SQLiteURL is SQLite that also returns the file's path.
func SQLiteURL(t testing.TB) (*store.DB, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	path := filepath.Join(t.TempDir(), "zhucun.db")
	db, err := store.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatalf("storetest: %v", err)
	}
	t.Cleanup(db.Close)
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatalf("storetest: %v", err)
	}
	return db, path
}

// EachState runs body as two subtests, "redis" and "sqlite": on conversation state in
// the test Redis under a fresh prefix, and on embedded state in a fresh SQLite file.
func EachState(t *testing.T, ttl time.Duration, body func(t *testing.T, st *store.State)) {
	t.Helper()
	t.Run("redis", func(t *testing.T) { body(t, State(t, ttl)) })
	t.Run("sqlite", func(t *testing.T) { body(t, EmbeddedState(t, filepath.Join(t.TempDir(), "state.db"), ttl)) })
}

// EmbeddedState opens embedded conversation state in the SQLite file at path; it is
// closed when the test ends.
func EmbeddedState(t testing.TB, path string, ttl time.Duration) *store.State {
	t.Helper()
	st, err := store.OpenEmbeddedState(t.Context(), path, ttl)
	if err != nil {
		t.Fatalf("storetest: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}
