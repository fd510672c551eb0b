package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	tgbot "github.com/go-telegram/bot"

	"zhucun/bot"
)

// webhookMaxConnections is how many webhook requests Telegram may have open at once.
// Each holds one update of one chat until its records are committed and its replies
// sent, so this is also the most updates the replicas handle at the same time.
const webhookMaxConnections = 40

// webhookTimeout bounds one call of zhucun webhook.
const webhookTimeout = 30 * time.Second

const webhookUsage = "usage: zhucun webhook set|info|delete"

// webhookCommand runs `zhucun webhook set|info|delete`: it registers the webhook with
// Telegram (ZHUCUN_WEBHOOK_URL, ZHUCUN_WEBHOOK_SECRET, the update kinds the bot takes,
// at most 40 connections), shows what Telegram holds, or removes it so the bot can
// long-poll. Pending updates are never dropped, neither by set nor by delete: they are
// delivered to whichever intake comes next. The token appears in no output.
func webhookCommand(ctx context.Context, fs *flag.FlagSet, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return &configError{errors.New(webhookUsage)}
	}
	action := args[0]
	if action != "set" && action != "info" && action != "delete" {
		return &configError{fmt.Errorf("unknown webhook action %q (%s)", action, webhookUsage)}
	}
	cfg, err := loadConfig(fs, args[1:], getenv, false)
	var problems []error
	if err != nil {
		var ce *configError
		if !errors.As(err, &ce) {
			return err
		}
		if _, joined := ce.err.(interface{ Unwrap() []error }); !joined {
			return err // the flags did not parse: nothing else is known
		}
		problems = append(problems, ce.err)
	}
	if cfg.Token == "" {
		problems = append(problems, errors.New("TELEGRAM_BOT_TOKEN: required (the token @BotFather gave the bot)"))
	}
	// loadConfig already reports one of the pair set without the other.
	if action == "set" && cfg.WebhookURL == "" && cfg.WebhookSecret == "" {
		problems = append(problems,
			errors.New("ZHUCUN_WEBHOOK_URL: required by webhook set (the public https URL Telegram posts updates to)"),
			errors.New("ZHUCUN_WEBHOOK_SECRET: required by webhook set (make one with: head -c 24 /dev/urandom | base64 | tr '+/' '-_')"))
	}
	if len(problems) > 0 {
		return &configError{errors.Join(problems...)}
	}

	redact := func(err error) error { return redactToken(err, cfg.Token) }
	hc := &http.Client{Timeout: webhookTimeout}
	api, err := tgbot.New(cfg.Token,
		tgbot.WithServerURL(cfg.APIURL),
		tgbot.WithSkipGetMe(),
		tgbot.WithHTTPClient(webhookTimeout, hc),
		tgbot.WithErrorsHandler(func(err error) { fmt.Fprintln(stderr, "zhucun: bot api client:", redact(err)) }),
	)
	if err != nil {
		return fmt.Errorf("bot api client: %w", redact(err))
	}
	defer hc.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(ctx, webhookTimeout)
	defer cancel()

	switch action {
	case "set":
		// DropPendingUpdates stays false: what Telegram holds is delivered to the webhook.
		if _, err := api.SetWebhook(ctx, &tgbot.SetWebhookParams{
			URL:            cfg.WebhookURL,
			SecretToken:    cfg.WebhookSecret,
			AllowedUpdates: bot.AllowedUpdates(),
			MaxConnections: webhookMaxConnections,
		}); err != nil {
			return fmt.Errorf("setWebhook: %w", redact(err))
		}
		fmt.Fprintf(stdout, "webhook set: %s\nallowed_updates: %s\nmax_connections: %d\npending updates are kept and delivered there\n",
			cfg.WebhookURL, strings.Join(bot.AllowedUpdates(), ", "), webhookMaxConnections)
	case "info":
		info, err := api.GetWebhookInfo(ctx)
		if err != nil {
			return fmt.Errorf("getWebhookInfo: %w", redact(err))
		}
		url := info.URL
		if url == "" {
			url = "(none: the bot long-polls)"
		}
		lastErrorDate, lastErrorMessage := "none", "none"
		if info.LastErrorDate != 0 {
			lastErrorDate = time.Unix(int64(info.LastErrorDate), 0).In(cfg.Timezone).Format(time.RFC3339)
		}
		if info.LastErrorMessage != "" {
			lastErrorMessage = info.LastErrorMessage
		}
		fmt.Fprintf(stdout, "url: %s\npending_update_count: %d\nlast_error_date: %s\nlast_error_message: %s\n",
			url, info.PendingUpdateCount, lastErrorDate, lastErrorMessage)
		if info.MaxConnections != 0 {
			fmt.Fprintf(stdout, "max_connections: %d\n", info.MaxConnections)
		}
		if len(info.AllowedUpdates) > 0 {
			fmt.Fprintf(stdout, "allowed_updates: %s\n", strings.Join(info.AllowedUpdates, ", "))
		}
	case "delete":
		// DropPendingUpdates stays false: the bot long-polls what Telegram holds.
		if _, err := api.DeleteWebhook(ctx, &tgbot.DeleteWebhookParams{}); err != nil {
			return fmt.Errorf("deleteWebhook: %w", redact(err))
		}
		fmt.Fprintln(stdout, "webhook deleted; pending updates are kept for long polling")
	}
	return nil
}

// redactToken takes the bot token out of an error's text, keeping the chain for
// errors.Is and errors.As.
func redactToken(err error, token string) error {
	if err == nil || token == "" || !strings.Contains(err.Error(), token) {
		return err
	}
	return &redactedError{msg: strings.ReplaceAll(err.Error(), token, "<token>"), err: err}
}

// redactedError prints a message without the token and unwraps to the original.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }
