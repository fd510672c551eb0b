package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-telegram/bot/models"
	"github.com/xuri/excelize/v2"

	"zhucun/bot/bottest"
	"zhucun/store"
)

// Places around the demo villages (deploy/regions-demo.csv): 东坪村 is at 28.2281,112.9388
// with a 1500 m radius, 柳湾村 about 10 km from it.
const (
	insideLat, insideLon   = 28.2290, 112.9395 // about 120 m from the centre of 东坪村
	liuwanLat, liuwanLon   = 28.3012, 112.8801 // the centre of 柳湾村
	farLat, farLon         = 37.2281, 112.9388 // 9° north of 东坪村: about 1000 km
	checkInButton          = "📍 打卡"
	staleButton            = "这个按钮已过期"
	notAllowed             = "您没有权限进行这项操作"
	barrierData            = "zz:sync:0" // no flow has it: answered as a stale button, changes nothing
	savedSelf, offerLoc    = "已打卡：今天", "如果方便，可以再发送位置"
	askPhoto, photoDone    = "可以再发一张现场照片", "打卡完成。"
	askReason, reasonSaved = "您现在不在村里。请选择外出原因", "外出原因已记录："
)

// checkInEnv is a running bot on the demo county, whose village teams tests fill.
type checkInEnv struct {
	*env
	ctx                      context.Context
	county                   store.Region
	dongping, xiling, liuwan store.Region
	shanghai                 *time.Location
}

// newCheckInEnv imports the demo county and starts a bot on it.
func newCheckInEnv(t *testing.T) *checkInEnv {
	t.Helper()
	return newCheckInEnvOn(t, newEnv(t))
}

// newCheckInEnvOn is newCheckInEnv on e (see eachEnv).
func newCheckInEnvOn(t *testing.T, e *env) *checkInEnv {
	t.Helper()
	w := &checkInEnv{env: e, ctx: context.Background()}
	w.importDemo(t)
	for code, r := range map[string]*store.Region{"DEMO": &w.county, "DEMO-QS-01": &w.dongping, "DEMO-HX-01": &w.liuwan, "DEMO-QS-02": &w.xiling} {
		region, err := w.db.RegionByCode(w.ctx, code)
		if err != nil {
			t.Fatalf("region %s: %v", code, err)
		}
		*r = region
	}
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	w.shanghai = loc
	w.start(t, nil)
	return w
}

// join gives a Telegram user a role at a village, as a redeemed invite would.
func (w *checkInEnv) join(t *testing.T, id int64, name, languageCode, role string, villages ...store.Region) *bottest.User {
	t.Helper()
	if _, err := w.db.TouchUser(w.ctx, id, name, languageCode); err != nil {
		t.Fatal(err)
	}
	for _, v := range villages {
		if err := w.db.GrantRole(w.ctx, id, role, v.ID, nil, nil); err != nil {
			t.Fatalf("grant %s at %s to %d: %v", role, v.Code, id, err)
		}
	}
	return w.api.NewUser(id, name, languageCode)
}

// member is a team member of 东坪村 who speaks Chinese.
func (w *checkInEnv) member(t *testing.T, id int64, name string) *bottest.User {
	t.Helper()
	return w.join(t, id, name, "zh-hans", store.RoleMember, w.dongping)
}

// requireLocation makes the demo county ask for a location with every check-in.
func (w *checkInEnv) requireLocation(t *testing.T) {
	t.Helper()
	if err := w.db.SetCountySettings(w.ctx, store.CountySettings{RegionID: w.county.ID, LocationRequired: true, RequiredDays: 20}); err != nil {
		t.Fatal(err)
	}
}

// act does something as u and returns the bot's whole answer to it in u's chat: the
// messages sent and edited, in order. It knows the answer is whole by pressing after
// it a button of no flow: chats are handled in order, so once that press is answered
// (as a stale button) everything before it was.
func (w *checkInEnv) act(t *testing.T, u *bottest.User, do func()) []bottest.Call {
	t.Helper()
	before := len(w.api.Calls())
	sends := len(w.api.CallsTo("sendMessage"))
	do()
	barrier := u.Press(bottest.Message{ChatID: u.ID, ID: 1 << 30}, barrierData).CallbackQuery.ID
	chat := strconv.FormatInt(u.ID, 10)
	for n := sends + 1; ; n++ {
		w.api.WaitCalls(t, "sendMessage", n)
		calls := w.api.Calls()[before:]
		answered := slices.IndexFunc(calls, func(c bottest.Call) bool {
			return c.Method == "answerCallbackQuery" && c.Params["callback_query_id"] == barrier
		})
		if answered < 0 || !slices.ContainsFunc(calls[answered+1:], func(c bottest.Call) bool {
			return c.Method == "sendMessage" && c.Params["chat_id"] == chat
		}) {
			continue
		}
		var out []bottest.Call
		for _, c := range calls[:answered] {
			switch c.Method {
			case "sendMessage", "editMessageText", "editMessageReplyMarkup", "sendPhoto", "sendDocument", "deleteMessage":
				if c.Params["chat_id"] == chat {
					out = append(out, c)
				}
			}
		}
		return out
	}
}

func (w *checkInEnv) text(t *testing.T, u *bottest.User, text string) []bottest.Call {
	t.Helper()
	return w.act(t, u, func() { u.Text(text) })
}

func (w *checkInEnv) command(t *testing.T, u *bottest.User, cmd string, args ...string) []bottest.Call {
	t.Helper()
	return w.act(t, u, func() { u.Command(cmd, args...) })
}

// tap taps the check-in button of the reply keyboard.
func (w *checkInEnv) tap(t *testing.T, u *bottest.User) []bottest.Call {
	t.Helper()
	return w.text(t, u, checkInButton)
}

// withButton returns the newest message in u's chat with an inline button whose
// text contains label, and that button's data.
func (w *checkInEnv) withButton(t *testing.T, u *bottest.User, label string) (bottest.Message, string) {
	t.Helper()
	msgs := w.api.Messages(u.ID)
	for i := len(msgs) - 1; i >= 0; i-- {
		if m := msgs[i]; !m.Deleted && m.Markup != nil {
			for _, row := range m.Markup.InlineKeyboard {
				for _, b := range row {
					if strings.Contains(b.Text, label) {
						return m, b.CallbackData
					}
				}
			}
		}
	}
	t.Fatalf("no button %q in chat %d; got messages %+v", label, u.ID, msgs)
	return bottest.Message{}, ""
}

