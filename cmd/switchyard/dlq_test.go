package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"github.com/switchyard-dev/switchyard/pkg/natstest"
	jsstreams "github.com/switchyard-dev/switchyard/pkg/streams"
	internalv1 "github.com/switchyard-dev/switchyard/proto/switchyard/internalapi/v1"
	"github.com/switchyard-dev/switchyard/services/config"
)

// dlqStack is a real config service on an embedded NATS server, with
// the CLI pointed at it.
type dlqStack struct {
	cli      cli
	js       jetstream.JetStream
	topology jsstreams.Topology
}

func startDLQStack(t *testing.T) *dlqStack {
	t.Helper()
	ns := natstest.Start(t)
	nc := ns.Connect(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	svc, err := config.New(ctx, config.Config{
		NATS:          nc,
		Topology:      ns.Topology,
		Logger:        slog.New(slog.NewTextHandler(io.Discard, nil)),
		Listen:        "127.0.0.1:0",
		SecretKeys:    [][]byte{make([]byte, config.KeySize)},
		InternalToken: "dlq-test-token",
	})
	if err != nil {
		t.Fatalf("config.New: %v", err)
	}
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(runCtx) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("config Run = %v, want nil", err)
		}
	})

	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return &dlqStack{
		cli:      cli{t: t, server: svc.Addr().String(), ingest: "http://127.0.0.1:1"},
		js:       js,
		topology: ns.Topology,
	}
}

// putDeadLetter stores a dead letter as delivery does and returns its
// ID.
func (s *dlqStack) putDeadLetter(t *testing.T, rule, eventID string) string {
	t.Helper()
	dl := &internalv1.DeadLetter{
		Task: &internalv1.DeliveryTask{
			Bus: "default", EventId: eventID, EventSource: "ci", Rule: rule,
			TargetId: "build", ApiDestination: "jenkins",
			Request: &internalv1.RenderedRequest{
				Headers: []*internalv1.Header{
					{Name: "Authorization", Value: "Bearer leaked"},
					{Name: "X-Team", Value: "ops"},
				},
				Body: []byte(`{"job":"deploy"}`),
			},
			Event: []byte(`{"specversion":"1.0","id":"` + eventID + `"}`),
		},
		ErrorCode:       "HTTP_4XX",
		ErrorMessage:    "404 Not Found",
		LastStatusCode:  404,
		ResponseExcerpt: "no such job",
		Attempts:        1,
	}
	data, err := proto.Marshal(dl)
	if err != nil {
		t.Fatal(err)
	}
	msg := nats.NewMsg(s.topology.DeadLetterSubject("default"))
	msg.Data = data
	ack, err := s.js.PublishMsg(t.Context(), msg)
	if err != nil {
		t.Fatal(err)
	}
	return strconv.FormatUint(ack.Sequence, 10)
}

