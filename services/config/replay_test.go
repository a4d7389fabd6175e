package config

import (
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/switchyard-dev/switchyard/pkg/streams"
	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

const replayTraceParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

// storedEvent is an event that the test put on events.<bus>, with the
// time and sequence that the EVENTS stream gave it.
type storedEvent struct {
	id     string
	data   string
	seq    uint64
	stored time.Time
}

// putEvent stores an event as ingest does. It first waits until the
// clock has passed the previous event's stored time, so that every
// event of a test has its own stored time and windows can fall between
// them. The server runs in this process, so both use the same clock.
func (h *harness) putEvent(t *testing.T, bus, id string, after time.Time) storedEvent {
	t.Helper()
	deadline := time.Now().Add(time.Second)
	for !time.Now().After(after.Add(time.Millisecond)) {
		if time.Now().After(deadline) {
			t.Fatal("clock did not pass the previous event's stored time")
		}
		time.Sleep(time.Millisecond)
	}

	data := fmt.Sprintf(`{"specversion":"1.0","id":%q,"source":"ci","type":"push"}`, id)
	msg := nats.NewMsg(h.topology.EventsSubject(bus))
	msg.Data = []byte(data)
	msg.Header.Set(streams.HeaderMsgID, streams.EventMsgID(bus, "ci", id))
	msg.Header.Set(streams.HeaderBus, bus)
	msg.Header.Set(streams.HeaderIngestTime, "2026-12-04T10:00:00Z")
	msg.Header.Set("traceparent", replayTraceParent)
	ctx := testContext(t)
	ack, err := h.js(t).PublishMsg(ctx, msg)
	if err != nil {
		t.Fatal(err)
	}

	stream, err := h.js(t).Stream(ctx, h.topology.Stream(streams.Events))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := stream.GetMsg(ctx, ack.Sequence)
	if err != nil {
		t.Fatal(err)
	}
	if !raw.Time.After(after) {
		t.Fatalf("event %s stored at %v, not after %v", id, raw.Time, after)
	}
	return storedEvent{id: id, data: data, seq: ack.Sequence, stored: raw.Time}
}

// putEvents stores events with the given ids on bus, each at its own
// time.
func (h *harness) putEvents(t *testing.T, bus string, ids ...string) []storedEvent {
	t.Helper()
	var out []storedEvent
	var last time.Time
	for _, id := range ids {
		ev := h.putEvent(t, bus, id, last)
		out = append(out, ev)
		last = ev.stored
	}
	return out
}

// replayed returns every message in the REPLAY stream. Nothing
// consumes the stream in these tests, so every message stays.
func (h *harness) replayed(t *testing.T) []*jetstream.RawStreamMsg {
	t.Helper()
	ctx := testContext(t)
	stream, err := h.js(t).Stream(ctx, h.topology.Stream(streams.Replay))
	if err != nil {
		t.Fatal(err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []*jetstream.RawStreamMsg
	for seq := info.State.FirstSeq; info.State.Msgs > 0 && seq <= info.State.LastSeq; seq++ {
		raw, err := stream.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, raw)
	}
	return out
}

func replayRequest(bus string, start, end time.Time) *v1.ReplayEventsRequest {
	return &v1.ReplayEventsRequest{
		Bus: bus, StartTime: timestamppb.New(start), EndTime: timestamppb.New(end),
	}
}

func TestReplayEventsWindow(t *testing.T) {
	h := startService(t)
	ctx := testContext(t)
	_, err := h.api.CreateBus(ctx, &v1.CreateBusRequest{Bus: &v1.Bus{Name: "other"}})
	mustOK(t, err)

	events := h.putEvents(t, DefaultBus, "e1", "e2", "e3")
	// An event of another bus inside the window stays out of the replay.
	h.putEvent(t, "other", "o1", events[2].stored)
	events = append(events, h.putEvent(t, DefaultBus, "e4", time.Now()))

	resp, err := h.api.ReplayEvents(ctx, replayRequest(DefaultBus, events[1].stored, events[2].stored))
	mustOK(t, err)
	if resp.GetReplayId() == "" {
		t.Error("replay id is empty")
	}
	if got := resp.GetQueuedEvents(); got != 2 {
		t.Errorf("queued events = %d, want 2", got)
	}

	msgs := h.replayed(t)
	if len(msgs) != 2 {
		t.Fatalf("REPLAY contains %d messages, want 2", len(msgs))
	}
	for i, want := range events[1:3] {
		got := msgs[i]
		if string(got.Data) != want.data {
			t.Errorf("replayed[%d] = %s, want %s", i, got.Data, want.data)
		}
		if subject := h.topology.ReplaySubject(DefaultBus); got.Subject != subject {
			t.Errorf("replayed[%d] subject = %q, want %q", i, got.Subject, subject)
		}
		checkReplayHeaders(t, got.Header, resp.GetReplayId(), "", want.seq)
	}
}

func checkReplayHeaders(t *testing.T, h nats.Header, replayID, rule string, seq uint64) {
	t.Helper()
	checks := []struct{ name, want string }{
		{streams.HeaderReplayID, replayID},
		{streams.HeaderReplayRule, rule},
		{streams.HeaderMsgID, replayID + "-" + strconv.FormatUint(seq, 10)},
		{streams.HeaderIngestTime, "2026-12-04T10:00:00Z"},
		{streams.HeaderBus, DefaultBus},
		{"traceparent", replayTraceParent},
	}
	for _, c := range checks {
		if got := h.Get(c.name); got != c.want {
			t.Errorf("header %s = %q, want %q", c.name, got, c.want)
		}
	}
}

func TestReplayEventsRepeatQueuesOnce(t *testing.T) {
	h := startService(t)
	ctx := testContext(t)
	events := h.putEvents(t, DefaultBus, "e1", "e2")

	req := replayRequest(DefaultBus, events[0].stored, time.Now().Add(time.Hour))
	req.ReplayId = "nightly-1"
	for i := range 2 {
		resp, err := h.api.ReplayEvents(ctx, req)
		mustOK(t, err)
		if got := resp.GetReplayId(); got != "nightly-1" {
			t.Errorf("call %d: replay id = %q, want nightly-1", i+1, got)
		}
		if got := resp.GetQueuedEvents(); got != 2 {
			t.Errorf("call %d: queued events = %d, want 2", i+1, got)
		}
	}
	if got := len(h.replayed(t)); got != 2 {
		t.Errorf("REPLAY contains %d messages after a repeated call, want 2", got)
	}
}

func TestReplayEventsNamesRule(t *testing.T) {
	h := startService(t)
	h.seed(t)
	ctx := testContext(t)
	events := h.putEvents(t, DefaultBus, "e1")

	req := replayRequest(DefaultBus, events[0].stored, events[0].stored)
	req.Rule = "build"
	resp, err := h.api.ReplayEvents(ctx, req)
	mustOK(t, err)

	msgs := h.replayed(t)
	if len(msgs) != 1 {
		t.Fatalf("REPLAY contains %d messages, want 1", len(msgs))
	}
	checkReplayHeaders(t, msgs[0].Header, resp.GetReplayId(), "build", events[0].seq)
}

func TestReplayEventsEmptyWindow(t *testing.T) {
	h := startService(t)
	ctx := testContext(t)
	events := h.putEvents(t, DefaultBus, "e1")

	start := events[0].stored.Add(time.Nanosecond)
	resp, err := h.api.ReplayEvents(ctx, replayRequest(DefaultBus, start, time.Now().Add(time.Hour)))
	mustOK(t, err)
	if got := resp.GetQueuedEvents(); got != 0 {
		t.Errorf("queued events = %d, want 0", got)
	}
	if got := len(h.replayed(t)); got != 0 {
		t.Errorf("REPLAY contains %d messages, want 0", got)
	}
}

func TestReplayEventsInvalid(t *testing.T) {
	h := startService(t)
	now := time.Now()
	valid := func() *v1.ReplayEventsRequest {
		return replayRequest(DefaultBus, now.Add(-time.Hour), now)
	}
	tests := []struct {
		name   string
		change func(*v1.ReplayEventsRequest)
		code   codes.Code
		want   string
	}{
		{"missing bus", func(r *v1.ReplayEventsRequest) { r.Bus = "" }, codes.InvalidArgument, "bus"},
		{"wildcard bus", func(r *v1.ReplayEventsRequest) { r.Bus = ">" }, codes.InvalidArgument, "bus"},
		{"unknown bus", func(r *v1.ReplayEventsRequest) { r.Bus = "nope" }, codes.NotFound, "nope"},
		{"unknown rule", func(r *v1.ReplayEventsRequest) { r.Rule = "nope" }, codes.NotFound, "nope"},
		{"missing start", func(r *v1.ReplayEventsRequest) { r.StartTime = nil },
			codes.InvalidArgument, "start_time"},
		{"missing end", func(r *v1.ReplayEventsRequest) { r.EndTime = nil },
			codes.InvalidArgument, "end_time"},
		{"end before start", func(r *v1.ReplayEventsRequest) {
			r.EndTime = timestamppb.New(now.Add(-2 * time.Hour))
		}, codes.InvalidArgument, "before the start time"},
		{"upper-case replay id", func(r *v1.ReplayEventsRequest) { r.ReplayId = "Nightly" },
			codes.InvalidArgument, "replay_id"},
		{"replay id with dot", func(r *v1.ReplayEventsRequest) { r.ReplayId = "a.b" },
			codes.InvalidArgument, "replay_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := valid()
			tt.change(req)
			_, err := h.api.ReplayEvents(testContext(t), req)
			wantCode(t, err, tt.code, tt.want)
		})
	}
}

func TestReplayEventsRejectsLargeWindow(t *testing.T) {
	saved := maxReplayEvents
	maxReplayEvents = 2
	t.Cleanup(func() { maxReplayEvents = saved })

	h := startService(t)
	events := h.putEvents(t, DefaultBus, "e1", "e2", "e3")

	req := replayRequest(DefaultBus, events[0].stored, events[2].stored)
	_, err := h.api.ReplayEvents(testContext(t), req)
	wantCode(t, err, codes.FailedPrecondition, "more than 2 events")
	if got := len(h.replayed(t)); got != 0 {
		t.Errorf("REPLAY contains %d messages after a rejected call, want 0", got)
	}

	req.EndTime = timestamppb.New(events[1].stored)
	resp, err := h.api.ReplayEvents(testContext(t), req)
	mustOK(t, err)
	if got := resp.GetQueuedEvents(); got != 2 {
		t.Errorf("queued events = %d, want 2 at the limit", got)
	}
}
