package store_test

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"zhucun/store"
	"zhucun/store/storetest"
)

// migrationNames is the name of every embedded migration, in order.
func migrationNames(t *testing.T) []string {
	t.Helper()
	ms, err := store.Migrations()
	if err != nil {
		t.Fatalf("Migrations: %v", err)
	}
	var names []string
	for _, m := range ms {
		names = append(names, m.Name)
	}
	return names
}

// eachUnmigrated runs body on each backend (subtests postgres and sqlite) with the URL
// of a fresh database that is not migrated yet.
func eachUnmigrated(t *testing.T, body func(t *testing.T, url string)) {
	t.Run("postgres", func(t *testing.T) {
		body(t, storetest.Schema(t))
	})
	t.Run("sqlite", func(t *testing.T) {
		body(t, filepath.Join(t.TempDir(), "zhucun.db"))
	})
}

// openSchema opens the store at url (not migrated yet).
func openSchema(t *testing.T, url string) *store.DB {
	t.Helper()
	db, err := store.OpenURL(t.Context(), url)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(db.Close)
	return db
}

func TestMigrations(t *testing.T) {
	t.Parallel()
	ms, err := store.Migrations()
	if err != nil {
		t.Fatalf("Migrations: got %v, want nil", err)
	}
	if len(ms) == 0 {
		t.Fatal("Migrations: got none, want at least one")
	}
	for i, m := range ms {
		if m.Version != i+1 {
			t.Errorf("migration %d (%s): got version %d, want %d", i, m.Name, m.Version, i+1)
		}
		if prefix := fmt.Sprintf("%03d_", i+1); !strings.HasPrefix(m.Name, prefix) {
			t.Errorf("migration %d: got name %q, want prefix %q", i, m.Name, prefix)
		}
		if strings.TrimSpace(m.SQL) == "" {
			t.Errorf("migration %s: got empty SQL, want statements", m.Name)
		}
	}
}

// TestSQLiteMigrationsMatch checks that the SQLite migrations have the numbers and names
// of the Postgres ones: one schema history, in two dialects.
func TestSQLiteMigrationsMatch(t *testing.T) {
	t.Parallel()
	lite, err := store.SQLiteMigrations()
	if err != nil {
		t.Fatalf("SQLiteMigrations: %v", err)
	}
	var names []string
	for _, m := range lite {
		names = append(names, m.Name)
	}
	if want := migrationNames(t); !reflect.DeepEqual(names, want) {
		t.Errorf("SQLite migrations: got %q, want %q", names, want)
	}
}

func TestMigrate(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	want := migrationNames(t)
	eachUnmigrated(t, func(t *testing.T, url string) {
		db := openSchema(t, url)

		got, err := db.Migrate(ctx)
		if err != nil {
			t.Fatalf("first Migrate: got %v, want nil", err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("first Migrate: got %q, want %q", got, want)
		}

		got, err = db.Migrate(ctx)
		if err != nil {
			t.Fatalf("second Migrate: got %v, want nil", err)
		}
		if len(got) != 0 {
			t.Errorf("second Migrate: got %q, want none", got)
		}

		pool := store.Raw(db)
		if n := queryInt(t, pool, `SELECT count(*) FROM schema_migrations`); n != int64(len(want)) {
			t.Errorf("schema_migrations rows: got %d, want %d", n, len(want))
		}
		// The schema works: a table of the first migration answers.
		if n := queryInt(t, pool, `SELECT count(*) FROM regions`); n != 0 {
			t.Errorf("regions rows: got %d, want 0", n)
		}
	})
}

func TestMigrateInsideTransaction(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		err := db.InTx(ctx, func(tx *store.DB) error {
			_, err := tx.Migrate(ctx)
			return err
		})
		if err == nil {
			t.Error("Migrate inside InTx: got nil error, want one")
		}
	})
}

func TestMigrateConcurrent(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), concurrentTimeout)
	defer cancel()
	const replicas = 5
	want := migrationNames(t)
	eachUnmigrated(t, func(t *testing.T, url string) {
		dbs := make([]*store.DB, replicas)
		for i := range dbs {
			dbs[i] = openSchema(t, url)
		}

		applied := make([][]string, replicas)
		errs := make([]error, replicas)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i, db := range dbs {
			wg.Go(func() {
				<-start
				applied[i], errs[i] = db.Migrate(ctx)
			})
		}
		close(start)
		wg.Wait()

		var all []string
		for i := range dbs {
			if errs[i] != nil {
				t.Errorf("Migrate %d: got %v, want nil", i, errs[i])
			}
			all = append(all, applied[i]...)
		}
		// Each migration is applied by exactly one replica.
		if len(all) != len(want) {
			t.Errorf("migrations applied by all replicas: got %q, want %q once each", all, want)
		}

		pool := store.Raw(dbs[0])
		if n := queryInt(t, pool, `SELECT count(*) FROM schema_migrations`); n != int64(len(want)) {
			t.Errorf("schema_migrations rows: got %d, want %d", n, len(want))
		}
		for i, name := range want {
			n := queryInt(t, pool, `SELECT count(*) FROM schema_migrations WHERE version = $1 AND name = $2`, i+1, name)
			if n != 1 {
				t.Errorf("schema_migrations rows for %s: got %d, want 1", name, n)
			}
		}
	})
}
