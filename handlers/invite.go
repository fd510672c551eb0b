package handlers

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	qrcode "github.com/skip2/go-qrcode"

	"zhucun/store"
)

const (
	flowInvite       = "inv"
	stepInviteRole   = "role"
	stepInviteNode   = "node"
	stepInviteExpiry = "exp"
	stepInviteUses   = "uses"

	// tokenBytes of randomness make a 22-character token, well inside Telegram's 64-character
	// start payload.
	tokenBytes = 16
	// Audit actions of invites.
	auditInviteCreate = "invite:create"
	auditInviteRedeem = "invite:redeem"

	// regionsPerPage is how many regions one page of the picker shows.
	regionsPerPage = 10
)

var inviteExpiryDays = []int{1, 7, 30}

// useLimits are the use limits offered for an invite to role; none means single-use.
func useLimits(role string) []int {
	switch role {
	case store.RoleMember:
		return []int{1, 5, 10, 30}
	case store.RoleResident:
		return []int{50, 200, 1000}
	}
	return nil
}

// newInviteToken returns a fresh random token and the hash it is stored under.
func newInviteToken() (token string, hash []byte) {
	b := make([]byte, tokenBytes)
	rand.Read(b) // never fails (crypto/rand)
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, hashToken(token)
}

func hashToken(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// validTokenShape reports whether s could be a token we issued.
func validTokenShape(s string) bool {
	// The decoder skips line breaks, so the length is checked on the text itself.
	if len(s) != base64.RawURLEncoding.EncodedLen(tokenBytes) {
		return false
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil && len(b) == tokenBytes
}

func (h *Handlers) inviteStart(_ context.Context, r *Request) error {
	r.Goto(flowInvite, stepInviteRole)
	var rows [][]Button
	for _, role := range r.grantableRoles() {
		rows = append(rows, []Button{button(r.roleName(role), flowInvite, stepInviteRole, role)})
	}
	r.Prompt(r.T("invite.pick_role"), rows)
	return nil
}

func (h *Handlers) inviteRole(ctx context.Context, r *Request) error {
	role, ok := r.Pressed()
	if !ok {
		r.Say("invite.use_buttons")
		return nil
	}
	if len(r.grantRoots(role)) == 0 && !r.Admin {
		r.Say("common.not_allowed")
		return nil
	}
	r.SetDraft("role", role)
	r.Goto(flowInvite, stepInviteNode)
	return h.showRegions(ctx, r, 0, 0)
}

// showRegions shows one page of the regions under parentID (0: where the user may start)
// that lead to a region the user may grant the drafted role at.
func (h *Handlers) showRegions(ctx context.Context, r *Request, parentID int64, page int) error {
	role := r.Draft("role")
	var list []store.Region
	var here *store.Region
	if parentID == 0 {
		if r.Admin {
			top, err := r.tx.Children(ctx, 0)
			if err != nil {
				return err
			}
			list = top
		} else {
			list = r.grantRoots(role)
		}
	} else {
		p, err := r.tx.RegionByID(ctx, parentID)
		if err != nil {
			return err
		}
		if !r.canSee(p) {
			r.Say("common.not_allowed")
			return nil
		}
		here = &p
		kids, err := r.tx.Children(ctx, parentID)
		if err != nil {
			return err
		}
		list = kids
	}
	var rows [][]Button
	if here != nil && r.canGrant(role, *here) {
		rows = append(rows, []Button{button(r.T("invite.choose_here", "Region", here.DisplayName(r.Locale())), flowInvite, stepInviteNode, "c"+strconv.FormatInt(here.ID, 10))})
	}
	start := min(page*regionsPerPage, len(list))
	end := min(start+regionsPerPage, len(list))
	for _, reg := range list[start:end] {
		value := "o" + strconv.FormatInt(reg.ID, 10)
		label := reg.DisplayName(r.Locale())
		if reg.Level == store.LevelVillage {
			if !r.canGrant(role, reg) {
				continue
			}
			value = "c" + strconv.FormatInt(reg.ID, 10)
		} else {
			label += " ›"
		}
		rows = append(rows, []Button{button(label, flowInvite, stepInviteNode, value)})
	}
	var nav []Button
	if page > 0 {
		nav = append(nav, button(r.T("common.previous"), flowInvite, stepInviteNode, fmt.Sprintf("p%d.%d", parentID, page-1)))
	}
	if end < len(list) {
		nav = append(nav, button(r.T("common.next"), flowInvite, stepInviteNode, fmt.Sprintf("p%d.%d", parentID, page+1)))
	}
	if here != nil {
		up := int64(0)
		if here.ParentID != nil && r.canSee(store.Region{Path: parentPath(here.Path)}) {
			up = *here.ParentID
		}
		nav = append(nav, button(r.T("common.back"), flowInvite, stepInviteNode, fmt.Sprintf("p%d.0", up)))
	}
	if len(nav) > 0 {
		rows = append(rows, nav)
	}
	if len(rows) == 0 {
		r.EndFlow()
		r.Prompt(r.T("invite.no_regions"), nil)
		return nil
	}
	r.Prompt(r.T("invite.pick_region", "Role", r.roleName(role)), rows)
	return nil
}

// parentPath is the path of the region above the one at path.
func parentPath(path string) string {
	trimmed := strings.TrimSuffix(path, "/")
	i := strings.LastIndex(trimmed, "/")
	return trimmed[:i+1]
}

func (h *Handlers) inviteNode(ctx context.Context, r *Request) error {
	v, ok := r.Pressed()
	if !ok || v == "" {
		r.Say("invite.use_buttons")
		return nil
	}
	switch v[0] {
	case 'p':
		parent, page, _ := strings.Cut(v[1:], ".")
		pid, err1 := strconv.ParseInt(parent, 10, 64)
		pg, err2 := strconv.Atoi(page)
		if err1 != nil || err2 != nil || pg < 0 {
			r.Say("invite.use_buttons")
			return nil
		}
		return h.showRegions(ctx, r, pid, pg)
	case 'o':
		id, err := strconv.ParseInt(v[1:], 10, 64)
		if err != nil {
			r.Say("invite.use_buttons")
			return nil
		}
		return h.showRegions(ctx, r, id, 0)
	case 'c':
		id, err := strconv.ParseInt(v[1:], 10, 64)
		if err != nil {
			r.Say("invite.use_buttons")
			return nil
		}
		region, err := r.tx.RegionByID(ctx, id)
		if errors.Is(err, store.ErrNotFound) || (err == nil && !r.canGrant(r.Draft("role"), region)) {
			r.Say("common.not_allowed")
			return nil
		}
		if err != nil {
			return err
		}
		r.SetDraft("region", strconv.FormatInt(id, 10))
		r.Goto(flowInvite, stepInviteExpiry)
		var row []Button
		for _, d := range inviteExpiryDays {
			row = append(row, button(r.T("invite.days", "Days", d), flowInvite, stepInviteExpiry, strconv.Itoa(d)))
		}
		r.Prompt(r.T("invite.pick_expiry", "Region", region.DisplayName(r.Locale())), [][]Button{row})
		return nil
	}
	r.Say("invite.use_buttons")
	return nil
}

func (h *Handlers) inviteExpiry(ctx context.Context, r *Request) error {
	v, _ := r.Pressed()
	days, err := strconv.Atoi(v)
	if err != nil || !slices.Contains(inviteExpiryDays, days) {
		r.Say("invite.use_buttons")
		return nil
	}
	r.SetDraft("days", v)
	// Staff roles that lead or supervise are single-use; a first secretary may hand one
	// link to the whole team, or put one on the notice board for the residents.
	limits := useLimits(r.Draft("role"))
	if len(limits) == 0 {
		return h.inviteCreate(ctx, r, 1)
	}
	r.Goto(flowInvite, stepInviteUses)
	var row []Button
	for _, n := range limits {
		row = append(row, button(strconv.Itoa(n), flowInvite, stepInviteUses, strconv.Itoa(n)))
	}
	r.Prompt(r.T("invite.pick_uses"), [][]Button{row})
	return nil
}

func (h *Handlers) inviteUses(ctx context.Context, r *Request) error {
	v, _ := r.Pressed()
	n, err := strconv.Atoi(v)
	if err != nil || !slices.Contains(useLimits(r.Draft("role")), n) {
		r.Say("invite.use_buttons")
		return nil
	}
	return h.inviteCreate(ctx, r, n)
}

// inviteCreate checks the whole draft once more and issues the invite.
func (h *Handlers) inviteCreate(ctx context.Context, r *Request, uses int) error {
	role := r.Draft("role")
	regionID, err1 := strconv.ParseInt(r.Draft("region"), 10, 64)
	days, err2 := strconv.Atoi(r.Draft("days"))
	if err1 != nil || err2 != nil {
		r.EndFlow()
		r.Say("common.flow_gone")
		return nil
	}
	region, err := r.tx.RegionByID(ctx, regionID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if err != nil || !r.canGrant(role, region) {
		r.EndFlow()
		r.Say("common.not_allowed")
		return nil
	}
	token, hash := newInviteToken()
	expires := h.cfg.NowFunc().Add(time.Duration(days) * 24 * time.Hour)
	inv, err := r.tx.CreateInvite(ctx, hash, store.Invite{
		Role: role, RegionID: region.ID, CreatedBy: r.User.ID, MaxUses: int32(uses), ExpiresAt: expires,
	})
	if err != nil {
		return err
	}
	if err := r.tx.Audit(ctx, store.AuditEntry{
		ActorID: &r.User.ID, Action: auditInviteCreate, RegionID: &region.ID,
		Subject: "invite:" + strconv.FormatInt(inv.ID, 10),
		Details: []byte(fmt.Sprintf(`{"role":%q,"max_uses":%d,"days":%d}`, role, uses, days)),
	}); err != nil {
		return err
	}
	link := h.cfg.DeepLinkFunc(token)
	png, err := qrcode.Encode(link, qrcode.Medium, 512)
	if err != nil {
		return fmt.Errorf("invite qr code: %w", err)
	}
	r.EndFlow()
	text := r.T("invite.created", "Role", r.roleName(role), "Region", region.DisplayName(r.Locale()),
		"Link", link, "Expires", expires.Format("2006-01-02 15:04"), "Uses", uses)
	r.Prompt(text, nil)
	r.Reply(Reply{Text: r.T("invite.qr_caption", "Role", r.roleName(role), "Region", region.DisplayName(r.Locale())),
		Photo: &File{Name: "invite-qr.png", Bytes: png}})
	return nil
}

// redeem joins the user with the role of the invite behind token.
func (h *Handlers) redeem(ctx context.Context, r *Request, token string) error {
	if !validTokenShape(token) {
		r.Say("invite.invalid")
		return nil
	}
	var inv store.Invite
	var region store.Region
	// A savepoint: a refused redemption takes no use and grants nothing.
	err := r.tx.InTx(ctx, func(tx *store.DB) error {
		var err error
		inv, err = tx.RedeemInvite(ctx, hashToken(token), r.User.ID, h.cfg.NowFunc())
		if err != nil {
			return err
		}
		if region, err = tx.RegionByID(ctx, inv.RegionID); err != nil {
			return err
		}
		if err := tx.GrantRole(ctx, r.User.ID, inv.Role, inv.RegionID, &inv.CreatedBy, &inv.ID); err != nil {
			return err
		}
		return tx.Audit(ctx, store.AuditEntry{
			ActorID: &r.User.ID, Action: auditInviteRedeem, RegionID: &inv.RegionID,
			Subject: "invite:" + strconv.FormatInt(inv.ID, 10), Details: []byte(fmt.Sprintf(`{"role":%q}`, inv.Role)),
		})
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		r.Say("invite.invalid")
	case errors.Is(err, store.ErrInviteExpired):
		r.Say("invite.expired")
	case errors.Is(err, store.ErrInviteUsedUp):
		r.Say("invite.used_up")
	case errors.Is(err, store.ErrInviteRedeemed):
		r.Say("invite.already_joined")
	case errors.Is(err, store.ErrConflict):
		r.Say("invite.already_holds")
	case err != nil:
		return err
	default:
		where, err := h.regionPath(ctx, r, region)
		if err != nil {
			return err
		}
		r.Roles = append(r.Roles, store.Role{Role: inv.Role, Region: region})
		r.Reply(Reply{Text: r.T("invite.joined", "Role", r.roleName(inv.Role), "Region", where), Keyboard: r.mainKeyboard()})
		inviter, err := r.tx.UserByID(ctx, inv.CreatedBy)
		if err != nil {
			return err
		}
		tr := h.translatorFor(inviter)
		r.Reply(Reply{ChatID: inviter.ID, Text: tr.T("invite.redeemed_notice", "Name", r.User.FirstName,
			"Role", tr.T(roleMessageID(inv.Role)), "Region", region.DisplayName(tr.locale))})
	}
	return nil
}
