package bot

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/go-telegram/bot/models"
)

// FuzzTranslate decodes any webhook body as an update and routes it to a handlers
// Input the way the intake does: no input panics, and what comes out is consistent —
// an input belongs to the update's chat and user, a command is lower case without
// its slash or a bot name, and a button press carries its data unchanged.
func FuzzTranslate(f *testing.F) {
	for _, s := range []string{
		`{"update_id":1,"message":{"message_id":1,"date":1,"chat":{"id":5,"type":"private"},"from":{"id":5,"first_name":"a"},"text":"/start abc","entities":[{"type":"bot_command","offset":0,"length":6}]}}`,
		`{"update_id":2,"message":{"message_id":2,"date":1,"chat":{"id":5,"type":"private"},"from":{"id":5,"first_name":"a"},"text":"/Help@zhucun_bot x","entities":[{"type":"bot_command","offset":0,"length":15}]}}`,
		`{"update_id":3,"message":{"message_id":3,"date":1,"chat":{"id":5,"type":"private"},"from":{"id":5,"first_name":"a"},"text":"/","entities":[{"type":"bot_command","offset":0,"length":-3}]}}`,
		`{"update_id":4,"message":{"message_id":4,"date":1,"chat":{"id":-100,"type":"supergroup"},"from":{"id":5,"first_name":"a"},"location":{"latitude":28.2,"longitude":112.9,"live_period":60}}}`,
		`{"update_id":5,"message":{"message_id":5,"date":1,"chat":{"id":5,"type":"private"},"from":{"id":5,"first_name":"a"},"photo":[{"file_id":"s","file_unique_id":"u","width":1,"height":1},{"file_id":"b","file_unique_id":"v","width":9,"height":9}],"caption":"说明","media_group_id":"g"}}`,
		`{"update_id":6,"callback_query":{"id":"q","from":{"id":5,"first_name":"a"},"message":{"message_id":9,"date":1,"chat":{"id":5,"type":"private"}},"data":"pl:go:a.asg.12"}}`,
		`{"update_id":7,"callback_query":{"id":"q","from":{"id":5,"first_name":"a"},"message":{"message_id":9,"date":0,"chat":{"id":5,"type":"private"}},"data":"x"}}`,
		`{"update_id":8,"callback_query":{"id":"q","from":{"id":5,"first_name":"a"},"inline_message_id":"i","data":"x"}}`,
		`{"update_id":9,"message":{"message_id":1,"date":1,"chat":{"id":5,"type":"private"},"from":{"id":5,"first_name":"‮evil","last_name":"🙂"},"text":"'; DROP TABLE users;--\u0000","contact":{"phone_number":"+86","first_name":"x","user_id":5},"forward_origin":{"type":"user","date":1,"sender_user":{"id":1,"is_bot":false,"first_name":"y"}}}}`,
		`{"update_id":10,"edited_message":{"message_id":1,"date":1,"chat":{"id":5,"type":"private"},"text":"x"}}`,
		`{"update_id":11,"my_chat_member":{"chat":{"id":5,"type":"private"},"from":{"id":5,"first_name":"a"},"date":1,"old_chat_member":{"status":"member","user":{"id":1,"is_bot":true,"first_name":"b"}},"new_chat_member":{"status":"kicked","user":{"id":1,"is_bot":true,"first_name":"b"},"until_date":0}}}`,
		`{}`, `null`, `[]`, `{"update_id":"x"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var u models.Update
		if err := json.Unmarshal(body, &u); err != nil {
			return
		}
		chat := chatOf(&u)
		in, ok := translate(&u)
		if !ok {
			return
		}
		if in.UpdateID != u.ID || in.ChatID != chat {
			t.Fatalf("input of update %d in chat %d, want update %d in chat %d", in.UpdateID, in.ChatID, u.ID, chat)
		}
		switch {
		case u.Message != nil:
			if in.UserID != u.Message.From.ID || in.Callback != nil {
				t.Fatalf("message input %+v", in)
			}
		case u.CallbackQuery != nil:
			if in.UserID != u.CallbackQuery.From.ID || in.Callback == nil || in.Callback.Data != u.CallbackQuery.Data {
				t.Fatalf("button input %+v", in)
			}
		}
		if in.Command != "" {
			if in.Command != strings.ToLower(in.Command) || strings.ContainsAny(in.Command, "/@") {
				t.Fatalf("command %q", in.Command)
			}
			if utf8.ValidString(in.Text) && !strings.HasPrefix(strings.ToLower(in.Text), "/"+in.Command) {
				t.Fatalf("command %q of text %q", in.Command, in.Text)
			}
		}
		if len(in.Photos) > 1 {
			t.Fatalf("%d photos, want the largest size only", len(in.Photos))
		}
		_ = in.Kind()
	})
}
