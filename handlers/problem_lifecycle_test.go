package handlers_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"zhucun/handlers"
	"zhucun/store"
)

// ledgerNow is 2026-11-10 17:30 UTC: already 11 November, 01:30, in the county (China
// Standard Time), so a deadline of 10 November is in the past there though not in UTC.
var ledgerNow = time.Date(2026, 11, 10, 17, 30, 0, 0, time.UTC)

// The cast of the ledger tests, all at the county of setup's tree: V1 lies in T1, V2 in T2.
const (
	lwSecretary       = 100 + iota // first secretary of V1
	lwFixer                        // member of V1, made responsible for the problems
	lwMember                       // member of V1, responsible for nothing
	lwOtherSecretary               // first secretary of V2
	lwSupervisor                   // supervisor of T1, over V1
	lwOtherSupervisor              // supervisor of T2
	lwResident                     // resident of V1, who reports the problems
)

// ledgerSetup is setup with a fixed clock and the cast granted their roles.
func ledgerSetup(t *testing.T) *world {
	t.Helper()
	w := newWorld(t, handlers.Config{NowFunc: func() time.Time { return ledgerNow }}, smallTree())
	w.grant(t, lwSecretary, store.RoleFirstSecretary, "V1")
	w.grant(t, lwFixer, store.RoleMember, "V1")
	w.grant(t, lwMember, store.RoleMember, "V1")
	w.grant(t, lwOtherSecretary, store.RoleFirstSecretary, "V2")
	w.grant(t, lwSupervisor, store.RoleSupervisor, "T1")
	w.grant(t, lwOtherSupervisor, store.RoleSupervisor, "T2")
	w.grant(t, lwResident, store.RoleResident, "V1")
	return w
}

func ledgerDay(s string) *time.Time {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return &d
}

