// Package bot is zhucun's Telegram side: it takes updates in (webhook or long polling),
// runs them through the handlers in order per chat, and sends the replies. The
// go-telegram/bot library is used here only, as the API client and the type source.
package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	tgbot "github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"

	"zhucun/handlers"
)

// ErrBlocked reports that the user blocked the bot: nothing can be sent to them.
var ErrBlocked = errors.New("user blocked the bot")

// Config is what the Telegram side needs.
type Config struct {
	Token  string
	APIURL string // Bot API base URL, without a trailing slash
	// PollTimeout is how long one getUpdates call is held open by Telegram.
	PollTimeout time.Duration
	// MaxSendAttempts bounds the retries of one send after 429 or a server error.
	MaxSendAttempts int
	Logger          *slog.Logger
	Metrics         *Metrics
	// Pacer keeps every send within Telegram's limits, across replicas; nil sends unpaced.
	Pacer *Pacer
}

// Bot is the Bot API client: it knows the bot's name and sends replies.
type Bot struct {
	cfg      Config
	api      *tgbot.Bot
	http     *http.Client
	username string

	movedMu sync.Mutex
	moved   map[int64]int64 // groups upgraded to supergroups: old chat id → new
}

// New connects to the Bot API and learns the bot's username.
func New(ctx context.Context, cfg Config) (*Bot, error) {
	if cfg.APIURL == "" {
		cfg.APIURL = "https://api.telegram.org"
	}
	cfg.APIURL = strings.TrimSuffix(cfg.APIURL, "/")
	if cfg.PollTimeout <= 0 {
		cfg.PollTimeout = 30 * time.Second
	}
	if cfg.MaxSendAttempts <= 0 {
		cfg.MaxSendAttempts = 3
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	hc := &http.Client{
		Timeout: cfg.PollTimeout + 15*time.Second,
		Transport: &http.Transport{
			Proxy:               http.ProxyFromEnvironment,
			MaxIdleConnsPerHost: 64,
			IdleConnTimeout:     90 * time.Second,
			TLSHandshakeTimeout: 10 * time.Second,
		},
	}
	b := &Bot{cfg: cfg, http: hc}
	api, err := tgbot.New(cfg.Token,
		tgbot.WithServerURL(cfg.APIURL),
		tgbot.WithHTTPClient(cfg.PollTimeout, hc),
		tgbot.WithSkipGetMe(),
		tgbot.WithErrorsHandler(func(err error) {
			cfg.Logger.Error("bot api client", slog.String("error", b.redact(err).Error()))
		}),
	)
	if err != nil {
		return nil, fmt.Errorf("bot api client: %w", b.redact(err))
	}
	b.api = api
	me, err := api.GetMe(ctx)
	if err != nil {
		return nil, fmt.Errorf("getMe: %w", b.redact(err))
	}
	b.username = me.Username
	return b, nil
}

// Username is the bot's @name, without the @.
func (b *Bot) Username() string { return b.username }

// DeepLink is the link that opens a private chat with the bot and sends /start payload.
func (b *Bot) DeepLink(payload string) string {
	return "https://t.me/" + b.username + "?start=" + payload
}

// redact takes the token out of an error's text. The token is a secret: it must appear
// in no log line and no error.
func (b *Bot) redact(err error) error {
	if err == nil || b.cfg.Token == "" || !strings.Contains(err.Error(), b.cfg.Token) {
		return err
	}
	return &redactedError{msg: strings.ReplaceAll(err.Error(), b.cfg.Token, "<token>"), err: err}
}

// redactedError keeps the chain for errors.Is and errors.As but prints no token.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// apiResponse is the envelope of every Bot API answer.
type apiResponse struct {
	OK          bool            `json:"ok"`
	Result      json.RawMessage `json:"result"`
	ErrorCode   int             `json:"error_code"`
	Description string          `json:"description"`
	Parameters  struct {
		RetryAfter int `json:"retry_after"`
	} `json:"parameters"`
}

// AllowedUpdates lists the update kinds the bot asks Telegram for, by long polling and
// by webhook (zhucun webhook set) alike.
func AllowedUpdates() []string { return []string{"message", "callback_query", "my_chat_member"} }

// getUpdates long-polls for updates from offset on. The library keeps its own polling
// loop private (and acknowledges before handling), so this one call is ours.
func (b *Bot) getUpdates(ctx context.Context, offset int64, limit int) ([]models.Update, error) {
	body, _ := json.Marshal(map[string]any{
		"offset": offset, "limit": limit, "timeout": int(b.cfg.PollTimeout.Seconds()),
		"allowed_updates": AllowedUpdates(),
	})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.cfg.APIURL+"/bot"+b.cfg.Token+"/getUpdates", bytes.NewReader(body))
	if err != nil {
		return nil, b.redact(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := b.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("getUpdates: %w", b.redact(err))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("getUpdates: %w", b.redact(err))
	}
	var r apiResponse
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, fmt.Errorf("getUpdates: HTTP %d: %w", resp.StatusCode, err)
	}
	if !r.OK {
		// The description is the server's text: it may quote the URL, and so the token.
		desc := strings.ReplaceAll(r.Description, b.cfg.Token, "<token>")
		if r.Parameters.RetryAfter > 0 {
			return nil, &tgbot.TooManyRequestsError{Message: desc, RetryAfter: r.Parameters.RetryAfter}
		}
		return nil, fmt.Errorf("getUpdates: %d %s", r.ErrorCode, desc)
	}
	var ups []models.Update
	if err := json.Unmarshal(r.Result, &ups); err != nil {
		return nil, fmt.Errorf("getUpdates: decode: %w", err)
	}
	return ups, nil
}

