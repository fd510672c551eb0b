package bot

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"sync"
	"time"

	"github.com/go-telegram/bot/models"

	"zhucun/handlers"
)

// ErrUnavailable reports that an update could not be handled because Postgres or Redis
// is unreachable. The update is not acknowledged: Telegram delivers it again.
var ErrUnavailable = errors.New("service unavailable")

// Handler is what the pipeline needs from the handlers.
type Handler interface {
	Handle(ctx context.Context, in handlers.Input) ([]handlers.Reply, error)
	Ready(ctx context.Context) error
	Busy(in handlers.Input) handlers.Reply
	Apology(in handlers.Input) handlers.Reply
	MarkBlocked(ctx context.Context, userID int64) error
	// Delivered records that the replies Handle returned for an update are sent.
	Delivered(ctx context.Context, updateID int64) error
	SetAside(ctx context.Context, updateID int64, kind string, attempts int, lastErr string, payload []byte) error
}

// PipelineConfig tunes the pipeline.
type PipelineConfig struct {
	// Workers bounds how many chats are handled at once.
	Workers int
	// MaxAttempts is how often an update is tried before it is set aside.
	MaxAttempts int
	// UpdateTimeout bounds the handling of one update.
	UpdateTimeout time.Duration
	// WebhookSecret is compared with X-Telegram-Bot-Api-Secret-Token.
	WebhookSecret string
}

// Pipeline takes updates in, handles them in order per chat and in parallel across
// chats, and acknowledges an update only once its records are committed and its
// replies sent.
type Pipeline struct {
	cfg   PipelineConfig
	bot   *Bot
	h     Handler
	log   *slog.Logger
	m     *Metrics
	locks chatLocks

	mu       sync.Mutex
	notified map[int64]bool // updates whose user was told the bot is busy
}

// NewPipeline returns the intake of b running updates through h.
func NewPipeline(b *Bot, h Handler, cfg PipelineConfig) *Pipeline {
	if cfg.Workers <= 0 {
		cfg.Workers = 16
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 3
	}
	if cfg.UpdateTimeout <= 0 {
		cfg.UpdateTimeout = 30 * time.Second
	}
	return &Pipeline{
		cfg: cfg, bot: b, h: h, log: b.cfg.Logger, m: b.cfg.Metrics,
		locks: chatLocks{m: map[int64]*chatLock{}}, notified: map[int64]bool{},
	}
}

// Process handles one update: it returns nil once the update is done (handled, a
// duplicate, ignored, or set aside after MaxAttempts failures) and may be acknowledged,
// and ErrUnavailable when it must be delivered again.
func (p *Pipeline) Process(ctx context.Context, u *models.Update) error {
	in, ok := translate(u)
	if !ok {
		p.ignored(ctx, u)
		return nil
	}
	unlock := p.locks.lock(in.ChatID)
	defer unlock()

	kind := in.Kind()
	start := time.Now()
	defer func() { p.m.duration.WithLabelValues(kind).Observe(time.Since(start).Seconds()) }()

	var lastErr error
	for attempt := 1; attempt <= p.cfg.MaxAttempts; attempt++ {
		replies, err := p.handle(ctx, in)
		if err == nil {
			p.forget(in.UpdateID)
			p.deliver(ctx, in, replies)
			if err := p.h.Delivered(ctx, in.UpdateID); err != nil {
				// The replies are out: acknowledging the update is right, and delivering
				// it again would only send them twice. Their claim stays (and runs out).
				p.log.Warn("replies sent but not recorded", slog.Int64("update_id", in.UpdateID),
					slog.String("error", err.Error()))
			}
			p.m.updates.WithLabelValues(kind, "ok").Inc()
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("update %d: %w: %w", in.UpdateID, ErrUnavailable, ctx.Err())
		}
		if rerr := p.h.Ready(ctx); rerr != nil {
			p.m.updates.WithLabelValues(kind, "unavailable").Inc()
			p.log.Warn("update not handled: service unavailable", slog.Int64("update_id", in.UpdateID),
				slog.String("error", rerr.Error()))
			p.tellBusy(ctx, in)
			return fmt.Errorf("update %d: %w: %w", in.UpdateID, ErrUnavailable, rerr)
		}
		lastErr = err
		p.m.updates.WithLabelValues(kind, "failed").Inc()
		p.log.Error("update failed", slog.Int64("update_id", in.UpdateID), slog.String("kind", kind),
			slog.Int("attempt", attempt), slog.String("error", p.bot.redact(err).Error()))
	}
	payload, _ := json.Marshal(u)
	if err := p.h.SetAside(ctx, in.UpdateID, kind, p.cfg.MaxAttempts, p.bot.redact(lastErr).Error(), payload); err != nil {
		return fmt.Errorf("update %d: set aside: %w: %w", in.UpdateID, ErrUnavailable, err)
	}
	p.forget(in.UpdateID)
	p.m.updates.WithLabelValues(kind, "dead_letter").Inc()
	p.m.deadLetters.Inc()
	p.log.Error("update set aside", slog.Int64("update_id", in.UpdateID), slog.String("kind", kind))
	p.deliver(ctx, in, []handlers.Reply{p.h.Apology(in)})
	return nil
}

