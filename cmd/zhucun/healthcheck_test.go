package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// healthServer answers /healthz with status; a hanging one answers nothing until the
// client gives up.
func healthServer(t *testing.T, status int, hang bool) string {
	t.Helper()
	release := make(chan struct{})
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" || r.Method != http.MethodGet {
			http.NotFound(w, r)
			return
		}
		if hang {
			select {
			case <-r.Context().Done():
			case <-release:
			}
			return
		}
		w.WriteHeader(status)
		fmt.Fprintln(w, http.StatusText(status))
	}))
	t.Cleanup(s.Close)
	t.Cleanup(func() { close(release) }) // runs first: no handler outlives the test
	_, port, _ := net.SplitHostPort(s.Listener.Addr().String())
	return port
}

// closedPort is a port nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(l.Addr().String())
	l.Close()
	return port
}

func TestHealthcheck(t *testing.T) {
	t.Parallel()
	healthy := healthServer(t, http.StatusOK, false)
	unhealthy := healthServer(t, http.StatusServiceUnavailable, false)
	hanging := healthServer(t, 0, true)
	tests := []struct {
		name    string
		addr    string
		wantErr string // "" for healthy
	}{
		{name: "port only", addr: ":" + healthy},
		{name: "loopback", addr: "127.0.0.1:" + healthy},
		{name: "all interfaces", addr: "0.0.0.0:" + healthy},
		{name: "all interfaces, v6", addr: "[::]:" + healthy},
		{name: "unhealthy", addr: ":" + unhealthy, wantErr: "503"},
		{name: "nothing listening", addr: ":" + closedPort(t), wantErr: "connection refused"},
		{name: "no answer", addr: ":" + hanging, wantErr: "deadline exceeded"},
		{name: "bad address", addr: "localhost", wantErr: "ZHUCUN_HTTP_ADDR"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			start := time.Now()
			err := run(context.Background(), []string{"healthcheck"},
				func(k string) string { return map[string]string{"ZHUCUN_HTTP_ADDR": tc.addr}[k] }, &stdout, &stderr)
			if took := time.Since(start); took > healthcheckTimeout+time.Second {
				t.Errorf("the check took %v, want at most %v", took, healthcheckTimeout)
			}
			if tc.wantErr == "" {
				if err != nil || stdout.String() != "ok\n" {
					t.Fatalf("got error %v, stdout %q; want nil and ok", err, stdout.String())
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("got error %v, want one containing %q", err, tc.wantErr)
			}
			var ce *configError
			if errors.As(err, &ce) {
				t.Errorf("got a *configError (exit 2, which Docker reserves), want a plain error (exit 1)")
			}
		})
	}
}

// TestHealthcheckExitCodes runs the binary as Docker's HEALTHCHECK does.
func TestHealthcheckExitCodes(t *testing.T) {
	t.Parallel()
	bin := zhucunBinary(t)
	tests := []struct {
		name string
		addr string
		want int
	}{
		{name: "healthy", addr: ":" + healthServer(t, http.StatusOK, false), want: 0},
		{name: "unhealthy", addr: ":" + healthServer(t, http.StatusServiceUnavailable, false), want: 1},
		{name: "bad configuration", addr: "nonsense", want: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cmd := exec.CommandContext(t.Context(), bin, "healthcheck")
			cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "ZHUCUN_HTTP_ADDR=" + tc.addr}
			out, err := cmd.CombinedOutput()
			code := 0
			var exitErr *exec.ExitError
			if errors.As(err, &exitErr) {
				code = exitErr.ExitCode()
			} else if err != nil {
				t.Fatalf("run: %v", err)
			}
			if code != tc.want {
				t.Errorf("got exit code %d, want %d; output:\n%s", code, tc.want, out)
			}
		})
	}
}

func Example_healthzURL() {
	for _, addr := range []string{":8080", "0.0.0.0:8080", "[::]:8080", "10.0.0.5:9000", "[fd00::1]:8080"} {
		fmt.Println(healthzURL(addr))
	}
	// Output:
	// http://127.0.0.1:8080/healthz
	// http://127.0.0.1:8080/healthz
	// http://127.0.0.1:8080/healthz
	// http://10.0.0.5:9000/healthz
	// http://[fd00::1]:8080/healthz
}
