package telemetry

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// Consumer lag polling. One consumer info request per interval keeps the
// cost of the gauge fixed, whatever the scrape rate.
const (
	lagPollInterval = 15 * time.Second
	lagPollTimeout  = 5 * time.Second
)

// ConsumerLag keeps the last pending counts read from a durable
// consumer, for an observable gauge to report without calling NATS.
type ConsumerLag struct {
	consumer jetstream.Consumer
	attrs    metric.MeasurementOption

	known      atomic.Bool
	pending    atomic.Int64
	ackPending atomic.Int64
}

// NewConsumerLag returns the lag of consumer name on stream, for
// Register and Poll.
func NewConsumerLag(c jetstream.Consumer, stream, name string) *ConsumerLag {
	return &ConsumerLag{
		consumer: c,
		attrs: metric.WithAttributes(
			attribute.String("stream", stream),
			attribute.String("consumer", name)),
	}
}

// Register adds the gauges that report the lag. The counts are left
// out until the first successful read, and after a failed one, so a
// stale value does not pass for a current one.
func (l *ConsumerLag) Register(meter metric.Meter) error {
	pending, err := meter.Int64ObservableGauge("switchyard.consumer.pending",
		metric.WithUnit("{message}"),
		metric.WithDescription("Messages stored in the stream and not yet delivered to the consumer."))
	if err != nil {
		return err
	}
	ackPending, err := meter.Int64ObservableGauge("switchyard.consumer.ack_pending",
		metric.WithUnit("{message}"),
		metric.WithDescription("Messages delivered to the consumer and not yet acknowledged."))
	if err != nil {
		return err
	}
	_, err = meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		if l.known.Load() {
			o.ObserveInt64(pending, l.pending.Load(), l.attrs)
			o.ObserveInt64(ackPending, l.ackPending.Load(), l.attrs)
		}
		return nil
	}, pending, ackPending)
	return err
}

// Poll reads the consumer info every lagPollInterval until ctx ends.
func (l *ConsumerLag) Poll(ctx context.Context) {
	ticker := time.NewTicker(lagPollInterval)
	defer ticker.Stop()
	for {
		l.read(ctx)
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

func (l *ConsumerLag) read(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, lagPollTimeout)
	defer cancel()
	info, err := l.consumer.Info(ctx)
	if err != nil {
		l.known.Store(false)
		return
	}
	l.pending.Store(int64(info.NumPending))
	l.ackPending.Store(int64(info.NumAckPending))
	l.known.Store(true)
}