// handle runs the handlers with the panic of one update turned into its error.
func (p *Pipeline) handle(ctx context.Context, in handlers.Input) (replies []handlers.Reply, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("panic: %v", v)
			p.log.Error("handler panic", slog.Int64("update_id", in.UpdateID), slog.Any("panic", v),
				slog.String("stack", string(debug.Stack())))
		}
	}()
	return p.h.Handle(ctx, in)
}

// deliver sends the replies of a handled update. A reply that cannot be sent is logged:
// the records are committed, and sending it again could only duplicate it.
func (p *Pipeline) deliver(ctx context.Context, in handlers.Input, replies []handlers.Reply) {
	if in.Callback != nil {
		p.bot.answerCallback(ctx, in.Callback.ID)
	}
	for _, rep := range replies {
		err := p.bot.Send(ctx, rep)
		switch {
		case errors.Is(err, ErrBlocked):
			if merr := p.h.MarkBlocked(ctx, rep.ChatID); merr != nil {
				p.log.Warn("mark blocked", slog.Int64("chat_id", rep.ChatID), slog.String("error", merr.Error()))
			}
		case err != nil:
			p.log.Error("reply not sent", slog.Int64("update_id", in.UpdateID), slog.Int64("chat_id", rep.ChatID),
				slog.String("error", err.Error()))
		}
	}
}

// tellBusy tells the user once per update that the bot is busy.
func (p *Pipeline) tellBusy(ctx context.Context, in handlers.Input) {
	p.mu.Lock()
	seen := p.notified[in.UpdateID]
	if !seen {
		if len(p.notified) > 10000 { // bounded: forget old notices rather than grow
			clear(p.notified)
		}
		p.notified[in.UpdateID] = true
	}
	p.mu.Unlock()
	if seen {
		return
	}
	if err := p.bot.Send(ctx, p.h.Busy(in)); err != nil {
		p.log.Warn("busy notice not sent", slog.Int64("update_id", in.UpdateID), slog.String("error", err.Error()))
	}
}

func (p *Pipeline) forget(updateID int64) {
	p.mu.Lock()
	delete(p.notified, updateID)
	p.mu.Unlock()
}

// ignored deals with updates that carry no input: a user blocking the bot is recorded.
func (p *Pipeline) ignored(ctx context.Context, u *models.Update) {
	p.m.updates.WithLabelValues("other", "ignored").Inc()
	if cm := u.MyChatMember; cm != nil && cm.NewChatMember.Type == models.ChatMemberTypeBanned {
		if err := p.h.MarkBlocked(ctx, cm.From.ID); err != nil {
			p.log.Warn("mark blocked", slog.Int64("user_id", cm.From.ID), slog.String("error", err.Error()))
		}
	}
}

// chatLocks serialises the updates of one chat within this process.
type chatLocks struct {
	mu sync.Mutex
	m  map[int64]*chatLock
}

type chatLock struct {
	mu   sync.Mutex
	refs int
}

func (c *chatLocks) lock(chatID int64) (unlock func()) {
	c.mu.Lock()
	l := c.m[chatID]
	if l == nil {
		l = &chatLock{}
		c.m[chatID] = l
	}
	l.refs++
	c.mu.Unlock()
	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		c.mu.Lock()
		l.refs--
		if l.refs == 0 {
			delete(c.m, chatID)
		}
		c.mu.Unlock()
	}
}