// answerCallback stops the spinner on a pressed button. Failing is harmless (the query
// may be too old), so it is only logged.
func (b *Bot) answerCallback(ctx context.Context, id string) {
	if _, err := b.api.AnswerCallbackQuery(ctx, &tgbot.AnswerCallbackQueryParams{CallbackQueryID: id}); err != nil {
		b.cfg.Logger.Debug("answer callback query", slog.String("error", b.redact(err).Error()))
	}
}

// Send delivers one reply to what a user did, ahead of the bulk sends (see SendBulk):
// paced to Telegram's limits, waiting out 429 retry_after, following a group upgraded
// to a supergroup, retrying server errors a few times. A user who blocked the bot gives
// ErrBlocked.
func (b *Bot) Send(ctx context.Context, rep handlers.Reply) error {
	return b.send(ctx, rep, Interactive)
}

// send delivers one reply through the pacer with priority prio: it waits out 429
// retry_after (holding back the sends that would hit the same limit), follows a group
// upgraded to a supergroup to its new chat id, and retries server errors a few times.
// A message is sent again only after an answer that says it was not delivered.
func (b *Bot) send(ctx context.Context, rep handlers.Reply, prio Priority) error {
	method := methodOf(rep)
	rep.ChatID = b.chatRoute(rep.ChatID)
	var err error
	for attempt := 1; attempt <= b.cfg.MaxSendAttempts; attempt++ {
		if perr := b.cfg.Pacer.Wait(ctx, rep.ChatID, prio); perr != nil {
			return perr
		}
		err = b.sendOnce(ctx, rep)
		var tooMany *tgbot.TooManyRequestsError
		var moved *tgbot.MigrateError
		switch {
		case err == nil:
			b.cfg.Metrics.sends.WithLabelValues(method, "ok").Inc()
			return nil
		case errors.As(err, &tooMany):
			b.cfg.Metrics.sends.WithLabelValues(method, "retry_after").Inc()
			d := time.Duration(tooMany.RetryAfter) * time.Second
			b.cfg.Pacer.Hold(ctx, rep.ChatID, d)
			if werr := wait(ctx, d); werr != nil {
				return werr
			}
		case errors.As(err, &moved) && moved.MigrateToChatID != 0:
			b.cfg.Metrics.sends.WithLabelValues(method, "migrated").Inc()
			to := int64(moved.MigrateToChatID)
			b.chatMoved(rep.ChatID, to)
			rep.ChatID = to
		case errors.Is(err, tgbot.ErrorForbidden):
			b.cfg.Metrics.sends.WithLabelValues(method, "blocked").Inc()
			return ErrBlocked
		case errors.Is(err, tgbot.ErrorBadRequest) && strings.Contains(err.Error(), "message is not modified"):
			b.cfg.Metrics.sends.WithLabelValues(method, "ok").Inc()
			return nil
		case errors.Is(err, tgbot.ErrorBadRequest), errors.Is(err, tgbot.ErrorUnauthorized), errors.Is(err, tgbot.ErrorNotFound):
			b.cfg.Metrics.sends.WithLabelValues(method, "error").Inc()
			return fmt.Errorf("%s: %w", method, b.redact(err))
		default: // a server error or a network failure: try again shortly
			b.cfg.Metrics.sends.WithLabelValues(method, "error").Inc()
			if werr := wait(ctx, time.Duration(attempt)*500*time.Millisecond); werr != nil {
				return werr
			}
		}
	}
	return fmt.Errorf("%s: %w", method, b.redact(err))
}

func methodOf(rep handlers.Reply) string {
	switch {
	case len(rep.PhotoIDs) > 1:
		return "sendMediaGroup"
	case len(rep.PhotoIDs) == 1:
		return "sendPhoto"
	case rep.Photo != nil:
		return "sendPhoto"
	case rep.Document != nil:
		return "sendDocument"
	case rep.EditMessageID != 0 && rep.RemoveButtons:
		return "editMessageReplyMarkup"
	case rep.EditMessageID != 0:
		return "editMessageText"
	}
	return "sendMessage"
}

