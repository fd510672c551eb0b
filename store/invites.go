package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

var (
	// ErrInviteExpired reports an invite past its expiry (or revoked).
	ErrInviteExpired = errors.New("invite expired")
	// ErrInviteUsedUp reports an invite whose uses are all taken.
	ErrInviteUsedUp = errors.New("invite used up")
	// ErrInviteRedeemed reports that this user already joined with this invite.
	ErrInviteRedeemed = errors.New("invite already redeemed by this user")
)

// Invite is a role at a node offered through a token. Only the token's hash is kept.
type Invite struct {
	ID        int64     `db:"id"`
	Role      string    `db:"role"`
	RegionID  int64     `db:"region_id"`
	CreatedBy int64     `db:"created_by"`
	MaxUses   int32     `db:"max_uses"`
	Uses      int32     `db:"uses"`
	ExpiresAt time.Time `db:"expires_at"`
}

const inviteColumns = `id, role, region_id, created_by, max_uses, uses, expires_at`

// CreateInvite stores a new invite under the hash of its token.
func (db *DB) CreateInvite(ctx context.Context, tokenHash []byte, inv Invite) (Invite, error) {
	const q = `INSERT INTO invites (token_hash, role, region_id, created_by, max_uses, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING ` + inviteColumns
	out, err := collectOne[Invite](ctx, db, q, tokenHash, inv.Role, inv.RegionID, inv.CreatedBy, inv.MaxUses, inv.ExpiresAt)
	if err != nil {
		return Invite{}, fmt.Errorf("create invite: %w", err)
	}
	return out, nil
}

// RedeemInvite takes one use of the invite with that token hash for userID, at now.
// Concurrent redemptions cannot take more uses than the invite has: the use is taken
// by one conditional UPDATE. It fails with ErrNotFound (no such token), ErrInviteExpired,
// ErrInviteUsedUp or ErrInviteRedeemed, and then takes nothing.
func (db *DB) RedeemInvite(ctx context.Context, tokenHash []byte, userID int64, now time.Time) (Invite, error) {
	const take = `UPDATE invites SET uses = uses + 1
		WHERE token_hash = $1 AND uses < max_uses AND expires_at > $2 AND revoked_at IS NULL
		RETURNING ` + inviteColumns
	const mark = `INSERT INTO invite_redemptions (invite_id, user_id) VALUES ($1, $2)`
	var inv Invite
	// One transaction (a savepoint inside the caller's): a refused redemption takes no use.
	err := db.InTx(ctx, func(tx *DB) error {
		var err error
		inv, err = collectOne[Invite](ctx, tx, take, tokenHash, now)
		if errors.Is(err, ErrNotFound) {
			return tx.whyNotRedeemable(ctx, tokenHash, userID, now)
		}
		if err != nil {
			return fmt.Errorf("redeem invite: %w", err)
		}
		if _, err := tx.q.Exec(ctx, mark, inv.ID, userID); err != nil {
			if errors.Is(interpret(err), ErrConflict) {
				return ErrInviteRedeemed
			}
			return fmt.Errorf("redeem invite: %w", err)
		}
		return nil
	})
	if err != nil {
		return Invite{}, err
	}
	return inv, nil
}

func (db *DB) whyNotRedeemable(ctx context.Context, tokenHash []byte, userID int64, now time.Time) error {
	const q = `SELECT ` + inviteColumns + `, revoked_at IS NOT NULL AS revoked,
			EXISTS (SELECT 1 FROM invite_redemptions r WHERE r.invite_id = invites.id AND r.user_id = $2)
		FROM invites WHERE token_hash = $1`
	var inv Invite
	var revoked, mine bool
	err := db.q.QueryRow(ctx, q, tokenHash, userID).Scan(&inv.ID, &inv.Role, &inv.RegionID, &inv.CreatedBy,
		&inv.MaxUses, &inv.Uses, &inv.ExpiresAt, &revoked, &mine)
	switch {
	case err != nil:
		return interpret(err)
	case mine:
		return ErrInviteRedeemed
	case revoked || !inv.ExpiresAt.After(now):
		return ErrInviteExpired
	default:
		return ErrInviteUsedUp
	}
}