// maxWebhookBody caps an update's size; Telegram's updates are far smaller.
const maxWebhookBody = 1 << 20

// WebhookHandler receives updates from Telegram. It answers 401 to a missing or wrong
// secret (compared in constant time), 413 to a body over 1 MiB, 400 to one that is no
// update, 503 when the update could not be handled for now (Telegram retries), and 200
// only once the update is done.
func (p *Pipeline) WebhookHandler() http.Handler {
	want := sha256.Sum256([]byte(p.cfg.WebhookSecret))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		got := sha256.Sum256([]byte(r.Header.Get("X-Telegram-Bot-Api-Secret-Token")))
		if p.cfg.WebhookSecret == "" || subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		// The whole body is read, so one over the cap is refused even when an update
		// fits in its first bytes.
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWebhookBody))
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "update too large", http.StatusRequestEntityTooLarge)
			return
		}
		var u models.Update
		if err == nil {
			err = json.Unmarshal(body, &u)
		}
		switch {
		case err != nil || u.ID == 0:
			http.Error(w, "not an update", http.StatusBadRequest)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), p.cfg.UpdateTimeout)
		defer cancel()
		if err := p.Process(ctx, &u); err != nil {
			http.Error(w, "try again later", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
}

// Poll long-polls for updates until ctx ends. The offset moves past an update only when
// it is done; an update that failed for now is fetched again with everything after it
// (those already done are found processed and change nothing). Updates in flight when
// ctx ends are finished within UpdateTimeout.
func (p *Pipeline) Poll(ctx context.Context) error {
	var offset int64
	backoff := time.Duration(0)
	for {
		if backoff > 0 {
			if err := wait(ctx, backoff); err != nil {
				return nil
			}
		}
		ups, err := p.bot.getUpdates(ctx, offset, 100)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			backoff = nextBackoff(backoff)
			p.log.Warn("getUpdates failed", slog.String("error", err.Error()), slog.Duration("retry_in", backoff))
			continue
		}
		next, ok := p.processBatch(ctx, ups)
		if next > offset {
			offset = next
		}
		if ok {
			backoff = 0
		} else {
			backoff = nextBackoff(backoff)
		}
	}
}

func nextBackoff(d time.Duration) time.Duration {
	switch {
	case d <= 0:
		return 500 * time.Millisecond
	case d >= 30*time.Second:
		return 30 * time.Second
	}
	return d * 2
}

// processBatch handles a batch from getUpdates: each chat's updates in order, chats in
// parallel on at most Workers goroutines. It returns the next offset — past the whole
// batch, or at the first update that is not done — and whether all were done.
func (p *Pipeline) processBatch(ctx context.Context, ups []models.Update) (next int64, ok bool) {
	if len(ups) == 0 {
		return 0, true
	}
	var order []int64
	byChat := map[int64][]*models.Update{}
	for i := range ups {
		c := chatOf(&ups[i])
		if _, seen := byChat[c]; !seen {
			order = append(order, c)
		}
		byChat[c] = append(byChat[c], &ups[i])
	}
	// Handling is not cut short by ctx: what was taken is finished (or left undone)
	// within UpdateTimeout each.
	work := context.WithoutCancel(ctx)
	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		firstFail int64
		sem       = make(chan struct{}, p.cfg.Workers)
	)
	for _, c := range order {
		wg.Add(1)
		sem <- struct{}{}
		go func(list []*models.Update) {
			defer wg.Done()
			defer func() { <-sem }()
			for _, u := range list {
				uctx, cancel := context.WithTimeout(work, p.cfg.UpdateTimeout)
				err := p.Process(uctx, u)
				cancel()
				if err != nil {
					mu.Lock()
					if firstFail == 0 || u.ID < firstFail {
						firstFail = u.ID
					}
					mu.Unlock()
					return // the rest of this chat waits for its turn
				}
			}
		}(byChat[c])
	}
	wg.Wait()
	if firstFail != 0 {
		return firstFail, false
	}
	return ups[len(ups)-1].ID + 1, true
}
