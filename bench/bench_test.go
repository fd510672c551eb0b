package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// TestSmoke runs the harness for a few seconds at a low rate through the real flows,
// in both modes, the echo floor included, and wants every correctness gate to pass.
func TestSmoke(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	var out bytes.Buffer
	err := run(ctx, []string{"-rate", "40", "-duration", "3s", "-warmup", "500ms", "-drain", "30s", "-step-timeout", "20s",
		"-bot-cpu", "", "-villages", "5"}, &out)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	for _, want := range []string{"### webhook, load", "### polling, load", "| zhucun | ", "| echo floor | ", "All correctness gates passed"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("output lacks %q:\n%s", want, out.String())
		}
	}
}

// TestGateFails shows a gate failing a run: with Telegram allowing one message at a
// time to a chat, the check-in's two-message answers meet 429s the bot was not told of.
func TestGateFails(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	var out bytes.Buffer
	err := run(ctx, []string{"-rate", "20", "-duration", "2s", "-warmup", "0s", "-drain", "30s", "-step-timeout", "20s",
		"-bot-cpu", "", "-villages", "5", "-mode", "webhook", "-echo=false", "-chat-burst", "1"}, &out)
	if err == nil || !strings.Contains(out.String(), "answered 429 (none injected)") {
		t.Fatalf("run: got %v, want a failed 429 gate\n%s", err, out.String())
	}
}
