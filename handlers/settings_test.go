package handlers_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"zhucun/handlers"
	"zhucun/store"
)

// buttons lists the labels of the replies' buttons.
func buttons(replies []handlers.Reply) []string {
	var out []string
	for _, r := range replies {
		for _, row := range r.Buttons {
			for _, b := range row {
				out = append(out, b.Text)
			}
		}
	}
	return out
}

func (w *world) pref(t *testing.T, userID int64, kind string) store.ReminderPref {
	t.Helper()
	prefs, err := w.db.ReminderPrefs(context.Background(), []int64{userID})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range prefs {
		if p.Kind == kind {
			return p
		}
	}
	return store.ReminderPref{UserID: userID, Kind: kind}
}

func TestSettingsKindsByRole(t *testing.T) {
	t.Parallel()
	w := setup(t)
	const member, secretary, supervisor, nobody = 20, 21, 22, 23
	w.grant(t, member, store.RoleMember, "V1")
	w.grant(t, secretary, store.RoleFirstSecretary, "V1")
	w.grant(t, supervisor, store.RoleSupervisor, "T1")
	if _, err := w.db.TouchUser(context.Background(), nobody, "u", "zh-hans"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		user int64
		want []string
	}{
		{"member", member, []string{"打卡提醒", "到期提醒"}},
		{"first secretary", secretary, []string{"打卡提醒", "每日汇总", "周报提醒", "到期提醒"}},
		{"supervisor", supervisor, []string{"逾期升级", "每周汇总"}},
		{"no role", nobody, nil},
	} {
		replies := w.send(t, tc.user, cmd("settings"))
		if got := buttons(replies); !slices.Equal(got, tc.want) {
			t.Errorf("%s: buttons %q, want %q", tc.name, got, tc.want)
		}
	}
	if got := only(t, w.send(t, nobody, cmd("settings"))); !strings.Contains(got, "不会收到任何提醒") {
		t.Errorf("no role: got %q", got)
	}
	// The county has not turned the check-in reminder on; the defaults and quiet hours show.
	got := only(t, w.send(t, secretary, cmd("settings")))
	for _, want := range []string{"打卡提醒：本县没有开启", "每日汇总：20:00（默认）", "到期提醒：09:00（默认）", "21:30–07:30 不发提醒"} {
		if !strings.Contains(got, want) {
			t.Errorf("first secretary's settings %q lack %q", got, want)
		}
	}
}

func TestSettingsChangeTimeAndMute(t *testing.T) {
	t.Parallel()
	w := setup(t)
	const member = 30
	w.grant(t, member, store.RoleMember, "V1")
	rs := store.DefaultReminderSettings(w.region["C"].ID)
	rs.CheckInReminder = true
	if err := w.db.SetReminderSettings(context.Background(), rs); err != nil {
		t.Fatal(err)
	}
	w.send(t, member, cmd("settings"))
	replies := w.send(t, member, press("st:menu:checkin"))
	if got := buttons(replies); !slices.Contains(got, "08:00") || !slices.Contains(got, "🔕 关闭") || !slices.Contains(got, "用默认时间（10:00）") {
		t.Fatalf("check-in reminder choices %q", got)
	}
	if replies[0].EditMessageID == 0 {
		t.Errorf("the choices do not replace the menu: %+v", replies[0])
	}

	steps := []struct {
		name   string
		in     handlers.Input
		want   string // in the reply
		at     *int32 // stored time
		muted  bool
		reopen bool // open the check-in reminder again afterwards
	}{
		{name: "a button", in: press("st:kind:t0800"), want: "打卡提醒：08:00\n", at: ptr(int32(8 * 60)), reopen: true},
		{name: "typed", in: text("9点15"), want: "打卡提醒：09:15\n", at: ptr(int32(9*60 + 15)), reopen: true},
		{name: "in the quiet hours", in: text("06:00"), want: "打卡提醒：06:00（在免打扰时段，顺延到 07:30）", at: ptr(int32(6 * 60)), reopen: true},
		{name: "muted", in: press("st:kind:mute"), want: "打卡提醒：已关闭", at: ptr(int32(6 * 60)), muted: true, reopen: true},
		{name: "unmuted", in: press("st:kind:on"), want: "打卡提醒：06:00", at: ptr(int32(6 * 60)), reopen: true},
		{name: "default", in: press("st:kind:def"), want: "打卡提醒：10:00（默认）", at: nil},
	}
	for _, s := range steps {
		got := only(t, w.send(t, member, s.in))
		if !strings.Contains(got, "已保存") || !strings.Contains(got, s.want) {
			t.Errorf("%s: got %q, want it saved and %q", s.name, got, s.want)
		}
		p := w.pref(t, member, store.ReminderCheckIn)
		if p.Muted != s.muted || (p.AtMinute == nil) != (s.at == nil) || (s.at != nil && *p.AtMinute != *s.at) {
			t.Errorf("%s: stored %+v, want muted=%v at %v", s.name, p, s.muted, s.at)
		}
		if s.reopen {
			w.send(t, member, press("st:menu:checkin"))
		}
	}
}

func ptr[T any](v T) *T { return &v }

func TestSettingsRefusesAndReprompts(t *testing.T) {
	t.Parallel()
	w := setup(t)
	const member = 40
	w.grant(t, member, store.RoleMember, "V1")
	w.send(t, member, cmd("settings"))
	// A supervisor's kind, forged.
	if got := only(t, w.send(t, member, press("st:menu:weekly"))); !strings.Contains(got, "没有权限") {
		t.Errorf("forged kind: got %q, want a refusal", got)
	}
	if got := only(t, w.send(t, member, text("hello"))); !strings.Contains(got, "按钮") {
		t.Errorf("text on the menu: got %q, want the buttons asked for", got)
	}
	w.send(t, member, press("st:menu:deadline"))
	for _, bad := range []string{"25:00", "abc", "9:75"} {
		if got := only(t, w.send(t, member, text(bad))); !strings.Contains(got, "例如 8:30") {
			t.Errorf("time %q: got %q, want the question again", bad, got)
		}
	}
	if p := w.pref(t, member, store.ReminderDeadline); p.AtMinute != nil || p.Muted {
		t.Errorf("bad input stored %+v", p)
	}
	// Back to the list, still nothing stored.
	if got := only(t, w.send(t, member, press("st:kind:back"))); !strings.Contains(got, "到期提醒：09:00（默认）") {
		t.Errorf("back: got %q, want the list", got)
	}
	// Someone not in the flow pressing one of its buttons changes nothing.
	if _, err := w.db.TouchUser(context.Background(), 41, "u", "zh-hans"); err != nil {
		t.Fatal(err)
	}
	if got := only(t, w.send(t, 41, press("st:kind:mute"))); !strings.Contains(got, "按钮已过期") {
		t.Errorf("another user's press: got %q, want a stale button", got)
	}
	if p := w.pref(t, 41, store.ReminderDeadline); p.Muted {
		t.Errorf("the stale press stored %+v", p)
	}
}
