package tasks

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/switchyard-dev/switchyard/pkg/render"
	"github.com/switchyard-dev/switchyard/pkg/streams"
	internalv1 "github.com/switchyard-dev/switchyard/proto/switchyard/internalapi/v1"
	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

func matchedTask(event string) *internalv1.DeliveryTask {
	return &internalv1.DeliveryTask{
		Bus:        "default",
		EventId:    "e1",
		Rule:       "build",
		TargetId:   "t1",
		Event:      []byte(event),
		IngestTime: timestamppb.New(time.Date(2026, 12, 4, 16, 0, 0, 0, time.UTC)),
	}
}

func TestRenderSetsTargetParts(t *testing.T) {
	task := matchedTask(`{"id":"e1","data":{"name":"shop"}}`)
	retry := &v1.RetryPolicy{MaxAttempts: proto.Int32(3)}
	target := &v1.Target{
		ApiDestination: "jenkins",
		PathValues:     []string{"$.data.name"},
		RetryPolicy:    retry,
		Input: &v1.Input{Kind: &v1.Input_Template{Template: &v1.InputTemplate{
			Template: `{"rule":"<switchyard.rule>","at":"<switchyard.ingestion-time>"}`,
		}}},
	}

	if err := Render(task, target); err != nil {
		t.Fatalf("Render: %v", err)
	}
	if got := task.GetApiDestination(); got != "jenkins" {
		t.Errorf("destination = %q, want jenkins", got)
	}
	if !proto.Equal(task.GetRetryPolicy(), retry) {
		t.Errorf("retry policy = %v, want %v", task.GetRetryPolicy(), retry)
	}
	if !task.GetDeadLetter() {
		t.Error("dead letter = false, want true for a target that leaves it unset")
	}
	if got := task.GetRequest().GetPathValues(); len(got) != 1 || got[0] != "shop" {
		t.Errorf("path values = %q, want [shop]", got)
	}
	want := `{"rule":"build","at":"2026-12-04T16:00:00Z"}`
	if got := string(task.GetRequest().GetBody()); got != want {
		t.Errorf("body = %s, want %s", got, want)
	}
}

func TestRenderFailureLeavesNoRequest(t *testing.T) {
	task := matchedTask(`{"id":"e1","data":{"name":".."}}`)
	task.Request = &internalv1.RenderedRequest{Body: []byte("old")}
	target := &v1.Target{ApiDestination: "jenkins", PathValues: []string{"$.data.name"},
		DeadLetter: proto.Bool(false)}

	err := Render(task, target)
	if !errors.Is(err, render.ErrInvalidPathValue) {
		t.Fatalf("Render error = %v, want ErrInvalidPathValue", err)
	}
	if task.GetRequest() != nil {
		t.Errorf("request = %v, want none", task.GetRequest())
	}
	if task.GetDeadLetter() {
		t.Error("dead letter = true, want the target's false")
	}
	if got := task.GetApiDestination(); got != "jenkins" {
		t.Errorf("destination = %q, want jenkins", got)
	}
	if got := ErrorCode(err); got != CodeRenderFailed {
		t.Errorf("ErrorCode = %q, want %q", got, CodeRenderFailed)
	}
}

func TestEncodeLimit(t *testing.T) {
	task := matchedTask(`{"id":"e1","data":"` + strings.Repeat("x", 4000) + `"}`)
	data, err := Encode(task, 8<<10)
	if err != nil {
		t.Fatalf("Encode under the limit: %v", err)
	}

	_, err = Encode(task, len(data)+HeaderAllowance-1)
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Encode over the limit = %v, want ErrTooLarge", err)
	}
	if got := ErrorCode(err); got != CodeTaskTooLarge {
		t.Errorf("ErrorCode = %q, want %q", got, CodeTaskTooLarge)
	}
	want := fmt.Sprintf("%d bytes with headers", len(data)+HeaderAllowance)
	if !strings.Contains(err.Error(), want) {
		t.Errorf("Encode error = %q, want it to contain %q", err, want)
	}
}

func TestDeadLetterMsg(t *testing.T) {
	topology := streams.Topology{Prefix: "t1"}
	dl := &internalv1.DeadLetter{Task: matchedTask(`{"id":"e1"}`), ErrorCode: CodeRenderFailed}

	msg, err := DeadLetterMsg(topology, dl, DeadLetterMsgID("task-1", 0))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := msg.Subject, topology.DeadLetterSubject("default"); got != want {
		t.Errorf("subject = %q, want %q", got, want)
	}
	if got := msg.Header.Get(streams.HeaderMsgID); got != "task-1-dl" {
		t.Errorf("message id = %q, want task-1-dl", got)
	}
	if got := msg.Header.Get(streams.HeaderBus); got != "default" {
		t.Errorf("bus header = %q, want default", got)
	}
	decoded := &internalv1.DeadLetter{}
	if err := proto.Unmarshal(msg.Data, decoded); err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(decoded, dl) {
		t.Errorf("decoded dead letter = %v, want %v", decoded, dl)
	}
	if !Unrendered(decoded) {
		t.Error("Unrendered = false for a dead letter without a request, want true")
	}
}

func TestDeadLetterMsgIDRedriven(t *testing.T) {
	if got := DeadLetterMsgID("task-1", 2); got != "task-1-dl-2" {
		t.Errorf("DeadLetterMsgID(task-1, 2) = %q, want task-1-dl-2", got)
	}
}
