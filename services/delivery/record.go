package delivery

import (
	"context"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/switchyard-dev/switchyard/pkg/records"
	internalv1 "github.com/switchyard-dev/switchyard/proto/switchyard/internalapi/v1"
	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
	"github.com/switchyard-dev/switchyard/services/delivery/retry"
)

// recordKey returns the key of a task's record. A replayed task has a
// record of its own, keyed by its replay id.
func recordKey(t *internalv1.DeliveryTask) string {
	return records.ReplayKey(t.GetEventId(), t.GetEventSource(), t.GetBus(), t.GetRule(),
		t.GetTargetId(), t.GetReplayId())
}

// priorAttempts summarizes the attempts of a task made before the
// current message delivery.
type priorAttempts struct {
	count      int
	first      time.Time
	last       time.Time
	lastStatus int
}

// loadPriorAttempts counts the earlier attempts from the delivery
// record, because NumDelivered also counts returns for capacity and
// for config outages, which make no call. A redriven or replayed task
// starts a new run: only attempts after the message was stored count.
//
// When the record cannot be read, the count is NumDelivered-1, which
// may be too high by the returns that made no call.
func (s *Service) loadPriorAttempts(ctx context.Context, d *delivery) priorAttempts {
	snap, err := s.records.Read(ctx, d.key)
	if err != nil {
		d.log.Warn("read delivery record failed; counting attempts from deliveries",
			"error", err)
		return priorAttempts{count: int(d.meta.NumDelivered) - 1}
	}
	d.record = snap

	// NOTE: comparing the NATS server's timestamp with attempt times
	// from this host's clock assumes the clocks roughly agree.
	newRun := d.task.GetRedriven() || d.task.GetReplayed()
	var p priorAttempts
	for _, a := range snap.Record.GetAttempts() {
		start := a.GetStartTime().AsTime()
		if newRun && start.Before(d.meta.Timestamp) {
			continue
		}
		if p.count == 0 {
			p.first = start
		}
		p.count++
		p.last = start
		p.lastStatus = int(a.GetStatusCode())
	}
	return p
}

// recordChange sets the state fields of a record after an attempt.
type recordChange func(*v1.Delivery)

func delivered(location string) recordChange {
	return func(r *v1.Delivery) {
		r.State = v1.DeliveryState_DELIVERY_STATE_DELIVERED
		r.Location = location
		r.NextAttemptTime = nil
		r.ErrorCode, r.ErrorMessage = "", ""
	}
}

func retrying(next time.Time) recordChange {
	return func(r *v1.Delivery) {
		r.State = v1.DeliveryState_DELIVERY_STATE_RETRYING
		r.NextAttemptTime = timestamppb.New(next)
	}
}

func failed(o retry.Outcome) recordChange {
	return terminal(v1.DeliveryState_DELIVERY_STATE_FAILED, o)
}

func deadLettered(o retry.Outcome) recordChange {
	return terminal(v1.DeliveryState_DELIVERY_STATE_DEAD_LETTERED, o)
}

func terminal(state v1.DeliveryState, o retry.Outcome) recordChange {
	return func(r *v1.Delivery) {
		r.State = state
		r.NextAttemptTime = nil
		r.ErrorCode = o.Code
		r.ErrorMessage = o.Reason
	}
}

// updateRecord appends the worker's attempts to the record and applies
// change. A failed write is logged and the delivery goes on, since the
// record is a view and the stream holds the truth.
func (s *Service) updateRecord(ctx context.Context, d *delivery, change recordChange) {
	t := d.task
	now := timestamppb.Now()
	// The record read at the start saves a round trip; it is used once,
	// since the write makes its revision stale.
	snap := d.record
	d.record = nil
	err := s.records.UpdateFrom(ctx, d.key, snap, func(r *v1.Delivery) {
		if r.GetEventId() == "" {
			r.EventId, r.EventSource, r.Bus = t.GetEventId(), t.GetEventSource(), t.GetBus()
			r.Rule, r.TargetId = t.GetRule(), t.GetTargetId()
			r.ApiDestination = t.GetApiDestination()
			r.ReplayId = t.GetReplayId()
			r.CreateTime = now
		}
		for _, a := range d.attempts {
			r.Attempts = append(r.Attempts, a.record())
		}
		change(r)
		r.UpdateTime = now
	})
	if err != nil {
		d.log.Warn("update delivery record failed", "error", err)
	}
}
