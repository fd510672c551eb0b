package store_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"sync"
	"testing"
	"time"

	"zhucun/store"
	"zhucun/store/storetest"
)

// now is the clock of the invite tests.
var now = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func tokenHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// inviteUsers is how many users, besides the creator (user 1), the invite tests have:
// users 2 to inviteUsers+1.
const inviteUsers = 20

// inviteSetup is a migrated schema with a region tree, an invite creator (user 1) and
// inviteUsers more users. Invites on distinct tokens do not touch each other, so the
// cases of a test share one.
type inviteSetup struct {
	db       *store.DB
	pool     store.Querier
	regionID int64
}

func setupInvites(t *testing.T, db *store.DB) inviteSetup {
	t.Helper()
	ctx := t.Context()
	regions := importTree(t, db)
	for id := int64(1); id <= inviteUsers+1; id++ {
		if _, err := db.TouchUser(ctx, id, "u", "zh-hans"); err != nil {
			t.Fatalf("TouchUser(%d): %v", id, err)
		}
	}
	return inviteSetup{db: db, pool: store.Raw(db), regionID: regions["V1"].ID}
}

// create makes an invite to be a member of V1 on token.
func (s inviteSetup) create(t *testing.T, token string, maxUses int32, expiresAt time.Time) store.Invite {
	t.Helper()
	want := store.Invite{
		Role: store.RoleMember, RegionID: s.regionID, CreatedBy: 1,
		MaxUses: maxUses, ExpiresAt: expiresAt,
	}
	inv, err := s.db.CreateInvite(t.Context(), tokenHash(token), want)
	if err != nil {
		t.Fatalf("CreateInvite: %v", err)
	}
	want.ID = inv.ID
	if inv.ID == 0 || !inv.ExpiresAt.Equal(want.ExpiresAt) {
		t.Fatalf("CreateInvite: got %+v, want %+v", inv, want)
	}
	inv.ExpiresAt = want.ExpiresAt // same instant, maybe another location
	if inv != want {
		t.Fatalf("CreateInvite: got %+v, want %+v", inv, want)
	}
	return inv
}

func (s inviteSetup) uses(t *testing.T, inv store.Invite) int64 {
	t.Helper()
	return queryInt(t, s.pool, `SELECT uses FROM invites WHERE id = $1`, inv.ID)
}

func (s inviteSetup) redemptions(t *testing.T, inv store.Invite) int64 {
	t.Helper()
	return queryInt(t, s.pool, `SELECT count(*) FROM invite_redemptions WHERE invite_id = $1`, inv.ID)
}

// redeemInTx redeems as the caller does: inside a transaction.
func (s inviteSetup) redeemInTx(ctx context.Context, token string, userID int64, at time.Time) (store.Invite, error) {
	var inv store.Invite
	err := s.db.InTx(ctx, func(tx *store.DB) error {
		var err error
		inv, err = tx.RedeemInvite(ctx, tokenHash(token), userID, at)
		return err
	})
	return inv, err
}

func TestCreateInviteDuplicateToken(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := setupInvites(t, db)
		inv := s.create(t, "tok", 1, now.Add(time.Hour))
		_, err := s.db.CreateInvite(t.Context(), tokenHash("tok"), inv)
		if !errors.Is(err, store.ErrConflict) {
			t.Errorf("CreateInvite with a known token: got %v, want %v", err, store.ErrConflict)
		}
	})
}

func TestRedeemInvite(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := setupInvites(t, db)
		want := s.create(t, "tok", 1, now.Add(time.Hour))
		got, err := s.redeemInTx(t.Context(), "tok", 2, now)
		if err != nil {
			t.Fatalf("RedeemInvite: got %v, want nil", err)
		}
		want.Uses = 1
		got.ExpiresAt = want.ExpiresAt
		if got != want {
			t.Errorf("RedeemInvite: got %+v, want %+v", got, want)
		}
		if n := s.uses(t, want); n != 1 {
			t.Errorf("uses: got %d, want 1", n)
		}
		if n := s.redemptions(t, want); n != 1 {
			t.Errorf("redemptions: got %d, want 1", n)
		}
	})
}

