package ingest

import (
	"net/http"
	"testing"

	"github.com/switchyard-dev/switchyard/pkg/streams"
)

func TestTraceparentExtensionWinsOverHeader(t *testing.T) {
	h := start(t, newFakeBuses())
	const hopTrace = "00-11111111111111111111111111111111-2222222222222222-01"

	header := contentType(mediaStructured)
	header.Set("traceparent", hopTrace)
	event := sampleEvent("trace-both")
	event["traceparent"] = testTrace
	if code, resp := h.post(t, DefaultBus, header, mustJSON(t, event)); code != http.StatusOK {
		t.Fatalf("status = %d, want 200 (%+v)", code, resp)
	}

	msgs := h.readStream(t, streams.Events)
	if len(msgs) != 1 {
		t.Fatalf("EVENTS holds %d messages, want 1", len(msgs))
	}
	if got := msgs[0].header.Get(headerTraceparent); got != testTrace {
		t.Errorf("traceparent = %q, want the extension's %q", got, testTrace)
	}
}

func TestInvalidTraceparentExtensionIgnored(t *testing.T) {
	h := start(t, newFakeBuses())

	header := contentType(mediaStructured)
	header.Set("traceparent", testTrace)
	event := sampleEvent("trace-invalid")
	event["traceparent"] = "not-a-traceparent"
	if code, resp := h.post(t, DefaultBus, header, mustJSON(t, event)); code != http.StatusOK {
		t.Fatalf("status = %d, want 200 (%+v)", code, resp)
	}

	msgs := h.readStream(t, streams.Events)
	if len(msgs) != 1 {
		t.Fatalf("EVENTS holds %d messages, want 1", len(msgs))
	}
	if got := msgs[0].header.Get(headerTraceparent); got != testTrace {
		t.Errorf("traceparent = %q, want the header's %q", got, testTrace)
	}
}
