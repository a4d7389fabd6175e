// Package tasks builds the delivery tasks that go to
// deliveries.<destination>, and the dead letters that keep a task on
// deadletter.<bus> once it has failed for good.
//
// The rule engine renders each task when an event matches, and the
// config service renders it again when it redrives a dead letter that
// the rule engine stored without a request. Both use Render and Encode,
// so a redriven task is built exactly as a first one would be.
package tasks

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"github.com/switchyard-dev/switchyard/pkg/render"
	"github.com/switchyard-dev/switchyard/pkg/streams"
	internalv1 "github.com/switchyard-dev/switchyard/proto/switchyard/internalapi/v1"
	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

// Error codes of deliveries that failed before any attempt, in delivery
// records and in dead letters. A dead letter with one of them carries no
// rendered request.
const (
	// CodeRenderFailed marks a request that could not be rendered.
	CodeRenderFailed = "RENDER_FAILED"
	// CodeTaskTooLarge marks a task larger than the DELIVERIES stream
	// accepts. A task carries the event twice when the body is the
	// whole event, so events above about half the limit reach it.
	CodeTaskTooLarge = "TASK_TOO_LARGE"
)

// ErrTooLarge is wrapped by the error of Encode for a task above the
// size limit.
var ErrTooLarge = errors.New("delivery task too large")

// HeaderAllowance is room left for a task's headers when its size is
// checked against the stream's limit, which counts headers too.
const HeaderAllowance = 1024

// ErrorCode returns the error code of a task that Render or Encode
// rejected with err.
func ErrorCode(err error) string {
	if errors.Is(err, ErrTooLarge) {
		return CodeTaskTooLarge
	}
	return CodeRenderFailed
}

// Render sets the parts of task that target decides: the API
// destination, retry policy, dead-lettering, and the request rendered
// from task's event. The event, bus, rule, event id and ingest time
// must be set. When rendering fails, every part but the request is set.
func Render(task *internalv1.DeliveryTask, target *v1.Target) error {
	task.ApiDestination = target.GetApiDestination()
	task.RetryPolicy = target.GetRetryPolicy()
	// Dead-lettering is on unless the target turns it off.
	task.DeadLetter = target.DeadLetter == nil || target.GetDeadLetter()
	task.Request = nil

	meta := render.Meta{Bus: task.GetBus(), Rule: task.GetRule(), EventID: task.GetEventId()}
	if t := task.GetIngestTime(); t != nil {
		meta.IngestTime = t.AsTime()
	}
	req, err := render.Request(task.GetEvent(), meta, target)
	if err != nil {
		return err
	}
	task.Request = req
	return nil
}

// Encode returns the wire form of task, or an error wrapping ErrTooLarge
// when the task with its headers would exceed limit bytes.
func Encode(task *internalv1.DeliveryTask, limit int) ([]byte, error) {
	data, err := proto.Marshal(task)
	if err != nil {
		return nil, fmt.Errorf("encode delivery task: %w", err)
	}
	if size := len(data) + HeaderAllowance; size > limit {
		return nil, fmt.Errorf("%w: %d bytes with headers, above the limit of %d bytes",
			ErrTooLarge, size, limit)
	}
	return data, nil
}

// SizeLimit returns the largest task message that the DELIVERIES stream
// of t and the connection nc both accept.
func SizeLimit(ctx context.Context, js jetstream.JetStream, nc *nats.Conn, t streams.Topology,
) (int, error) {
	stream, err := js.Stream(ctx, t.Stream(streams.Deliveries))
	if err != nil {
		return 0, fmt.Errorf("read deliveries stream: %w", err)
	}
	limit := int(nc.MaxPayload())
	if streamMax := int(stream.CachedInfo().Config.MaxMsgSize); streamMax > 0 && streamMax < limit {
		limit = streamMax
	}
	return limit, nil
}