// queuedEvents returns the event ids of the tasks on
// deliveries.jenkins, acking each.
func (s *dlqStack) queuedEvents(t *testing.T) []string {
	t.Helper()
	ctx := t.Context()
	stream, err := s.js.Stream(ctx, s.topology.Stream(jsstreams.Deliveries))
	if err != nil {
		t.Fatal(err)
	}
	cons, err := stream.CreateConsumer(ctx, jetstream.ConsumerConfig{
		FilterSubject: s.topology.DeliveriesSubject("jenkins"),
		AckPolicy:     jetstream.AckExplicitPolicy,
	})
	if err != nil {
		t.Fatal(err)
	}
	pending := int(cons.CachedInfo().NumPending)
	if pending == 0 {
		return nil
	}
	batch, err := cons.Fetch(pending, jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for msg := range batch.Messages() {
		task := &internalv1.DeliveryTask{}
		if err := proto.Unmarshal(msg.Data(), task); err != nil {
			t.Fatal(err)
		}
		if !task.GetRedriven() {
			t.Errorf("task of event %s: redriven = false, want true", task.GetEventId())
		}
		ids = append(ids, task.GetEventId())
		if err := msg.Ack(); err != nil {
			t.Fatal(err)
		}
	}
	return ids
}

// rows returns the lines of a table after its header.
func rows(stdout string) []string {
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	return lines[1:]
}

func TestDLQList(t *testing.T) {
	s := startDLQStack(t)
	ids := []string{
		s.putDeadLetter(t, "build-on-push", "e1"),
		s.putDeadLetter(t, "build-on-push", "e2"),
		s.putDeadLetter(t, "notify", "e3"),
	}

	r := s.cli.run("dlq", "list")
	r.wantCode(t, exitOK)
	got := rows(r.stdout)
	if len(got) != 3 {
		t.Fatalf("list rows = %q, want 3", got)
	}
	for i, row := range got {
		for _, want := range []string{ids[i] + " ", "default/", "jenkins", "HTTP_4XX", "404"} {
			if !strings.Contains(row, want) {
				t.Errorf("row %d = %q, want %q in it", i, row, want)
			}
		}
	}

	r = s.cli.run("dlq", "list", "--rule", "notify")
	r.wantCode(t, exitOK)
	if got := rows(r.stdout); len(got) != 1 || !strings.HasPrefix(got[0], ids[2]+" ") {
		t.Errorf("list --rule notify rows = %q, want only dead letter %s", got, ids[2])
	}

	r = s.cli.run("dlq", "list", "--limit", "2")
	r.wantCode(t, exitOK)
	if got := rows(r.stdout); len(got) != 2 {
		t.Errorf("list --limit 2 rows = %q, want 2", got)
	}
	if !strings.Contains(r.stderr, "raise --limit") {
		t.Errorf("stderr = %q, want a hint to raise --limit", r.stderr)
	}

	r = s.cli.run("dlq", "list", "--since", "2999-01-01T00:00:00Z")
	r.wantCode(t, exitOK)
	if r.stdout != "no dead letters\n" {
		t.Errorf("list --since in the future: stdout = %q, want no dead letters", r.stdout)
	}
	r = s.cli.run("dlq", "list", "--since", "1h")
	r.wantCode(t, exitOK)
	if got := rows(r.stdout); len(got) != 3 {
		t.Errorf("list --since 1h rows = %q, want 3", got)
	}
}

func TestDLQListJSON(t *testing.T) {
	s := startDLQStack(t)
	id := s.putDeadLetter(t, "build-on-push", "e1")

	r := s.cli.run("-o", "json", "dlq", "list", "--bus", "default")
	r.wantCode(t, exitOK)
	var got struct {
		DeadLetters []struct {
			ID        string `json:"id"`
			ErrorCode string `json:"error_code"`
		} `json:"dead_letters"`
		NextPageToken *string `json:"next_page_token"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, r.stdout)
	}
	if len(got.DeadLetters) != 1 || got.DeadLetters[0].ID != id {
		t.Errorf("dead_letters = %+v, want the one with id %s", got.DeadLetters, id)
	}
	if got.NextPageToken == nil || *got.NextPageToken != "" {
		t.Errorf("next_page_token = %v, want an empty string", got.NextPageToken)
	}
}

func TestDLQShow(t *testing.T) {
	s := startDLQStack(t)
	id := s.putDeadLetter(t, "build-on-push", "e1")

	r := s.cli.run("dlq", "show", id)
	r.wantCode(t, exitOK)
	for _, want := range []string{
		"id:", id, "default/build-on-push", "HTTP_4XX: 404 Not Found",
		"header X-Team:", "ops", "no such job", `"id":"e1"`,
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout = %q, want %q in it", r.stdout, want)
		}
	}
	if strings.Contains(r.stdout, "leaked") {
		t.Errorf("stdout = %q, shows the Authorization header", r.stdout)
	}

	r = s.cli.run("-o", "json", "dlq", "show", id)
	r.wantCode(t, exitOK)
	var got map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, r.stdout)
	}
	if got["id"] != id || got["event_id"] != "e1" {
		t.Errorf("id, event_id = %v, %v; want %s, e1", got["id"], got["event_id"], id)
	}

	r = s.cli.run("dlq", "show", "999")
	r.wantCode(t, exitFailure)
	if !strings.Contains(r.stderr, "not found") {
		t.Errorf("stderr = %q, want not found", r.stderr)
	}
	if !strings.Contains(r.stderr, "hint: `switchyard dlq list` shows the dead letters") {
		t.Errorf("stderr = %q, want the hint to name dlq list", r.stderr)
	}
}

func TestDLQRedrive(t *testing.T) {
	s := startDLQStack(t)
	first := s.putDeadLetter(t, "build-on-push", "e1")
	s.putDeadLetter(t, "build-on-push", "e2")
	kept := s.putDeadLetter(t, "notify", "e3")

	r := s.cli.run("dlq", "redrive", "--ids", first)
	r.wantCode(t, exitOK)
	if r.stdout != "redriven 1, skipped 0\n" {
		t.Errorf("redrive --ids stdout = %q", r.stdout)
	}

	r = s.cli.run("-o", "json", "dlq", "redrive", "--rule", "build-on-push")
	r.wantCode(t, exitOK)
	var resp struct {
		Redriven int `json:"redriven"`
		Skipped  int `json:"skipped"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &resp); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, r.stdout)
	}
	if resp.Redriven != 1 || resp.Skipped != 0 {
		t.Errorf("redrive --rule: redriven, skipped = %d, %d; want 1, 0", resp.Redriven, resp.Skipped)
	}

	r = s.cli.run("dlq", "redrive", "--ids", first)
	r.wantCode(t, exitFailure)
	if !strings.Contains(r.stderr, "1 dead letter not redriven") {
		t.Errorf("repeated redrive stderr = %q, want 1 dead letter not redriven", r.stderr)
	}
	if !strings.Contains(r.stdout, "redriven 0, skipped 1") ||
		!strings.Contains(r.stdout, "skipped "+first+":") {
		t.Errorf("repeated redrive stdout = %q, want dead letter %s skipped", r.stdout, first)
	}

	if got := strings.Join(s.queuedEvents(t), ","); got != "e1,e2" {
		t.Errorf("queued events = %s, want e1,e2", got)
	}
	r = s.cli.run("dlq", "list")
	r.wantCode(t, exitOK)
	if got := rows(r.stdout); len(got) != 1 || !strings.HasPrefix(got[0], kept+" ") {
		t.Errorf("dead letters left = %q, want only %s", got, kept)
	}
}

