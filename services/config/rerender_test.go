package config

import (
	"fmt"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/switchyard-dev/switchyard/pkg/tasks"
	internalv1 "github.com/switchyard-dev/switchyard/proto/switchyard/internalapi/v1"
	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

// unrenderedLetter returns a dead letter as the rule engine stores it
// for a request of rule "build" that could not be rendered.
func unrenderedLetter(eventID, targetID, data string) *internalv1.DeadLetter {
	return &internalv1.DeadLetter{
		Task: &internalv1.DeliveryTask{
			Bus:            "default",
			EventId:        eventID,
			EventSource:    "ci",
			Rule:           "build",
			TargetId:       targetID,
			ApiDestination: "dest",
			DeadLetter:     true,
			Event: []byte(`{"specversion":"1.0","id":"` + eventID +
				`","source":"ci","type":"t","data":` + data + `}`),
		},
		ErrorCode:    tasks.CodeRenderFailed,
		ErrorMessage: `path value 1 ($.data.job) is "..", a dot segment that would change the URL path`,
	}
}

// redriveIDs redrives the dead letters with ids and returns the response.
func (h *harness) redriveIDs(t *testing.T, ids ...string) *v1.RedriveDeadLettersResponse {
	t.Helper()
	resp, err := h.api.RedriveDeadLetters(testContext(t), &v1.RedriveDeadLettersRequest{
		Selector: &v1.DeadLetterSelector{Ids: ids},
	})
	mustOK(t, err)
	return resp
}

// wantSkipped checks that resp skipped only the dead letter id, for a
// reason that contains each of parts.
func wantSkipped(t *testing.T, resp *v1.RedriveDeadLettersResponse, id string, parts ...string) {
	t.Helper()
	if resp.GetRedriven() != 0 || resp.GetSkipped() != 1 {
		t.Fatalf("redriven, skipped = %d, %d; want 0, 1", resp.GetRedriven(), resp.GetSkipped())
	}
	skipped := resp.GetSkippedDeadLetters()[0]
	if skipped.GetId() != id {
		t.Errorf("skipped id = %s, want %s", skipped.GetId(), id)
	}
	for _, part := range parts {
		if !strings.Contains(skipped.GetReason(), part) {
			t.Errorf("skip reason = %q, want it to contain %q", skipped.GetReason(), part)
		}
	}
}

func TestRedriveRendersAfterRuleUpdate(t *testing.T) {
	h := startService(t)
	h.seed(t)
	ctx := testContext(t)
	dl := unrenderedLetter("e1", "dest", `{"job":"..","name":"deploy"}`)
	store := h.seedRecord(t, dl.GetTask())
	id := h.putDeadLetter(t, dl)

	// The rule still renders ".." from $.data.job, so the dead letter
	// stays.
	resp := h.redriveIDs(t, id)
	wantSkipped(t, resp, id, "rendering the request failed again",
		`path value 1 ($.data.job) is "..", a dot segment`, "switchyard rule update")
	if got := h.listIDs(t, &v1.ListDeadLettersRequest{}); len(got) != 1 {
		t.Errorf("dead letters after the skipped redrive = %v, want [%s]", got, id)
	}

	stored, err := h.api.GetRule(ctx, &v1.GetRuleRequest{Name: "build"})
	mustOK(t, err)
	stored.Targets[0].PathValues = []string{"$.data.name"}
	_, err = h.api.UpdateRule(ctx, &v1.UpdateRuleRequest{Rule: stored})
	mustOK(t, err)

	resp = h.redriveIDs(t, id)
	if resp.GetRedriven() != 1 || resp.GetSkipped() != 0 {
		t.Fatalf("redriven, skipped = %d, %d; want 1, 0: %v",
			resp.GetRedriven(), resp.GetSkipped(), resp.GetSkippedDeadLetters())
	}
	queued := h.queuedTasks(t, "dest")
	if len(queued) != 1 {
		t.Fatalf("%d tasks on deliveries.dest, want 1", len(queued))
	}
	task := queued[0].task
	if got := task.GetRequest().GetPathValues(); len(got) != 1 || got[0] != "deploy" {
		t.Errorf("republished path values = %q, want [deploy]", got)
	}
	if got := string(task.GetRequest().GetBody()); got != string(dl.GetTask().GetEvent()) {
		t.Errorf("republished body = %s, want the whole event", got)
	}
	if !task.GetRedriven() || task.GetRedriveCount() != 1 {
		t.Errorf("redriven, redrive count = %t, %d; want true, 1",
			task.GetRedriven(), task.GetRedriveCount())
	}
	if !task.GetDeadLetter() {
		t.Error("republished dead letter = false, want true as the target leaves it unset")
	}
	_, err = h.api.GetDeadLetter(ctx, &v1.GetDeadLetterRequest{Id: id})
	wantCode(t, err, codes.NotFound)

	list, err := store.List(ctx, "e1")
	mustOK(t, err)
	if len(list) != 1 {
		t.Fatalf("%d delivery records, want 1", len(list))
	}
	if got, want := list[0].GetState(), v1.DeliveryState_DELIVERY_STATE_PENDING; got != want {
		t.Errorf("record state = %v, want %v", got, want)
	}
	if got := list[0].GetRequest().GetPathValues(); len(got) != 1 || got[0] != "deploy" {
		t.Errorf("record request path values = %q, want [deploy]", got)
	}
}

func TestRedriveSkipsUnrenderable(t *testing.T) {
	huge := fmt.Sprintf(`{"job":"deploy","blob":%q}`, strings.Repeat("x", 300<<10))
	tests := []struct {
		name     string
		rule     string
		targetID string
		data     string
		want     []string
	}{
		{
			name: "rule deleted", rule: "gone", targetID: "dest", data: `{"job":"deploy"}`,
			want: []string{"rule default/gone no longer exists", "switchyard dlq purge --ids "},
		},
		{
			name: "target removed", rule: "build", targetID: "old", data: `{"job":"deploy"}`,
			want: []string{`rule default/build no longer has target "old"`, "its targets are dest"},
		},
		{
			name: "task still too large", rule: "build", targetID: "dest", data: huge,
			want: []string{"delivery task too large", "send less of the event"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := startService(t)
			h.seed(t)
			letter := unrenderedLetter("e1", tt.targetID, tt.data)
			letter.Task.Rule = tt.rule
			id := h.putDeadLetter(t, letter)

			resp := h.redriveIDs(t, id)
			wantSkipped(t, resp, id, tt.want...)
			if got := h.queuedTasks(t, "dest"); len(got) != 0 {
				t.Errorf("%d tasks on deliveries.dest, want none", len(got))
			}
			if got := h.listIDs(t, &v1.ListDeadLettersRequest{}); len(got) != 1 {
				t.Errorf("dead letters = %v, want [%s] kept", got, id)
			}
		})
	}
}
