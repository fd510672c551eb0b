// Package bottest is a fake Telegram Bot API for tests.
//
// NewServer starts an httptest server that answers the Bot API methods the
// bot uses (getMe, getUpdates, sendMessage, editMessageText, sendPhoto, ...),
// records every call, keeps the messages the bot sent per chat, and lets a
// test act as a Telegram user whose actions are queued for getUpdates (or
// delivered to a webhook with DeliverWebhook). Fail injects API errors.
//
// Nothing in this package sleeps: WaitMessages and WaitCalls block on a
// change notification with a deadline, and a held getUpdates returns as soon
// as an update is enqueued.
//
// A typical test:
//
//	s := bottest.NewServer(t, "123:abc")
//	// start the bot against s.URL() ...
//	u := s.NewUser(42, "Ann", "en")
//	u.Command("start")
//	msgs := s.WaitMessages(t, u.ID, 1)
//	u.Press(msgs[0], msgs[0].Button(t, "Settings"))
package bottest
