package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"zhucun/store"
	"zhucun/store/storetest"
)

func TestMarkProcessed(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	storetest.Each(t, func(t *testing.T, db *store.DB) {

		if done, err := db.Processed(ctx, 7); err != nil || done {
			t.Fatalf("Processed before marking: got %v, %v, want false, nil", done, err)
		}
		fresh, err := db.MarkProcessed(ctx, 7)
		if err != nil || !fresh {
			t.Fatalf("first MarkProcessed: got %v, %v, want true, nil", fresh, err)
		}
		fresh, err = db.MarkProcessed(ctx, 7)
		if err != nil || fresh {
			t.Errorf("second MarkProcessed: got %v, %v, want false, nil", fresh, err)
		}
		if done, err := db.Processed(ctx, 7); err != nil || !done {
			t.Errorf("Processed: got %v, %v, want true, nil", done, err)
		}
		if done, err := db.Processed(ctx, 8); err != nil || done {
			t.Errorf("Processed of another update: got %v, %v, want false, nil", done, err)
		}
	})
}

func TestMarkProcessedInTx(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		txErr    error
		wantDone bool
	}{
		{name: "commit", txErr: nil, wantDone: true},
		{name: "rollback", txErr: errRollback, wantDone: false},
	}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				ctx := t.Context()
				updateID := int64(i + 1)

				err := db.InTx(ctx, func(tx *store.DB) error {
					fresh, err := tx.MarkProcessed(ctx, updateID)
					if err != nil || !fresh {
						t.Errorf("MarkProcessed: got %v, %v, want true, nil", fresh, err)
					}
					if done, err := tx.Processed(ctx, updateID); err != nil || !done {
						t.Errorf("Processed inside the transaction: got %v, %v, want true, nil", done, err)
					}
					if done, err := db.Processed(ctx, updateID); err != nil || done {
						t.Errorf("Processed outside before commit: got %v, %v, want false, nil", done, err)
					}
					return tt.txErr
				})
				if !errors.Is(err, tt.txErr) {
					t.Fatalf("InTx: got %v, want %v", err, tt.txErr)
				}
				if done, err := db.Processed(ctx, updateID); err != nil || done != tt.wantDone {
					t.Errorf("Processed after InTx: got %v, %v, want %v, nil", done, err, tt.wantDone)
				}
				fresh, err := db.MarkProcessed(ctx, updateID)
				if err != nil || fresh == tt.wantDone {
					t.Errorf("MarkProcessed after InTx: got %v, %v, want %v, nil", fresh, err, !tt.wantDone)
				}
			})
		}
	})
}

// waitBlocked waits until a session is blocked by another while holding a lock on this
// schema's processed_updates: the second marker of an update waits on the first.
func waitBlocked(ctx context.Context, pool *pgxpool.Pool) error {
	const q = `SELECT EXISTS (SELECT 1 FROM pg_locks
		WHERE relation = 'processed_updates'::regclass AND granted
			AND cardinality(pg_blocking_pids(pid)) > 0)`
	for {
		var blocked bool
		if err := pool.QueryRow(ctx, q).Scan(&blocked); err != nil {
			return fmt.Errorf("wait for the second transaction to block: %w", err)
		}
		if blocked {
			return nil
		}
	}
}

