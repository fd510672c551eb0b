package bottest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/go-telegram/bot/models"
)

// forwardedSenderID is the user a Forwarded message originally came from.
const forwardedSenderID = 777

// User is a Telegram user the test acts as. Its private chat with the bot has
// chat id = ID.
type User struct {
	ID           int64
	FirstName    string
	LanguageCode string
	// Date, when not zero, is the date (whole seconds) of every message the user
	// sends from then on, instead of the time it is sent: a message written just
	// before midnight, or an hour after the last one. Set it between actions, not
	// while another goroutine acts as the user.
	Date time.Time

	s *Server
}

// NewUser returns a user of s; nothing is sent until the test acts as it.
func (s *Server) NewUser(id int64, firstName, languageCode string) *User {
	return &User{ID: id, FirstName: firstName, LanguageCode: languageCode, s: s}
}

// model is the user as the Bot API describes it.
func (u *User) model() models.User {
	return models.User{ID: u.ID, FirstName: u.FirstName, LanguageCode: u.LanguageCode}
}

// send builds one message from u per fill, each in its own update, and
// queues them; it returns the updates.
func (u *User) send(fills ...func(*models.Message)) []models.Update {
	s := u.s
	s.mu.Lock()
	defer s.mu.Unlock()
	updates := make([]models.Update, 0, len(fills))
	for _, fill := range fills {
		m := s.nextMessageLocked(u.ID)
		if !u.Date.IsZero() {
			m.Date = int(u.Date.Unix())
		}
		from := u.model()
		m.From = &from
		m.Chat.FirstName = u.FirstName
		fill(&m)
		updates = append(updates, s.pushLocked(models.Update{Message: &m}))
	}
	return updates
}

// pushLocked gives upd the next update_id and queues it for getUpdates unless
// a webhook is set; it returns a copy of the update as the bot will see it.
func (s *Server) pushLocked(upd models.Update) models.Update {
	upd.ID = s.nextUpdateID
	s.nextUpdateID++
	if s.webhook.url == "" {
		s.queue = append(s.queue, queued{update: cloneUpdate(upd)})
	}
	s.notifyLocked()
	return cloneUpdate(upd)
}

// cloneUpdate deep-copies u through its JSON form, as the bot will see it,
// so that a test changing the returned update cannot race with the server.
// An update that does not survive JSON is kept as is.
func cloneUpdate(u models.Update) models.Update {
	data, err := json.Marshal(&u)
	if err != nil {
		return u
	}
	var c models.Update
	if err := json.Unmarshal(data, &c); err != nil {
		return u
	}
	return c
}

// Text sends a plain text message.
func (u *User) Text(text string) models.Update {
	return u.send(func(m *models.Message) { m.Text = text })[0]
}

// Command sends "/cmd args..." with a bot_command entity covering "/cmd";
// cmd may be given with or without the slash.
func (u *User) Command(cmd string, args ...string) models.Update {
	cmd = "/" + strings.TrimPrefix(cmd, "/")
	text := strings.Join(append([]string{cmd}, args...), " ")
	return u.send(func(m *models.Message) {
		m.Text = text
		m.Entities = []models.MessageEntity{{
			Type:   models.MessageEntityTypeBotCommand,
			Offset: 0,
			Length: len(utf16.Encode([]rune(cmd))),
		}}
	})[0]
}

// Location sends a static location (horizontal_accuracy 0).
func (u *User) Location(lat, lon float64) models.Update {
	return u.send(func(m *models.Message) {
		m.Location = &models.Location{Latitude: lat, Longitude: lon}
	})[0]
}

// LiveLocation sends the start of a live location shared for livePeriod seconds.
func (u *User) LiveLocation(lat, lon, accuracy float64, livePeriod int) models.Update {
	return u.send(func(m *models.Message) {
		m.Location = &models.Location{Latitude: lat, Longitude: lon, HorizontalAccuracy: accuracy, LivePeriod: livePeriod}
	})[0]
}

// Photo sends a photo; its bytes are kept under a new file_id, served by
// getFile and the file URL.
func (u *User) Photo(data []byte, caption string) models.Update {
	return u.photos(caption, "", data)[0]
}

// Album sends photos as one album: one update per photo, all with the same
// media_group_id, the caption on the first.
func (u *User) Album(caption string, photos ...[]byte) []models.Update {
	u.s.mu.Lock()
	u.s.nextGroupID++
	group := fmt.Sprintf("album%d", u.s.nextGroupID)
	u.s.mu.Unlock()
	return u.photos(caption, group, photos...)
}

