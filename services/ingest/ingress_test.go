package ingest

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"

	"github.com/switchyard-dev/switchyard/pkg/streams"
)

// publishIngress publishes a producer message and waits for its ack.
func (h *harness) publishIngress(t *testing.T, bus string, header nats.Header, data []byte) {
	t.Helper()
	msg := nats.NewMsg(h.topo.IngestSubject(bus))
	msg.Data = data
	for k, v := range header {
		msg.Header[k] = v
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := h.js.PublishMsg(ctx, msg); err != nil {
		t.Fatalf("publish to %s: %v", msg.Subject, err)
	}
}

// waitIngressSettled waits until INGRESS is empty, which in a work-queue
// stream means every message was acked, and the consumer holds none.
func (h *harness) waitIngressSettled(t *testing.T) {
	t.Helper()
	eventually(t, "INGRESS is empty and nothing awaits an ack", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		info, err := h.svc.consumer.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return info.NumAckPending == 0 && info.NumPending == 0 &&
			h.streamCount(t, streams.Ingress) == 0
	})
}

func TestIngressStoresValid(t *testing.T) {
	h := start(t, newFakeBuses("orders"))
	sent := sampleEvent("nats-1")
	h.publishIngress(t, "orders", nats.Header{"traceparent": {testTrace}}, mustJSON(t, sent))

	h.waitIngressSettled(t)
	msgs := h.readStream(t, streams.Events)
	if len(msgs) != 1 {
		t.Fatalf("EVENTS holds %d messages, want 1", len(msgs))
	}
	checkStored(t, msgs[0], h.topo, "orders", sent)
	if got := msgs[0].header.Get(headerTraceparent); got != testTrace {
		t.Errorf("traceparent = %q, want %q", got, testTrace)
	}
	if got := h.streamCount(t, streams.Rejected); got != 0 {
		t.Errorf("REJECTED holds %d messages, want 0", got)
	}
}

func TestIngressRejectsInvalid(t *testing.T) {
	noSource := sampleEvent("r-1")
	delete(noSource, "source")
	large := sampleEvent("r-2")
	large["data"] = map[string]any{"blob": strings.Repeat("a", 300<<10)}

	tests := []struct {
		name     string
		bus      string
		data     []byte
		wantCode string
	}{
		{"malformed JSON", DefaultBus, []byte(`{"specversion":`), CodeMalformedEvent},
		{"missing source", DefaultBus, mustJSON(t, noSource), CodeMissingAttribute},
		{"too large", DefaultBus, mustJSON(t, large), CodeEventTooLarge},
		{"unknown bus", "nosuchbus", mustJSON(t, sampleEvent("r-3")), CodeUnknownBus},
	}

	h := start(t, newFakeBuses())
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h.publishIngress(t, tt.bus, nats.Header{"traceparent": {testTrace}}, tt.data)
			h.waitIngressSettled(t)

			msgs := h.readStream(t, streams.Rejected)
			if len(msgs) != i+1 {
				t.Fatalf("REJECTED holds %d messages, want %d", len(msgs), i+1)
			}
			got := msgs[i]
			if want := h.topo.RejectedSubject(tt.bus); got.subject != want {
				t.Errorf("subject = %q, want %q", got.subject, want)
			}
			if reason := got.header.Get(streams.HeaderReason); !strings.HasPrefix(reason, tt.wantCode+": ") {
				t.Errorf("reason = %q, want it to start with %q", reason, tt.wantCode)
			}
			if !bytes.Equal(got.data, tt.data) {
				t.Errorf("rejected body differs from the original (%d bytes, want %d)", len(got.data), len(tt.data))
			}
			if trace := got.header.Get(headerTraceparent); trace != testTrace {
				t.Errorf("traceparent = %q, want %q", trace, testTrace)
			}
		})
	}

	if got := h.streamCount(t, streams.Events); got != 0 {
		t.Errorf("EVENTS holds %d messages, want 0", got)
	}
}