// TestMarkProcessedConcurrent is Postgres only: it watches pg_locks for the second
// marker to wait on the first. On SQLite the second transaction cannot even begin
// while the first holds the write lock (TestInTxSerialisesWriters covers that).
func TestMarkProcessedConcurrent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		firstErr   error // what the first transaction returns
		wantSecond bool
	}{
		{name: "first commits", firstErr: nil, wantSecond: false},
		{name: "first rolls back", firstErr: errRollback, wantSecond: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(t.Context(), concurrentTimeout)
			defer cancel()
			db, url := storetest.DBURL(t)
			pool := pgPool(t, url)
			const updateID = 42

			marked := make(chan struct{})
			release := make(chan struct{})
			var firstFresh, secondFresh bool
			var firstErr, secondErr error
			var wg sync.WaitGroup
			wg.Go(func() {
				firstErr = db.InTx(ctx, func(tx *store.DB) error {
					var err error
					firstFresh, err = tx.MarkProcessed(ctx, updateID)
					close(marked)
					if err != nil {
						return err
					}
					<-release
					return tt.firstErr
				})
			})
			wg.Go(func() {
				<-marked
				secondErr = db.InTx(ctx, func(tx *store.DB) error {
					var err error
					secondFresh, err = tx.MarkProcessed(ctx, updateID)
					return err
				})
			})
			<-marked
			waitErr := waitBlocked(ctx, pool)
			close(release)
			wg.Wait()

			if waitErr != nil {
				t.Fatal(waitErr)
			}
			if !errors.Is(firstErr, tt.firstErr) || !firstFresh {
				t.Errorf("first: got %v, %v, want true, %v", firstFresh, firstErr, tt.firstErr)
			}
			if secondErr != nil || secondFresh != tt.wantSecond {
				t.Errorf("second: got %v, %v, want %v, nil", secondFresh, secondErr, tt.wantSecond)
			}
			if done, err := db.Processed(ctx, updateID); err != nil || !done {
				t.Errorf("Processed: got %v, %v, want true, nil", done, err)
			}
		})
	}
}

func TestClaimReplies(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		replies := json.RawMessage(`[{"chat_id": 5, "text": "已签到"}, {"chat_id": 5, "text": "谢谢"}]`)
		err := db.InTx(ctx, func(tx *store.DB) error {
			if _, err := tx.MarkProcessed(ctx, 7); err != nil {
				return err
			}
			return tx.SetReplies(ctx, 7, replies)
		})
		if err != nil {
			t.Fatalf("MarkProcessed and SetReplies: %v", err)
		}

		got, err := db.ClaimReplies(ctx, 7, time.Hour)
		if err != nil {
			t.Fatalf("ClaimReplies: got %v, want nil", err)
		}
		if !jsonEqual(t, got, replies) {
			t.Errorf("ClaimReplies: got %s, want %s", got, replies)
		}
		// Claimed and not yet sent: a second claim waits for the first.
		if got, err := db.ClaimReplies(ctx, 7, time.Hour); !errors.Is(err, store.ErrConflict) {
			t.Errorf("second ClaimReplies: got %s, %v, want %v", got, err, store.ErrConflict)
		}
		// The first claimer died: once the lease is over the replies are handed out again.
		if got, err := db.ClaimReplies(ctx, 7, 0); err != nil || !jsonEqual(t, got, replies) {
			t.Errorf("ClaimReplies after the lease: got %s, %v, want %s", got, err, replies)
		}
		if err := db.RepliesSent(ctx, 7); err != nil {
			t.Fatalf("RepliesSent: %v", err)
		}
		if got, err := db.ClaimReplies(ctx, 7, 0); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("ClaimReplies once sent: got %s, %v, want %v", got, err, store.ErrNotFound)
		}
		if got, err := db.ClaimReplies(ctx, 8, time.Hour); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("ClaimReplies of an unknown update: got %s, %v, want %v", got, err, store.ErrNotFound)
		}

		// The marker keeps no trace of who was answered.
		var kept string
		var sent bool
		err = store.Raw(db).QueryRow(ctx, `SELECT CAST(replies AS text), sent_at IS NOT NULL FROM processed_updates WHERE update_id = 7`).Scan(&kept, &sent)
		if err != nil {
			t.Fatalf("read marker: %v", err)
		}
		if kept != "[]" || !sent {
			t.Errorf("marker once sent: got replies %s, sent %v, want [], true", kept, sent)
		}
		if done, err := db.Processed(ctx, 7); err != nil || !done {
			t.Errorf("Processed after claim: got %v, %v, want true, nil", done, err)
		}
	})
}

