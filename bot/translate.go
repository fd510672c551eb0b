package bot

import (
	"strings"
	"time"
	"unicode"

	"github.com/go-telegram/bot/models"

	"zhucun/handlers"
)

// translate turns a Telegram update into a handlers Input. Updates the handlers have
// nothing to do with (edits, channel posts, reactions…) give ok false.
func translate(u *models.Update) (in handlers.Input, ok bool) {
	in.UpdateID = u.ID
	switch {
	case u.Message != nil:
		m := u.Message
		if m.From == nil {
			return in, false
		}
		fillUser(&in, m.From)
		in.ChatID = m.Chat.ID
		in.MessageID = m.ID
		in.Private = m.Chat.Type == models.ChatTypePrivate
		in.Date = time.Unix(int64(m.Date), 0)
		in.Forwarded = m.ForwardOrigin != nil
		in.MediaGroupID = m.MediaGroupID
		in.Text = m.Text
		if in.Text == "" {
			in.Text = m.Caption
		}
		if cmd, args, isCmd := command(m); isCmd {
			in.Command, in.Args = cmd, args
		}
		if l := m.Location; l != nil {
			in.Location = &handlers.Location{
				Latitude: l.Latitude, Longitude: l.Longitude, Accuracy: l.HorizontalAccuracy,
				Live: l.LivePeriod > 0, LivePeriod: l.LivePeriod,
			}
		}
		in.Document = m.Document != nil
		if n := len(m.Photo); n > 0 {
			best := m.Photo[n-1] // Telegram lists sizes smallest first
			in.Photos = []handlers.Photo{{FileID: best.FileID, UniqueID: best.FileUniqueID, Width: best.Width, Height: best.Height}}
		}
		if c := m.Contact; c != nil {
			in.Contact = &handlers.Contact{Phone: c.PhoneNumber, UserID: c.UserID}
		}
		return in, true
	case u.CallbackQuery != nil:
		q := u.CallbackQuery
		msg := q.Message.Message
		if msg == nil || q.InlineMessageID != "" {
			return in, false
		}
		fillUser(&in, &q.From)
		in.ChatID = msg.Chat.ID
		in.Private = msg.Chat.Type == models.ChatTypePrivate
		in.Date = time.Now()
		in.Callback = &handlers.Callback{ID: q.ID, Data: q.Data, MessageID: msg.ID}
		return in, true
	}
	return in, false
}

func fillUser(in *handlers.Input, u *models.User) {
	in.UserID = u.ID
	in.FirstName = strings.TrimSpace(u.FirstName + " " + u.LastName)
	in.LanguageCode = u.LanguageCode
}

// command reads "/cmd@bot args" from a message that starts with a bot_command entity.
func command(m *models.Message) (name, args string, ok bool) {
	for _, e := range m.Entities {
		if e.Type != models.MessageEntityTypeBotCommand || e.Offset != 0 {
			continue
		}
		runes := []rune(m.Text) // Telegram's offsets are UTF-16 units; a command is ASCII
		if e.Length <= 0 || e.Length > len(runes) {
			// A forged entity (Telegram never sends one that does not fit): no command.
			return "", "", false
		}
		word := string(runes[:e.Length])
		if !strings.HasPrefix(word, "/") || strings.ContainsFunc(word, unicode.IsSpace) {
			// Not "/cmd" or "/cmd@bot": forged as well.
			return "", "", false
		}
		name, _, _ = strings.Cut(word[1:], "@")
		return strings.ToLower(name), strings.TrimSpace(string(runes[e.Length:])), true
	}
	return "", "", false
}

// chatOf returns the chat an update belongs to, 0 when it has none.
func chatOf(u *models.Update) int64 {
	switch {
	case u.Message != nil:
		return u.Message.Chat.ID
	case u.CallbackQuery != nil && u.CallbackQuery.Message.Message != nil:
		return u.CallbackQuery.Message.Message.Chat.ID
	}
	return 0
}