// press presses the newest button labelled label in u's chat.
func (w *checkInEnv) press(t *testing.T, u *bottest.User, label string) []bottest.Call {
	t.Helper()
	m, data := w.withButton(t, u, label)
	return w.act(t, u, func() { u.Press(m, data) })
}

// forge presses, on the newest message that has a button labelled label, a button
// with data the bot never offered.
func (w *checkInEnv) forge(t *testing.T, u *bottest.User, label, data string) []bottest.Call {
	t.Helper()
	m, _ := w.withButton(t, u, label)
	return w.act(t, u, func() { u.Press(m, data) })
}

// checkIn returns u's stored check-in of the local day of at.
func (w *checkInEnv) checkIn(t *testing.T, u *bottest.User, at time.Time) store.CheckIn {
	t.Helper()
	c, err := w.db.CheckInOn(w.ctx, u.ID, at.In(w.shanghai))
	if err != nil {
		t.Fatalf("check-in of %d on %s: got %v, want one", u.ID, at.In(w.shanghai).Format(time.DateOnly), err)
	}
	return c
}

// noCheckIn fails unless u has no check-in on the local day of at.
func (w *checkInEnv) noCheckIn(t *testing.T, u *bottest.User, at time.Time) {
	t.Helper()
	c, err := w.db.CheckInOn(w.ctx, u.ID, at.In(w.shanghai))
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("check-in of %d on %s: got %+v (%v), want none", u.ID, at.In(w.shanghai).Format(time.DateOnly), c, err)
	}
}

// localAt is the time hh:mm of the local day that is days after today in Shanghai.
func (w *checkInEnv) localAt(days, hh, mm int) time.Time {
	now := time.Now().In(w.shanghai)
	return time.Date(now.Year(), now.Month(), now.Day()+days, hh, mm, 0, 0, w.shanghai)
}

// replyText is what a reply says: its text, or a document's or photo's caption.
func replyText(c bottest.Call) string {
	if s, ok := c.Params["text"]; ok {
		return s
	}
	return c.Params["caption"]
}

// describe lists replies for failure messages.
func describe(calls []bottest.Call) string {
	var b strings.Builder
	for _, c := range calls {
		fmt.Fprintf(&b, "\n\t%s %q", c.Method, replyText(c))
	}
	if b.Len() == 0 {
		return " nothing"
	}
	return b.String()
}

// wantReplies fails unless there is one reply per want, each containing its want.
func wantReplies(t *testing.T, got []bottest.Call, want ...string) {
	t.Helper()
	ok := len(got) == len(want)
	for i := 0; ok && i < len(want); i++ {
		ok = strings.Contains(replyText(got[i]), want[i])
	}
	if !ok {
		t.Fatalf("got replies:%s\nwant %d containing %q", describe(got), len(want), want)
	}
}

// ptr shows what a nullable column holds.
func ptr[T any](v *T) any {
	if v == nil {
		return nil
	}
	return *v
}

// wantStored compares the fields of a check-in that tell what was recorded.
func wantStored(t *testing.T, c store.CheckIn, source, verdict string, onSite bool, reasons []string) {
	t.Helper()
	if c.Source != source || c.Verdict != verdict || c.OnSite != onSite || !slices.Equal(c.Reasons, reasons) {
		t.Fatalf("stored check-in: got source %s, verdict %s, on site %t, reasons %q; want %s, %s, %t, %q",
			c.Source, c.Verdict, c.OnSite, c.Reasons, source, verdict, onSite, reasons)
	}
	if (source == store.SourceLocation) != (c.Latitude != nil) {
		t.Fatalf("stored check-in from %s: got latitude %v", source, ptr(c.Latitude))
	}
}

func TestCheckInOneTap(t *testing.T) {
	t.Parallel()
	eachEnv(t, func(t *testing.T, e *env) { checkInOneTap(t, newCheckInEnvOn(t, e)) })
}

func checkInOneTap(t *testing.T, w *checkInEnv) {
	for i, tc := range []struct {
		name, language string
		do             func(u *bottest.User)
		want           []string
		noLocation     string
		keptSelf       string
		already        string
	}{
		{name: "reply keyboard button", language: "zh-hans", do: func(u *bottest.User) { u.Text(checkInButton) },
			want: []string{"已打卡：今天 %s 在东坪村（本人申报）。", offerLoc}, noLocation: "不用了", keptSelf: "好的，今天已按“本人申报在岗”记录。", already: "您今天已经打过卡了"},
		{name: "command", language: "zh-hans", do: func(u *bottest.User) { u.Command("checkin") },
			want: []string{"已打卡：今天 %s 在东坪村（本人申报）。", offerLoc}, noLocation: "不用了", keptSelf: "好的，今天已按“本人申报在岗”记录。", already: "您今天已经打过卡了"},
		{name: "English button", language: "en", do: func(u *bottest.User) { u.Text("📍 Check in") },
			want:       []string{"Checked in: today at %s in Dongping Village (self-declared).", "If you can, send your location"},
			noLocation: "No, thanks", keptSelf: "Fine: today is recorded as present, self-declared.", already: "You already checked in today"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			u := w.join(t, int64(2100+i), "队员"+strconv.Itoa(i), tc.language, store.RoleMember, w.dongping)
			before := time.Now().Truncate(time.Second)
			got := w.act(t, u, func() { tc.do(u) })
			after := time.Now()

			c := w.checkIn(t, u, after)
			wantStored(t, c, store.SourceSelf, store.VerdictSelfDeclared, true, []string{})
			if c.RegionID != w.dongping.ID || c.RecordedBy != u.ID || c.CheckedAt.Before(before) || c.CheckedAt.After(after) {
				t.Fatalf("stored check-in: got village %d, recorded by %d at %v; want %d, %d, in [%v, %v]",
					c.RegionID, c.RecordedBy, c.CheckedAt, w.dongping.ID, u.ID, before, after)
			}
			wantReplies(t, got, fmt.Sprintf(tc.want[0], c.CheckedAt.In(w.shanghai).Format("15:04")), tc.want[1])
			if mk := got[0].Params["reply_markup"]; !strings.Contains(mk, `"request_location":true`) {
				t.Fatalf("first reply's keyboard: got %s, want a button that sends the location", mk)
			}

			// Declining the location keeps the check-in as it is and ends the flow.
			wantReplies(t, w.press(t, u, tc.noLocation), tc.keptSelf)
			if again := w.checkIn(t, u, after); again.ID != c.ID || again.Source != store.SourceSelf || again.Latitude != nil {
				t.Fatalf("after declining the location: got %+v, want check-in %d unchanged", again, c.ID)
			}
			wantReplies(t, w.act(t, u, func() { u.Location(insideLat, insideLon) }), tc.already)
		})
	}
}

