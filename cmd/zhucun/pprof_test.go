package main

import (
	"flag"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestPprofAddr serves net/http/pprof on ZHUCUN_PPROF_ADDR only, apart from the webhook
// and metrics address.
func TestPprofAddr(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.start(t, map[string]string{"ZHUCUN_PPROF_ADDR": "127.0.0.1:0"})
	get := func(url string) int {
		t.Helper()
		resp, err := http.Get(url)
		if err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := get("http://" + r.app.pprofListener.Addr().String() + "/debug/pprof/"); got != http.StatusOK {
		t.Fatalf("pprof index: got %d, want 200", got)
	}
	if got := get(r.url("/debug/pprof/")); got != http.StatusNotFound {
		t.Fatalf("pprof on ZHUCUN_HTTP_ADDR: got %d, want 404", got)
	}
}

// TestSendPerSecond reads the bot's send rate and refuses a bad one.
func TestSendPerSecond(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, value string
		want        int
		wantErr     string
	}{
		{name: "default", value: "", want: 29},
		{name: "paid broadcasts", value: "1000", want: 1000},
		{name: "not a number", value: "fast", wantErr: "ZHUCUN_SEND_PER_SECOND: malformed"},
		{name: "too low", value: "1", wantErr: "ZHUCUN_SEND_PER_SECOND: malformed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			vals := map[string]string{"TELEGRAM_BOT_TOKEN": testToken, "DATABASE_URL": "postgres://127.0.0.1:5432/x",
				"REDIS_URL": "redis://127.0.0.1:6379/0", "ZHUCUN_SECRET": testSecret, "ZHUCUN_SEND_PER_SECOND": tc.value}
			cfg, err := loadConfig(flag.NewFlagSet("t", flag.ContinueOnError), nil, func(k string) string { return vals[k] }, true)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, want an error with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if l := sendLimits(cfg); cfg.SendPerSecond != tc.want || l.PerSecond != tc.want || l.BulkPerSecond != tc.want-1 {
				t.Fatalf("got %d a second (limits %+v), want %d", cfg.SendPerSecond, l, tc.want)
			}
		})
	}
}
