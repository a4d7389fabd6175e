package logthrottle

import (
	"bytes"
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
