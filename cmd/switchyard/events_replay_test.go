package main

import (
	"context"
	"strings"
	"testing"
	"time"

	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

// ReplayEvents records the request and returns its replay id, or
// "generated", with three queued events.
func (f *fakeConfig) ReplayEvents(_ context.Context, req *v1.ReplayEventsRequest,
) (*v1.ReplayEventsResponse, error) {
	if err := f.record(req); err != nil {
		return nil, err
	}
	id := req.GetReplayId()
	if id == "" {
		id = "generated"
	}
	return &v1.ReplayEventsResponse{ReplayId: id, QueuedEvents: 3}, nil
}

func TestReplayFlagsRequest(t *testing.T) {
	now := time.Date(2026, 12, 4, 16, 0, 0, 0, time.UTC)
	t9 := time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)
	t10 := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		from, to  string
		wantStart time.Time
		wantEnd   time.Time
		wantErr   string
	}{
		{"duration until now", "2h", "", now.Add(-2 * time.Hour), now, ""},
		{"two durations", "2h", "1h", now.Add(-2 * time.Hour), now.Add(-time.Hour), ""},
		{"two times", "2026-12-04T09:00:00Z", "2026-12-04T10:00:00Z", t9, t10, ""},
		{"time with offset", "2026-12-04T10:00:00+01:00", "", t9, now, ""},
		{"equal times", "2026-12-04T09:00:00Z", "2026-12-04T09:00:00Z", t9, t9, ""},
		{"missing from", "", "1h", time.Time{}, time.Time{}, "needs --from"},
		{"invalid from", "yesterday", "", time.Time{}, time.Time{}, "invalid --from"},
		{"negative from", "-2h", "", time.Time{}, time.Time{}, "invalid --from"},
		{"invalid to", "2h", "soon", time.Time{}, time.Time{}, "invalid --to"},
		{"to before from", "1h", "2h", time.Time{}, time.Time{}, "is before --from"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &replayFlags{bus: "default", from: tt.from, to: tt.to,
				now: func() time.Time { return now }}
			req, err := f.request()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("request() error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("request(): %v", err)
			}
			if got := req.GetStartTime().AsTime(); !got.Equal(tt.wantStart) {
				t.Errorf("start time = %s, want %s", got, tt.wantStart)
			}
			if got := req.GetEndTime().AsTime(); !got.Equal(tt.wantEnd) {
				t.Errorf("end time = %s, want %s", got, tt.wantEnd)
			}
		})
	}
}

func TestEventsReplaySendsRequest(t *testing.T) {
	f := &fakeConfig{}
	c := newCLI(t, f)
	r := c.run("events", "replay", "--bus", "orders", "--rule", "build", "--id", "nightly",
		"--from", "2026-12-04T09:00:00Z", "--to", "2026-12-04T10:00:00Z")
	r.wantCode(t, exitOK)
	if want := "replay nightly: 3 events queued\n"; r.stdout != want {
		t.Errorf("stdout = %q, want %q", r.stdout, want)
	}

	req := last[*v1.ReplayEventsRequest](t, f)
	checks := []struct{ field, got, want string }{
		{"bus", req.GetBus(), "orders"},
		{"rule", req.GetRule(), "build"},
		{"replay id", req.GetReplayId(), "nightly"},
		{"start time", req.GetStartTime().AsTime().Format(time.RFC3339), "2026-12-04T09:00:00Z"},
		{"end time", req.GetEndTime().AsTime().Format(time.RFC3339), "2026-12-04T10:00:00Z"},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("request %s = %q, want %q", ch.field, ch.got, ch.want)
		}
	}
}

