package bot

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"

	"zhucun/handlers"
)

// Priority orders the sends that compete for Telegram's limits.
type Priority int

const (
	// Interactive is a reply to what someone just did. It never waits behind bulk sends.
	Interactive Priority = iota
	// Bulk is a reminder or a digest: it goes at most at Limits.BulkPerSecond, leaving
	// room for replies, and yields to the interactive sends waiting in this process.
	Bulk
)

func (p Priority) String() string {
	if p == Bulk {
		return "bulk"
	}
	return "interactive"
}

// Limits are the rates the pacer keeps every send to, for the bot as a whole across all
// its replicas. Telegram publishes about 30 messages a second per bot, one a second per
// chat (short bursts tolerated) and 20 a minute per group; 429 answers come beyond.
type Limits struct {
	// PerSecond bounds all sends of the bot.
	PerSecond int
	// BulkPerSecond bounds the bulk sends among them; the rest is kept for replies.
	BulkPerSecond int
	// ChatPerSecond bounds the bulk sends to one person's chat, after a burst of
	// ChatBurst (replies to a person are not held to it: see Wait).
	ChatPerSecond int
	ChatBurst     int
	// GroupPerMinute bounds the sends to one group or channel (a negative chat id).
	GroupPerMinute int
}

// DefaultLimits stay one message under each of Telegram's limits (30 a second, bursts
// of a few to one chat, 20 a minute to a group), so that the jitter of the network cannot
// make two sends the pacer spaced apart arrive closer than Telegram allows.
func DefaultLimits() Limits {
	return Limits{PerSecond: 29, BulkPerSecond: 28, ChatPerSecond: 1, ChatBurst: 3, GroupPerMinute: 19}
}

// Pacer spaces the bot's sends to its Limits. The limits are counted in Redis (GCRA,
// go-redis/redis_rate), so every replica of the bot shares them, and a 429 from Telegram
// holds back the sends that would run into it again, in every replica. Without Redis
// (NewLocalPacer) they are counted in this process, with the same limits and priorities.
type Pacer struct {
	rdb     redis.UniversalClient
	limiter *redis_rate.Limiter
	local   *localCounts // counts in this process, when rdb is nil
	prefix  string
	limits  Limits

	mu      sync.Mutex
	waiting int           // interactive sends of this process waiting for the bot's limit
	clear   chan struct{} // closed (and replaced) when waiting drops to zero
}

// NewPacer returns a pacer keeping its counts in rdb under prefix.
func NewPacer(rdb redis.UniversalClient, prefix string, limits Limits) *Pacer {
	return &Pacer{rdb: rdb, limiter: redis_rate.NewLimiter(rdb), prefix: prefix + "send:", limits: limits, clear: make(chan struct{})}
}

// NewLocalPacer returns a pacer counting in this process: for a bot that runs as one
// process (the embedded store, no Redis).
func NewLocalPacer(limits Limits) *Pacer {
	return &Pacer{local: newLocalCounts(), prefix: "send:", limits: limits, clear: make(chan struct{})}
}

func (p *Pacer) botLimit() redis_rate.Limit {
	return redis_rate.Limit{Rate: p.limits.PerSecond, Period: time.Second, Burst: 1}
}

// bulkLimit lets bulk sends catch up one message they lost to the time between their
// turn and their asking for it; the bot's limit (burst 1) still spaces every send.
func (p *Pacer) bulkLimit() redis_rate.Limit {
	return redis_rate.Limit{Rate: p.limits.BulkPerSecond, Period: time.Second, Burst: 2}
}

// chatLimit is the limit of one chat: groups (negative ids) per minute, people per second.
func (p *Pacer) chatLimit(chatID int64) redis_rate.Limit {
	if chatID < 0 {
		return redis_rate.Limit{Rate: p.limits.GroupPerMinute, Period: time.Minute, Burst: 1}
	}
	return redis_rate.Limit{Rate: p.limits.ChatPerSecond, Period: time.Second, Burst: max(p.limits.ChatBurst, 1)}
}

func (p *Pacer) chatKey(chatID int64) string {
	return p.prefix + "chat:" + strconv.FormatInt(chatID, 10)
}

