package bottest

import (
	"net/http"
	"strconv"
	"time"
)

// Limits are Telegram's flood limits as the server enforces them once EnforceLimits
// is called: a send over a limit is answered 429 with retry_after, like Telegram.
type Limits struct {
	// PerSecond bounds the sends of the bot in any one-second window (Telegram: 30).
	PerSecond int
	// ChatPerSecond is the sustained rate of sends to one chat (Telegram: 1), and
	// ChatBurst how many may go at once before it applies (Telegram allows short
	// bursts; at least 1).
	ChatPerSecond int
	ChatBurst     int
	// GroupPerMinute bounds the sends to one group (a negative chat id) in any
	// one-minute window (Telegram: 20).
	GroupPerMinute int
}

// limiter is the enforcement state; nil until EnforceLimits.
type limiter struct {
	limits Limits
	sent   []time.Time           // accepted sends of the last second, oldest first
	chats  map[int64]time.Time   // theoretical arrival time of the next send per chat
	groups map[int64][]time.Time // accepted sends per group in the last minute
	moved  map[int64]int64       // chats upgraded to supergroups: old id → new id
	now    func() time.Time
}

// EnforceLimits makes the server answer 429 to every send (sendMessage, sendPhoto,
// sendDocument, sendLocation and the edits) that goes over l, measured when the
// request arrives. Rejected sends count for no limit.
func (s *Server) EnforceLimits(l Limits) {
	s.mu.Lock()
	defer s.mu.Unlock()
	lim := s.limiterLocked()
	if l.ChatBurst < 1 {
		l.ChatBurst = 1
	}
	lim.limits = l
}

// MigrateChat makes the server treat the group oldID as upgraded to the supergroup
// newID: calls naming oldID are answered 400 with parameters.migrate_to_chat_id.
func (s *Server) MigrateChat(oldID, newID int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limiterLocked().moved[oldID] = newID
}

// TooManyRequests counts the calls answered 429, injected or enforced.
func (s *Server) TooManyRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.calls {
		if c.Status == http.StatusTooManyRequests {
			n++
		}
	}
	return n
}

func (s *Server) limiterLocked() *limiter {
	if s.limits == nil {
		s.limits = &limiter{chats: map[int64]time.Time{}, groups: map[int64][]time.Time{}, moved: map[int64]int64{}, now: time.Now}
	}
	return s.limits
}

// limitedMethod reports whether Telegram counts the method against its flood limits.
func limitedMethod(method string) bool {
	switch method {
	case "sendMessage", "sendPhoto", "sendDocument", "sendLocation", "editMessageText", "editMessageCaption", "editMessageReplyMarkup":
		return true
	}
	return false
}

// limitLocked answers a call that a migration or a limit stops, and reports whether
// it did; s.mu must be held.
func (s *Server) limitLocked(c Call) (reply, bool) {
	lim := s.limits
	if lim == nil {
		return reply{}, false
	}
	chatID, err := strconv.ParseInt(c.Params["chat_id"], 10, 64)
	if err != nil {
		return reply{}, false
	}
	if to, moved := lim.moved[chatID]; moved {
		return reply{status: http.StatusBadRequest, description: "Bad Request: group chat was upgraded to a supergroup chat",
			migrateTo: to}, true
	}
	l := lim.limits
	if l.PerSecond == 0 || !limitedMethod(c.Method) {
		return reply{}, false
	}
	now := lim.now()
	tooMany := func(after time.Duration) (reply, bool) {
		secs := int((after + time.Second - 1) / time.Second)
		return reply{status: http.StatusTooManyRequests, description: "Too Many Requests: retry after " + strconv.Itoa(secs),
			retryAfter: max(secs, 1)}, true
	}
	// The bot: at most PerSecond in any second.
	kept := lim.sent[:0]
	for _, t := range lim.sent {
		if now.Sub(t) < time.Second {
			kept = append(kept, t)
		}
	}
	lim.sent = kept
	if len(lim.sent) >= l.PerSecond {
		return tooMany(time.Second - now.Sub(lim.sent[0]))
	}
	// One chat: a bucket of ChatBurst refilled at ChatPerSecond; one group: at most
	// GroupPerMinute in any minute.
	var chatTAT time.Time
	if chatID < 0 && l.GroupPerMinute > 0 {
		var recent []time.Time
		for _, t := range lim.groups[chatID] {
			if now.Sub(t) < time.Minute {
				recent = append(recent, t)
			}
		}
		lim.groups[chatID] = recent
		if len(recent) >= l.GroupPerMinute {
			return tooMany(time.Minute - now.Sub(recent[0]))
		}
	} else if chatID > 0 && l.ChatPerSecond > 0 {
		interval := time.Second / time.Duration(l.ChatPerSecond)
		tat := lim.chats[chatID]
		if tat.Before(now) {
			tat = now
		}
		if allowAt := tat.Add(-time.Duration(l.ChatBurst-1) * interval); now.Before(allowAt) {
			return tooMany(allowAt.Sub(now))
		}
		chatTAT = tat.Add(interval)
	}
	lim.sent = append(lim.sent, now)
	if chatID < 0 {
		lim.groups[chatID] = append(lim.groups[chatID], now)
	} else if !chatTAT.IsZero() {
		lim.chats[chatID] = chatTAT
	}
	return reply{}, false
}