func TestEventsReplayDefaults(t *testing.T) {
	f := &fakeConfig{}
	c := newCLI(t, f)
	before := time.Now()
	r := c.run("-o", "json", "events", "replay", "--from", "30m")
	r.wantCode(t, exitOK)
	if !strings.Contains(r.stdout, `"replay_id": "generated"`) ||
		!strings.Contains(r.stdout, `"queued_events": "3"`) {
		t.Errorf("stdout = %s, want the response as JSON", r.stdout)
	}

	req := last[*v1.ReplayEventsRequest](t, f)
	if got := req.GetBus(); got != "default" {
		t.Errorf("request bus = %q, want default", got)
	}
	if got := req.GetRule(); got != "" {
		t.Errorf("request rule = %q, want empty for every rule", got)
	}
	end := req.GetEndTime().AsTime()
	if end.Before(before) || end.After(time.Now()) {
		t.Errorf("request end time = %s, want the time of the call", end)
	}
	if got := end.Sub(req.GetStartTime().AsTime()); got != 30*time.Minute {
		t.Errorf("window length = %s, want 30m", got)
	}
}

func TestEventsReplayUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no from", []string{"events", "replay"}, "needs --from"},
		{"bad to", []string{"events", "replay", "--from", "2h", "--to", "later"}, "invalid --to"},
		{"extra argument", []string{"events", "replay", "--from", "2h", "extra"}, "extra"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeConfig{}
			c := newCLI(t, f)
			r := c.run(tt.args...)
			r.wantCode(t, exitUsage)
			if !strings.Contains(r.stderr, tt.want) {
				t.Errorf("stderr = %q, want %q", r.stderr, tt.want)
			}
			if n := f.requestCount(); n != 0 {
				t.Errorf("config service got %d requests, want none", n)
			}
		})
	}
}

func TestDeliveriesShowReplayID(t *testing.T) {
	first := &v1.Delivery{EventId: "e1", Bus: "default", Rule: "build", TargetId: "jenkins",
		State: v1.DeliveryState_DELIVERY_STATE_DELIVERED}
	replayed := &v1.Delivery{EventId: "e1", Bus: "default", Rule: "build", TargetId: "jenkins",
		State: v1.DeliveryState_DELIVERY_STATE_PENDING, ReplayId: "nightly"}
	f := &fakeConfig{deliveries: []*v1.GetDeliveriesResponse{
		{Deliveries: []*v1.Delivery{first, replayed}},
	}}
	c := newCLI(t, f)
	r := c.run("deliveries", "get", "e1")
	r.wantCode(t, exitOK)
	if got := strings.Count(r.stdout, "replayed by:"); got != 1 {
		t.Errorf("stdout has %d replay lines, want 1:\n%s", got, r.stdout)
	}
	if !strings.Contains(r.stdout, "nightly") {
		t.Errorf("stdout does not show replay id nightly:\n%s", r.stdout)
	}
}

func TestCheckEventsMaxAge(t *testing.T) {
	for _, d := range []time.Duration{2 * time.Minute, defaultEventsMaxAge} {
		if err := checkEventsMaxAge(d); err != nil {
			t.Errorf("checkEventsMaxAge(%s) = %v, want nil", d, err)
		}
	}
	for _, d := range []time.Duration{0, time.Minute, -time.Hour} {
		if err := checkEventsMaxAge(d); err == nil {
			t.Errorf("checkEventsMaxAge(%s) = nil, want an error", d)
		}
	}
}

func FuzzParseTimeFlag(f *testing.F) {
	for _, seed := range []string{
		"2h", "90m", "0s", "-2h", "2026-12-04T09:00:00Z", "2026-12-04T09:00:00.5+01:00",
		"2026-12-04", "", "yesterday", "2562047h",
	} {
		f.Add(seed)
	}
	now := time.Date(2026, 12, 4, 16, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseTimeFlag("from", s, now)
		if err != nil {
			if !strings.Contains(err.Error(), "invalid --from") {
				t.Errorf("parseTimeFlag(%q) error = %q, want it to name --from", s, err)
			}
			return
		}
		if _, perr := time.Parse(time.RFC3339, s); perr == nil {
			return
		}
		if !got.Before(now) {
			t.Errorf("parseTimeFlag(%q) = %s, want a time before now for a duration", s, got)
		}
	})
}