func (b *Bot) sendOnce(ctx context.Context, rep handlers.Reply) error {
	markup := replyMarkup(rep)
	var err error
	switch {
	case len(rep.PhotoIDs) == 1:
		_, err = b.api.SendPhoto(ctx, &tgbot.SendPhotoParams{
			ChatID: rep.ChatID, Caption: rep.Text, ReplyMarkup: markup,
			Photo: &models.InputFileString{Data: rep.PhotoIDs[0]},
		})
	case len(rep.PhotoIDs) > 1:
		media := make([]models.InputMedia, len(rep.PhotoIDs))
		for i, id := range rep.PhotoIDs {
			p := &models.InputMediaPhoto{Media: id}
			if i == 0 {
				p.Caption = rep.Text
			}
			media[i] = p
		}
		_, err = b.api.SendMediaGroup(ctx, &tgbot.SendMediaGroupParams{ChatID: rep.ChatID, Media: media})
	case rep.Photo != nil:
		_, err = b.api.SendPhoto(ctx, &tgbot.SendPhotoParams{
			ChatID: rep.ChatID, Caption: rep.Text, ReplyMarkup: markup,
			Photo: &models.InputFileUpload{Filename: rep.Photo.Name, Data: bytes.NewReader(rep.Photo.Bytes)},
		})
	case rep.Document != nil:
		_, err = b.api.SendDocument(ctx, &tgbot.SendDocumentParams{
			ChatID: rep.ChatID, Caption: rep.Text, ReplyMarkup: markup,
			Document: &models.InputFileUpload{Filename: rep.Document.Name, Data: bytes.NewReader(rep.Document.Bytes)},
		})
	case rep.EditMessageID != 0 && rep.RemoveButtons:
		_, err = b.api.EditMessageReplyMarkup(ctx, &tgbot.EditMessageReplyMarkupParams{
			ChatID: rep.ChatID, MessageID: rep.EditMessageID,
			ReplyMarkup: models.InlineKeyboardMarkup{InlineKeyboard: [][]models.InlineKeyboardButton{}},
		})
	case rep.EditMessageID != 0:
		var inline models.ReplyMarkup
		if rep.Buttons != nil {
			inline = markup
		} else {
			inline = models.InlineKeyboardMarkup{InlineKeyboard: [][]models.InlineKeyboardButton{}}
		}
		_, err = b.api.EditMessageText(ctx, &tgbot.EditMessageTextParams{
			ChatID: rep.ChatID, MessageID: rep.EditMessageID, Text: rep.Text, ReplyMarkup: inline,
		})
	default:
		_, err = b.api.SendMessage(ctx, &tgbot.SendMessageParams{ChatID: rep.ChatID, Text: rep.Text, ReplyMarkup: markup})
	}
	return err
}

// replyMarkup builds the keyboard of a reply, nil when it has none.
func replyMarkup(rep handlers.Reply) models.ReplyMarkup {
	switch {
	case len(rep.Buttons) > 0:
		rows := make([][]models.InlineKeyboardButton, len(rep.Buttons))
		for i, row := range rep.Buttons {
			for _, btn := range row {
				rows[i] = append(rows[i], models.InlineKeyboardButton{Text: btn.Text, CallbackData: btn.Data})
			}
		}
		return models.InlineKeyboardMarkup{InlineKeyboard: rows}
	case len(rep.Keyboard) > 0:
		rows := make([][]models.KeyboardButton, len(rep.Keyboard))
		for i, row := range rep.Keyboard {
			for _, btn := range row {
				rows[i] = append(rows[i], models.KeyboardButton{Text: btn.Text, RequestLocation: btn.RequestLocation, RequestContact: btn.RequestContact})
			}
		}
		return models.ReplyKeyboardMarkup{Keyboard: rows, ResizeKeyboard: true, IsPersistent: true}
	case rep.RemoveKeyboard:
		return models.ReplyKeyboardRemove{RemoveKeyboard: true}
	}
	return nil
}

// wait pauses for d or until ctx ends.
func wait(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// maxFileBytes is the largest file the Bot API lets a bot download.
const maxFileBytes = 20 << 20

// Fetch downloads a file a user sent, by its file id. The download URL holds the token:
// it never appears in an error or a log line.
func (b *Bot) Fetch(ctx context.Context, fileID string) ([]byte, error) {
	f, err := b.api.GetFile(ctx, &tgbot.GetFileParams{FileID: fileID})
	if err != nil {
		return nil, fmt.Errorf("getFile: %w", b.redact(err))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.api.FileDownloadLink(f), nil)
	if err != nil {
		return nil, fmt.Errorf("download file: %w", b.redact(err))
	}
	resp, err := b.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("download file: %w", b.redact(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("download file: HTTP %d", resp.StatusCode)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("download file: %w", b.redact(err))
	}
	if len(data) > maxFileBytes {
		return nil, fmt.Errorf("download file: larger than %d bytes", maxFileBytes)
	}
	return data, nil
}

// Close releases the client's idle connections.
func (b *Bot) Close() { b.http.CloseIdleConnections() }
