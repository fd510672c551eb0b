package bot_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"zhucun/bot"
	"zhucun/handlers"
	"zhucun/store/storetest"
)

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestOutboundErrorsLeakNothing runs every outbound path against a Bot API that fails
// each call in turn — the connection cut, a 500, a 400 and a 403 whose descriptions echo
// the request URL and a file download URL with the token — and a handler that fails:
// no error and no log line holds the token, no log line holds what the user wrote (a
// survey answer or comment), and no message to a user holds a file download URL.
func TestOutboundErrorsLeakNothing(t *testing.T) {
	t.Parallel()
	const secretComment = "村干部收了我家的钱-机密评价"
	var calls atomic.Int64
	var sentMu sync.Mutex
	var sent []string
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/getMe") {
			fmt.Fprint(w, `{"ok":true,"result":{"id":1,"is_bot":true,"first_name":"z","username":"zhucun_test_bot"}}`)
			return
		}
		r.ParseMultipartForm(1 << 20) //nolint:errcheck // only to record what was sent
		sentMu.Lock()
		sent = append(sent, r.Form.Get("text")+r.Form.Get("caption"))
		sentMu.Unlock()
		echo := "failed at " + r.URL.String() + " see https://api.telegram.org/file/bot" + token + "/photos/file_1.jpg"
		switch calls.Add(1) % 4 {
		case 0:
			if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
				conn.Close()
			}
		case 1:
			w.WriteHeader(http.StatusInternalServerError)
			json.NewEncoder(w).Encode(map[string]any{"ok": false, "error_code": 500, "description": echo}) //nolint:errcheck
		case 2:
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(map[string]any{"ok": false, "error_code": 400, "description": echo}) //nolint:errcheck
		case 3:
			w.WriteHeader(http.StatusForbidden)
			json.NewEncoder(w).Encode(map[string]any{"ok": false, "error_code": 403, "description": "Forbidden: " + echo}) //nolint:errcheck
		}
	}))
	t.Cleanup(api.Close)
	logs := &syncBuffer{}
	ctx := context.Background()
	b, err := bot.New(ctx, bot.Config{Token: token, APIURL: api.URL, PollTimeout: time.Second, MaxSendAttempts: 2,
		Metrics: bot.NewMetrics(prometheus.NewRegistry()), Logger: slog.New(slog.NewJSONHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)

	var errs []error
	replies := []handlers.Reply{
		{ChatID: 5, Text: "文字"},
		{ChatID: 5, Text: "按钮", Buttons: [][]handlers.Button{{{Text: "a", Data: "x:y:z"}}}},
		{ChatID: 5, Text: "键盘", Keyboard: [][]handlers.KeyButton{{{Text: "打卡", RequestLocation: true}}}},
		{ChatID: 5, Text: "图", Photo: &handlers.File{Name: "a.png", Bytes: []byte("png")}},
		{ChatID: 5, Text: "表", Document: &handlers.File{Name: "a.xlsx", Bytes: []byte("xlsx")}},
		{ChatID: 5, Text: "相册", PhotoIDs: []string{"f1", "f2"}},
		{ChatID: 5, Text: "改", EditMessageID: 3},
		{ChatID: 5, EditMessageID: 3, RemoveButtons: true},
	}
	for range 2 { // every reply kind meets more than one kind of failure
		for _, rep := range replies {
			errs = append(errs, b.Send(ctx, rep))
		}
		for range 4 {
			_, err := b.Fetch(ctx, "file-id")
			errs = append(errs, err)
		}
	}

	// The pipeline: a failing handler, a button press (its answer fails), polling.
	h, err := handlers.New(handlers.Config{DeepLinkFunc: b.DeepLink}, storetest.DB(t), storetest.State(t, time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	f := &faulty{Handlers: h}
	p := bot.NewPipeline(b, f, bot.PipelineConfig{MaxAttempts: 2, UpdateTimeout: 5 * time.Second})
	f.down.Store(true)
	for i, body := range []string{
		`{"update_id":%d,"message":{"message_id":1,"date":1,"chat":{"id":5,"type":"private"},"from":{"id":5,"first_name":"a"},"text":"` + secretComment + `"}}`,
		`{"update_id":%d,"callback_query":{"id":"q","from":{"id":5,"first_name":"a"},"message":{"message_id":9,"date":1,"chat":{"id":5,"type":"private"}},"data":"sa:cmt:` + secretComment + `"}}`,
	} {
		upd := fmt.Sprintf(body, 900+i)
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(upd))
		req.Header.Set("X-Telegram-Bot-Api-Secret-Token", "s")
		bot.NewPipeline(b, f, bot.PipelineConfig{WebhookSecret: "s", MaxAttempts: 1, UpdateTimeout: 5 * time.Second}).
			WebhookHandler().ServeHTTP(rec, req)
	}
	f.down.Store(false)
	pollCtx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	errs = append(errs, p.Poll(pollCtx))

	failures := 0
	for _, err := range errs {
		if err == nil || errors.Is(err, context.DeadlineExceeded) {
			continue
		}
		failures++
		if strings.Contains(err.Error(), token) {
			t.Errorf("error holds the token: %v", err)
		}
	}
	if failures < 20 {
		t.Fatalf("only %d outbound calls failed; the fake API is not failing them", failures)
	}
	out := logs.String()
	for _, leak := range []string{token, secretComment} {
		if strings.Contains(out, leak) {
			t.Errorf("logs hold %q:\n%s", leak, out)
		}
	}
	if !strings.Contains(out, "update not handled") || !strings.Contains(out, "getUpdates failed") {
		t.Errorf("the failures are not logged:\n%.3000s", out)
	}
	sentMu.Lock()
	defer sentMu.Unlock()
	for _, s := range sent {
		if strings.Contains(s, "/file/bot") || strings.Contains(s, token) {
			t.Errorf("a message to a user holds a file URL or the token: %q", s)
		}
	}
	t.Logf("%d outbound calls, %d failed: no token in errors or logs, no user text in logs", calls.Load(), failures)
}
