package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf16"

	"github.com/go-telegram/bot/models"
)

// vuser is a virtual user: one Telegram user in their private chat with the bot.
type vuser struct {
	id       int64
	name     string
	lat, lon float64 // where they stand: inside their village

	nextMsgID atomic.Int64 // message ids of the chat, shared by the user and the bot

	mu      sync.Mutex
	inbox   []reply
	arrived chan struct{} // closed and replaced when a reply arrives
	waiting bool          // a step is outstanding: replies are expected
	extra   int           // replies that came when none was expected
}

func newVUser(id int64, name string, lat, lon float64) *vuser {
	return &vuser{id: id, name: name, lat: lat, lon: lon, arrived: make(chan struct{})}
}

func (u *vuser) receive(r reply) {
	u.mu.Lock()
	if !u.waiting {
		u.extra++
	}
	u.inbox = append(u.inbox, r)
	close(u.arrived)
	u.arrived = make(chan struct{})
	u.mu.Unlock()
}

// expect is what one reply must look like: its text contains text (any when empty)
// and, when edit is set, it is an edit.
type expect struct {
	text string
	edit bool
}

// step is one thing a user does and the bot's whole answer to it.
type step struct {
	name    string
	updates func(u *vuser, d *driver, last []reply) ([]models.Update, error)
	// want lists the replies expected, per update of the step, in order.
	want [][]expect
}

// errFlow is a flow that did not go as the product says: a reply missing, out of order
// or not what the step asks.
var errFlow = errors.New("flow broken")

// errTimeout is a step whose answer did not come in time.
var errTimeout = errors.New("no answer in time")

func (u *vuser) model() *models.User {
	return &models.User{ID: u.id, FirstName: u.name, LanguageCode: "zh-hans"}
}

func (u *vuser) message(fill func(m *models.Message)) models.Update {
	m := &models.Message{ID: int(u.nextMsgID.Add(1)), Date: int(time.Now().Unix()), From: u.model(),
		Chat: models.Chat{ID: u.id, Type: models.ChatTypePrivate, FirstName: u.name}}
	fill(m)
	return models.Update{Message: m}
}

func (u *vuser) text(s string) models.Update {
	return u.message(func(m *models.Message) { m.Text = s })
}

func (u *vuser) command(cmd string) models.Update {
	return u.message(func(m *models.Message) {
		m.Text = "/" + cmd
		m.Entities = []models.MessageEntity{{Type: models.MessageEntityTypeBotCommand, Length: len(utf16.Encode([]rune(m.Text)))}}
	})
}

func (u *vuser) liveLocation() models.Update {
	return u.message(func(m *models.Message) {
		m.Location = &models.Location{Latitude: u.lat, Longitude: u.lon, HorizontalAccuracy: 15, LivePeriod: 900}
	})
}

func (u *vuser) photo(n int64) models.Update {
	id := fmt.Sprintf("ph%d-%d", u.id, n)
	return u.message(func(m *models.Message) {
		m.Photo = []models.PhotoSize{
			{FileID: id + "s", FileUniqueID: "u" + id + "s", Width: 90, Height: 120, FileSize: 2000},
			{FileID: id, FileUniqueID: "u" + id, Width: 960, Height: 1280, FileSize: 90000},
		}
	})
}

var callbackSeq atomic.Int64

