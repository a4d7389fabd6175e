package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

const queueItem = "http://127.0.0.1:8080/queue/item/7/"

func deliveredResponse() *v1.GetDeliveriesResponse {
	start := timestamppb.New(time.Date(2026, 12, 4, 16, 0, 0, 0, time.UTC))
	return &v1.GetDeliveriesResponse{Deliveries: []*v1.Delivery{{
		EventId: "e1", Bus: "default", Rule: "build-on-push", TargetId: "build",
		ApiDestination: "jenkins-build", State: v1.DeliveryState_DELIVERY_STATE_DELIVERED,
		Location: queueItem,
		Attempts: []*v1.Attempt{
			{Number: 1, StartTime: start, Duration: durationpb.New(2 * time.Second),
				Error: "connection refused"},
			{Number: 2, StartTime: start, Duration: durationpb.New(120 * time.Millisecond),
				StatusCode: 201, Location: queueItem},
		},
	}}}
}

func pendingResponse() *v1.GetDeliveriesResponse {
	r := deliveredResponse()
	r.Deliveries[0].State = v1.DeliveryState_DELIVERY_STATE_RETRYING
	r.Deliveries[0].Attempts = r.Deliveries[0].Attempts[:1]
	r.Deliveries[0].Location = ""
	return r
}

func TestDeliveriesGetText(t *testing.T) {
	f := &fakeConfig{deliveries: []*v1.GetDeliveriesResponse{deliveredResponse()}}
	c := newCLI(t, f)

	r := c.run("deliveries", "get", "e1")
	r.wantCode(t, exitOK)

	if got := last[*v1.GetDeliveriesRequest](t, f).GetEventId(); got != "e1" {
		t.Errorf("event id = %q, want e1", got)
	}
	for _, want := range []string{
		"default/build-on-push", "jenkins-build", "delivered",
		"attempt 1", "2s  error: connection refused",
		"attempt 2", "120ms  status 201  Location: " + queueItem,
		"location:", queueItem,
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout = %q, want %q", r.stdout, want)
		}
	}
}

func TestDeliveriesGetMarksRedrive(t *testing.T) {
	resp := deliveredResponse()
	d := resp.Deliveries[0]
	first := d.Attempts[0]
	d.Attempts = []*v1.Attempt{first, {Number: 2, StartTime: first.StartTime, Error: "timeout"},
		d.Attempts[1]}
	d.Attempts[2].Number = 1
	d.RedriveCount = 1
	f := &fakeConfig{deliveries: []*v1.GetDeliveriesResponse{resp}}
	c := newCLI(t, f)

	r := c.run("deliveries", "get", "e1")
	r.wantCode(t, exitOK)

	redrive := strings.Index(r.stdout, "redrive 1")
	if redrive < 0 {
		t.Fatalf("stdout = %q, want a redrive 1 line", r.stdout)
	}
	if second := strings.Index(r.stdout, "attempt 2"); second < 0 || second > redrive {
		t.Errorf("stdout = %q, want attempt 2 before the redrive line", r.stdout)
	}
	if after := strings.LastIndex(r.stdout, "attempt 1"); after < redrive {
		t.Errorf("stdout = %q, want attempt 1 again after the redrive line", r.stdout)
	}
	if got := strings.Count(r.stdout, "redrive 1"); got != 1 {
		t.Errorf("stdout has %d redrive lines, want 1", got)
	}
}

func TestDeliveriesGetEmpty(t *testing.T) {
	f := &fakeConfig{}
	c := newCLI(t, f)

	r := c.run("deliveries", "get", "e9")
	r.wantCode(t, exitFailure)
	if r.stdout != "" {
		t.Errorf("stdout = %q, want nothing", r.stdout)
	}
	for _, cause := range []string{
		"error: no deliveries recorded for event e9.",
		"matched no enabled rule", "still on its way", "rejected at ingest",
		"the event id or --source is wrong", "records expired",
	} {
		if !strings.Contains(r.stderr, cause) {
			t.Errorf("stderr = %q, want %q", r.stderr, cause)
		}
	}

	r = c.run("-o", "json", "deliveries", "get", "e9")
	r.wantCode(t, exitFailure)
	var got map[string][]any
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, r.stdout)
	}
	if list, ok := got["deliveries"]; !ok || len(list) != 0 {
		t.Errorf("stdout = %s, want an empty deliveries list", r.stdout)
	}
}