func TestRedeemInviteFails(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := setupInvites(t, db)
		tests := []struct {
			name      string
			maxUses   int32
			expiresAt time.Time
			first     int64 // user who redeems first, before the expiry; 0: nobody
			user      int64
			unknown   bool // redeem another token
			wantErr   error
			wantUses  int64
		}{
			{name: "used up", maxUses: 1, expiresAt: now.Add(time.Hour), first: 2, user: 3, wantErr: store.ErrInviteUsedUp, wantUses: 1},
			{name: "same user again", maxUses: 1, expiresAt: now.Add(time.Hour), first: 2, user: 2, wantErr: store.ErrInviteRedeemed, wantUses: 1},
			{name: "same user again, uses left", maxUses: 5, expiresAt: now.Add(time.Hour), first: 2, user: 2, wantErr: store.ErrInviteRedeemed, wantUses: 1},
			{name: "expired", maxUses: 5, expiresAt: now.Add(-time.Minute), user: 2, wantErr: store.ErrInviteExpired},
			{name: "expires now", maxUses: 5, expiresAt: now, user: 2, wantErr: store.ErrInviteExpired},
			{name: "expired and used up", maxUses: 1, expiresAt: now.Add(-time.Minute), first: 2, user: 3, wantErr: store.ErrInviteExpired, wantUses: 1},
			{name: "unknown token", maxUses: 5, expiresAt: now.Add(time.Hour), user: 2, unknown: true, wantErr: store.ErrNotFound},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				token := "tok " + tt.name
				inv := s.create(t, token, tt.maxUses, tt.expiresAt)
				if tt.first != 0 {
					if _, err := s.redeemInTx(t.Context(), token, tt.first, now.Add(-2*time.Minute)); err != nil {
						t.Fatalf("first RedeemInvite: %v", err)
					}
				}
				redeem := token
				if tt.unknown {
					redeem = "no such token"
				}
				_, err := s.redeemInTx(t.Context(), redeem, tt.user, now)
				if !errors.Is(err, tt.wantErr) {
					t.Errorf("RedeemInvite: got %v, want %v", err, tt.wantErr)
				}
				if n := s.uses(t, inv); n != tt.wantUses {
					t.Errorf("uses: got %d, want %d", n, tt.wantUses)
				}
				if n := s.redemptions(t, inv); n != tt.wantUses {
					t.Errorf("redemptions: got %d, want %d", n, tt.wantUses)
				}
			})
		}
	})
}

// TestRedeemInviteOutsideTx redeems on the pool: a refused redemption still takes nothing.
func TestRedeemInviteOutsideTx(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := setupInvites(t, db)
		inv := s.create(t, "tok", 5, now.Add(time.Hour))
		if _, err := s.db.RedeemInvite(ctx, tokenHash("tok"), 2, now); err != nil {
			t.Fatalf("first RedeemInvite: %v", err)
		}
		_, err := s.db.RedeemInvite(ctx, tokenHash("tok"), 2, now)
		if !errors.Is(err, store.ErrInviteRedeemed) {
			t.Errorf("RedeemInvite by the same user: got %v, want %v", err, store.ErrInviteRedeemed)
		}
		if n := s.uses(t, inv); n != 1 {
			t.Errorf("uses after a refused redemption: got %d, want 1", n)
		}
	})
}

func TestRedeemInviteConcurrent(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := setupInvites(t, db)
		tests := []struct {
			name    string
			maxUses int32
		}{
			{name: "single use", maxUses: 1},
			{name: "five uses", maxUses: 5},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				token := "tok " + tt.name
				inv := s.create(t, token, tt.maxUses, now.Add(time.Hour))
				ctx, cancel := context.WithTimeout(t.Context(), concurrentTimeout)
				defer cancel()

				errs := make([]error, inviteUsers)
				start := make(chan struct{})
				var wg sync.WaitGroup
				for i := range inviteUsers {
					wg.Go(func() {
						<-start
						_, errs[i] = s.redeemInTx(ctx, token, int64(i)+2, now)
					})
				}
				close(start)
				wg.Wait()

				var ok, usedUp int
				for i, err := range errs {
					switch {
					case err == nil:
						ok++
					case errors.Is(err, store.ErrInviteUsedUp):
						usedUp++
					default:
						t.Errorf("RedeemInvite by user %d: got %v, want nil or %v", i+2, err, store.ErrInviteUsedUp)
					}
				}
				if ok != int(tt.maxUses) || usedUp != inviteUsers-int(tt.maxUses) {
					t.Errorf("redemptions: got %d ok and %d used up, want %d and %d", ok, usedUp, tt.maxUses, inviteUsers-int(tt.maxUses))
				}
				if n := s.uses(t, inv); n != int64(tt.maxUses) {
					t.Errorf("uses: got %d, want %d", n, tt.maxUses)
				}
				if n := s.redemptions(t, inv); n != int64(tt.maxUses) {
					t.Errorf("redemption rows: got %d, want %d", n, tt.maxUses)
				}
			})
		}
	})
}
