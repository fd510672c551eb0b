package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/jackc/pgx/v5"
	"go.uber.org/goleak"

	"zhucun/store"
	"zhucun/store/storetest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// pgConn opens a plain connection to the schema at url, for reading what the store
// has no method for; it is closed when the test ends.
func pgConn(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatalf("connect to %s: %v", url, err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// queryInt runs a query that returns one integer.
func queryInt(t *testing.T, conn *pgx.Conn, q string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := conn.QueryRow(t.Context(), q, args...).Scan(&n); err != nil {
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

func TestInTx(t *testing.T) {
	t.Parallel()

	t.Run("commit keeps the writes", func(t *testing.T) {
		t.Parallel()
		ctx := t.Context()
		db := storetest.DB(t)
		err := db.InTx(ctx, func(tx *store.DB) error {
			_, err := tx.TouchUser(ctx, 1, "Ann", "en")
			return err
		})
		if err != nil {
			t.Fatalf("InTx: got %v, want nil", err)
		}
		if _, err := db.UserByID(ctx, 1); err != nil {
			t.Errorf("UserByID after commit: got %v, want nil", err)
		}
	})

	t.Run("error rolls back", func(t *testing.T) {
		t.Parallel()
		ctx := t.Context()
		db := storetest.DB(t)
		err := db.InTx(ctx, func(tx *store.DB) error {
			if _, err := tx.TouchUser(ctx, 1, "Ann", "en"); err != nil {
				return err
			}
			return errRollback
		})
		if !errors.Is(err, errRollback) {
			t.Fatalf("InTx: got %v, want %v", err, errRollback)
		}
		if _, err := db.UserByID(ctx, 1); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("UserByID after rollback: got %v, want %v", err, store.ErrNotFound)
		}
	})

	t.Run("nested rollback keeps the outer writes", func(t *testing.T) {
		t.Parallel()
		ctx := t.Context()
		db := storetest.DB(t)
		err := db.InTx(ctx, func(tx *store.DB) error {
			if _, err := tx.TouchUser(ctx, 1, "Ann", "en"); err != nil {
				return err
			}
			inner := tx.InTx(ctx, func(tx *store.DB) error {
				if _, err := tx.TouchUser(ctx, 2, "Bob", "en"); err != nil {
					return err
				}
				return errRollback
			})
			if !errors.Is(inner, errRollback) {
				t.Errorf("inner InTx: got %v, want %v", inner, errRollback)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("InTx: got %v, want nil", err)
		}
		if _, err := db.UserByID(ctx, 1); err != nil {
			t.Errorf("UserByID(1): got %v, want nil", err)
		}
		if _, err := db.UserByID(ctx, 2); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("UserByID(2): got %v, want %v", err, store.ErrNotFound)
		}
	})
}

func TestPing(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := storetest.DB(t)
	if err := db.Ping(ctx); err != nil {
		t.Errorf("Ping: got %v, want nil", err)
	}
	err := db.InTx(ctx, func(tx *store.DB) error { return tx.Ping(ctx) })
	if err == nil {
		t.Errorf("Ping inside a transaction: got nil, want an error")
	}
}

func TestOpenFails(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		url  string
	}{
		{name: "malformed url", url: "postgres://%zz"},
		{name: "nobody listening", url: "postgres://127.0.0.1:1/test?sslmode=disable&connect_timeout=5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			db, err := store.Open(t.Context(), tt.url)
			if err == nil {
				db.Close()
				t.Fatalf("Open(%q): got nil error, want one", tt.url)
			}
		})
	}
}
