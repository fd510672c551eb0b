// Command echo is the floor the bot is measured against: a bot on go-telegram/bot that
// answers every message with one sendMessage, tuned as zhucun is (a bounded number of
// workers, handlers run on them, pooled HTTP connections). It takes updates by webhook
// (-webhook-addr set) or by long polling.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	tgbot "github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "echo:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("echo", flag.ContinueOnError)
	token := fs.String("token", os.Getenv("TELEGRAM_BOT_TOKEN"), "bot token")
	apiURL := fs.String("api-url", os.Getenv("TELEGRAM_API_URL"), "Bot API base URL")
	addr := fs.String("webhook-addr", "", "listen for webhook updates here; long polling when empty")
	secret := fs.String("webhook-secret", "", "X-Telegram-Bot-Api-Secret-Token of webhook calls")
	workers := fs.Int("workers", 16, "updates handled at once")
	if err := fs.Parse(args); err != nil {
		return err
	}
	hc := &http.Client{
		Timeout: 45 * time.Second,
		Transport: &http.Transport{
			Proxy:               http.ProxyFromEnvironment,
			MaxIdleConnsPerHost: 64,
			IdleConnTimeout:     90 * time.Second,
		},
	}
	b, err := tgbot.New(*token,
		tgbot.WithServerURL(*apiURL),
		tgbot.WithHTTPClient(30*time.Second, hc),
		tgbot.WithWorkers(*workers),
		tgbot.WithNotAsyncHandlers(),
		tgbot.WithWebhookSecretToken(*secret),
		tgbot.WithErrorsHandler(func(err error) { log.Printf("echo: %v", err) }),
		tgbot.WithDefaultHandler(func(ctx context.Context, b *tgbot.Bot, u *models.Update) {
			if u.Message == nil {
				return
			}
			if _, err := b.SendMessage(ctx, &tgbot.SendMessageParams{ChatID: u.Message.Chat.ID, Text: "echo: " + u.Message.Text}); err != nil {
				log.Printf("echo: send: %v", err)
			}
		}),
	)
	if err != nil {
		return err
	}
	if *addr == "" {
		log.Print("echo ready")
		b.Start(ctx)
		return nil
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	log.Print("echo ready")
	mux := http.NewServeMux()
	mux.Handle("POST /hook", b.WebhookHandler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	b.StartWebhook(ctx) // returns when ctx ends
	shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(shut)
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