func TestDeliveriesWaitUntilFinal(t *testing.T) {
	f := &fakeConfig{deliveries: []*v1.GetDeliveriesResponse{
		{}, pendingResponse(), deliveredResponse(),
	}}
	c := newCLI(t, f)

	r := c.run("deliveries", "get", "e1", "--wait", "10s")
	r.wantCode(t, exitOK)

	if n := f.requestCount(); n != 3 {
		t.Errorf("requests = %d, want 3: empty, retrying, delivered", n)
	}
	if !strings.Contains(r.stdout, "delivered") {
		t.Errorf("stdout = %q, want the final state", r.stdout)
	}
}

func TestDeliveriesWaitTimesOut(t *testing.T) {
	f := &fakeConfig{deliveries: []*v1.GetDeliveriesResponse{pendingResponse()}}
	c := newCLI(t, f)

	r := c.run("deliveries", "get", "e1", "--wait", "300ms")
	r.wantCode(t, exitFailure)

	if !strings.Contains(r.stderr, "deliveries of event e1 not final after 300ms") {
		t.Errorf("stderr = %q, want the timeout", r.stderr)
	}
	if !strings.Contains(r.stdout, "retrying") {
		t.Errorf("stdout = %q, want the last state read", r.stdout)
	}
}

func TestDeliveriesGetNamesOpenCircuit(t *testing.T) {
	overdueResp := pendingResponse()
	overdueResp.Deliveries[0].NextAttemptTime = timestamppb.New(time.Now().Add(-time.Minute))
	f := &fakeConfig{
		deliveries: []*v1.GetDeliveriesResponse{overdueResp},
		destination: &v1.ApiDestination{
			Name: "jenkins-build", CircuitState: v1.CircuitState_CIRCUIT_STATE_OPEN,
			CircuitReason:     "5 consecutive failures, the last: HTTP 503",
			CircuitChangeTime: timestamppb.New(time.Now().Add(-2 * time.Minute)),
		},
	}
	c := newCLI(t, f)

	r := c.run("deliveries", "get", "e1")
	r.wantCode(t, exitOK)
	if !strings.Contains(r.stdout, "circuit:       open since") ||
		!strings.Contains(r.stdout, "5 consecutive failures, the last: HTTP 503") {
		t.Errorf("stdout = %q, want the open circuit named", r.stdout)
	}
}

func TestDeliveriesGetClosedCircuitQuiet(t *testing.T) {
	overdueResp := pendingResponse()
	overdueResp.Deliveries[0].NextAttemptTime = timestamppb.New(time.Now().Add(-time.Minute))
	f := &fakeConfig{
		deliveries:  []*v1.GetDeliveriesResponse{overdueResp},
		destination: &v1.ApiDestination{Name: "jenkins-build"},
	}
	c := newCLI(t, f)

	r := c.run("deliveries", "get", "e1")
	r.wantCode(t, exitOK)
	if strings.Contains(r.stdout, "circuit") {
		t.Errorf("stdout = %q, want no circuit line for a closed circuit", r.stdout)
	}
}

func TestDeliveriesWaitFailsUnlessDelivered(t *testing.T) {
	for _, state := range []v1.DeliveryState{
		v1.DeliveryState_DELIVERY_STATE_DEAD_LETTERED,
		v1.DeliveryState_DELIVERY_STATE_FAILED,
	} {
		t.Run(state.String(), func(t *testing.T) {
			second := deliveredResponse().Deliveries[0]
			second.TargetId = "notify"
			second.State = state
			resp := deliveredResponse()
			resp.Deliveries = append(resp.Deliveries, second)
			f := &fakeConfig{deliveries: []*v1.GetDeliveriesResponse{pendingResponse(), resp}}
			c := newCLI(t, f)

			r := c.run("deliveries", "get", "e1", "--wait", "10s")
			r.wantCode(t, exitFailure)
			name := enumText(state.String(), "DELIVERY_STATE_")
			want := "error: 1 of 2 deliveries of event e1 did not succeed (" + name + ")\n"
			if r.stderr != want {
				t.Errorf("stderr = %q, want %q", r.stderr, want)
			}
			if !strings.Contains(r.stdout, "state:        "+name) {
				t.Errorf("stdout = %q, want the deliveries printed", r.stdout)
			}

			// Without --wait the command shows the state and succeeds.
			c.run("deliveries", "get", "e1").wantCode(t, exitOK)
		})
	}

	help := newCLI(t, &fakeConfig{}).run("deliveries", "get", "--help")
	help.wantCode(t, exitOK)
	if !strings.Contains(help.stdout, "or when any delivery ended dead_lettered or failed") {
		t.Errorf("deliveries get --help does not name the exit status:\n%s", help.stdout)
	}
}