func TestCheckInWhereLocationRequired(t *testing.T) {
	t.Parallel()
	w := newCheckInEnv(t)
	w.requireLocation(t)
	for i, tc := range []struct {
		name string
		do   func(u *bottest.User)
	}{
		{"reply keyboard button", func(u *bottest.User) { u.Text(checkInButton) }},
		{"command", func(u *bottest.User) { u.Command("checkin") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			u := w.member(t, int64(2200+i), "队员"+strconv.Itoa(i))
			got := w.act(t, u, func() { tc.do(u) })
			wantReplies(t, got, "本县要求打卡时附带位置。请点下方“发送位置”按钮，把当前位置发给我（东坪村）。")
			if mk := got[0].Params["reply_markup"]; !strings.Contains(mk, `"request_location":true`) {
				t.Fatalf("keyboard: got %s, want a button that sends the location", mk)
			}
			w.noCheckIn(t, u, time.Now())

			wantReplies(t, w.text(t, u, "我在村里"), "请发送位置")
			w.noCheckIn(t, u, time.Now())

			wantReplies(t, w.act(t, u, func() { u.LiveLocation(insideLat, insideLon, 15, 900) }), "已记录位置：距东坪村中心", askPhoto)
			c := w.checkIn(t, u, time.Now())
			wantStored(t, c, store.SourceLocation, store.VerdictVerified, true, []string{})
		})
	}
	t.Run("a forwarded location", func(t *testing.T) {
		t.Parallel()
		u := w.member(t, 2299, "队员丙")
		w.tap(t, u)
		wantReplies(t, w.act(t, u, func() { u.ForwardedLocation(insideLat, insideLon) }), refusedForwarded)
		w.noCheckIn(t, u, time.Now())
	})
}

func TestCheckInWithLocation(t *testing.T) {
	t.Parallel()
	w := newCheckInEnv(t)
	for i, tc := range []struct {
		name    string
		tap     bool // tap the button first; else the location starts the check-in
		send    func(u *bottest.User)
		located []string // what the answer to the location says
		verdict string
		onSite  bool
		reasons []string
		reason  string // the button pressed at the reason step
		note    string // the text sent after 其他原因
		wantWhy string // the stored off-site reason
		ago     time.Duration
	}{
		{name: "live inside", send: func(u *bottest.User) { u.LiveLocation(insideLat, insideLon, 15, 900) },
			located: []string{"已记录位置：距东坪村中心 1", "已核验"}, verdict: store.VerdictVerified, onSite: true, reasons: []string{}},
		{name: "live inside after a tap", tap: true, send: func(u *bottest.User) { u.LiveLocation(insideLat, insideLon, 15, 900) },
			located: []string{"已核验"}, verdict: store.VerdictVerified, onSite: true, reasons: []string{}},
		{name: "static inside", send: func(u *bottest.User) { u.Location(insideLat, insideLon) },
			located: []string{"未核验", "· 固定位置（可手动选点），非实时位置"}, verdict: store.VerdictUnverified, onSite: true, reasons: []string{"static"}},
		{name: "live inside, poor accuracy", send: func(u *bottest.User) { u.LiveLocation(insideLat, insideLon, 800, 900) },
			located: []string{"存疑", "· 定位精度太低"}, verdict: store.VerdictDoubtful, onSite: true, reasons: []string{"low_accuracy"}},
		{name: "live inside, sent an hour ago", ago: time.Hour, send: func(u *bottest.User) { u.LiveLocation(insideLat, insideLon, 15, 900) },
			located: []string{"存疑", "· 位置发出很久之后才收到"}, verdict: store.VerdictDoubtful, onSite: true, reasons: []string{"late"}},
		{name: "live outside with a listed reason", send: func(u *bottest.User) { u.LiveLocation(liuwanLat, liuwanLon, 15, 900) },
			located: []string{"km", "已核验", "· 在村范围之外"}, verdict: store.VerdictVerified, reasons: []string{"outside_fence"},
			reason: "入户走访", wantWhy: "visits"},
		{name: "static outside after a tap with another reason", tap: true, send: func(u *bottest.User) { u.Location(liuwanLat, liuwanLon) },
			located: []string{"未核验", "· 在村范围之外"}, verdict: store.VerdictUnverified, reasons: []string{"static", "outside_fence"},
			reason: "其他原因", note: "去县里参加培训", wantWhy: "other"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			u := w.member(t, int64(2300+i), "队员"+strconv.Itoa(i))
			var tapped store.CheckIn
			if tc.tap {
				wantReplies(t, w.tap(t, u), savedSelf, offerLoc)
				tapped = w.checkIn(t, u, time.Now())
			}
			if tc.ago > 0 {
				u.Date = time.Now().Add(-tc.ago)
			}
			got := w.act(t, u, func() { tc.send(u) })
			next := askPhoto
			if !tc.onSite {
				next = askReason
			}
			wantReplies(t, got, "已记录位置", next)
			for _, want := range tc.located {
				if !strings.Contains(replyText(got[0]), want) {
					t.Fatalf("answer to the location: got %q, want it to contain %q", replyText(got[0]), want)
				}
			}
			day := time.Now().Add(-tc.ago)
			c := w.checkIn(t, u, day)
			wantStored(t, c, store.SourceLocation, tc.verdict, tc.onSite, tc.reasons)
			if tc.tap && c.ID != tapped.ID {
				t.Fatalf("check-in after the tap: got id %d, want the tap's %d completed", c.ID, tapped.ID)
			}
			if live := tc.verdict != store.VerdictUnverified; c.Live == nil || *c.Live != live || c.DistanceM == nil || (*c.DistanceM <= 1500) != tc.onSite {
				t.Fatalf("stored location: got live %v, distance %v; want live %t, on site %t", ptr(c.Live), ptr(c.DistanceM), live, tc.onSite)
			}

			if tc.reason != "" {
				m, _ := w.withButton(t, u, "入户走访")
				for _, label := range []string{"入户走访", "到乡镇开会", "为村里办事", "其他原因"} {
					m.Button(t, label)
				}
				got := w.press(t, u, tc.reason)
				if tc.note != "" {
					wantReplies(t, got, "请简要写明外出原因")
					got = w.text(t, u, tc.note)
					wantReplies(t, got, reasonSaved+tc.note, askPhoto)
				} else {
					wantReplies(t, got, reasonSaved+tc.reason, askPhoto)
				}
				if c := w.checkIn(t, u, day); c.OffSiteReason != tc.wantWhy || c.OffSiteNote != tc.note || c.OnSite {
					t.Fatalf("stored reason: got %q, note %q, on site %t; want %q, %q, false", c.OffSiteReason, c.OffSiteNote, c.OnSite, tc.wantWhy, tc.note)
				}
			}
			wantReplies(t, w.press(t, u, "跳过"), photoDone)
		})
	}
}

