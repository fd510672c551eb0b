package bottest

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-telegram/bot/models"
)

// Message is something the bot sent (or edited) in a chat, as the user sees it now.
type Message struct {
	ID             int
	ChatID         int64
	Text           string                       // text or caption
	Markup         *models.InlineKeyboardMarkup // inline keyboard if any (nil otherwise)
	Keyboard       *models.ReplyKeyboardMarkup  // reply keyboard if any
	RemoveKeyboard bool
	Photo          *File
	Document       *File
	Location       *models.Location // set by sendLocation
	Edited         bool
	Deleted        bool // the bot deleted it; it keeps its place in Messages
}

// chat is one chat's message counter and the bot's messages in it.
type chat struct {
	lastID int // message_id counter shared by user and bot messages
	sent   []*sentMessage
}

// sentMessage is a bot message both as the test sees it and as the API returns it.
type sentMessage struct {
	view Message
	wire models.Message
}

// chatLocked returns the chat with id, creating it.
func (s *Server) chatLocked(id int64) *chat {
	c := s.chats[id]
	if c == nil {
		c = &chat{}
		s.chats[id] = c
	}
	return c
}

// nextMessageLocked returns a new message shell in chat id: message_id, date and chat.
func (s *Server) nextMessageLocked(chatID int64) models.Message {
	c := s.chatLocked(chatID)
	c.lastID++
	return models.Message{
		ID:   c.lastID,
		Date: int(time.Now().Unix()),
		Chat: models.Chat{ID: chatID, Type: models.ChatTypePrivate},
	}
}

// sendLocked records a new bot message in chatID with markup mk; fill sets its content.
func (s *Server) sendLocked(chatID int64, mk markup, fill func(*sentMessage)) reply {
	sm := &sentMessage{wire: s.nextMessageLocked(chatID)}
	sm.wire.From = botUser()
	sm.view.ID = sm.wire.ID
	sm.view.ChatID = chatID
	mk.apply(sm)
	fill(sm)
	c := s.chatLocked(chatID)
	c.sent = append(c.sent, sm)
	return okJSON(&sm.wire)
}

// findLocked returns the bot message id in chatID that was not deleted, or nil.
func (s *Server) findLocked(chatID int64, id int) *sentMessage {
	c := s.chats[chatID]
	if c == nil {
		return nil
	}
	for _, sm := range c.sent {
		if sm.view.ID == id && !sm.view.Deleted {
			return sm
		}
	}
	return nil
}

// Messages returns the bot's messages in chatID, in the order sent (edits
// update in place, deleted ones stay with Deleted set).
func (s *Server) Messages(chatID int64) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.messagesLocked(chatID)
}

// messagesLocked copies the bot's messages in chatID.
func (s *Server) messagesLocked(chatID int64) []Message {
	out := []Message{}
	if c := s.chats[chatID]; c != nil {
		for _, sm := range c.sent {
			out = append(out, sm.view)
		}
	}
	return out
}

// WaitMessages blocks until the chat holds at least n bot messages (counting
// from the server's start), then returns all of them; after a deadline (10s)
// it calls t.Fatalf with what it has.
func (s *Server) WaitMessages(t testing.TB, chatID int64, n int) []Message {
	t.Helper()
	timer := time.NewTimer(s.timeout)
	defer timer.Stop()
	s.wait(context.Background(), timer.C, func() bool {
		c := s.chats[chatID]
		return c != nil && len(c.sent) >= n
	})
	msgs := s.Messages(chatID)
	if len(msgs) < n {
		t.Fatalf("bottest: waited %v for %d bot messages in chat %d, got %d:%s\ncalls:%s",
			s.timeout, n, chatID, len(msgs), describeMessages(msgs), describeCalls(s.Calls()))
	}
	return msgs
}

// describeMessages lists messages briefly for failure messages.
func describeMessages(msgs []Message) string {
	var b strings.Builder
	for _, m := range msgs {
		fmt.Fprintf(&b, "\n\t#%d %q", m.ID, m.Text)
		if m.Markup != nil {
			fmt.Fprintf(&b, " buttons %v", buttonTexts(m.Markup))
		}
	}
	return b.String()
}

// buttonTexts lists the texts of an inline keyboard's buttons.
func buttonTexts(mk *models.InlineKeyboardMarkup) []string {
	var texts []string
	for _, row := range mk.InlineKeyboard {
		for _, b := range row {
			texts = append(texts, b.Text)
		}
	}
	return texts
}

// Button returns the callback data of the inline button whose text contains
// label in message m; t.Fatalf if none.
func (m Message) Button(t testing.TB, label string) string {
	t.Helper()
	if m.Markup != nil {
		for _, row := range m.Markup.InlineKeyboard {
			for _, b := range row {
				if strings.Contains(b.Text, label) {
					return b.CallbackData
				}
			}
		}
		t.Fatalf("bottest: no button %q in message #%d %q; buttons: %q", label, m.ID, m.Text, buttonTexts(m.Markup))
		return ""
	}
	t.Fatalf("bottest: no button %q in message #%d %q: it has no inline keyboard", label, m.ID, m.Text)
	return ""
}

// markup is a parsed reply_markup parameter.
type markup struct {
	inline   *models.InlineKeyboardMarkup
	keyboard *models.ReplyKeyboardMarkup
	remove   bool
}

// parseMarkup parses the JSON text of reply_markup; "" is no markup.
func parseMarkup(raw string) (markup, error) {
	var mk markup
	if raw == "" {
		return mk, nil
	}
	var probe struct {
		InlineKeyboard json.RawMessage `json:"inline_keyboard"`
		Keyboard       json.RawMessage `json:"keyboard"`
		RemoveKeyboard bool            `json:"remove_keyboard"`
	}
	if err := json.Unmarshal([]byte(raw), &probe); err != nil {
		return mk, err
	}
	switch {
	case probe.InlineKeyboard != nil:
		mk.inline = &models.InlineKeyboardMarkup{}
		if err := json.Unmarshal([]byte(raw), mk.inline); err != nil {
			return mk, err
		}
	case probe.Keyboard != nil:
		mk.keyboard = &models.ReplyKeyboardMarkup{}
		if err := json.Unmarshal([]byte(raw), mk.keyboard); err != nil {
			return mk, err
		}
	default:
		mk.remove = probe.RemoveKeyboard
	}
	return mk, nil
}

// apply sets sm's keyboard from mk; only an inline keyboard is part of the message Telegram returns.
func (mk markup) apply(sm *sentMessage) {
	sm.view.Markup = mk.inline
	sm.wire.ReplyMarkup = mk.inline
	sm.view.Keyboard = mk.keyboard
	sm.view.RemoveKeyboard = mk.remove
}

// sameInline reports whether two inline keyboards are equal.
func sameInline(a, b *models.InlineKeyboardMarkup) bool {
	if a == nil || b == nil {
		return a == b
	}
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && string(ja) == string(jb)
}
