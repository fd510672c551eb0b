package handlers_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"zhucun/handlers"
	"zhucun/store"
	"zhucun/store/storetest"
)

// Markers of the victims' records: none may reach an attacker's reply.
const (
	victimName    = "受害队员甲"
	victimProblem = "机密问题描述甲"
	victimVillage = "一村"
	victimTown    = "一镇"
)

// forgeryWorld is the small tree with the team of V1 (the victims, with a problem, a
// check-in and a pending invite) and, as attackers, the team of V2, the supervisor of
// T2 and a stranger with no role. It keeps the state and the schema's URL so a test
// can put an attacker on any step and fingerprint every table.
type forgeryWorld struct {
	*world
	state *store.State
	conn  *pgx.Conn
	ids   map[string]string // the victims' ids by name
}

const (
	fwVictimSecretary = 101
	fwVictimMember    = 102
	fwVictimResident  = 103
	fwVictimSuper     = 104
	fwSecretary       = 201
	fwMember          = 202
	fwResident        = 203
	fwSupervisor      = 204
	fwStranger        = 205
)

func newForgeryWorld(t *testing.T) *forgeryWorld {
	t.Helper()
	ctx := context.Background()
	db, url := storetest.DBURL(t)
	state := storetest.State(t, time.Hour)
	h, err := handlers.New(handlers.Config{AdminIDs: []int64{adminID},
		DeepLinkFunc: func(p string) string { return "https://t.me/test_bot?start=" + p }}, db, state)
	if err != nil {
		t.Fatal(err)
	}
	// Every id far from the small numbers buttons carry (days, pages, counts), so a
	// forged id never passes for one of those by chance.
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	if _, err := conn.Exec(ctx, `SELECT setval(c.oid, 100000) FROM pg_class c
		WHERE c.relkind = 'S' AND c.relnamespace = current_schema()::regnamespace`); err != nil {
		t.Fatal(err)
	}
	rows := smallTree()
	rows[1].Name, rows[3].Name = victimTown, victimVillage
	if _, _, err := db.UpsertRegions(ctx, rows); err != nil {
		t.Fatal(err)
	}
	w := &forgeryWorld{world: &world{h: h, db: db, region: map[string]store.Region{}}, state: state, conn: conn, ids: map[string]string{}}
	w.nextID.Store(1 << 20)
	for _, r := range rows {
		reg, err := db.RegionByCode(ctx, r.Code)
		if err != nil {
			t.Fatal(err)
		}
		w.region[r.Code] = reg
	}
	for _, g := range []struct {
		id         int64
		role, code string
	}{
		{fwVictimSecretary, store.RoleFirstSecretary, "V1"}, {fwVictimMember, store.RoleMember, "V1"},
		{fwVictimResident, store.RoleResident, "V1"}, {fwVictimSuper, store.RoleSupervisor, "T1"},
		{fwSecretary, store.RoleFirstSecretary, "V2"}, {fwMember, store.RoleMember, "V2"},
		{fwResident, store.RoleResident, "V2"}, {fwSupervisor, store.RoleSupervisor, "T2"},
	} {
		w.grant(t, g.id, g.role, g.code)
	}
	if _, err := db.TouchUser(ctx, fwVictimMember, victimName, "zh-hans"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.TouchUser(ctx, fwStranger, "路人", "zh-hans"); err != nil {
		t.Fatal(err)
	}
	v1 := w.region["V1"].ID
	p, err := db.AddProblem(ctx, store.Problem{RegionID: v1, Year: 2026, Category: "security", Description: victimProblem,
		Urgency: "normal", ReportedBy: fwVictimMember, ReporterRole: store.RoleMember, ReportedAt: time.Now().Add(-time.Hour)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := db.AddCheckIn(ctx, store.CheckIn{UserID: fwVictimMember, RegionID: v1, Day: time.Now().UTC().Truncate(24 * time.Hour),
		CheckedAt: time.Now(), Source: "self", RecordedBy: fwVictimMember, Verdict: "self_declared"})
	if err != nil {
		t.Fatal(err)
	}
	inv, err := db.CreateInvite(ctx, []byte("0123456789abcdef0123456789abcdef"), store.Invite{Role: store.RoleMember, RegionID: v1,
		CreatedBy: fwVictimSecretary, MaxUses: 1, ExpiresAt: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	for name, id := range map[string]int64{"V": v1, "T": w.region["T1"].ID, "C": w.region["C"].ID, "P": p.ID, "K": c.ID,
		"I": inv.ID, "U": fwVictimMember, "S": fwVictimSecretary} {
		w.ids[name] = strconv.FormatInt(id, 10)
	}
	return w
}

// forgedValues are button values carrying the victims' ids in every shape the
// handlers' buttons use.
func (w *forgeryWorld) forgedValues() []string {
	v, tw, c, p, k, i, u, s := w.ids["V"], w.ids["T"], w.ids["C"], w.ids["P"], w.ids["K"], w.ids["I"], w.ids["U"], w.ids["S"]
	return []string{
		v, p, s, "c" + v, "o" + c, "p" + tw + ".0", "v" + v, v + "." + u, "p." + p, "a.asg." + p,
		"u." + k + ".0", "r." + i + ".1", p + ".0.0", p + ".ok",
	}
}

// fingerprint is a digest of every table but the processed-update markers and the
// users' last-seen times.
func fingerprint(t *testing.T, conn *pgx.Conn) string {
	t.Helper()
	ctx := context.Background()
	rows, err := conn.Query(ctx, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'
		AND table_name NOT IN ('processed_updates', 'users') ORDER BY table_name`)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(tables) < 20 {
		t.Fatalf("tables %v (%v)", tables, err)
	}
	var b strings.Builder
	for _, name := range tables {
		var sum string
		q := `SELECT coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') FROM ` + pgx.Identifier{name}.Sanitize() + ` t`
		if err := conn.QueryRow(ctx, q).Scan(&sum); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s=%s\n", name, sum)
	}
	return b.String()
}

// at puts userID's conversation on a flow's step, with no draft.
func (w *forgeryWorld) at(t *testing.T, userID int64, flow, step string) {
	t.Helper()
	ctx := context.Background()
	c, err := w.state.Load(ctx, userID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.state.Save(ctx, userID, store.Conversation{Flow: flow, Step: step, Version: c.Version}); err != nil {
		t.Fatal(err)
	}
}

// leaks names the first victim marker in the replies, or anything more than text and
// buttons (a file, a photo, an album).
func leaks(replies []handlers.Reply) string {
	for _, r := range replies {
		if r.Photo != nil || r.Document != nil || len(r.PhotoIDs) > 0 {
			return "a file or photo"
		}
		all := r.Text
		for _, row := range r.Buttons {
			for _, b := range row {
				all += "\n" + b.Text + "=" + b.Data
			}
		}
		for _, m := range []string{victimName, victimProblem, victimVillage, victimTown} {
			if strings.Contains(all, m) {
				return m
			}
		}
	}
	return ""
}

// TestForgedPressesOnEveryRoute presses, on every step of every flow (so every button
// prefix), forged values carrying the victims' ids, as an attacker of another team,
// another region and no role at all: each press must answer without an error, with a
// refusal or the step's own re-prompt (the same answer as for a value that means
// nothing), show nothing of the victims, and change no table.
func TestForgedPressesOnEveryRoute(t *testing.T) {
	t.Parallel()
	w := newForgeryWorld(t)
	conn := w.conn
	refusals := map[string]bool{}
	for _, id := range []string{"common.not_allowed", "common.stale_button", "common.flow_gone"} {
		refusals[handlers.Text(w.h, "zh-Hans", id)] = true
	}
	// unknownIDs is v with every victim's id replaced by one no record has.
	unknownIDs := func(v string) string {
		for _, id := range w.ids {
			v = strings.ReplaceAll(v, id, "987654321")
		}
		return v
	}

	notAllowed := handlers.Text(w.h, "zh-Hans", "common.not_allowed")
	access := handlers.RouteAccess(w.h)
	var routes []string
	for route := range access {
		if !strings.HasPrefix(route, "/") {
			routes = append(routes, route)
		}
	}
	values := w.forgedValues()
	before := fingerprint(t, conn)
	presses := 0
	for _, route := range routes {
		flow, step, _ := strings.Cut(route, ":")
		for _, attacker := range []int64{fwSecretary, fwSupervisor, fwStranger} {
			w.at(t, attacker, flow, step)
			baseline := said(w.send(t, attacker, press(route+":zz-nothing")))
			vs := values
			if attacker == fwStranger {
				vs = values[:3] // no role: the route's access refuses whatever the value
			}
			for _, v := range vs {
				w.at(t, attacker, flow, step)
				replies := w.send(t, attacker, press(route+":"+v))
				presses++
				if what := leaks(replies); what != "" {
					t.Errorf("%s:%s by %d: the reply shows %s: %+v", route, v, attacker, what, replies)
				}
				got := said(replies)
				if attacker == fwStranger && access[route] != "anyone" {
					// No role at all: the route's own access refuses and ends the flow.
					conv, err := w.state.Load(context.Background(), attacker)
					if err != nil {
						t.Fatal(err)
					}
					if got != notAllowed || conv.Active() {
						t.Errorf("%s:%s by a user without a role: got %q (flow %q), want %q and no flow", route, v, got, conv.Flow, notAllowed)
					}
					continue
				}
				if got == baseline || refusals[got] {
					continue
				}
				// Any other answer must be the one an id that exists nowhere gets, so the
				// answer tells nothing of the victims' records.
				w.at(t, attacker, flow, step)
				if twin := said(w.send(t, attacker, press(route+":"+unknownIDs(v)))); got != twin {
					t.Errorf("%s:%s by %d: got %q, but %q for an id that does not exist", route, v, attacker, got, twin)
				}
			}
		}
	}
	if after := fingerprint(t, conn); after != before {
		t.Fatalf("forged presses changed records:\nbefore\n%s\nafter\n%s", before, after)
	}
	if presses < 1500 {
		t.Fatalf("only %d presses", presses)
	}
	t.Logf("%d forged presses on %d routes: no error, no leak, no change", presses, len(routes))
}

// TestForgedCallbackData sends callback data no button of this bot carries — random
// bytes, the victims' real buttons truncated at every length, a button of a flow
// that ended, a replayed press — to an attacker in the middle of a flow: refusals
// only, no error, no change.
func TestForgedCallbackData(t *testing.T) {
	t.Parallel()
	w := newForgeryWorld(t)
	conn := w.conn
	// The victims' real buttons.
	var real []string
	for _, c := range []struct {
		user int64
		in   handlers.Input
	}{
		{fwVictimSecretary, cmd("problems")}, {fwVictimSecretary, press("pl:go:p." + w.ids["P"])},
		{fwVictimSecretary, cmd("present")}, {fwVictimSecretary, cmd("leave")}, {fwVictimSecretary, cmd("invite")},
		{fwVictimSuper, cmd("invite")}, {fwVictimSuper, cmd("survey")}, {fwVictimSuper, cmd("weekly")},
		{fwVictimSuper, cmd("monthly")}, {fwVictimMember, cmd("settings")},
	} {
		for _, d := range buttonData(w.send(t, c.user, c.in)) {
			_, data, _ := strings.Cut(d, "=")
			real = append(real, data)
		}
	}
	if len(real) < 15 {
		t.Fatalf("only %d real buttons: %v", len(real), real)
	}
	seen := map[string]bool{}
	var forged []string
	for _, d := range real {
		for n := 1; n <= len(d); n++ {
			if !seen[d[:n]] {
				seen[d[:n]] = true
				forged = append(forged, d[:n])
			}
		}
	}
	for range 50 {
		b := make([]byte, 64)
		rand.Read(b) //nolint:errcheck // never fails
		forged = append(forged, string(b))
	}
	before := fingerprint(t, conn)
	notAllowed := handlers.Text(w.h, "zh-Hans", "common.not_allowed")
	stale := handlers.Text(w.h, "zh-Hans", "common.stale_button")
	for _, attacker := range []int64{fwSupervisor, fwStranger} {
		if attacker == fwSupervisor {
			w.send(t, attacker, cmd("feedback")) // in the middle of a flow of their own
		}
		for _, d := range forged {
			replies := w.send(t, attacker, press(d))
			if what := leaks(replies); what != "" {
				t.Errorf("%q by %d: the reply shows %s", d, attacker, what)
			}
			if got := said(replies); got != stale && got != notAllowed {
				t.Errorf("%q by %d: got %q, want %q", d, attacker, got, stale)
			}
		}
	}
	if after := fingerprint(t, conn); after != before {
		t.Fatalf("forged callback data changed records:\nbefore\n%s\nafter\n%s", before, after)
	}
	// A replayed press changes nothing and says nothing.
	w.send(t, fwSecretary, cmd("feedback"))
	w.send(t, fwSecretary, text("村口的路灯"))
	in := press("fb:anon:anon")
	in.UpdateID, in.ChatID, in.UserID, in.Private = 99, fwSecretary, fwSecretary, true
	if _, err := w.h.Handle(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	if err := w.h.Delivered(context.Background(), in.UpdateID); err != nil {
		t.Fatal(err)
	}
	mid := fingerprint(t, conn)
	if replies, err := w.h.Handle(context.Background(), in); err != nil || len(replies) != 0 {
		t.Fatalf("replayed press: %+v (%v), want nothing", replies, err)
	}
	if fingerprint(t, conn) != mid {
		t.Fatal("a replayed press changed records")
	}
	if before == mid {
		t.Fatal("the feedback changed nothing: the fingerprint sees no change")
	}
	t.Logf("%d forged callback data × 2 attackers: refused", len(forged))
}
