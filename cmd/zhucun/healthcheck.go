package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// healthcheckTimeout bounds the whole check.
const healthcheckTimeout = 2 * time.Second

// healthcheck runs `zhucun healthcheck`, for images without a shell or curl (the
// Dockerfile's HEALTHCHECK): it GETs /healthz of the bot listening on ZHUCUN_HTTP_ADDR
// and returns nil on 200 OK. Every failure, a bad configuration included, is a plain
// error, so main exits 1, as Docker expects of an unhealthy container (it reserves 2).
func healthcheck(ctx context.Context, fs *flag.FlagSet, args []string, getenv func(string) string, stdout io.Writer) error {
	cfg, err := loadConfig(fs, args, getenv, false)
	if err != nil {
		// Not wrapped: a *configError would make main exit 2.
		return fmt.Errorf("healthcheck: config: %s", strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	target := healthzURL(cfg.HTTPAddr)
	ctx, cancel := context.WithTimeout(ctx, healthcheckTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	// No proxy and no redirects: the answer must come from the process itself.
	transport := &http.Transport{Proxy: nil, DisableKeepAlives: true}
	defer transport.CloseIdleConnections()
	client := &http.Client{
		Transport:     transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: GET %s: %s", target, resp.Status)
	}
	fmt.Fprintln(stdout, "ok")
	return nil
}

// healthzURL is the /healthz URL of a server listening on addr: an address that names
// no host, or every host (0.0.0.0, ::), is reached on 127.0.0.1.
func healthzURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		host, port = "", addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/healthz"
}