// refusedForwarded is the answer to a forwarded location.
const refusedForwarded = "转发的位置不能用于打卡，请发送您自己当前的位置。本次没有记录。"

func TestCheckInForwardedLocation(t *testing.T) {
	t.Parallel()
	w := newCheckInEnv(t)

	t.Run("without a tap", func(t *testing.T) {
		t.Parallel()
		u := w.member(t, 2401, "队员甲")
		wantReplies(t, w.act(t, u, func() { u.ForwardedLocation(insideLat, insideLon) }), refusedForwarded)
		w.noCheckIn(t, u, time.Now())
		// The member's own location is taken.
		wantReplies(t, w.act(t, u, func() { u.LiveLocation(insideLat, insideLon, 15, 900) }), "已核验", askPhoto)
		wantStored(t, w.checkIn(t, u, time.Now()), store.SourceLocation, store.VerdictVerified, true, []string{})
	})
	t.Run("after a tap", func(t *testing.T) {
		t.Parallel()
		u := w.member(t, 2402, "队员乙")
		w.tap(t, u)
		wantReplies(t, w.act(t, u, func() { u.ForwardedLocation(insideLat, insideLon) }), refusedForwarded)
		wantStored(t, w.checkIn(t, u, time.Now()), store.SourceSelf, store.VerdictSelfDeclared, true, []string{})
	})
}

func TestCheckInLocalDay(t *testing.T) {
	t.Parallel()
	w := newCheckInEnv(t)

	t.Run("a second check-in the same day is refused", func(t *testing.T) {
		t.Parallel()
		u := w.member(t, 2501, "队员甲")
		// 08:05 in Shanghai is 00:05 UTC: the answer must be in local time.
		u.Date = w.localAt(-1, 8, 5)
		wantReplies(t, w.tap(t, u), "已打卡：今天 08:05 在东坪村（本人申报）。", offerLoc)
		first := w.checkIn(t, u, u.Date)
		w.press(t, u, "不用了")
		for _, again := range []struct {
			name string
			at   time.Time
			do   func()
		}{
			{"a tap in the evening", w.localAt(-1, 20, 30), func() { u.Text(checkInButton) }},
			{"/checkin just before midnight", w.localAt(-1, 23, 59), func() { u.Command("checkin") }},
			{"a live location", w.localAt(-1, 21, 0), func() { u.LiveLocation(insideLat, insideLon, 15, 900) }},
		} {
			u.Date = again.at
			got := w.act(t, u, again.do)
			if len(got) != 1 || replyText(got[0]) != "您今天已经打过卡了（08:05，东坪村），无需重复打卡。" {
				t.Fatalf("%s: got%s\nwant the refusal with the first check-in's time 08:05", again.name, describe(got))
			}
			if c := w.checkIn(t, u, again.at); c.ID != first.ID || !c.CheckedAt.Equal(first.CheckedAt) || c.Source != store.SourceSelf || c.Latitude != nil {
				t.Fatalf("after %s: got %+v, want %+v unchanged", again.name, c, first)
			}
		}
	})

	t.Run("23:59 and 00:01 are two days", func(t *testing.T) {
		t.Parallel()
		u := w.member(t, 2601, "队员乙")
		// 23:59 and 00:01 in Shanghai are 15:59 and 16:01 UTC, the same UTC day.
		night, morning := w.localAt(-1, 23, 59), w.localAt(0, 0, 1)
		u.Date = night
		wantReplies(t, w.tap(t, u), "已打卡：今天 23:59 在东坪村", offerLoc)
		u.Date = morning
		wantReplies(t, w.tap(t, u), "已打卡：今天 00:01 在东坪村", offerLoc)

		first, second := w.checkIn(t, u, night), w.checkIn(t, u, morning)
		if first.ID == second.ID || !first.CheckedAt.Equal(night) || !second.CheckedAt.Equal(morning) {
			t.Fatalf("got check-ins %d at %v and %d at %v, want two, at %v and %v", first.ID, first.CheckedAt, second.ID, second.CheckedAt, night, morning)
		}
		if got, want := first.Day.Format(time.DateOnly), night.Format(time.DateOnly); got != want {
			t.Fatalf("first check-in's day: got %s, want %s", got, want)
		}
		if got, want := second.Day.Format(time.DateOnly), morning.Format(time.DateOnly); got != want {
			t.Fatalf("second check-in's day: got %s, want %s", got, want)
		}
	})
}