// Wait returns once a message to chatID may go out with priority prio, or with ctx's
// error: within the bot's limit, the bulk limit for bulk sends, and the limit of the
// chat for bulk sends and for groups. An interactive send goes even when Redis cannot be asked: a reply is worth
// more than the pacing; a bulk send waits for Redis.
func (p *Pacer) Wait(ctx context.Context, chatID int64, prio Priority) error {
	if p == nil {
		return nil
	}
	err := p.wait(ctx, chatID, prio)
	if err != nil && prio == Interactive && ctx.Err() == nil {
		return nil
	}
	return err
}

func (p *Pacer) wait(ctx context.Context, chatID int64, prio Priority) error {
	if prio == Interactive && chatID > 0 && p.local == nil {
		return p.waitReply(ctx, chatID)
	}
	if err := p.waitHold(ctx, chatID, prio); err != nil {
		return err
	}
	// A reply to a person comes at the pace they act and is not held to the pace of
	// their chat (Telegram's limit there is for messages nobody asked for, and it
	// tolerates short bursts); reminders are, and everything sent to a group is.
	if prio == Bulk || chatID < 0 {
		if err := p.take(ctx, p.chatKey(chatID), p.chatLimit(chatID), Interactive); err != nil {
			return err
		}
	}
	if prio == Bulk {
		if err := p.take(ctx, p.prefix+"bulk", p.bulkLimit(), Bulk); err != nil {
			return err
		}
		return p.take(ctx, p.prefix+"bot", p.botLimit(), Bulk)
	}
	p.mu.Lock()
	p.waiting++
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		if p.waiting--; p.waiting == 0 {
			close(p.clear)
			p.clear = make(chan struct{})
		}
		p.mu.Unlock()
	}()
	return p.take(ctx, p.prefix+"bot", p.botLimit(), Interactive)
}

// waitReply paces a reply to a person: one round trip to Redis (paceScript) says
// whether the chat is held after a 429 and, if not, takes a place within the bot's
// limit — the hot path of every update.
func (p *Pacer) waitReply(ctx context.Context, chatID int64) error {
	p.mu.Lock()
	p.waiting++
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		if p.waiting--; p.waiting == 0 {
			close(p.clear)
			p.clear = make(chan struct{})
		}
		p.mu.Unlock()
	}()
	limit := p.botLimit()
	keys := []string{p.chatKey(chatID) + ":hold", rateKeyPrefix + p.prefix + "bot"}
	for {
		ms, err := paceScript.Run(ctx, p.rdb, keys, limit.Burst, limit.Rate, limit.Period.Seconds()).Int64()
		if err != nil {
			return fmt.Errorf("pace sends: %w", err)
		}
		if ms <= 0 {
			return nil
		}
		if err := wait(ctx, time.Duration(ms)*time.Millisecond); err != nil {
			return err
		}
	}
}

// rateKeyPrefix starts the keys go-redis/redis_rate keeps its counts in.
const rateKeyPrefix = "rate:"

// paceScript waits out a hold (KEYS[1]) and otherwise takes one place within a limit
// (KEYS[2]: burst, rate, period in seconds) by the same GCRA, on the same key, as
// go-redis/redis_rate's AllowN (its script: Copyright (c) 2017 Pavel Pravosud), so
// that the sends paced by redis_rate share the count. It returns the milliseconds to
// wait before asking again, 0 when the send may go.
var paceScript = redis.NewScript(`
local hold = redis.call("PTTL", KEYS[1])
if hold > 0 then
  return hold
end
local burst = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local period = tonumber(ARGV[3])
local emission_interval = period / rate
local burst_offset = emission_interval * burst
local jan_1_2017 = 1483228800
local now = redis.call("TIME")
now = (now[1] - jan_1_2017) + (now[2] / 1000000)
local tat = redis.call("GET", KEYS[2])
if not tat then
  tat = now
else
  tat = tonumber(tat)
end
tat = math.max(tat, now)
local new_tat = tat + emission_interval
local diff = now - (new_tat - burst_offset)
if diff < 0 then
  return math.max(1, math.ceil(-diff * 1000))
end
local reset_after = new_tat - now
if reset_after > 0 then
  redis.call("SET", KEYS[2], new_tat, "EX", math.ceil(reset_after))
end
return 0
`)

