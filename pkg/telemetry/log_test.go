package telemetry

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// startSpan starts a span from a local SDK provider, which records
// without touching the globals.
func startSpan(t *testing.T) (context.Context, func()) {
	t.Helper()
	tp := sdktrace.NewTracerProvider()
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	ctx, span := tp.Tracer("test").Start(context.Background(), "op")
	return ctx, func() { span.End() }
}

func TestNewLoggerTraceAttributes(t *testing.T) {
	for _, format := range []string{FormatJSON, FormatText} {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			logger, err := NewLogger(&buf, format, slog.LevelInfo)
			if err != nil {
				t.Fatalf("NewLogger(%q) error = %v", format, err)
			}
			ctx, end := startSpan(t)
			defer end()
			sc := trace.SpanContextFromContext(ctx)

			logger.InfoContext(ctx, "inside span", "event_id", "e1")
			inside := buf.String()
			buf.Reset()
			logger.InfoContext(context.Background(), "outside span")
			outside := buf.String()

			for _, want := range []string{sc.TraceID().String(), sc.SpanID().String(), "e1"} {
				if !strings.Contains(inside, want) {
					t.Errorf("record inside span = %q, want it to contain %q", inside, want)
				}
			}
			for _, key := range []string{TraceIDKey, SpanIDKey} {
				if strings.Contains(outside, key) {
					t.Errorf("record outside span = %q, want no %s", outside, key)
				}
			}
		})
	}
}

func TestNewLoggerJSONFields(t *testing.T) {
	var buf bytes.Buffer
	logger, err := NewLogger(&buf, FormatJSON, slog.LevelDebug)
	if err != nil {
		t.Fatal(err)
	}
	ctx, end := startSpan(t)
	defer end()
	sc := trace.SpanContextFromContext(ctx)

	logger.With("rule", "r1").DebugContext(ctx, "matched")

	var record map[string]any
	if err := json.Unmarshal(buf.Bytes(), &record); err != nil {
		t.Fatalf("decode record %q: %v", buf.String(), err)
	}
	checks := map[string]string{
		TraceIDKey: sc.TraceID().String(),
		SpanIDKey:  sc.SpanID().String(),
		"rule":     "r1",
		"msg":      "matched",
	}
	for key, want := range checks {
		if got := record[key]; got != want {
			t.Errorf("record[%q] = %v, want %q", key, got, want)
		}
	}
}

func TestNewLoggerLevel(t *testing.T) {
	var buf bytes.Buffer
	logger, err := NewLogger(&buf, FormatText, slog.LevelWarn)
	if err != nil {
		t.Fatal(err)
	}

	logger.Info("dropped")
	logger.Warn("kept")

	if got := buf.String(); strings.Contains(got, "dropped") || !strings.Contains(got, "kept") {
		t.Errorf("output = %q, want only the warning", got)
	}
}

func TestNewLoggerUnknownFormat(t *testing.T) {
	_, err := NewLogger(&bytes.Buffer{}, "yaml", slog.LevelInfo)
	if err == nil {
		t.Fatalf(`NewLogger("yaml") error = nil, want an error`)
	}
	for _, want := range []string{`"yaml"`, "json", "text"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf(`NewLogger("yaml") error = %q, want it to contain %q`, err, want)
		}
	}
}