func TestCheckInImpossibleJump(t *testing.T) {
	t.Parallel()
	w := newCheckInEnv(t)
	secretary := w.join(t, 2701, "李书记", "zh-hans", store.RoleFirstSecretary, w.dongping)
	// The member who travels plausibly has the lower id, so that the day's list puts
	// them first unless doubtful check-ins come first.
	driver := w.member(t, 2702, "队员甲")
	jumper := w.member(t, 2703, "队员乙")

	// Tomorrow 23:30 and an hour later the day after, as the messages' dates; dates
	// ahead of the clock keep the locations from counting as late.
	night, hourLater := w.localAt(1, 23, 30), w.localAt(2, 0, 30)
	for _, tc := range []struct {
		name     string
		u        *bottest.User
		lat, lon float64
		verdict  string
		reasons  []string
		says     string
		why      string
	}{
		{"ten kilometres in an hour", driver, liuwanLat, liuwanLon, store.VerdictVerified, []string{"outside_fence"}, "已核验", "为村里办事"},
		{"a thousand kilometres in an hour", jumper, farLat, farLon, store.VerdictDoubtful, []string{"outside_fence", "impossible_jump"},
			"存疑。\n· 在村范围之外\n· 与上次打卡位置相距太远，时间内无法到达", "到乡镇开会"},
	} {
		tc.u.Date = night
		wantReplies(t, w.act(t, tc.u, func() { tc.u.LiveLocation(insideLat, insideLon, 15, 900) }), "已核验", askPhoto)
		wantStored(t, w.checkIn(t, tc.u, night), store.SourceLocation, store.VerdictVerified, true, []string{})
		w.press(t, tc.u, "跳过")

		tc.u.Date = hourLater
		got := w.act(t, tc.u, func() { tc.u.LiveLocation(tc.lat, tc.lon, 15, 900) })
		if len(got) != 2 || !strings.Contains(replyText(got[0]), tc.says) || !strings.Contains(replyText(got[1]), askReason) {
			t.Fatalf("%s: got%s\nwant %q, then %q", tc.name, describe(got), tc.says, askReason)
		}
		c := w.checkIn(t, tc.u, hourLater)
		if c.Verdict != tc.verdict || !slices.Equal(c.Reasons, tc.reasons) || c.OnSite || c.LocatedAt == nil || !c.LocatedAt.Equal(hourLater) {
			t.Fatalf("%s: got verdict %s, reasons %q, on site %t, located at %v; want %s, %q, false, %v",
				tc.name, c.Verdict, c.Reasons, c.OnSite, ptr(c.LocatedAt), tc.verdict, tc.reasons, hourLater)
		}
		w.press(t, tc.u, tc.why)
	}

	// The first secretary sees the doubtful check-in first, with its reason.
	got := w.command(t, secretary, "checkins", hourLater.Format(time.DateOnly))
	wantReplies(t, got, "打卡情况")
	list := replyText(got[0])
	doubtful := strings.Index(list, "⚠️ 存疑的打卡：\n队员乙 00:30 外出（到乡镇开会） · 存疑\n· 在村范围之外\n· 与上次打卡位置相距太远")
	fine := strings.Index(list, "队员甲 00:30 外出（为村里办事） · 已核验")
	if doubtful < 0 || fine < 0 || doubtful > fine {
		t.Fatalf("/checkins: got\n%s\nwant the doubtful 队员乙 under ⚠️ before 队员甲", list)
	}
}

func TestCheckInPhotoStep(t *testing.T) {
	t.Parallel()
	w := newCheckInEnv(t)
	// onSite brings u to the photo step.
	onSite := func(t *testing.T, u *bottest.User) {
		t.Helper()
		wantReplies(t, w.act(t, u, func() { u.LiveLocation(insideLat, insideLon, 15, 900) }), "已核验", askPhoto)
	}

	t.Run("skipped", func(t *testing.T) {
		t.Parallel()
		u := w.member(t, 2801, "队员甲")
		onSite(t, u)
		wantReplies(t, w.press(t, u, "跳过"), photoDone)
		if c := w.checkIn(t, u, time.Now()); c.PhotoFileID != "" || c.Verdict != store.VerdictVerified {
			t.Fatalf("after skipping: got photo %q, verdict %s; want none, verified", c.PhotoFileID, c.Verdict)
		}
		// The flow is over: a photo now is nobody's business.
		wantReplies(t, w.act(t, u, func() { u.Photo([]byte("late"), "") }), "我没有看懂")
	})
	t.Run("one photo", func(t *testing.T) {
		t.Parallel()
		u := w.member(t, 2802, "队员乙")
		onSite(t, u)
		var sizes []models.PhotoSize
		got := w.act(t, u, func() { sizes = u.Photo([]byte("jpeg of the village office"), "").Message.Photo })
		wantReplies(t, got, "照片已保存，打卡完成。")
		want := sizes[len(sizes)-1]
		if c := w.checkIn(t, u, time.Now()); c.PhotoFileID != want.FileID || c.PhotoUniqueID != want.FileUniqueID {
			t.Fatalf("stored photo: got %q/%q, want %q/%q", c.PhotoFileID, c.PhotoUniqueID, want.FileID, want.FileUniqueID)
		}
	})
	t.Run("album", func(t *testing.T) {
		t.Parallel()
		u := w.member(t, 2803, "队员丙")
		onSite(t, u)
		var album []string
		got := w.act(t, u, func() {
			for _, upd := range u.Album("村部", []byte("first"), []byte("second"), []byte("third")) {
				sizes := upd.Message.Photo
				album = append(album, sizes[len(sizes)-1].FileID)
			}
		})
		wantReplies(t, got, "照片已保存，打卡完成。", "一次打卡只保留第一张照片，其余照片未保存。")
		c := w.checkIn(t, u, time.Now())
		if c.PhotoFileID != album[0] {
			t.Fatalf("stored photo: got %q, want the album's first %q (album %q)", c.PhotoFileID, album[0], album)
		}
		// The album is over: what comes next is handled as usual.
		wantReplies(t, w.text(t, u, "谢谢"), "我没有看懂")
	})
}