// take waits until the limit of key allows one more send. A bulk send first lets the
// interactive sends of this process that wait for the same limit go.
func (p *Pacer) take(ctx context.Context, key string, limit redis_rate.Limit, prio Priority) error {
	for {
		if prio == Bulk {
			if err := p.yield(ctx); err != nil {
				return err
			}
		}
		var retryAfter time.Duration
		if p.local != nil {
			retryAfter = p.local.allow(key, limit, time.Now())
		} else {
			res, err := p.limiter.Allow(ctx, key, limit)
			if err != nil {
				return fmt.Errorf("pace sends: %w", err)
			}
			if res.Allowed > 0 {
				return nil
			}
			retryAfter = res.RetryAfter
		}
		if retryAfter <= 0 {
			return nil
		}
		if err := wait(ctx, retryAfter); err != nil {
			return err
		}
	}
}

// yield waits while interactive sends of this process wait for the bot's limit.
func (p *Pacer) yield(ctx context.Context) error {
	for {
		p.mu.Lock()
		n, clear := p.waiting, p.clear
		p.mu.Unlock()
		if n == 0 {
			return nil
		}
		select {
		case <-clear:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Hold keeps sends back for d after Telegram answered 429 with retry_after: those to
// chatID, and all bulk sends (Telegram does not say which limit was hit).
func (p *Pacer) Hold(ctx context.Context, chatID int64, d time.Duration) {
	if p == nil || d <= 0 {
		return
	}
	if p.local != nil {
		p.local.hold(time.Now().Add(d), p.chatKey(chatID)+":hold", p.prefix+"bulk:hold")
		return
	}
	_, _ = p.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		pipe.Set(ctx, p.chatKey(chatID)+":hold", 1, d)
		pipe.Set(ctx, p.prefix+"bulk:hold", 1, d)
		return nil
	}) // best effort: the 429 itself is waited out by the sender
}

// waitHold waits out the holds that apply to a send.
func (p *Pacer) waitHold(ctx context.Context, chatID int64, prio Priority) error {
	keys := []string{p.chatKey(chatID) + ":hold"}
	if prio == Bulk {
		keys = append(keys, p.prefix+"bulk:hold")
	}
	for {
		if p.local != nil {
			longest := p.local.held(time.Now(), keys...)
			if longest <= 0 {
				return nil
			}
			if err := wait(ctx, longest); err != nil {
				return err
			}
			continue
		}
		var ttls []*redis.DurationCmd
		if _, err := p.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
			for _, k := range keys {
				ttls = append(ttls, pipe.PTTL(ctx, k))
			}
			return nil
		}); err != nil {
			return fmt.Errorf("pace sends: %w", err)
		}
		var longest time.Duration
		for _, c := range ttls {
			longest = max(longest, c.Val())
		}
		if longest <= 0 {
			return nil
		}
		if err := wait(ctx, longest); err != nil {
			return err
		}
	}
}

// SendBulk delivers a reminder or a digest: paced as Bulk, so that replies to users go
// first. A user who blocked the bot gives ErrBlocked.
func (b *Bot) SendBulk(ctx context.Context, rep handlers.Reply) error {
	return b.send(ctx, rep, Bulk)
}

// maxMovedChats bounds the memory of groups upgraded to supergroups; forgetting one
// costs one more 400 answer that names its new id again.
const maxMovedChats = 10000

// chatRoute is the chat a send to chatID goes to: its supergroup if it was upgraded.
func (b *Bot) chatRoute(chatID int64) int64 {
	b.movedMu.Lock()
	defer b.movedMu.Unlock()
	if to, ok := b.moved[chatID]; ok {
		return to
	}
	return chatID
}

// chatMoved remembers that the group from became the supergroup to.
func (b *Bot) chatMoved(from, to int64) {
	b.movedMu.Lock()
	defer b.movedMu.Unlock()
	if b.moved == nil || len(b.moved) >= maxMovedChats {
		b.moved = map[int64]int64{}
	}
	b.moved[from] = to
}
