package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	tgbot "github.com/go-telegram/bot"

	"zhucun/bot"
	"zhucun/bot/bottest"
)

const testHookURL = "https://bot.example.org/telegram/hook"

// runWebhook runs `zhucun webhook args…` with env and returns its output.
func runWebhook(t *testing.T, env map[string]string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = run(context.Background(), append([]string{"webhook"}, args...), func(k string) string { return env[k] }, &out, &errOut)
	return out.String(), errOut.String(), err
}

// noSecrets fails the test if s holds the token or the webhook secret.
func noSecrets(t *testing.T, what, s string) {
	t.Helper()
	for _, secret := range []string{testToken, strings.Split(testToken, ":")[1], hookSecret} {
		if strings.Contains(s, secret) {
			t.Errorf("%s holds a secret: %q", what, s)
		}
	}
}

// TestWebhookSetInfoDelete registers the webhook, reads it back and removes it, against
// the fake Bot API with two updates waiting: neither set nor delete may drop them.
func TestWebhookSetInfoDelete(t *testing.T) {
	t.Parallel()
	api := bottest.NewServer(t, testToken)
	env := map[string]string{
		"TELEGRAM_BOT_TOKEN":    testToken,
		"TELEGRAM_API_URL":      api.URL(),
		"ZHUCUN_WEBHOOK_URL":    testHookURL,
		"ZHUCUN_WEBHOOK_SECRET": hookSecret,
	}
	u := api.NewUser(4242, "Ann", "en")
	u.Text("waiting 1")
	u.Text("waiting 2")

	out, errOut, err := runWebhook(t, env, "set")
	if err != nil {
		t.Fatalf("webhook set: %v\n%s", err, errOut)
	}
	noSecrets(t, "webhook set output", out+errOut)
	if !strings.Contains(out, "webhook set: "+testHookURL) {
		t.Errorf("webhook set printed %q, want the URL", out)
	}
	calls := api.CallsTo("setWebhook")
	if len(calls) != 1 {
		t.Fatalf("got %d setWebhook calls, want 1", len(calls))
	}
	p := calls[0].Params
	if p["url"] != testHookURL || p["secret_token"] != hookSecret || p["max_connections"] != "40" {
		t.Errorf("setWebhook params %v, want url %s, the secret and max_connections 40", p, testHookURL)
	}
	var allowed []string
	if err := json.Unmarshal([]byte(p["allowed_updates"]), &allowed); err != nil || !slices.Equal(allowed, bot.AllowedUpdates()) {
		t.Errorf("setWebhook allowed_updates %q (%v), want %q, as polling asks", p["allowed_updates"], err, bot.AllowedUpdates())
	}
	if v, ok := p["drop_pending_updates"]; ok && v != "false" {
		t.Errorf("setWebhook drop_pending_updates=%q, want it never set", v)
	}

	out, errOut, err = runWebhook(t, env, "info")
	if err != nil {
		t.Fatalf("webhook info: %v\n%s", err, errOut)
	}
	noSecrets(t, "webhook info output", out+errOut)
	for _, want := range []string{
		"url: " + testHookURL + "\n",
		"pending_update_count: 2\n", // set kept the waiting updates
		"last_error_date: none\n",
		"last_error_message: none\n",
		"allowed_updates: message, callback_query, my_chat_member\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("webhook info printed %q, want %q in it", out, want)
		}
	}

	out, errOut, err = runWebhook(t, env, "delete")
	if err != nil {
		t.Fatalf("webhook delete: %v\n%s", err, errOut)
	}
	noSecrets(t, "webhook delete output", out+errOut)
	for _, c := range api.CallsTo("deleteWebhook") {
		if v, ok := c.Params["drop_pending_updates"]; ok && v != "false" {
			t.Errorf("deleteWebhook drop_pending_updates=%q, want it never set", v)
		}
	}
	// Delete needs no webhook variables.
	out, errOut, err = runWebhook(t, map[string]string{"TELEGRAM_BOT_TOKEN": testToken, "TELEGRAM_API_URL": api.URL()}, "info")
	if err != nil {
		t.Fatalf("webhook info: %v\n%s", err, errOut)
	}
	for _, want := range []string{"url: (none: the bot long-polls)\n", "pending_update_count: 2\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("after delete, webhook info printed %q, want %q in it", out, want)
		}
	}
}

