package telemetry

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"go.opentelemetry.io/otel/trace"
)

// Log attribute keys that TraceHandler adds.
const (
	TraceIDKey = "trace_id"
	SpanIDKey  = "span_id"
)

// Log formats that NewLogger accepts.
const (
	FormatJSON = "json"
	FormatText = "text"
)

// NewLogger returns a logger writing records at level or above to w in
// the given format ("json" or "text"), each with trace_id and span_id
// when it is written with a context holding a valid span, as by
// logger.InfoContext(ctx, ...). An unknown format is an error.
func NewLogger(w io.Writer, format string, level slog.Level) (*slog.Logger, error) {
	opts := &slog.HandlerOptions{Level: level}

	var h slog.Handler
	switch format {
	case FormatJSON:
		h = slog.NewJSONHandler(w, opts)
	case FormatText:
		h = slog.NewTextHandler(w, opts)
	default:
		return nil, fmt.Errorf("telemetry: unknown log format %q: want %s or %s",
			format, FormatJSON, FormatText)
	}
	return slog.New(NewTraceHandler(h)), nil
}

// TraceHandler is a slog.Handler that adds the trace_id and span_id of
// the span in a record's context before passing the record on. Records
// logged without a context, or outside a span, pass unchanged.
//
// The attributes go where the record's own attributes go, so after
// Logger.WithGroup they sit inside that group.
type TraceHandler struct {
	next slog.Handler
}

// NewTraceHandler wraps next, for callers that build their own handler.
func NewTraceHandler(next slog.Handler) *TraceHandler {
	return &TraceHandler{next: next}
}

// Enabled reports whether the wrapped handler handles level.
func (h *TraceHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.next.Enabled(ctx, level)
}

// Handle adds the trace attributes to a copy of r and passes it on.
func (h *TraceHandler) Handle(ctx context.Context, r slog.Record) error {
	sc := trace.SpanContextFromContext(ctx)
	if sc.IsValid() {
		r = r.Clone()
		r.AddAttrs(
			slog.String(TraceIDKey, sc.TraceID().String()),
			slog.String(SpanIDKey, sc.SpanID().String()),
		)
	}
	return h.next.Handle(ctx, r)
}

// WithAttrs returns a TraceHandler over the wrapped handler with attrs.
func (h *TraceHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &TraceHandler{next: h.next.WithAttrs(attrs)}
}

// WithGroup returns a TraceHandler over the wrapped handler with group.
func (h *TraceHandler) WithGroup(name string) slog.Handler {
	return &TraceHandler{next: h.next.WithGroup(name)}
}