// press presses the inline button labelled label of the newest reply that has one.
func (u *vuser) press(last []reply, label string) (models.Update, error) {
	for i := len(last) - 1; i >= 0; i-- {
		var mk struct {
			InlineKeyboard [][]struct {
				Text string `json:"text"`
				Data string `json:"callback_data"`
			} `json:"inline_keyboard"`
		}
		if len(last[i].markup) == 0 || json.Unmarshal(last[i].markup, &mk) != nil {
			continue
		}
		for _, row := range mk.InlineKeyboard {
			for _, b := range row {
				if strings.Contains(b.Text, label) {
					msg := &models.Message{ID: last[i].msgID, Date: int(time.Now().Unix()),
						Chat: models.Chat{ID: u.id, Type: models.ChatTypePrivate}, Text: last[i].text}
					return models.Update{CallbackQuery: &models.CallbackQuery{
						ID: fmt.Sprintf("cq%d", callbackSeq.Add(1)), From: *u.model(), ChatInstance: fmt.Sprint(u.id), Data: b.Data,
						Message: models.MaybeInaccessibleMessage{Type: models.MaybeInaccessibleMessageTypeMessage, Message: msg},
					}}, nil
				}
			}
		}
	}
	return models.Update{}, fmt.Errorf("%w: no button %q in the answer", errFlow, label)
}

func one(u models.Update) []models.Update { return []models.Update{u} }

func pressStep(name, label string, want ...expect) step {
	return step{name: name, want: [][]expect{want}, updates: func(u *vuser, _ *driver, last []reply) ([]models.Update, error) {
		up, err := u.press(last, label)
		return one(up), err
	}}
}

// Flows: the product's own, as a member walks them in Chinese.
var (
	checkInFlow = []step{
		{name: "tap check-in", want: [][]expect{{{text: "已打卡：今天"}, {text: "如果方便，可以再发送位置"}}},
			updates: func(u *vuser, _ *driver, _ []reply) ([]models.Update, error) { return one(u.text("📍 打卡")), nil }},
		{name: "live location", want: [][]expect{{{text: "已记录位置"}, {text: "可以再发一张现场照片"}}},
			updates: func(u *vuser, _ *driver, _ []reply) ([]models.Update, error) { return one(u.liveLocation()), nil }},
		pressStep("skip photo", "跳过", expect{text: "打卡完成"}),
	}
	reportFlow = []step{
		{name: "/report", want: [][]expect{{{text: "问题属于哪一类"}}},
			updates: func(u *vuser, _ *driver, _ []reply) ([]models.Update, error) { return one(u.command("report")), nil }},
		pressStep("category", "经济发展缓慢", expect{text: "请用文字描述问题"}),
		// The description and a photo right after it, without waiting: the photo's
		// answer shows whether the chat's order was kept.
		{name: "description and photo", want: [][]expect{{{text: "可以发 1 到 10 张照片"}}, {{text: "收到第 1 张照片"}}},
			updates: func(u *vuser, d *driver, _ []reply) ([]models.Update, error) {
				return []models.Update{u.text(d.description()), u.photo(d.seq.Add(1))}, nil
			}},
		pressStep("photos done", "照片发完了", expect{text: "问题在什么位置"}, expect{text: "用村中心也可以"}),
		pressStep("village centre", "用村中心", expect{text: "问题紧急吗"}),
		pressStep("urgency", "一般", expect{text: "请核对"}),
		pressStep("submit", "✓ 提交", expect{edit: true}, expect{text: "问题已登记"}),
	}
	// echoFlow is what a user does with the echo bot: three messages, each echoed.
	echoFlow = []step{echoStep("一"), echoStep("二"), echoStep("三")}
)

func echoStep(word string) step {
	return step{name: "echo " + word, want: [][]expect{{{text: "echo"}}},
		updates: func(u *vuser, d *driver, _ []reply) ([]models.Update, error) {
			return one(u.text(fmt.Sprintf("%s %d", word, d.seq.Add(1)))), nil
		}}
}

func stepUpdates(s step) int {
	return len(s.want)
}

func flowUpdates(f []step) int {
	n := 0
	for _, s := range f {
		n += stepUpdates(s)
	}
	return n
}

// description is a problem's text no other report resembles (the bot would ask
// whether it is a duplicate).
func (d *driver) description() string {
	var b strings.Builder
	b.WriteString("村里")
	for range 18 {
		b.WriteRune(rune(0x4e00 + rand.IntN(0x5000)))
	}
	return b.String()
}