func TestDLQPurge(t *testing.T) {
	s := startDLQStack(t)
	first := s.putDeadLetter(t, "build-on-push", "e1")
	s.putDeadLetter(t, "notify", "e2")
	s.putDeadLetter(t, "notify", "e3")

	r := s.cli.run("dlq", "purge", "--ids", first+",999,1000,999")
	r.wantCode(t, exitFailure)
	if r.stdout != "purged 1 dead letter\n" {
		t.Errorf("purge --ids with missing IDs: stdout = %q, want purged 1 dead letter", r.stdout)
	}
	for _, want := range []string{
		"error: 2 dead letters not purged:",
		"dead letter 999: not found; it was redriven, purged or expired",
		"dead letter 1000: not found",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("purge --ids with missing IDs: stderr = %q, want it to contain %q", r.stderr, want)
		}
	}
	r = s.cli.run("dlq", "show", first)
	r.wantCode(t, exitFailure)

	r = s.cli.run("-o", "json", "dlq", "purge", "--all")
	r.wantCode(t, exitOK)
	if strings.TrimSpace(r.stdout) != `{
  "purged": 2,
  "skipped_dead_letters": []
}` {
		t.Errorf("purge --all stdout = %q, want purged 2", r.stdout)
	}

	r = s.cli.run("dlq", "list")
	r.wantCode(t, exitOK)
	if r.stdout != "no dead letters\n" {
		t.Errorf("list after purge = %q, want no dead letters", r.stdout)
	}
	if got := s.queuedEvents(t); len(got) != 0 {
		t.Errorf("queued events after purge = %v, want none", got)
	}
}