func TestCheckInBadInputStaysOnStep(t *testing.T) {
	t.Parallel()
	w := newCheckInEnv(t)
	// sends is a bad input sent as a message.
	sends := func(send func(u *bottest.User)) func(t *testing.T, u *bottest.User) []bottest.Call {
		return func(t *testing.T, u *bottest.User) []bottest.Call { return w.act(t, u, func() { send(u) }) }
	}
	locate := func(t *testing.T, u *bottest.User, lat, lon float64) []bottest.Call {
		t.Helper()
		return w.act(t, u, func() { u.LiveLocation(lat, lon, 15, 900) })
	}
	atPhoto := func(t *testing.T, u *bottest.User) { locate(t, u, insideLat, insideLon) }
	atReason := func(t *testing.T, u *bottest.User) { locate(t, u, liuwanLat, liuwanLon) }
	atNote := func(t *testing.T, u *bottest.User) { atReason(t, u); w.press(t, u, "其他原因") }
	locatedInside := func(t *testing.T, u *bottest.User) {
		wantReplies(t, locate(t, u, insideLat, insideLon), "已核验", askPhoto)
	}
	noted := func(t *testing.T, u *bottest.User) {
		wantReplies(t, w.text(t, u, "送材料"), reasonSaved+"送材料", askPhoto)
	}
	for i, tc := range []struct {
		name  string
		reach func(t *testing.T, u *bottest.User) // brings u to the step
		bad   func(t *testing.T, u *bottest.User) []bottest.Call
		says  string
		right func(t *testing.T, u *bottest.User) // the step's right input, its answer checked
	}{
		{
			name:  "text where a location is expected",
			reach: func(t *testing.T, u *bottest.User) { w.tap(t, u) },
			bad:   sends(func(u *bottest.User) { u.Text("我在村委会") }),
			says:  "请发送位置：点下方“发送位置”按钮",
			right: locatedInside,
		},
		{
			name:  "coordinates out of range after a tap",
			reach: func(t *testing.T, u *bottest.User) { w.tap(t, u) },
			bad:   sends(func(u *bottest.User) { u.Location(123, 456) }),
			says:  "这个位置的坐标不正确，请重新发送位置。",
			right: func(t *testing.T, u *bottest.User) {
				wantStored(t, w.checkIn(t, u, time.Now()), store.SourceSelf, store.VerdictSelfDeclared, true, []string{})
				locatedInside(t, u)
			},
		},
		{
			name:  "coordinates out of range without a tap",
			reach: func(t *testing.T, u *bottest.User) {},
			bad:   sends(func(u *bottest.User) { u.Location(-91, 181) }),
			says:  "这个位置的坐标不正确，请重新发送位置。",
			right: func(t *testing.T, u *bottest.User) {
				w.noCheckIn(t, u, time.Now())
				locatedInside(t, u)
			},
		},
		{
			name:  "text where a photo is expected",
			reach: atPhoto,
			bad:   sends(func(u *bottest.User) { u.Text("照片发不了") }),
			says:  "请以照片形式发送（不要用文件），或点“跳过”。",
			right: func(t *testing.T, u *bottest.User) {
				wantReplies(t, w.act(t, u, func() { u.Photo([]byte("photo"), "") }), "照片已保存")
			},
		},
		{
			name:  "a location where a photo is expected",
			reach: atPhoto,
			bad:   sends(func(u *bottest.User) { u.Location(insideLat, insideLon) }),
			says:  "请以照片形式发送",
			right: func(t *testing.T, u *bottest.User) { wantReplies(t, w.press(t, u, "跳过"), photoDone) },
		},
		{
			name:  "text at the reason step",
			reach: atReason,
			bad:   sends(func(u *bottest.User) { u.Text("开会") }),
			says:  "请点击按钮选择，或发送 /cancel 取消。",
			right: func(t *testing.T, u *bottest.User) {
				wantReplies(t, w.press(t, u, "到乡镇开会"), reasonSaved+"到乡镇开会", askPhoto)
			},
		},
		{
			name:  "a forged reason button",
			reach: atReason,
			bad: func(t *testing.T, u *bottest.User) []bottest.Call {
				return w.forge(t, u, "入户走访", "ci:reason:holiday")
			},
			says: "请点击按钮选择，或发送 /cancel 取消。",
			right: func(t *testing.T, u *bottest.User) {
				if c := w.checkIn(t, u, time.Now()); c.OffSiteReason != "" {
					t.Fatalf("after a forged reason: got reason %q stored, want none", c.OffSiteReason)
				}
				wantReplies(t, w.press(t, u, "为村里办事"), reasonSaved+"为村里办事", askPhoto)
			},
		},
		{
			name:  "a button of an earlier step",
			reach: func(t *testing.T, u *bottest.User) { atReason(t, u); w.press(t, u, "入户走访") },
			bad: func(t *testing.T, u *bottest.User) []bottest.Call {
				// The reason message became the photo prompt: press its old button again.
				return w.forge(t, u, "跳过", "ci:reason:visits")
			},
			says:  staleButton,
			right: func(t *testing.T, u *bottest.User) { wantReplies(t, w.press(t, u, "跳过"), photoDone) },
		},
		{
			name:  "an empty note",
			reach: atNote,
			bad:   sends(func(u *bottest.User) { u.Text("   ") }),
			says:  "请简要写明外出原因",
			right: noted,
		},
		{
			name:  "a note too long",
			reach: atNote,
			bad:   sends(func(u *bottest.User) { u.Text(strings.Repeat("长", 201)) }),
			says:  "原因太长了，请控制在 200 字以内。",
			right: noted,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			u := w.member(t, int64(2900+i), "队员"+strconv.Itoa(i))
			tc.reach(t, u)
			wantReplies(t, tc.bad(t, u), tc.says)
			tc.right(t, u)
		})
	}

	t.Run("a forged village", func(t *testing.T) {
		t.Parallel()
		u := w.join(t, 2990, "两村队员", "zh-hans", store.RoleMember, w.dongping, w.xiling)
		wantReplies(t, w.tap(t, u), "您在多个村的工作队，请选择在哪个村打卡")
		got := w.forge(t, u, "东坪村", "ci:village:"+strconv.FormatInt(w.liuwan.ID, 10))
		wantReplies(t, got, notAllowed)
		w.noCheckIn(t, u, time.Now())
		wantReplies(t, w.text(t, u, "柳湾村"), "请点击按钮选择")
		wantReplies(t, w.press(t, u, "西岭村"), "已打卡：今天", offerLoc)
		if c := w.checkIn(t, u, time.Now()); c.RegionID != w.xiling.ID {
			t.Fatalf("stored village: got %d, want 西岭村 %d", c.RegionID, w.xiling.ID)
		}
	})
}

// TestCheckInDeclineWithNothingRecorded: where the flow waits for a location with
// nothing recorded yet (a refused location, or a county that requires one), the 不用了
// button of an earlier day's check-in, or a forged one, must not report a record that
// does not exist.
func TestCheckInDeclineWithNothingRecorded(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		required bool
		refused  func(u *bottest.User)
		says     string
	}{
		{"after bad coordinates", false, func(u *bottest.User) { u.Location(123, 456) }, "坐标不正确"},
		{"after a forwarded location", false, func(u *bottest.User) { u.ForwardedLocation(insideLat, insideLon) }, "转发的位置不能用于打卡"},
		{"where a location is required", true, func(u *bottest.User) { u.Text(checkInButton) }, "本县要求打卡时附带位置"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newCheckInEnv(t)
			u := w.member(t, 3001, "队员甲")
			// Yesterday's check-in leaves a 不用了 button in the chat.
			u.Date = w.localAt(-1, 9, 0)
			wantReplies(t, w.tap(t, u), savedSelf, offerLoc)
			old, data := w.withButton(t, u, "不用了")
			w.press(t, u, "不用了")
			if tc.required {
				w.requireLocation(t)
			}

			u.Date = time.Time{}
			wantReplies(t, w.act(t, u, func() { tc.refused(u) }), tc.says)
			got := w.act(t, u, func() { u.Press(old, data) })
			_, err := w.db.CheckInOn(w.ctx, u.ID, time.Now().In(w.shanghai))
			claims := slices.ContainsFunc(got, func(c bottest.Call) bool {
				return strings.Contains(replyText(c), "已按“本人申报在岗”记录")
			})
			if claims && err != nil {
				t.Fatalf("got%s\nwith no check-in stored (%v); want no claim of a record that does not exist", describe(got), err)
			}
			if tc.required && err == nil {
				t.Fatalf("a county that requires a location: got a check-in without one")
			}
		})
	}
}