func TestClaimRepliesWithoutReplies(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		if _, err := db.MarkProcessed(ctx, 7); err != nil {
			t.Fatalf("MarkProcessed: %v", err)
		}
		got, err := db.ClaimReplies(ctx, 7, time.Hour)
		if err != nil || !jsonEqual(t, got, []byte(`[]`)) {
			t.Errorf("ClaimReplies: got %s, %v, want [], nil", got, err)
		}
		if got, err := db.ClaimReplies(ctx, 7, time.Hour); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("second ClaimReplies of none: got %s, %v, want %v", got, err, store.ErrNotFound)
		}
	})
}

func TestClaimRepliesConcurrent(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), concurrentTimeout)
	defer cancel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		if _, err := db.MarkProcessed(ctx, 7); err != nil {
			t.Fatalf("MarkProcessed: %v", err)
		}
		if err := db.SetReplies(ctx, 7, json.RawMessage(`[{"text":"hi"}]`)); err != nil {
			t.Fatalf("SetReplies: %v", err)
		}

		const claimers = 10
		errs := make([]error, claimers)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range claimers {
			wg.Go(func() {
				<-start
				_, errs[i] = db.ClaimReplies(ctx, 7, time.Hour)
			})
		}
		close(start)
		wg.Wait()

		var ok, conflict int
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case errors.Is(err, store.ErrConflict):
				conflict++
			default:
				t.Errorf("ClaimReplies: got %v, want nil or %v", err, store.ErrConflict)
			}
		}
		if ok != 1 || conflict != claimers-1 {
			t.Errorf("claims: got %d ok and %d conflicts, want 1 and %d", ok, conflict, claimers-1)
		}
	})
}

func TestAddDeadLetter(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		d := store.DeadLetter{
			UpdateID: 99, Kind: "message", Attempts: 5, LastError: "handle: boom",
			Payload: json.RawMessage(`{"update_id": 99, "message": {"text": "/start"}}`),
		}
		if err := db.AddDeadLetter(ctx, d); err != nil {
			t.Fatalf("AddDeadLetter: got %v, want nil", err)
		}
		if done, err := db.Processed(ctx, 99); err != nil || !done {
			t.Errorf("Processed: got %v, %v, want true, nil", done, err)
		}
		if fresh, err := db.MarkProcessed(ctx, 99); err != nil || fresh {
			t.Errorf("MarkProcessed after AddDeadLetter: got %v, %v, want false, nil", fresh, err)
		}

		again := d
		again.Attempts, again.LastError = 6, "handle: boom again"
		if err := db.AddDeadLetter(ctx, again); err != nil {
			t.Errorf("AddDeadLetter again: got %v, want nil", err)
		}

		got, err := db.DeadLetters(ctx)
		if err != nil {
			t.Fatalf("DeadLetters: %v", err)
		}
		if len(got) != 1 {
			t.Fatalf("DeadLetters: got %d rows %+v, want 1", len(got), got)
		}
		g := got[0]
		if g.UpdateID != d.UpdateID || g.Kind != d.Kind || g.Attempts != d.Attempts || g.LastError != d.LastError ||
			!jsonEqual(t, g.Payload, d.Payload) {
			t.Errorf("DeadLetters[0]: got %+v (payload %s), want %+v (payload %s)", g, g.Payload, d, d.Payload)
		}
	})
}

func TestAddDeadLetterOfProcessedUpdate(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		if _, err := db.MarkProcessed(ctx, 99); err != nil {
			t.Fatalf("MarkProcessed: %v", err)
		}
		d := store.DeadLetter{UpdateID: 99, Kind: "message", Attempts: 1, LastError: "x", Payload: json.RawMessage(`{}`)}
		if err := db.AddDeadLetter(ctx, d); err != nil {
			t.Errorf("AddDeadLetter of a processed update: got %v, want nil", err)
		}
		got, err := db.DeadLetters(ctx)
		if err != nil || len(got) != 0 {
			t.Errorf("DeadLetters: got %+v, %v, want none", got, err)
		}
	})
}