func TestDLQPurgeByIDCounts(t *testing.T) {
	s := startDLQStack(t)
	var ids []string
	for _, event := range []string{"e1", "e2", "e3", "e4"} {
		ids = append(ids, s.putDeadLetter(t, "build-on-push", event))
	}

	r := s.cli.run("dlq", "purge", "--ids", ids[0])
	r.wantCode(t, exitOK)
	if r.stdout != "purged 1 dead letter\n" {
		t.Errorf("purge of one ID: stdout = %q, want purged 1 dead letter", r.stdout)
	}

	r = s.cli.run("dlq", "purge", "--ids", strings.Join(ids[1:], ","))
	r.wantCode(t, exitOK)
	if r.stdout != "purged 3 dead letters\n" {
		t.Errorf("purge of three IDs: stdout = %q, want purged 3 dead letters", r.stdout)
	}
	if r.stderr != "" {
		t.Errorf("purge of three IDs: stderr = %q, want nothing", r.stderr)
	}

	other := s.putDeadLetter(t, "build-on-push", "e5")
	r = s.cli.run("dlq", "purge", "--ids", other, "--rule", "notify")
	r.wantCode(t, exitFailure)
	if r.stdout != "purged 0 dead letters\n" {
		t.Errorf("purge with --rule: stdout = %q, want purged 0 dead letters", r.stdout)
	}
	if want := "dead letter " + other + ": it does not match the bus, rule or since"; !strings.Contains(r.stderr, want) {
		t.Errorf("purge with --rule: stderr = %q, want it to contain %q", r.stderr, want)
	}
	r = s.cli.run("dlq", "show", other)
	r.wantCode(t, exitOK)
}

func TestDLQPurgeInvalidID(t *testing.T) {
	f := &fakeConfig{}
	c := newCLI(t, f)
	r := c.run("dlq", "purge", "--ids", "7,abc")
	r.wantCode(t, exitUsage)
	if !strings.Contains(r.stderr, `invalid --ids value "abc"`) {
		t.Errorf("stderr = %q, want the invalid ID named", r.stderr)
	}
	if n := f.requestCount(); n != 0 {
		t.Errorf("config service got %d requests, want none", n)
	}
}

func TestDLQNeedsSelector(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"redrive", []string{"dlq", "redrive"}, "nothing to redrive"},
		{"purge", []string{"dlq", "purge"}, "nothing to purge"},
		{"bad since", []string{"dlq", "purge", "--since", "yesterday"}, "invalid --since"},
		{"list bad limit", []string{"dlq", "list", "--limit", "0"}, "invalid --limit"},
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

func TestParseSince(t *testing.T) {
	now := time.Date(2026, 12, 4, 16, 0, 0, 0, time.UTC)
	tests := []struct {
		in      string
		want    time.Time
		wantErr bool
	}{
		{"2026-12-04T12:30:00Z", time.Date(2026, 12, 4, 12, 30, 0, 0, time.UTC), false},
		{"2026-12-04T12:30:00+01:00", time.Date(2026, 12, 4, 11, 30, 0, 0, time.UTC), false},
		{"2h", now.Add(-2 * time.Hour), false},
		{"90m", now.Add(-90 * time.Minute), false},
		{"-2h", time.Time{}, true},
		{"0s", time.Time{}, true},
		{"2026-12-04", time.Time{}, true},
		{"yesterday", time.Time{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseSince(tt.in, now)
			if (err != nil) != tt.wantErr {
				t.Fatalf("parseSince(%q) error = %v, want error %t", tt.in, err, tt.wantErr)
			}
			if !got.Equal(tt.want) {
				t.Errorf("parseSince(%q) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
}
