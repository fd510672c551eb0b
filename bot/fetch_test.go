package bot_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"zhucun/bot"
	"zhucun/bot/bottest"
)

func TestFetchDownloadsWithoutShowingTheToken(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	api := bottest.NewServer(t, token)
	b, err := bot.New(ctx, bot.Config{Token: token, APIURL: api.URL(), Metrics: bot.NewMetrics(prometheus.NewRegistry()),
		Logger: slog.New(slog.NewJSONHandler(testWriter{t}, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	u := api.NewUser(9, "九", "zh-hans")
	upd := u.Photo([]byte("the bytes of a photo"), "")
	photos := upd.Message.Photo
	got, err := b.Fetch(ctx, photos[len(photos)-1].FileID)
	if err != nil || string(got) != "the bytes of a photo" {
		t.Fatalf("Fetch: got %q (%v), want the photo's bytes", got, err)
	}
	_, err = b.Fetch(ctx, "no-such-file")
	if err == nil {
		t.Fatal("Fetch of an unknown file succeeded")
	}
	if strings.Contains(err.Error(), token) || strings.Contains(err.Error(), strings.Split(token, ":")[1]) {
		t.Fatalf("error shows the token: %v", err)
	}
}