// TestLeaveSavedNamesTheMember: the confirmation of /leave names the member.
func TestLeaveSavedNamesTheMember(t *testing.T) {
	t.Parallel()
	w := newCheckInEnv(t)
	li := w.join(t, 3501, "李书记", "zh-hans", store.RoleFirstSecretary, w.dongping)
	w.member(t, 3502, "陈队员")
	w.command(t, li, "leave")
	w.press(t, li, "陈队员")
	wantReplies(t, w.text(t, li, time.Now().In(w.shanghai).Format(time.DateOnly)), "已为陈队员登记请假 1 天（共 1 天")
}

// TestCheckInLocationOfMemberOnTwoTeams: a member on two teams who shares a location
// without tapping the button first is asked for the village; the location they sent
// must count for the check-in.
func TestCheckInLocationOfMemberOnTwoTeams(t *testing.T) {
	t.Parallel()
	w := newCheckInEnv(t)
	u := w.join(t, 3601, "两村队员", "zh-hans", store.RoleMember, w.dongping, w.xiling)
	wantReplies(t, w.act(t, u, func() { u.LiveLocation(insideLat, insideLon, 15, 900) }), "您在多个村的工作队，请选择在哪个村打卡")
	w.press(t, u, "东坪村")
	c := w.checkIn(t, u, time.Now())
	if c.Source != store.SourceLocation || c.Verdict != store.VerdictVerified || c.Latitude == nil {
		t.Fatalf("after picking the village: got source %s, verdict %s, latitude %v; want the live location shared: location, verified",
			c.Source, c.Verdict, ptr(c.Latitude))
	}
}

func TestCheckInsSeenOnlyByTheTeam(t *testing.T) {
	t.Parallel()
	w := newCheckInEnv(t)
	li := w.join(t, 3101, "李书记", "zh-hans", store.RoleFirstSecretary, w.dongping)
	zhang := w.member(t, 3102, "张队员")
	chen := w.member(t, 3103, "陈队员")
	wang := w.join(t, 3201, "王书记", "zh-hans", store.RoleFirstSecretary, w.liuwan)
	zhao := w.join(t, 3202, "赵队员", "zh-hans", store.RoleMember, w.liuwan)
	resident := w.api.NewUser(3301, "村民", "zh-hans")
	w.tap(t, zhang)
	w.tap(t, zhao)
	today := time.Now().In(w.shanghai)
	dongping := []string{"东坪村", "李书记", "张队员", "陈队员"}

	// seesNone fails if the answer names anything of 东坪村's team.
	seesNone := func(t *testing.T, what string, got []bottest.Call) {
		t.Helper()
		for _, c := range got {
			for _, name := range dongping {
				if strings.Contains(replyText(c), name) {
					t.Fatalf("%s: got %q, want nothing of 东坪村's team (%s)", what, replyText(c), name)
				}
			}
		}
	}
	// sheet reads the rows of an exported spreadsheet.
	sheet := func(t *testing.T, got []bottest.Call) [][]string {
		t.Helper()
		if len(got) != 1 || got[0].Method != "sendDocument" {
			t.Fatalf("/export: got%s, want one document", describe(got))
		}
		data := got[0].Files["document"].Bytes
		if !bytes.HasPrefix(data, []byte("PK")) {
			t.Fatalf("/export: got a document starting %q, want an xlsx (a zip, PK)", data[:min(len(data), 8)])
		}
		f, err := excelize.OpenReader(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("/export: %v", err)
		}
		defer f.Close()
		rows, err := f.GetRows(f.GetSheetList()[0])
		if err != nil {
			t.Fatal(err)
		}
		return rows
	}

	t.Run("the team's own first secretary sees it", func(t *testing.T) {
		t.Parallel()
		got := w.command(t, li, "checkins")
		wantReplies(t, got, "【东坪村】\n张队员 ")
		if !strings.Contains(replyText(got[0]), "未打卡：李书记、陈队员") || strings.Contains(replyText(got[0]), "赵队员") {
			t.Fatalf("/checkins: got %q, want 张队员 checked in, 李书记 and 陈队员 missing, nobody of 柳湾村", replyText(got[0]))
		}
		rows := sheet(t, w.command(t, li, "export"))
		if !slices.ContainsFunc(rows, func(r []string) bool {
			return len(r) > 3 && r[1] == "张队员" && r[2] == today.Format(time.DateOnly) && r[3] == "在村"
		}) {
			t.Fatalf("/export: got rows %q, want 张队员 in the village today", rows)
		}
	})
	t.Run("a team member sees only their own", func(t *testing.T) {
		t.Parallel()
		got := w.command(t, zhang, "checkins")
		wantReplies(t, got, "张队员 ")
		if s := replyText(got[0]); strings.Contains(s, "陈队员") || strings.Contains(s, "李书记") {
			t.Fatalf("member's /checkins: got %q, want only 张队员", s)
		}
		wantReplies(t, w.command(t, zhang, "export"), notAllowed)
	})
	t.Run("the first secretary of another team", func(t *testing.T) {
		t.Parallel()
		for _, cmd := range [][]string{{"checkins"}, {"checkins", today.Format(time.DateOnly)}, {"month"}, {"month", today.Format("2006-01")}} {
			got := w.command(t, wang, cmd[0], cmd[1:]...)
			wantReplies(t, got, "柳湾村")
			if !strings.Contains(replyText(got[0]), "赵队员") {
				t.Fatalf("/%s: got %q, want 柳湾村's own team", strings.Join(cmd, " "), replyText(got[0]))
			}
			seesNone(t, "/"+strings.Join(cmd, " "), got)
		}
		rows := sheet(t, w.command(t, wang, "export"))
		if len(rows) < 2 {
			t.Fatalf("/export: got rows %q, want 柳湾村's team", rows)
		}
		for _, r := range rows {
			for _, cell := range r {
				if slices.Contains(dongping, cell) {
					t.Fatalf("/export: got row %q, want nothing of 东坪村's team", r)
				}
			}
		}

		// Buttons of /present and /leave forged with 东坪村's members.
		wantReplies(t, w.command(t, wang, "present"), "为哪位队员代记今天在岗")
		for _, data := range []string{
			fmt.Sprintf("pr:who:%d.%d", w.dongping.ID, chen.ID), // another team's village
			fmt.Sprintf("pr:who:%d.%d", w.liuwan.ID, chen.ID),   // his village, someone not on it
		} {
			wantReplies(t, w.forge(t, wang, "赵队员", data), notAllowed)
		}
		wantReplies(t, w.command(t, wang, "leave"), "为哪位队员登记请假")
		wantReplies(t, w.forge(t, wang, "赵队员", fmt.Sprintf("lv:who:%d.%d", w.dongping.ID, chen.ID)), notAllowed)
		w.noCheckIn(t, chen, today)
		if msgs := w.api.Messages(chen.ID); len(msgs) != 0 {
			t.Fatalf("陈队员 was told %+v, want nothing", msgs)
		}
	})
	t.Run("a member of another team", func(t *testing.T) {
		t.Parallel()
		for _, cmd := range []string{"checkins", "month"} {
			got := w.command(t, zhao, cmd)
			wantReplies(t, got, "赵队员")
			seesNone(t, "/"+cmd, got)
		}
		wantReplies(t, w.command(t, zhao, "export"), notAllowed)
		wantReplies(t, w.command(t, zhao, "present"), notAllowed)
	})
	t.Run("a resident", func(t *testing.T) {
		t.Parallel()
		for _, cmd := range []string{"checkins", "month", "export", "present", "leave", "checkin"} {
			got := w.command(t, resident, cmd)
			wantReplies(t, got, notAllowed)
			seesNone(t, "/"+cmd, got)
		}
		wantReplies(t, w.tap(t, resident), notAllowed)
		wantReplies(t, w.act(t, resident, func() { resident.Location(insideLat, insideLon) }), "我没有看懂")
		w.noCheckIn(t, resident, today)
	})
}

