package bench

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// maxPendingPublishes bounds the asynchronous publishes awaiting their
// JetStream acknowledgement; a publish beyond it waits up to stallWait.
const (
	maxPendingPublishes = 4096
	stallWait           = 10 * time.Second
)

// batch is one run of events to publish over NATS to ingest.<bus>.
type batch struct {
	bus string
	// idPrefix makes event ids unique across the phases of one run, as
	// ingest de-duplicates on source and id.
	idPrefix string
	count    int
	// key returns the data.key of event i.
	key func(i int) string
	// perSecond paces the publishing; zero publishes as fast as
	// JetStream acknowledges.
	perSecond int
}

// publish publishes the batch with asynchronous publishes, waits for
// every acknowledgement, and returns the time of the first publish.
func (b batch) publish(ctx context.Context, e *env) (time.Time, error) {
	subject := e.topology.IngestSubject(b.bus)
	futures := make([]jetstream.PubAckFuture, 0, b.count)
	start := time.Now()
	for i := range b.count {
		if err := b.pace(ctx, start, i); err != nil {
			return start, err
		}
		id := b.idPrefix + "-" + strconv.Itoa(i)
		f, err := e.js.PublishAsync(subject, newEvent(id, b.key(i)),
			jetstream.WithMsgID(id), jetstream.WithStallWait(stallWait))
		if err != nil {
			return start, fmt.Errorf("publish event %d of %d to %s: %w", i, b.count, subject, err)
		}
		futures = append(futures, f)
	}
	return start, waitAcks(ctx, futures)
}

// pace sleeps until event i is due at perSecond events a second from
// start.
func (b batch) pace(ctx context.Context, start time.Time, i int) error {
	if b.perSecond <= 0 {
		return ctx.Err()
	}
	due := start.Add(time.Duration(i) * time.Second / time.Duration(b.perSecond))
	wait := time.Until(due)
	if wait <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// waitAcks waits for every future and returns the first error.
func waitAcks(ctx context.Context, futures []jetstream.PubAckFuture) error {
	for i, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			return fmt.Errorf("publish %d of %d not acknowledged: %w", i, len(futures), err)
		case <-ctx.Done():
			return fmt.Errorf("waiting for publish acknowledgements: %w", ctx.Err())
		}
	}
	return nil
}