// photos sends one message per photo with media_group_id group, the caption on the first.
func (u *User) photos(caption, group string, photos ...[]byte) []models.Update {
	fills := make([]func(*models.Message), len(photos))
	for i, data := range photos {
		fills[i] = func(m *models.Message) {
			m.Photo = u.s.storeFileLocked("photos", "", data).photoSizes()
			m.MediaGroupID = group
			if i == 0 {
				m.Caption = caption
			}
		}
	}
	return u.send(fills...)
}

// Contact shares the user's own contact (user_id = u.ID).
func (u *User) Contact(phone string) models.Update {
	return u.send(func(m *models.Message) {
		m.Contact = &models.Contact{PhoneNumber: phone, FirstName: u.FirstName, UserID: u.ID}
	})[0]
}

// forwardOrigin is the origin of a forwarded message: another user, an hour ago.
func forwardOrigin() *models.MessageOrigin {
	return &models.MessageOrigin{
		Type: models.MessageOriginTypeUser,
		MessageOriginUser: &models.MessageOriginUser{
			Type:       models.MessageOriginTypeUser,
			Date:       int(time.Now().Add(-time.Hour).Unix()),
			SenderUser: models.User{ID: forwardedSenderID, FirstName: "Original"},
		},
	}
}

// Forwarded sends a text message forwarded from another user.
func (u *User) Forwarded(text string) models.Update {
	return u.send(func(m *models.Message) {
		m.ForwardOrigin = forwardOrigin()
		m.Text = text
	})[0]
}

// ForwardedLocation sends a location forwarded from another user.
func (u *User) ForwardedLocation(lat, lon float64) models.Update {
	return u.send(func(m *models.Message) {
		m.ForwardOrigin = forwardOrigin()
		m.Location = &models.Location{Latitude: lat, Longitude: lon}
	})[0]
}

// Press presses an inline button of bot message m: a callback_query with a new
// id and data, whose message is m as it is now on the server (or as given, if
// the server does not know it).
func (u *User) Press(m Message, data string) models.Update {
	s := u.s
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextCallback++
	id := fmt.Sprintf("cb%d", s.nextCallback)
	s.callbacks[id] = true
	msg := models.Message{
		ID:          m.ID,
		Date:        int(time.Now().Unix()),
		Chat:        models.Chat{ID: m.ChatID, Type: models.ChatTypePrivate},
		From:        botUser(),
		Text:        m.Text,
		ReplyMarkup: m.Markup,
	}
	if sm := s.findLocked(m.ChatID, m.ID); sm != nil {
		msg = sm.wire
	}
	return s.pushLocked(models.Update{CallbackQuery: &models.CallbackQuery{
		ID:           id,
		From:         u.model(),
		Message:      models.MaybeInaccessibleMessage{Type: models.MaybeInaccessibleMessageTypeMessage, Message: &msg},
		ChatInstance: fmt.Sprint(m.ChatID),
		Data:         data,
	}})
}

// Enqueue puts an already-built update (e.g. a replay) back in the getUpdates
// queue as is (same update_id). Unlike a fresh update it is not dropped by a
// getUpdates offset past its id until it has been delivered once, so the bot
// does see it again.
func (s *Server) Enqueue(u models.Update) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queue = append(s.queue, queued{update: cloneUpdate(u), replay: true})
	s.notifyLocked()
}

// DeliverWebhook POSTs u as JSON to the webhook URL set with setWebhook, with
// the X-Telegram-Bot-Api-Secret-Token header holding the secret given there;
// it returns the HTTP status. It fails the test if no webhook is set or the
// request fails.
func (s *Server) DeliverWebhook(t testing.TB, u models.Update) int {
	t.Helper()
	s.mu.Lock()
	hook := s.webhook
	s.mu.Unlock()
	if hook.url == "" {
		t.Fatalf("bottest: DeliverWebhook without a webhook set")
	}
	body, err := json.Marshal(&u)
	if err != nil {
		t.Fatalf("bottest: marshal update: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, hook.url, bytes.NewReader(body))
	if err != nil {
		t.Fatalf("bottest: webhook request: %v", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if hook.secret != "" {
		req.Header.Set("X-Telegram-Bot-Api-Secret-Token", hook.secret)
	}
	transport := &http.Transport{DisableKeepAlives: true}
	defer transport.CloseIdleConnections()
	resp, err := (&http.Client{Transport: transport}).Do(req)
	if err != nil {
		t.Fatalf("bottest: deliver webhook: %v", err)
	}
	defer func() { _ = resp.Body.Close() }()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}
