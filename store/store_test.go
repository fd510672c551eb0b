package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/goleak"

	"zhucun/store"
	"zhucun/store/storetest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// pgPool opens a plain pool on the schema at url, for reading what the store has no
// method for; it is closed when the test ends.
func pgPool(t *testing.T, url string) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(t.Context(), url)
	if err != nil {
		t.Fatalf("connect to %s: %v", url, err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// queryInt runs a query that returns one integer.
func queryInt(t *testing.T, pool store.Querier, q string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := pool.QueryRow(t.Context(), q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// jsonEqual reports whether two JSON documents hold the same value (jsonb reorders keys
// and drops spaces).
func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var va, vb any
	if err := json.Unmarshal(a, &va); err != nil {
		t.Fatalf("unmarshal %s: %v", a, err)
	}
	if err := json.Unmarshal(b, &vb); err != nil {
		t.Fatalf("unmarshal %s: %v", b, err)
	}
	return reflect.DeepEqual(va, vb)
}

var errRollback = errors.New("roll back")

// concurrentTimeout bounds a test whose goroutines wait on each other, so that a
// deadlock fails it instead of hanging the run.
const concurrentTimeout = 20 * time.Second

func TestInTx(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		tests := []struct {
			name      string
			fn        func(ctx context.Context, tx *store.DB, id int64) error
			wantErr   error
			wantOuter bool // user id is kept
			wantInner bool // user id+1 is kept
		}{
			{
				name: "commit keeps the writes",
				fn: func(ctx context.Context, tx *store.DB, id int64) error {
					_, err := tx.TouchUser(ctx, id, "Ann", "en")
					return err
				},
				wantOuter: true,
			},
			{
				name: "error rolls back",
				fn: func(ctx context.Context, tx *store.DB, id int64) error {
					if _, err := tx.TouchUser(ctx, id, "Ann", "en"); err != nil {
						return err
					}
					return errRollback
				},
				wantErr: errRollback,
			},
			{
				name: "nested rollback keeps the outer writes",
				fn: func(ctx context.Context, tx *store.DB, id int64) error {
					if _, err := tx.TouchUser(ctx, id, "Ann", "en"); err != nil {
						return err
					}
					inner := tx.InTx(ctx, func(tx *store.DB) error {
						if _, err := tx.TouchUser(ctx, id+1, "Bob", "en"); err != nil {
							return err
						}
						return errRollback
					})
					if !errors.Is(inner, errRollback) {
						return fmt.Errorf("inner InTx: got %v, want %v", inner, errRollback)
					}
					return nil
				},
				wantOuter: true,
			},
			{
				name: "nested commit",
				fn: func(ctx context.Context, tx *store.DB, id int64) error {
					if _, err := tx.TouchUser(ctx, id, "Ann", "en"); err != nil {
						return err
					}
					return tx.InTx(ctx, func(tx *store.DB) error {
						_, err := tx.TouchUser(ctx, id+1, "Bob", "en")
						return err
					})
				},
				wantOuter: true, wantInner: true,
			},
		}
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				ctx := t.Context()
				id := int64(10 * (i + 1))
				err := db.InTx(ctx, func(tx *store.DB) error { return tt.fn(ctx, tx, id) })
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("InTx: got %v, want %v", err, tt.wantErr)
				}
				for uid, want := range map[int64]bool{id: tt.wantOuter, id + 1: tt.wantInner} {
					_, err := db.UserByID(ctx, uid)
					if err != nil && !errors.Is(err, store.ErrNotFound) {
						t.Fatalf("UserByID(%d): %v", uid, err)
					}
					if got := err == nil; got != want {
						t.Errorf("user %d kept: got %v, want %v", uid, got, want)
					}
				}
			})
		}
	})
}

func TestPing(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		if err := db.Ping(ctx); err != nil {
			t.Errorf("Ping: got %v, want nil", err)
		}
		err := db.InTx(ctx, func(tx *store.DB) error { return tx.Ping(ctx) })
		if err == nil {
			t.Errorf("Ping inside a transaction: got nil, want an error")
		}
	})
}

func TestOpenFails(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		url  string
	}{
		{name: "malformed url", url: "postgres://u:s3cret@%zz/test"},
		{name: "bad port", url: "postgres://u:s3cret@127.0.0.1:port/test"},
		{name: "nobody listening", url: "postgres://u:s3cret@127.0.0.1:1/test?sslmode=disable&connect_timeout=5"},
		{name: "sqlite file in a missing directory that cannot be made", url: "/proc/zhucun-missing/z.db"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			db, err := store.OpenURL(t.Context(), tt.url)
			if err == nil {
				db.Close()
				t.Fatalf("Open(%q): got nil error, want one", tt.url)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("Open: got error %q, want one without the password", err)
			}
		})
	}
}

// TestSQLiteInTxSerialisesWriters runs transactions that read a value and write it back
// changed, all at once, on SQLite: each takes the write lock at its start, so none fails
// as busy and no update is lost. (Postgres gives the same with FOR UPDATE, which these
// reads do not take: there the test would not hold.)
func TestSQLiteInTxSerialisesWriters(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), concurrentTimeout)
	defer cancel()
	db := storetest.SQLite(t)
	if _, err := db.TouchUser(ctx, 1, "Ann", "en"); err != nil {
		t.Fatal(err)
	}
	const writers = 16
	errs := make([]error, writers)
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			errs[i] = db.InTx(ctx, func(tx *store.DB) error {
				u, err := tx.UserByID(ctx, 1)
				if err != nil {
					return err
				}
				return tx.SetLocale(ctx, 1, u.Locale+"x")
			})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("writer %d: got %v, want nil", i, err)
		}
	}
	u, err := db.UserByID(ctx, 1)
	if err != nil || len(u.Locale) != writers {
		t.Errorf("locale after %d writers: got %q, %v, want %d letters", writers, u.Locale, err, writers)
	}
}