// ledgerProblem records a problem the resident reported in a village with one photo,
// reported at, and puts it in status: from assigned on, lwFixer is responsible with a
// deadline of 20 November.
func (w *world) ledgerProblem(t *testing.T, code, status string, at time.Time, desc string) store.Problem {
	t.Helper()
	ctx := context.Background()
	p, err := w.db.AddProblem(ctx, store.Problem{
		RegionID: w.region[code].ID, Year: 2026, Category: "customs", Description: desc,
		Latitude: 28.2, Longitude: 112.9, Urgency: "normal",
		ReportedBy: lwResident, ReporterRole: store.RoleResident, ReportedAt: at,
	}, []store.ProblemPhoto{{FileID: "f-report-" + desc, UniqueID: "u-report-" + desc}})
	if err != nil {
		t.Fatal(err)
	}
	if status != store.StatusReported {
		fixer := int64(lwFixer)
		p.Status, p.UpdatedAt = status, at.Add(time.Hour)
		p.ResponsibleID, p.ResponsibleUnit, p.Measures, p.Deadline = &fixer, "村委会", "填平坑洼", ledgerDay("2026-11-20")
		done := at.Add(2 * time.Hour)
		switch status {
		case store.StatusResolved:
			p.ResolvedAt = &done
		case store.StatusVerified:
			p.ResolvedAt, p.VerifiedAt = &done, &done
		case store.StatusClosed:
			p.ClosedAt, p.CloseReason = &done, "duplicate"
		}
		if err := w.db.UpdateProblem(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	fresh, err := w.db.ProblemByID(ctx, p.ID, false)
	if err != nil {
		t.Fatal(err)
	}
	return fresh
}

// problemRecord is everything stored about a problem.
type problemRecord struct {
	Problem store.Problem
	History []store.ProblemEvent
	Photos  []store.ProblemPhoto
}

func (w *world) ledgerRecord(t *testing.T, id int64) problemRecord {
	t.Helper()
	ctx := context.Background()
	p, err := w.db.ProblemByID(ctx, id, false)
	if err != nil {
		t.Fatal(err)
	}
	h, err := w.db.ProblemHistory(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	ph, err := w.db.ProblemPhotos(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return problemRecord{p, h, ph}
}

func photo(unique string) handlers.Input {
	return handlers.Input{Photos: []handlers.Photo{{FileID: "f-" + unique, UniqueID: unique}}, MessageID: 7}
}

func act(code string, id int64) handlers.Input {
	return press("pl:go:a." + code + "." + strconv.FormatInt(id, 10))
}

// ledgerTransitions are the transitions with what follows the button press when it is
// allowed, where each starts from, where it leads, and who may make it.
var ledgerTransitions = []struct {
	name, code, event, to string
	from                  []string
	rest                  []handlers.Input
	team                  bool // the responsible person and first secretaries; else first secretaries and supervisors
}{
	{name: "assign", code: "asg", event: "assign", to: store.StatusAssigned, from: []string{store.StatusReported},
		rest: []handlers.Input{press("pl:who:" + strconv.Itoa(lwFixer)), text("村委会"), text("清理排水沟，填平路面"), text("2026-11-20")}},
	{name: "start", code: "go", event: "start", to: store.StatusInProgress, from: []string{store.StatusAssigned}, team: true},
	{name: "note", code: "nt", event: "progress", to: store.StatusInProgress, from: []string{store.StatusInProgress}, team: true,
		rest: []handlers.Input{text("已联系施工队"), press("pl:note:done")}},
	{name: "resolve", code: "res", event: "resolve", to: store.StatusResolved, from: []string{store.StatusInProgress}, team: true,
		rest: []handlers.Input{photo("u-evidence"), press("pl:ev:done")}},
	{name: "verify", code: "ok", event: "verify", to: store.StatusVerified, from: []string{store.StatusResolved}},
	{name: "send back", code: "back", event: "send_back", to: store.StatusInProgress, from: []string{store.StatusResolved},
		rest: []handlers.Input{text("路面仍有积水")}},
	{name: "close", code: "cls", event: "close_duplicate", to: store.StatusClosed,
		from: []string{store.StatusReported, store.StatusAssigned, store.StatusInProgress},
		rest: []handlers.Input{press("pl:ck:duplicate"), text("与 2026-001 重复")}},
}

// TestProblemTransitionsByRole presses every transition's button, forged, as every role
// on a problem in every state: allowed presses move the problem and write its history;
// refused ones are answered so and change nothing.
func TestProblemTransitionsByRole(t *testing.T) {
	t.Parallel()
	w := ledgerSetup(t)
	statuses := []string{store.StatusReported, store.StatusAssigned, store.StatusInProgress,
		store.StatusResolved, store.StatusVerified, store.StatusClosed}
	roles := []struct {
		name                    string
		id                      int64
		leads, supervises, fixs bool
	}{
		{name: "first secretary of the village", id: lwSecretary, leads: true},
		{name: "member who is responsible", id: lwFixer, fixs: true},
		{name: "member not responsible", id: lwMember},
		{name: "first secretary of another village", id: lwOtherSecretary},
		{name: "supervisor over the village", id: lwSupervisor, supervises: true},
		{name: "supervisor of another township", id: lwOtherSupervisor},
		{name: "resident reporter", id: lwResident},
		{name: "admin", id: adminID, leads: true, supervises: true},
	}
	for _, role := range roles {
		t.Run(role.name, func(t *testing.T) {
			t.Parallel()
			n := 0
			for _, tr := range ledgerTransitions {
				for _, status := range statuses {
					n++
					name := fmt.Sprintf("%s, %s on a problem %s", role.name, tr.name, status)
					p := w.ledgerProblem(t, "V1", status, ledgerNow.Add(-time.Duration(n)*time.Minute), fmt.Sprintf("问题%d", n))
					before := w.ledgerRecord(t, p.ID)

					mayRole := role.leads || (!tr.team && role.supervises) ||
						(tr.team && role.fixs && p.ResponsibleID != nil)
					allowed := mayRole && slices.Contains(tr.from, status)

					w.send(t, role.id, cmd("problems"))
					first := w.send(t, role.id, act(tr.code, p.ID))
					for _, in := range tr.rest {
						w.send(t, role.id, in)
					}
					after := w.ledgerRecord(t, p.ID)

					if !allowed {
						want := "没有权限"
						if mayRole {
							want = "已不适用"
						}
						if got := only(t, first); !strings.Contains(got, want) {
							t.Errorf("%s: got %q, want a refusal with %q", name, got, want)
						}
						if !reflect.DeepEqual(after, before) {
							t.Errorf("%s: refused, yet the records changed:\ngot  %+v\nwant %+v", name, after, before)
						}
						continue
					}
					if after.Problem.Status != tr.to {
						t.Errorf("%s: got status %q, want %q", name, after.Problem.Status, tr.to)
						continue
					}
					if got, want := len(after.History), len(before.History)+1; got != want {
						t.Errorf("%s: got %d history entries, want %d", name, got, want)
						continue
					}
					e := after.History[len(after.History)-1]
					if e.Action != tr.event || e.FromStatus != status || e.ToStatus != tr.to || e.ActorID != role.id || !e.At.Equal(ledgerNow) {
						t.Errorf("%s: got history entry %+v, want %s %s→%s by %d at %v", name, e, tr.event, status, tr.to, role.id, ledgerNow)
					}
					if !after.Problem.UpdatedAt.Equal(ledgerNow) {
						t.Errorf("%s: got updated at %v, want %v", name, after.Problem.UpdatedAt, ledgerNow)
					}
				}
			}
		})
	}
}

func TestProblemForgedPresses(t *testing.T) {
	t.Parallel()
	w := ledgerSetup(t)
	p1 := w.ledgerProblem(t, "V1", store.StatusReported, ledgerNow.Add(-time.Hour), "一村的问题")
	p2 := w.ledgerProblem(t, "V2", store.StatusReported, ledgerNow.Add(-time.Hour), "二村的问题")
	byMember, err := w.db.AddProblem(context.Background(), store.Problem{RegionID: w.region["V1"].ID, Year: 2026,
		Category: "security", Description: "队员反映", Urgency: "normal", ReportedBy: lwMember,
		ReporterRole: store.RoleMember, ReportedAt: ledgerNow.Add(-time.Hour)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	before1, before2 := w.ledgerRecord(t, p1.ID), w.ledgerRecord(t, p2.ID)
	id1, id2 := strconv.FormatInt(p1.ID, 10), strconv.FormatInt(p2.ID, 10)
	for _, tc := range []struct {
		name string
		user int64
		data string
		want string
	}{
		{name: "a problem that does not exist", user: lwSecretary, data: "pl:go:a.asg.987654", want: "没有权限"},
		{name: "another village's problem", user: lwSecretary, data: "pl:go:a.asg." + id2, want: "没有权限"},
		{name: "another village's card", user: lwSecretary, data: "pl:go:p." + id2, want: "没有权限"},
		{name: "a card out of the region", user: lwOtherSupervisor, data: "pl:go:p." + id1, want: "没有权限"},
		{name: "a resident's card of a problem they did not report", user: lwResident, data: "pl:go:p." + strconv.FormatInt(byMember.ID, 10), want: "没有权限"},
		{name: "a resident's transition on their own problem", user: lwResident, data: "pl:go:a.cls." + id1, want: "没有权限"},
		{name: "an unknown transition", user: lwSecretary, data: "pl:go:a.zap." + id1, want: "请点按钮"},
		{name: "a bad id", user: lwSecretary, data: "pl:go:a.asg.x", want: "请点按钮"},
		{name: "an unknown list", user: lwSecretary, data: "pl:go:l.zz.0", want: "请点按钮"},
		{name: "a later step's button", user: lwSecretary, data: "pl:who:" + strconv.Itoa(lwFixer), want: "过期"},
	} {
		w.send(t, tc.user, cmd("problems"))
		if got := only(t, w.send(t, tc.user, press(tc.data))); !strings.Contains(got, tc.want) {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
	// A person who is not on the team cannot be made responsible.
	w.send(t, lwSecretary, cmd("problems"))
	w.send(t, lwSecretary, act("asg", p1.ID))
	if got := only(t, w.send(t, lwSecretary, press("pl:who:"+strconv.Itoa(lwOtherSecretary)))); !strings.Contains(got, "没有权限") {
		t.Errorf("responsible from another team: got %q, want a refusal", got)
	}
	if after1, after2 := w.ledgerRecord(t, p1.ID), w.ledgerRecord(t, p2.ID); !reflect.DeepEqual(after1, before1) || !reflect.DeepEqual(after2, before2) {
		t.Errorf("forged presses changed records: got %+v and %+v, want %+v and %+v", after1, after2, before1, before2)
	}
}

// TestProblemMovedOnMidway: a transition that was begun is checked again when it is
// finished; if the problem moved on meanwhile, nothing is written.
func TestProblemMovedOnMidway(t *testing.T) {
	t.Parallel()
	w := ledgerSetup(t)
	p := w.ledgerProblem(t, "V1", store.StatusReported, ledgerNow.Add(-time.Hour), "村道坑洼")
	w.send(t, lwSecretary, cmd("problems"))
	w.send(t, lwSecretary, act("asg", p.ID))
	w.send(t, lwSecretary, press("pl:who:"+strconv.Itoa(lwFixer)))
	w.send(t, lwSecretary, text("村委会"))
	w.send(t, lwSecretary, text("填平"))

	w.send(t, lwSupervisor, cmd("problems"))
	w.send(t, lwSupervisor, act("cls", p.ID))
	w.send(t, lwSupervisor, press("pl:ck:not_actionable"))
	w.send(t, lwSupervisor, text("属于县交通局职责"))
	before := w.ledgerRecord(t, p.ID)
	if before.Problem.Status != store.StatusClosed || before.Problem.CloseReason != "not_actionable" || before.Problem.ClosedAt == nil {
		t.Fatalf("after closing: got %+v, want closed as not actionable", before.Problem)
	}

	if got := only(t, w.send(t, lwSecretary, text("2026-11-20"))); !strings.Contains(got, "已销号") || !strings.Contains(got, "已不适用") {
		t.Errorf("finishing the assignment: got %q, want it has moved on (closed)", got)
	}
	if after := w.ledgerRecord(t, p.ID); !reflect.DeepEqual(after, before) {
		t.Errorf("records changed: got %+v, want %+v", after, before)
	}
	// The press of a stale card is refused the same way.
	w.send(t, lwSecretary, cmd("problems"))
	if got := only(t, w.send(t, lwSecretary, act("asg", p.ID))); !strings.Contains(got, "已不适用") {
		t.Errorf("stale card: got %q, want it has moved on", got)
	}
}

// inbox gathers the messages the bot sent to chats other than the sender's.
type inbox map[int64][]string

func (w *world) sendAll(t *testing.T, box inbox, userID int64, in handlers.Input) []handlers.Reply {
	t.Helper()
	replies := w.send(t, userID, in)
	for _, r := range replies {
		if r.ChatID != userID {
			box[r.ChatID] = append(box[r.ChatID], r.Text)
		}
	}
	return replies
}

func texts(replies []handlers.Reply) string {
	var out []string
	for _, r := range replies {
		out = append(out, r.Text)
	}
	return strings.Join(out, "\n")
}

func hasButton(replies []handlers.Reply, data string) bool {
	return slices.ContainsFunc(buttonData(replies), func(b string) bool { return strings.HasSuffix(b, "="+data) })
}

// TestProblemWalk takes one problem through every state, with a send-back and a second
// fix, and checks its history and what each person was told.
func TestProblemWalk(t *testing.T) {
	t.Parallel()
	w := ledgerSetup(t)
	ctx := context.Background()
	box := inbox{}
	p, err := w.db.AddProblem(ctx, store.Problem{
		RegionID: w.region["V1"].ID, Year: 2026, Category: "customs", Description: "村口排水沟堵塞，雨天积水",
		Latitude: 28.2, Longitude: 112.9, Urgency: "urgent",
		ReportedBy: lwResident, ReporterRole: store.RoleResident, ReportedAt: ledgerNow.Add(-time.Hour),
	}, []store.ProblemPhoto{{FileID: "f-r1", UniqueID: "u-r1"}, {FileID: "f-r2", UniqueID: "u-r2"}})
	if err != nil {
		t.Fatal(err)
	}
	id := strconv.FormatInt(p.ID, 10)

	// The first secretary finds it among the open problems and opens its card.
	w.send(t, lwSecretary, cmd("problems"))
	if got := w.send(t, lwSecretary, press("pl:go:l.o.0")); !hasButton(got, "pl:go:p."+id) {
		t.Fatalf("open list: got buttons %v, want the problem", buttonData(got))
	}
	card := w.send(t, lwSecretary, press("pl:go:p."+id))
	if len(card) != 2 || !slices.Equal(card[0].PhotoIDs, []string{"f-r1", "f-r2"}) {
		t.Fatalf("card: got %+v, want the report's album and the card", card)
	}
	if got := card[1].Text; !strings.Contains(got, "2026-001") || !strings.Contains(got, "u106（村民）") ||
		!strings.Contains(got, "待交办") || !strings.Contains(got, "紧急") || !strings.Contains(got, "2026-11-11 00:30") {
		t.Errorf("secretary's card: got %q, want number, reporter's name and role, status, urgency, local time", got)
	}
	if !hasButton(card, "pl:go:a.asg."+id) || !hasButton(card, "pl:go:a.cls."+id) || len(buttonData(card)) != 4 {
		t.Errorf("secretary's card buttons: got %v, want assign, close, back to list and menu", buttonData(card))
	}
	// A supervisor sees the reporter as a role only; so does the member.
	for _, u := range []int64{lwSupervisor, lwMember} {
		w.send(t, u, cmd("problems"))
		got := texts(w.send(t, u, press("pl:go:p."+id)))
		if strings.Contains(got, "u106") || !strings.Contains(got, "反映人：村民") {
			t.Errorf("card for %d: got %q, want the reporter as a role without a name", u, got)
		}
	}

	// Assign: the deadline is checked against the county's day (already 11 November).
	w.sendAll(t, box, lwSecretary, act("asg", p.ID))
	who := w.sendAll(t, box, lwSecretary, press("pl:who:"+strconv.Itoa(lwFixer)))
	if !strings.Contains(texts(who), "u101") {
		t.Errorf("after picking: got %q, want the responsible person's name", texts(who))
	}
	w.sendAll(t, box, lwSecretary, text("村委会"))
	w.sendAll(t, box, lwSecretary, text("疏通排水沟"))
	if got := texts(w.sendAll(t, box, lwSecretary, text("2026-11-10"))); !strings.Contains(got, "早于今天") || !strings.Contains(got, "2026-11-11") {
		t.Errorf("yesterday's deadline: got %q, want a refusal naming today 2026-11-11", got)
	}
	if got := texts(w.sendAll(t, box, lwSecretary, text("2026-11-11"))); !strings.Contains(got, "已交办") || !strings.Contains(got, "完成时限：2026-11-11") {
		t.Errorf("assigned: got %q, want the card with the deadline", got)
	}

	// The responsible person finds it under "mine" and works on it.
	w.send(t, lwFixer, cmd("problems"))
	if got := w.send(t, lwFixer, press("pl:go:l.m.0")); !hasButton(got, "pl:go:p."+id) {
		t.Fatalf("mine: got %v, want the problem", buttonData(got))
	}
	w.sendAll(t, box, lwFixer, act("go", p.ID))
	w.sendAll(t, box, lwFixer, act("nt", p.ID))
	note := photo("u-progress")
	note.Text = "已联系施工队"
	w.sendAll(t, box, lwFixer, note)
	w.sendAll(t, box, lwFixer, press("pl:note:done"))
	w.sendAll(t, box, lwFixer, act("res", p.ID))
	if got := texts(w.sendAll(t, box, lwFixer, press("pl:ev:done"))); !strings.Contains(got, "至少需要 1 张") {
		t.Errorf("fixed without a photo: got %q, want a photo asked for", got)
	}
	w.sendAll(t, box, lwFixer, photo("u-fix1"))
	w.sendAll(t, box, lwFixer, press("pl:ev:done"))

	// The first secretary sends it back; the fix is made again; the supervisor verifies.
	w.sendAll(t, box, lwSecretary, cmd("problems"))
	w.sendAll(t, box, lwSecretary, act("back", p.ID))
	w.sendAll(t, box, lwSecretary, text("沟底淤泥未清"))
	w.sendAll(t, box, lwFixer, act("res", p.ID))
	w.sendAll(t, box, lwFixer, photo("u-fix2"))
	w.sendAll(t, box, lwFixer, text("淤泥已清运"))
	w.sendAll(t, box, lwFixer, press("pl:ev:done"))
	w.sendAll(t, box, lwSupervisor, cmd("problems"))
	w.sendAll(t, box, lwSupervisor, act("ok", p.ID))
	if got := only(t, w.send(t, lwSupervisor, act("ok", p.ID))); !strings.Contains(got, "已不适用") {
		t.Errorf("verifying twice: got %q, want it has moved on", got)
	}

	rec := w.ledgerRecord(t, p.ID)
	type step struct {
		action, from, to string
		actor            int64
	}
	var got []step
	for _, e := range rec.History {
		got = append(got, step{e.Action, e.FromStatus, e.ToStatus, e.ActorID})
	}
	want := []step{
		{"report", "", "reported", lwResident},
		{"assign", "reported", "assigned", lwSecretary},
		{"start", "assigned", "in_progress", lwFixer},
		{"progress", "in_progress", "in_progress", lwFixer},
		{"resolve", "in_progress", "resolved", lwFixer},
		{"send_back", "resolved", "in_progress", lwSecretary},
		{"resolve", "in_progress", "resolved", lwFixer},
		{"verify", "resolved", "verified", lwSupervisor},
	}
	if !slices.Equal(got, want) {
		t.Errorf("history: got %v, want %v", got, want)
	}
	if n := rec.History[5].Note; n != "沟底淤泥未清" {
		t.Errorf("send-back note: got %q, want the reason", n)
	}
	pr := rec.Problem
	if pr.Status != store.StatusVerified || pr.VerifiedAt == nil || pr.ResolvedAt == nil || pr.ClosedAt != nil ||
		pr.ResponsibleID == nil || *pr.ResponsibleID != lwFixer || pr.Deadline.Format(time.DateOnly) != "2026-11-11" {
		t.Errorf("problem: got %+v, want verified, fixed, lwFixer responsible until 2026-11-11", pr)
	}
	var kinds []string
	for _, ph := range rec.Photos {
		kinds = append(kinds, ph.Kind+":"+ph.UniqueID)
	}
	if want := []string{"report:u-r1", "report:u-r2", "progress:u-progress", "evidence:u-fix1", "evidence:u-fix2"}; !slices.Equal(kinds, want) {
		t.Errorf("photos: got %v, want %v", kinds, want)
	}

	// What each person was told.
	checks := []struct {
		who  int64
		want []string // one substring per message, in order
	}{
		{lwResident, []string{"已经整改", "已经整改", "验收通过"}},
		{lwFixer, []string{"您被确定为问题 2026-001", "退回重新整改", "验收通过"}},
		{lwSecretary, []string{"请验收", "请验收"}},
	}
	for _, c := range checks {
		msgs := box[c.who]
		if len(msgs) != len(c.want) {
			t.Errorf("messages to %d: got %q, want %d like %q", c.who, msgs, len(c.want), c.want)
			continue
		}
		for i, m := range msgs {
			if !strings.Contains(m, c.want[i]) {
				t.Errorf("message %d to %d: got %q, want %q in it", i, c.who, m, c.want[i])
			}
		}
	}
	if m := box[lwFixer][0]; !strings.Contains(m, "疏通排水沟") || !strings.Contains(m, "2026-11-11") || strings.Contains(m, "u106") {
		t.Errorf("assignment notice: got %q, want measures and deadline, and no reporter's name", m)
	}
	if m := box[lwFixer][1]; !strings.Contains(m, "沟底淤泥未清") {
		t.Errorf("send-back notice: got %q, want the reason", m)
	}
	for _, u := range []int64{lwMember, lwSupervisor, lwOtherSecretary} {
		if len(box[u]) > 0 {
			t.Errorf("messages to %d: got %q, want none", u, box[u])
		}
	}

	// The card shows the whole history and the fix's photos; verified, it offers nothing.
	w.send(t, lwResident, cmd("problems"))
	final := w.send(t, lwResident, press("pl:go:p."+id))
	if len(final) != 3 || len(final[1].PhotoIDs) != 3 {
		t.Fatalf("final card: got %+v, want the report's album, the fix's album and the card", final)
	}
	if got := final[2].Text; strings.Count(got, "\n· ") != 8 || !strings.Contains(got, "已验收") {
		t.Errorf("final card: got %q, want 8 history lines and verified", got)
	}
	if got := buttonData(final); len(got) != 1 {
		t.Errorf("resident's buttons: got %v, want only the menu", got)
	}
}

func TestProblemClosedTellsResident(t *testing.T) {
	t.Parallel()
	w := ledgerSetup(t)
	box := inbox{}
	p := w.ledgerProblem(t, "V1", store.StatusAssigned, ledgerNow.Add(-time.Hour), "路灯不亮")
	w.send(t, lwSecretary, cmd("problems"))
	w.sendAll(t, box, lwSecretary, act("cls", p.ID))
	w.sendAll(t, box, lwSecretary, press("pl:ck:duplicate"))
	if got := texts(w.sendAll(t, box, lwSecretary, press("pl:ck:duplicate"))); !strings.Contains(got, "过期") {
		t.Errorf("the kind pressed twice: got %q, want a stale button", got)
	}
	w.sendAll(t, box, lwSecretary, text("与 2026-001 重复"))
	rec := w.ledgerRecord(t, p.ID)
	if rec.Problem.Status != store.StatusClosed || rec.Problem.CloseReason != "duplicate" || rec.Problem.ClosedAt == nil {
		t.Fatalf("got %+v, want closed as a duplicate", rec.Problem)
	}
	if e := rec.History[len(rec.History)-1]; e.Action != "close_duplicate" || e.Note != "与 2026-001 重复" || e.FromStatus != "assigned" {
		t.Errorf("history: got %+v, want the closing with its reason", e)
	}
	if got := box[lwResident]; len(got) != 1 || !strings.Contains(got[0], "已销号") || !strings.Contains(got[0], "重复问题") {
		t.Errorf("resident: got %q, want told it was closed as a duplicate", got)
	}
	if got := box[lwFixer]; len(got) != 1 || !strings.Contains(got[0], "与 2026-001 重复") {
		t.Errorf("responsible: got %q, want told with the reason", got)
	}
}

// TestProblemLists checks the scope of each role, the overdue rule on the county's day,
// "mine", newest first, and pages of eight.
func TestProblemLists(t *testing.T) {
	t.Parallel()
	w := ledgerSetup(t)
	ctx := context.Background()
	var v1 []store.Problem
	for i := range 9 {
		v1 = append(v1, w.ledgerProblem(t, "V1", store.StatusReported, ledgerNow.Add(-time.Duration(20-i)*time.Hour), fmt.Sprintf("一村问题%d", i)))
	}
	// Overdue on the county's 11 November, though it is still 10 November in UTC.
	late := w.ledgerProblem(t, "V1", store.StatusInProgress, ledgerNow.Add(-30*time.Hour), "超期")
	late.Deadline = ledgerDay("2026-11-10")
	dueToday := w.ledgerProblem(t, "V1", store.StatusAssigned, ledgerNow.Add(-31*time.Hour), "今天到期")
	dueToday.Deadline = ledgerDay("2026-11-11")
	lateFixed := w.ledgerProblem(t, "V1", store.StatusResolved, ledgerNow.Add(-32*time.Hour), "超期但已整改")
	lateFixed.Deadline = ledgerDay("2026-11-01")
	for _, p := range []store.Problem{late, dueToday, lateFixed} {
		if err := w.db.UpdateProblem(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	done := w.ledgerProblem(t, "V1", store.StatusVerified, ledgerNow.Add(-40*time.Hour), "已验收")
	byMember, err := w.db.AddProblem(ctx, store.Problem{RegionID: w.region["V1"].ID, Year: 2026, Category: "security",
		Description: "队员反映", Urgency: "normal", ReportedBy: lwMember, ReporterRole: store.RoleMember,
		ReportedAt: ledgerNow.Add(-50 * time.Hour)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	v2 := w.ledgerProblem(t, "V2", store.StatusReported, ledgerNow.Add(-time.Hour), "二村问题")

	listed := func(user int64, data string) []string {
		t.Helper()
		w.send(t, user, cmd("problems"))
		var out []string
		for _, b := range buttonData(w.send(t, user, press(data))) {
			if _, v, ok := strings.Cut(b, "=pl:go:p."); ok {
				out = append(out, v)
			}
		}
		return out
	}
	idsOf := func(ps ...store.Problem) []string {
		var out []string
		for _, p := range ps {
			out = append(out, strconv.FormatInt(p.ID, 10))
		}
		return out
	}
	newestFirst := []store.Problem{v1[8], v1[7], v1[6], v1[5], v1[4], v1[3], v1[2], v1[1], v1[0], late, dueToday, lateFixed}
	for _, tc := range []struct {
		name string
		user int64
		data string
		want []string
	}{
		{"secretary, open, page 1", lwSecretary, "pl:go:l.o.0", idsOf(newestFirst[:8]...)},
		{"secretary, open, page 2", lwSecretary, "pl:go:l.o.1", idsOf(append(newestFirst[8:], byMember)...)},
		{"member, open, page 2", lwMember, "pl:go:l.o.1", idsOf(append(newestFirst[8:], byMember)...)},
		{"supervisor over V1, page 2", lwSupervisor, "pl:go:l.o.1", idsOf(append(newestFirst[8:], byMember)...)},
		{"supervisor of T2", lwOtherSupervisor, "pl:go:l.o.0", idsOf(v2)},
		{"admin, last page, both villages", adminID, "pl:go:l.o.1", idsOf(append(newestFirst[7:], byMember)...)},
		{"secretary of V2", lwOtherSecretary, "pl:go:l.o.0", idsOf(v2)},
		{"overdue on the county's day", lwSecretary, "pl:go:l.v.0", idsOf(late)},
		{"overdue, supervisor of another township", lwOtherSupervisor, "pl:go:l.v.0", nil},
		{"category", lwSecretary, "pl:go:l.security.0", idsOf(byMember)},
		{"mine: reported by me", lwMember, "pl:go:l.m.0", idsOf(byMember)},
		{"mine: responsible", lwFixer, "pl:go:l.m.0", idsOf(late, dueToday, lateFixed, done)},
		{"resident: only their own", lwResident, "pl:go:l.security.0", nil},
	} {
		if got := listed(tc.user, tc.data); !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
	// Pages: eight a page with next and previous; a list of the admin spans both villages.
	w.send(t, adminID, cmd("problems"))
	first := w.send(t, adminID, press("pl:go:l.o.0"))
	if !hasButton(first, "pl:go:l.o.1") || hasButton(first, "pl:go:l.o.-1") || !strings.Contains(first[0].Text, "共 14 件") {
		t.Errorf("admin, page 1: got %q %v, want 14 problems and a next button", first[0].Text, buttonData(first))
	}
	last := w.send(t, adminID, press("pl:go:l.o.1"))
	if !hasButton(last, "pl:go:l.o.0") || hasButton(last, "pl:go:l.o.2") {
		t.Errorf("admin, page 2: got %v, want previous and no next", buttonData(last))
	}
	// A resident's open list holds what they reported and nothing else.
	if got := listed(lwResident, "pl:go:l.o.0"); len(got) != 8 || slices.Contains(got, strconv.FormatInt(byMember.ID, 10)) {
		t.Errorf("resident's open list: got %v, want 8 of their own", got)
	}
	// Overdue is marked in the list and on the card.
	w.send(t, lwSecretary, cmd("problems"))
	if got := buttonData(w.send(t, lwSecretary, press("pl:go:l.v.0"))); len(got) != 2 || !strings.Contains(got[0], "⚠") {
		t.Errorf("overdue list: got %v, want the problem marked", got)
	}
	if got := texts(w.send(t, lwSecretary, press("pl:go:p."+strconv.FormatInt(late.ID, 10)))); !strings.Contains(got, "2026-11-10（⚠ 已超期）") {
		t.Errorf("overdue card: got %q, want the deadline marked", got)
	}
}

func TestLedgerExport(t *testing.T) {
	t.Parallel()
	w := ledgerSetup(t)
	ctx := context.Background()
	a := w.ledgerProblem(t, "V1", store.StatusResolved, ledgerNow.Add(-2*time.Hour), "甲")
	w.ledgerProblem(t, "V1", store.StatusReported, ledgerNow.Add(-time.Hour), "乙")
	w.ledgerProblem(t, "V2", store.StatusReported, ledgerNow.Add(-time.Hour), "丙")
	// Archive the first photo only.
	archived, err := w.db.ArchivePhotos(ctx, store.NewArchive(t.TempDir()),
		func(_ context.Context, fileID string) ([]byte, error) { return []byte("bytes of " + fileID), nil }, time.Now().Add(time.Minute), 1)
	if err != nil || archived != 1 {
		t.Fatalf("archive: got %d (%v), want 1", archived, err)
	}
	sum := sha256.Sum256([]byte("bytes of f-report-甲"))

	if got := only(t, w.send(t, lwMember, cmd("ledger"))); !strings.Contains(got, "没有权限") {
		t.Errorf("member: got %q, want a refusal", got)
	}
	if got := only(t, w.send(t, lwOtherSupervisor, cmd("ledger", "V1"))); !strings.Contains(got, "V1") {
		t.Errorf("supervisor, a village out of the region: got %q, want it unknown", got)
	}
	replies := w.send(t, lwSecretary, cmd("ledger"))
	if len(replies) != 1 || replies[0].Document == nil {
		t.Fatalf("got %+v, want a spreadsheet", replies)
	}
	f, err := excelize.OpenReader(bytes.NewReader(replies[0].Document.Bytes))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := f.GetRows("问题台账")
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 {
		t.Fatalf("got %d rows %q, want a header and V1's two problems", len(rows), rows)
	}
	header := strings.Join(rows[0], "|")
	for _, col := range []string{"编号", "村", "问题类别", "问题描述", "反映人", "责任人", "责任单位", "整改措施", "完成时限", "办理状态", "反映日期", "整改完成日期", "验收日期", "销号日期", "照片 SHA-256"} {
		if !strings.Contains(header, col) {
			t.Errorf("header: got %q, want %q in it", header, col)
		}
	}
	row := strings.Join(rows[1], "|")
	for _, want := range []string{a.Number(), "一村", "甲", "村民", "u101", "村委会", "填平坑洼", "2026-11-20", "已整改待验收", "2026-11-10", hex.EncodeToString(sum[:])} {
		if !strings.Contains(row, want) {
			t.Errorf("first row: got %q, want %q in it", row, want)
		}
	}
	if strings.Contains(strings.Join(rows[2], "|"), "u106") || strings.Contains(row, "u106") {
		t.Errorf("rows name the resident: %q", rows)
	}
	// A supervisor may narrow the export to a region under them.
	replies = w.send(t, adminID, cmd("ledger", "T2"))
	if len(replies) != 1 || replies[0].Document == nil {
		t.Fatalf("admin, T2: got %+v, want a spreadsheet", replies)
	}
	f2, err := excelize.OpenReader(bytes.NewReader(replies[0].Document.Bytes))
	if err != nil {
		t.Fatal(err)
	}
	defer f2.Close()
	if rows, err := f2.GetRows("问题台账"); err != nil || len(rows) != 2 || !strings.Contains(strings.Join(rows[1], "|"), "二村") {
		t.Errorf("admin, T2: got %q (%v), want V2's problem only", rows, err)
	}
}
