package handlers_test

import (
	"context"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"zhucun/handlers"
	"zhucun/store"
	"zhucun/store/storetest"
)

const adminID = 1

type world struct {
	h      *handlers.Handlers
	db     *store.DB
	nextID atomic.Int64
	region map[string]store.Region
}

func f64(v float64) *float64 { return &v }
func i32(v int32) *int32     { return &v }

// villageRow is the import row of a village under parent.
func villageRow(code, parent, name string) store.RegionInput {
	return store.RegionInput{Code: code, ParentCode: parent, Level: store.LevelVillage, Name: name,
		Latitude: f64(28.2), Longitude: f64(112.9), RadiusM: i32(1000)}
}

// newWorld builds handlers with cfg (the admin and a deep-link function filled in) on a
// fresh schema holding the region tree rows.
func newWorld(t *testing.T, cfg handlers.Config, rows []store.RegionInput) *world {
	t.Helper()
	ctx := context.Background()
	db := storetest.DB(t)
	if cfg.AdminIDs == nil {
		cfg.AdminIDs = []int64{adminID}
	}
	if cfg.DeepLinkFunc == nil {
		cfg.DeepLinkFunc = func(p string) string { return "https://t.me/test_bot?start=" + p }
	}
	h, err := handlers.New(cfg, db, storetest.State(t, time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.UpsertRegions(ctx, rows); err != nil {
		t.Fatal(err)
	}
	w := &world{h: h, db: db, region: map[string]store.Region{}}
	for _, r := range rows {
		reg, err := db.RegionByCode(ctx, r.Code)
		if err != nil {
			t.Fatal(err)
		}
		w.region[r.Code] = reg
	}
	return w
}

// smallTree is a county with two townships of one village each.
func smallTree() []store.RegionInput {
	return []store.RegionInput{
		{Code: "C", Level: store.LevelCounty, Name: "县"},
		{Code: "T1", ParentCode: "C", Level: store.LevelTownship, Name: "一镇"},
		{Code: "T2", ParentCode: "C", Level: store.LevelTownship, Name: "二镇"},
		villageRow("V1", "T1", "一村"),
		villageRow("V2", "T2", "二村"),
	}
}

// setup builds handlers on a fresh schema with the small tree.
func setup(t *testing.T) *world {
	t.Helper()
	return newWorld(t, handlers.Config{}, smallTree())
}

// grant makes user hold role at the region with that code.
func (w *world) grant(t *testing.T, userID int64, role, code string) {
	t.Helper()
	ctx := context.Background()
	if _, err := w.db.TouchUser(ctx, userID, "u"+strconv.FormatInt(userID, 10), "zh-hans"); err != nil {
		t.Fatal(err)
	}
	if err := w.db.GrantRole(ctx, userID, role, w.region[code].ID, nil, nil); err != nil {
		t.Fatal(err)
	}
}

// send runs one input from userID in their private chat and returns the replies.
func (w *world) send(t *testing.T, userID int64, in handlers.Input) []handlers.Reply {
	t.Helper()
	in.UpdateID = w.nextID.Add(1)
	in.ChatID, in.UserID, in.Private = userID, userID, true
	if in.FirstName == "" {
		in.FirstName = "u" + strconv.FormatInt(userID, 10)
	}
	if in.LanguageCode == "" {
		in.LanguageCode = "zh-hans"
	}
	replies, err := w.h.Handle(context.Background(), in)
	if err != nil {
		t.Fatalf("handle %+v: %v", in, err)
	}
	// As the pipeline does once the replies are out.
	if err := w.h.Delivered(context.Background(), in.UpdateID); err != nil {
		t.Fatalf("delivered %d: %v", in.UpdateID, err)
	}
	return replies
}

func cmd(name string, args ...string) handlers.Input {
	return handlers.Input{Command: name, Text: "/" + name, Args: strings.Join(args, " ")}
}

func press(data string) handlers.Input {
	return handlers.Input{Callback: &handlers.Callback{ID: "q", Data: data, MessageID: 5}}
}

func text(s string) handlers.Input { return handlers.Input{Text: s} }

// only returns the text of the single reply.
func only(t *testing.T, replies []handlers.Reply) string {
	t.Helper()
	if len(replies) != 1 {
		t.Fatalf("got %d replies %+v, want 1", len(replies), replies)
	}
	return replies[0].Text
}

func buttonData(replies []handlers.Reply) []string {
	var out []string
	for _, r := range replies {
		for _, row := range r.Buttons {
			for _, b := range row {
				out = append(out, b.Text+"="+b.Data)
			}
		}
	}
	return out
}

func TestInviteIsAuthorisedOnEveryStep(t *testing.T) {
	t.Parallel()
	w := setup(t)
	const member, secretary, townSupervisor = 10, 11, 12
	w.grant(t, member, store.RoleMember, "V1")
	w.grant(t, secretary, store.RoleFirstSecretary, "V1")
	w.grant(t, townSupervisor, store.RoleSupervisor, "T1")
	v1, v2 := strconv.FormatInt(w.region["V1"].ID, 10), strconv.FormatInt(w.region["V2"].ID, 10)

	if got := only(t, w.send(t, member, cmd("invite"))); !strings.Contains(got, "没有权限") {
		t.Errorf("member /invite: got %q, want refusal", got)
	}

	// A first secretary is offered only members and residents…
	got := buttonData(w.send(t, secretary, cmd("invite")))
	if len(got) != 2 || !strings.HasSuffix(got[0], "=inv:role:member") || !strings.HasSuffix(got[1], "=inv:role:resident") {
		t.Fatalf("first secretary is offered %v, want member and resident", got)
	}
	// …and a forged press for another role or another village is refused.
	if got := only(t, w.send(t, secretary, press("inv:role:supervisor"))); !strings.Contains(got, "没有权限") {
		t.Errorf("forged role: got %q, want refusal", got)
	}
	w.send(t, secretary, press("inv:role:member"))
	if got := only(t, w.send(t, secretary, press("inv:node:c"+v2))); !strings.Contains(got, "没有权限") {
		t.Errorf("forged village: got %q, want refusal", got)
	}
	if got := only(t, w.send(t, secretary, press("inv:node:o"+strconv.FormatInt(w.region["C"].ID, 10)))); !strings.Contains(got, "没有权限") {
		t.Errorf("browsing the county: got %q, want refusal", got)
	}
	w.send(t, secretary, press("inv:node:c"+v1))
	replies := w.send(t, secretary, press("inv:exp:7"))
	if got := buttonData(replies); len(got) != 4 {
		t.Fatalf("member invite asks for a use limit, got buttons %v", got)
	}
	if got := only(t, w.send(t, secretary, press("inv:uses:999"))); !strings.Contains(got, "请点击") {
		t.Errorf("forged use limit: got %q, want re-prompt", got)
	}
	replies = w.send(t, secretary, press("inv:uses:5"))
	if len(replies) != 2 || !strings.Contains(replies[0].Text, "可使用 5 次") || replies[1].Photo == nil {
		t.Fatalf("got %+v, want the link (5 uses) and a QR code", replies)
	}

	// A township supervisor cannot reach the other township's village.
	w.send(t, townSupervisor, cmd("invite"))
	w.send(t, townSupervisor, press("inv:role:first_secretary"))
	if got := only(t, w.send(t, townSupervisor, press("inv:node:c"+v2))); !strings.Contains(got, "没有权限") {
		t.Errorf("supervisor, other township: got %q, want refusal", got)
	}
}

func TestConversationRules(t *testing.T) {
	t.Parallel()
	w := setup(t)
	const u = 20

	if got := only(t, w.send(t, u, text("你好"))); !strings.Contains(got, "/help") {
		t.Errorf("text outside a flow: got %q, want a hint to /help", got)
	}
	if got := only(t, w.send(t, u, cmd("nosuch"))); !strings.Contains(got, "没有这个命令") {
		t.Errorf("unknown command: got %q", got)
	}
	if got := only(t, w.send(t, u, cmd("cancel"))); !strings.Contains(got, "没有进行中") {
		t.Errorf("cancel outside a flow: got %q", got)
	}

	w.send(t, u, cmd("feedback"))
	if got := only(t, w.send(t, u, press("fb:anon:anon"))); !strings.Contains(got, "过期") {
		t.Errorf("button of a later step: got %q, want stale", got)
	}
	if got := only(t, w.send(t, u, text(strings.Repeat("长", 2001)))); !strings.Contains(got, "太长") {
		t.Errorf("too long: got %q", got)
	}
	w.send(t, u, text("建议"))
	if got := only(t, w.send(t, u, text("匿名"))); !strings.Contains(got, "请点按钮") {
		t.Errorf("text where a button is wanted: got %q, want re-prompt", got)
	}
	if got := only(t, w.send(t, u, cmd("cancel"))); !strings.Contains(got, "已取消") {
		t.Errorf("cancel in a flow: got %q", got)
	}
	if got := only(t, w.send(t, u, press("fb:anon:anon"))); !strings.Contains(got, "过期") {
		t.Errorf("button after cancel: got %q, want stale", got)
	}
	fb, err := w.db.AllFeedback(context.Background())
	if err != nil || len(fb) != 0 {
		t.Fatalf("feedback %+v (%v), want none after cancel", fb, err)
	}

	group := handlers.Input{UpdateID: 9999, ChatID: -100, UserID: u, Text: "/help", Command: "help"}
	replies, err := w.h.Handle(context.Background(), group)
	if err != nil || len(replies) != 1 || !strings.Contains(replies[0].Text, "私聊") {
		t.Fatalf("group chat: %+v (%v), want private-only", replies, err)
	}
}

func TestLanguageSwitch(t *testing.T) {
	t.Parallel()
	w := setup(t)
	const u = 30
	w.send(t, u, cmd("lang"))
	if got := only(t, w.send(t, u, press("lang:pick:en"))); got != "Language set to English." {
		t.Fatalf("got %q", got)
	}
	if got := only(t, w.send(t, u, cmd("me"))); !strings.Contains(got, "Language: English") {
		t.Fatalf("/me after switching: %q", got)
	}
	w.send(t, u, cmd("lang"))
	if got := only(t, w.send(t, u, press("lang:pick:xx"))); !strings.Contains(got, "Choose a language") {
		t.Fatalf("unknown language: got %q, want re-prompt", got)
	}
}

func TestHelpListsWhatRolesAllow(t *testing.T) {
	t.Parallel()
	w := setup(t)
	w.grant(t, 41, store.RoleFirstSecretary, "V1")
	resident := only(t, w.send(t, 40, cmd("help")))
	secretary := only(t, w.send(t, 41, cmd("help")))
	admin := only(t, w.send(t, adminID, cmd("help")))
	if strings.Contains(resident, "/invite") || !strings.Contains(secretary, "/invite") || !strings.Contains(admin, "/invite") {
		t.Fatalf("help: resident %q, secretary %q, admin %q", resident, secretary, admin)
	}
	for _, c := range []string{"/me", "/lang", "/feedback", "/cancel"} {
		if !strings.Contains(resident, c) {
			t.Errorf("resident help lacks %s", c)
		}
	}
}

func TestReplayedInputYieldsNothing(t *testing.T) {
	t.Parallel()
	w := setup(t)
	in := handlers.Input{UpdateID: 500, ChatID: 50, UserID: 50, Private: true, Command: "help", Text: "/help"}
	first, err := w.h.Handle(context.Background(), in)
	if err != nil || len(first) != 1 {
		t.Fatalf("first: %+v (%v)", first, err)
	}
	if err := w.h.Delivered(context.Background(), in.UpdateID); err != nil {
		t.Fatalf("Delivered: %v", err)
	}
	again, err := w.h.Handle(context.Background(), in)
	if err != nil || len(again) != 0 {
		t.Fatalf("replay: %+v (%v), want no replies", again, err)
	}
}