func TestIngressRetriesWhileConfigDown(t *testing.T) {
	buses := newFakeBuses("orders")
	buses.setDown(true)
	h := start(t, buses)

	sent := sampleEvent("retry-1")
	h.publishIngress(t, "orders", nil, mustJSON(t, sent))
	eventually(t, "the bus lookup was tried again", func() bool {
		return buses.calls.Load() >= 2
	})
	if got := h.streamCount(t, streams.Rejected); got != 0 {
		t.Fatalf("REJECTED holds %d messages while config is down, want 0", got)
	}

	buses.setDown(false)
	h.waitIngressSettled(t)
	msgs := h.readStream(t, streams.Events)
	if len(msgs) != 1 {
		t.Fatalf("EVENTS holds %d messages, want 1", len(msgs))
	}
	checkStored(t, msgs[0], h.topo, "orders", sent)
}

func TestIngressThroughput(t *testing.T) {
	h := start(t, newFakeBuses())
	const count = 500
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := range count {
		e := sampleEvent(fmt.Sprintf("bulk-%d", i))
		if _, err := h.js.PublishAsync(h.topo.IngestSubject(DefaultBus), mustJSON(t, e)); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-h.js.PublishAsyncComplete():
	case <-ctx.Done():
		t.Fatal("producer publishes not acked")
	}

	h.waitIngressSettled(t)
	if got := h.streamCount(t, streams.Events); got != count {
		t.Errorf("EVENTS holds %d messages, want %d", got, count)
	}
}

func TestIngressFillsIDAndTime(t *testing.T) {
	h := start(t, newFakeBuses())
	sent := sampleEvent("")
	delete(sent, "id")
	delete(sent, "time")

	before := time.Now().UTC()
	h.publishIngress(t, DefaultBus, nil, mustJSON(t, sent))
	h.waitIngressSettled(t)
	after := time.Now().UTC()

	msgs := h.readStream(t, streams.Events)
	if len(msgs) != 1 {
		t.Fatalf("EVENTS holds %d messages, want 1", len(msgs))
	}
	stored := decodeJSON(t, msgs[0].data)
	id, _ := stored["id"].(string)
	if _, err := uuid.Parse(id); err != nil {
		t.Errorf("stored id = %q, want a UUID: %v", id, err)
	}
	stamp, _ := stored["time"].(string)
	got, err := time.Parse(time.RFC3339, stamp)
	if err != nil {
		t.Fatalf("stored time %q is not RFC 3339: %v", stamp, err)
	}
	if got.Before(before.Add(-time.Second)) || got.After(after) {
		t.Errorf("stored time = %v, want between %v and %v", got, before, after)
	}
}

func TestIngressRetriesWhileEventsMissing(t *testing.T) {
	h := start(t, newFakeBuses())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.js.DeleteStream(ctx, h.topo.Stream(streams.Events)); err != nil {
		t.Fatal(err)
	}

	sent := sampleEvent("missing-events-1")
	h.publishIngress(t, DefaultBus, nil, mustJSON(t, sent))
	eventually(t, "the message was delivered more than once", func() bool {
		info, err := h.svc.consumer.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return info.NumRedelivered > 0 || info.Delivered.Consumer > 1
	})
	if got := h.streamCount(t, streams.Rejected); got != 0 {
		t.Fatalf("REJECTED holds %d messages while EVENTS is missing, want 0", got)
	}

	if err := streams.Ensure(ctx, h.js, h.topo, streams.Options{}); err != nil {
		t.Fatal(err)
	}
	h.waitIngressSettled(t)
	msgs := h.readStream(t, streams.Events)
	if len(msgs) != 1 {
		t.Fatalf("EVENTS holds %d messages, want 1", len(msgs))
	}
	checkStored(t, msgs[0], h.topo, DefaultBus, sent)
}