func TestAttendanceByFirstSecretary(t *testing.T) {
	t.Parallel()
	w := newCheckInEnv(t)
	li := w.join(t, 3401, "李书记", "zh-hans", store.RoleFirstSecretary, w.dongping)
	zhang := w.member(t, 3402, "张队员")
	chen := w.join(t, 3403, "陈队员", "en", store.RoleMember, w.dongping)
	today := time.Now().In(w.shanghai)

	// /present records 张队员 present on the secretary's word and tells him.
	wantReplies(t, w.command(t, li, "present"), "为哪位队员代记今天在岗？")
	wantReplies(t, w.press(t, li, "张队员"), "已为张队员代记今天在东坪村在岗（第一书记代记）。")
	c := w.checkIn(t, zhang, today)
	wantStored(t, c, store.SourceProxy, store.VerdictProxy, true, []string{})
	if c.RecordedBy != li.ID || c.RegionID != w.dongping.ID {
		t.Fatalf("proxy check-in: got recorded by %d at %d, want %d at %d", c.RecordedBy, c.RegionID, li.ID, w.dongping.ID)
	}
	if got, want := last(t, w.api, zhang.ID, 1).Text, "第一书记李书记为您登记了 "+today.Format(time.DateOnly)+" 在岗。"; got != want {
		t.Fatalf("张队员 was told %q, want %q", got, want)
	}
	// The member's own tap and a second /present find the day taken.
	wantReplies(t, w.tap(t, zhang), "您今天已经打过卡了（"+c.CheckedAt.In(w.shanghai).Format("15:04")+"，东坪村）")
	w.command(t, li, "present")
	wantReplies(t, w.press(t, li, "张队员"), "张队员今天已经打过卡了")

	// /leave records 陈队员's leave from today to tomorrow; the month counts today's.
	wantReplies(t, w.command(t, li, "leave"), "为哪位队员登记请假？")
	wantReplies(t, w.press(t, li, "陈队员"), "请输入陈队员的请假日期")
	wantReplies(t, w.text(t, li, "明天"), "日期格式不对")
	days := today.Format(time.DateOnly) + "~" + today.AddDate(0, 0, 1).Format(time.DateOnly)
	// The confirmation should name 陈队员: see TestLeaveSavedNamesTheMember.
	wantReplies(t, w.text(t, li, days), "登记请假 2 天（共 2 天")

	got := w.command(t, li, "month")
	wantReplies(t, got, today.Format("2006-01")+" 在岗情况")
	month := replyText(got[0])
	for _, want := range []string{
		`\n【东坪村】每月要求在村 20 天\n`,
		`\n张队员：在村 1 天 / 要求 \d+ 天，外出 0 天，请假 0 天，未打卡 0 天(\n|$)`,
		`\n陈队员：在村 0 天 / 要求 \d+ 天，外出 0 天，请假 1 天，未打卡 0 天(\n|$)`,
		`\n李书记：在村 0 天 / 要求 \d+ 天，外出 0 天，请假 0 天，未打卡 1 天(\n|$)`,
	} {
		if !regexp.MustCompile(want).MatchString(month) {
			t.Fatalf("/month: got\n%s\nwant a line matching %s", month, want)
		}
	}
	got = w.command(t, chen, "month")
	wantReplies(t, got, "Dongping Village")
	if s := replyText(got[0]); !strings.Contains(s, "陈队员") || strings.Contains(s, "张队员") {
		t.Fatalf("member's /month: got %q, want only their own account", s)
	}

	got = w.command(t, li, "export")
	wantReplies(t, got, today.Format("2006-01")+" 驻村考勤表")
	doc := got[0].Files["document"]
	if got[0].Method != "sendDocument" || !bytes.HasPrefix(doc.Bytes, []byte("PK")) || doc.Name != "attendance-"+today.Format("2006-01")+".xlsx" {
		t.Fatalf("/export: got %s of %q starting %q, want an xlsx document", got[0].Method, doc.Name, doc.Bytes[:min(len(doc.Bytes), 8)])
	}
	f, err := excelize.OpenReader(bytes.NewReader(doc.Bytes))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := f.GetRows("考勤")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range [][]string{
		{"东坪村", "张队员", today.Format(time.DateOnly), "在村", c.CheckedAt.In(w.shanghai).Format("15:04"), "第一书记代记"},
		{"东坪村", "陈队员", today.Format(time.DateOnly), "请假"},
		{"东坪村", "李书记", today.Format(time.DateOnly), "未打卡"},
	} {
		if !slices.ContainsFunc(rows, func(r []string) bool { return len(r) >= len(want) && slices.Equal(r[:len(want)], want) }) {
			t.Fatalf("/export rows: got %q, want one starting %q", rows, want)
		}
	}
}
