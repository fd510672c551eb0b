package bot

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/go-telegram/bot/models"

	"zhucun/store/storetest"
)

// benchUpdates are what a member sends in the morning: a check-in tap, a live location,
// a button press.
var benchUpdates = []string{
	`{"update_id":1,"message":{"message_id":7,"date":1795000000,"from":{"id":4242,"first_name":"队员","language_code":"zh-hans"},"chat":{"id":4242,"type":"private","first_name":"队员"},"text":"📍 打卡"}}`,
	`{"update_id":2,"message":{"message_id":8,"date":1795000001,"from":{"id":4242,"first_name":"队员","language_code":"zh-hans"},"chat":{"id":4242,"type":"private"},"location":{"latitude":28.229,"longitude":112.9395,"horizontal_accuracy":15,"live_period":900}}}`,
	`{"update_id":3,"callback_query":{"id":"cq1","from":{"id":4242,"first_name":"队员"},"chat_instance":"1","data":"ci:photo:skip","message":{"message_id":9,"date":1795000002,"chat":{"id":4242,"type":"private"},"text":"可以再发一张现场照片"}}}`,
}

// BenchmarkParseTranslate is an update's intake: the webhook body decoded, its chat
// found and the update translated into the handlers' Input.
func BenchmarkParseTranslate(b *testing.B) {
	bodies := make([][]byte, len(benchUpdates))
	for i, s := range benchUpdates {
		bodies[i] = []byte(s)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		var u models.Update
		if err := json.Unmarshal(bodies[i%len(bodies)], &u); err != nil {
			b.Fatal(err)
		}
		if chatOf(&u) != 4242 {
			b.Fatal("chat not found")
		}
		if _, ok := translate(&u); !ok {
			b.Fatal("not translated")
		}
		i++
	}
}

// BenchmarkPacerWait is the sender's pacing decision for a reply, on the real Redis: no
// hold on the chat, and a place within the bot's limit.
func BenchmarkPacerWait(b *testing.B) {
	rdb, prefix := storetest.Redis(b)
	p := NewPacer(rdb, prefix, Limits{PerSecond: 1_000_000, BulkPerSecond: 1_000_000, ChatPerSecond: 1, ChatBurst: 3, GroupPerMinute: 19})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	b.ReportAllocs()
	chat := int64(0)
	for b.Loop() {
		chat++
		if err := p.wait(ctx, chat, Interactive); err != nil {
			b.Fatal(err)
		}
	}
}
