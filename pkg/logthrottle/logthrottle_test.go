package logthrottle

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestWarnOncePerInterval(t *testing.T) {
	var buf bytes.Buffer
	w := &Warning{Logger: slog.New(slog.NewTextHandler(&buf, nil)), Message: "redis unavailable"}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

	for i := range 5 {
		w.Warn(start.Add(time.Duration(i) * time.Second))
	}
	if got := strings.Count(buf.String(), "redis unavailable"); got != 1 {
		t.Fatalf("lines within one interval = %d, want 1", got)
	}

	w.Warn(start.Add(DefaultInterval))
	if got := strings.Count(buf.String(), "redis unavailable"); got != 2 {
		t.Fatalf("lines after the interval = %d, want 2", got)
	}
	if !strings.Contains(buf.String(), "suppressed=4") {
		t.Errorf("second line = %q, want suppressed=4", buf.String())
	}
}

func TestLimiterPerKey(t *testing.T) {
	var out bytes.Buffer
	log := slog.New(slog.NewTextHandler(&out, nil))
	l := &Limiter{Interval: time.Hour}
	ctx := context.Background()

	for range 3 {
		l.Log(ctx, log, slog.LevelInfo, "a", "attempt failed", "destination", "a")
	}
	l.Log(ctx, log, slog.LevelInfo, "b", "attempt failed", "destination", "b")

	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("got %d lines, want one per key:\n%s", len(lines), out.String())
	}
	if !strings.Contains(lines[1], "destination=b") {
		t.Errorf("second line %q, want the one of key b", lines[1])
	}
}

func TestLimiterReportsSuppressed(t *testing.T) {
	l := &Limiter{Interval: time.Minute}
	start := time.Now()

	if _, ok := l.allow("k", start); !ok {
		t.Fatal("first record held back")
	}
	for i := range 4 {
		if _, ok := l.allow("k", start.Add(time.Duration(i+1)*time.Second)); ok {
			t.Fatalf("record %d within the interval went out", i+2)
		}
	}
	suppressed, ok := l.allow("k", start.Add(2*time.Minute))
	if !ok {
		t.Fatal("record after the interval held back")
	}
	if suppressed != 4 {
		t.Errorf("suppressed = %d, want 4", suppressed)
	}
}
