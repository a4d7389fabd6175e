package delivery

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/switchyard-dev/switchyard/pkg/streams"
	"github.com/switchyard-dev/switchyard/pkg/tasks"
	internalv1 "github.com/switchyard-dev/switchyard/proto/switchyard/internalapi/v1"
	"github.com/switchyard-dev/switchyard/services/delivery/retry"
)

// publishDeadLetter stores the dead letter of d on deadletter.<bus> and
// waits for the stream's ack.
func (s *Service) publishDeadLetter(ctx context.Context, d *delivery, o retry.Outcome) (err error) {
	traceCtx, span := s.startDeadLetter(d, o)
	defer func() { endSpan(span, err) }()

	msgID := tasks.DeadLetterMsgID(taskMsgID(d), d.task.GetRedriveCount())
	msg, err := tasks.DeadLetterMsg(s.cfg.Topology, s.deadLetter(d, o), msgID)
	if err != nil {
		return err
	}
	injectTrace(traceCtx, msg.Header)

	future, err := s.js.PublishMsgAsync(msg)
	if err != nil {
		return fmt.Errorf("publish dead letter: %w", err)
	}
	select {
	case <-future.Ok():
		return nil
	case err := <-future.Err():
		return fmt.Errorf("publish dead letter: %w", err)
	case <-ctx.Done():
		return fmt.Errorf("publish dead letter: %w", ctx.Err())
	}
}

// taskMsgID returns the task's JetStream message id, or derives it as
// the rule engine does when the header is missing.
func taskMsgID(d *delivery) string {
	if id := d.msg.Headers().Get(streams.HeaderMsgID); id != "" {
		return id
	}
	t := d.task
	return streams.TaskMsgID(t.GetBus(), t.GetEventSource(), t.GetEventId(),
		t.GetRule(), t.GetTargetId())
}

func (s *Service) deadLetter(d *delivery, o retry.Outcome) *internalv1.DeadLetter {
	dl := &internalv1.DeadLetter{
		Task:           d.task,
		ErrorCode:      o.Code,
		ErrorMessage:   o.Reason,
		LastStatusCode: int32(d.earlier.lastStatus),
		Attempts:       int32(d.earlier.count + len(d.attempts)),
	}
	first, last := d.earlier.first, d.earlier.last
	if n := len(d.attempts); n > 0 {
		if first.IsZero() {
			first = d.attempts[0].start
		}
		last = d.attempts[n-1].start
		dl.LastStatusCode = int32(d.attempts[n-1].status)
		dl.ResponseExcerpt = d.attempts[n-1].excerpt
	}
	dl.FirstAttemptTime = timestampOrNil(first)
	dl.LastAttemptTime = timestampOrNil(last)
	return dl
}

func timestampOrNil(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}