func TestWebhookConfigErrors(t *testing.T) {
	t.Parallel()
	api := bottest.NewServer(t, testToken)
	base := map[string]string{"TELEGRAM_BOT_TOKEN": testToken, "TELEGRAM_API_URL": api.URL()}
	with := func(extra map[string]string) map[string]string {
		env := map[string]string{}
		for k, v := range base {
			env[k] = v
		}
		for k, v := range extra {
			env[k] = v
		}
		return env
	}
	tests := []struct {
		name      string
		env       map[string]string
		args      []string
		wantLines []string // prefixes of the error's lines, in order
	}{
		{
			name:      "set without URL and secret",
			env:       base,
			args:      []string{"set"},
			wantLines: []string{"ZHUCUN_WEBHOOK_URL: ", "ZHUCUN_WEBHOOK_SECRET: "},
		},
		{
			name:      "set without secret",
			env:       with(map[string]string{"ZHUCUN_WEBHOOK_URL": testHookURL}),
			args:      []string{"set"},
			wantLines: []string{"ZHUCUN_WEBHOOK_SECRET: "},
		},
		{
			name:      "set without URL",
			env:       with(map[string]string{"ZHUCUN_WEBHOOK_SECRET": hookSecret}),
			args:      []string{"set"},
			wantLines: []string{"ZHUCUN_WEBHOOK_URL: "},
		},
		{
			name:      "set with an http URL",
			env:       with(map[string]string{"ZHUCUN_WEBHOOK_URL": "http://bot.example.org/hook", "ZHUCUN_WEBHOOK_SECRET": hookSecret}),
			args:      []string{"set"},
			wantLines: []string{"ZHUCUN_WEBHOOK_URL: "},
		},
		{
			name:      "no token, no webhook",
			env:       map[string]string{"TELEGRAM_API_URL": api.URL()},
			args:      []string{"set"},
			wantLines: []string{"TELEGRAM_BOT_TOKEN: ", "ZHUCUN_WEBHOOK_URL: ", "ZHUCUN_WEBHOOK_SECRET: "},
		},
		{
			name:      "info without token",
			env:       map[string]string{"TELEGRAM_API_URL": api.URL()},
			args:      []string{"info"},
			wantLines: []string{"TELEGRAM_BOT_TOKEN: "},
		},
		{name: "no action", env: base, wantLines: []string{"usage: zhucun webhook"}},
		{name: "unknown action", env: base, args: []string{"drop"}, wantLines: []string{`unknown webhook action "drop"`}},
		{name: "unknown flag", env: base, args: []string{"info", "--no-such-flag"}, wantLines: []string{"flag provided but not defined"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := runWebhook(t, tc.env, tc.args...)
			var ce *configError
			if !errors.As(err, &ce) {
				t.Fatalf("got error %v, want a *configError", err)
			}
			noSecrets(t, "the error", err.Error())
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tc.wantLines) {
				t.Fatalf("got %d error lines %q, want %d", len(lines), lines, len(tc.wantLines))
			}
			for i, want := range tc.wantLines {
				if !strings.HasPrefix(lines[i], want) {
					t.Errorf("got error line %q, want it to start with %q", lines[i], want)
				}
			}
		})
	}
	t.Cleanup(func() {
		if calls := api.Calls(); len(calls) != 0 {
			t.Errorf("a bad configuration reached the Bot API: %d calls", len(calls))
		}
	})
}

// TestWebhookInfoLastError shows Telegram's last delivery error, in the local time zone.
func TestWebhookInfoLastError(t *testing.T) {
	t.Parallel()
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/getWebhookInfo") {
			http.NotFound(w, r)
			return
		}
		fmt.Fprintf(w, `{"ok":true,"result":{"url":%q,"has_custom_certificate":false,"pending_update_count":7,`+
			`"last_error_date":1767225600,"last_error_message":"Wrong response from the webhook: 503 Service Unavailable","max_connections":40}}`, testHookURL)
	}))
	t.Cleanup(api.Close)
	out, errOut, err := runWebhook(t, map[string]string{"TELEGRAM_BOT_TOKEN": testToken, "TELEGRAM_API_URL": api.URL}, "info")
	if err != nil {
		t.Fatalf("webhook info: %v\n%s", err, errOut)
	}
	want := "url: " + testHookURL + "\npending_update_count: 7\nlast_error_date: 2026-01-01T08:00:00+08:00\n" +
		"last_error_message: Wrong response from the webhook: 503 Service Unavailable\nmax_connections: 40\n"
	if out != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
}

// TestWebhookErrorsHideToken makes the Bot API refuse the token and fail at the network
// level, the error that carries the request URL: the token must not be in the errors.
func TestWebhookErrorsHideToken(t *testing.T) {
	t.Parallel()
	refusing := bottest.NewServer(t, "999:AAanotherTOKENthatIsNotTheBots_0000")
	dropping := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
			conn.Close()
		}
	}))
	t.Cleanup(dropping.Close)
	for _, tc := range []struct {
		name, apiURL string
		wantIs       error
	}{
		{name: "unauthorized", apiURL: refusing.URL(), wantIs: tgbot.ErrorUnauthorized},
		{name: "connection dropped", apiURL: dropping.URL},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := map[string]string{"TELEGRAM_BOT_TOKEN": testToken, "TELEGRAM_API_URL": tc.apiURL,
				"ZHUCUN_WEBHOOK_URL": testHookURL, "ZHUCUN_WEBHOOK_SECRET": hookSecret}
			for _, action := range []string{"set", "info", "delete"} {
				out, errOut, err := runWebhook(t, env, action)
				if err == nil {
					t.Fatalf("webhook %s: got no error, want one", action)
				}
				noSecrets(t, "webhook "+action+" error and output", err.Error()+out+errOut)
				if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
					t.Errorf("webhook %s: got error %v, want it to wrap %v", action, err, tc.wantIs)
				}
			}
		})
	}
}

func TestRedactToken(t *testing.T) {
	t.Parallel()
	err := redactToken(fmt.Errorf("post https://api.telegram.org/bot%s/setWebhook: %w", testToken, io.ErrUnexpectedEOF), testToken)
	if got, want := err.Error(), "post https://api.telegram.org/bot<token>/setWebhook: unexpected EOF"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("got %v, want it to wrap io.ErrUnexpectedEOF", err)
	}
	if plain := errors.New("no token here"); redactToken(plain, testToken) != plain {
		t.Errorf("an error without the token was changed")
	}
}
