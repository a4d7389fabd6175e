package bench

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// limitMaxAckPending bounds the unacknowledged messages of each raw
// consumer, as generous as a tuned service would be.
const limitMaxAckPending = 10000

// runLimit measures what the NATS server allows on this machine for a
// two-hop flow shaped like Switchyard's. Events are published
// asynchronously into a file-backed work queue. A consumer republishes
// each one to a second file-backed stream and acks the first once the
// copy is stored, and a last consumer acks the second stream. It uses
// the env's server and payloads of the same size as the other phases.
func runLimit(ctx context.Context, e *env, cfg Config) (*LimitResult, error) {
	res := &LimitResult{Events: cfg.Events}
	raw, err := newRawFlow(ctx, e)
	if err != nil {
		return res, err
	}
	defer raw.close()

	sink, err := raw.startSink(ctx, cfg.Events)
	if err != nil {
		return res, err
	}
	if err := raw.startRelay(ctx); err != nil {
		return res, err
	}

	start := time.Now()
	if err := raw.publish(ctx, cfg.Events); err != nil {
		return res, err
	}
	select {
	case <-sink.done:
	case <-ctx.Done():
		return res, fmt.Errorf("raw flow: %d of %d acked in the second stream: %w",
			sink.acked.Load(), cfg.Events, ctx.Err())
	}
	elapsed := sink.last.Sub(start)
	res.Seconds = elapsed.Seconds()
	res.EventsPerSecond = rate(cfg.Events, elapsed)
	return res, raw.relayErr()
}

// rawFlow is the two streams and three clients of the limit phase, each
// client on its own connection as each service has.
type rawFlow struct {
	name     string
	conns    []*nats.Conn
	first    string
	second   string
	admin    jetstream.JetStream
	consumes []jetstream.ConsumeContext

	relayMu    sync.Mutex
	relayFirst error
}

func newRawFlow(ctx context.Context, e *env) (*rawFlow, error) {
	name := "BENCH_LIMIT_" + strings.ToUpper(randomHex(4))
	r := &rawFlow{name: name, first: strings.ToLower(name) + ".first",
		second: strings.ToLower(name) + ".second"}
	js, err := r.connect(e.natsURL)
	if err != nil {
		return nil, err
	}
	r.admin = js

	streamsConfig := []jetstream.StreamConfig{
		{Name: name + "_FIRST", Subjects: []string{r.first}, Storage: jetstream.FileStorage,
			Retention: jetstream.WorkQueuePolicy, Duplicates: 2 * time.Minute},
		{Name: name + "_SECOND", Subjects: []string{r.second}, Storage: jetstream.FileStorage,
			Duplicates: 2 * time.Minute},
	}
	for _, sc := range streamsConfig {
		if _, err := js.CreateStream(ctx, sc); err != nil {
			r.close()
			return nil, fmt.Errorf("create stream %s: %w", sc.Name, err)
		}
	}
	return r, nil
}

func (r *rawFlow) connect(url string) (jetstream.JetStream, error) {
	nc, err := nats.Connect(url, nats.Name("switchyard-bench-limit"))
	if err != nil {
		return nil, fmt.Errorf("connect to NATS at %s: %w", url, err)
	}
	r.conns = append(r.conns, nc)
	return jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(maxPendingPublishes))
}

// sink counts the acks of the second stream's consumer.
type sink struct {
	want  int64
	acked atomic.Int64
	done  chan struct{}
	last  time.Time
}

func (r *rawFlow) startSink(ctx context.Context, want int) (*sink, error) {
	js, err := r.connect(r.conns[0].ConnectedUrl())
	if err != nil {
		return nil, err
	}
	cons, err := r.consumer(ctx, js, r.name+"_SECOND")
	if err != nil {
		return nil, err
	}
	s := &sink{want: int64(want), done: make(chan struct{})}
	cc, err := cons.Consume(func(m jetstream.Msg) {
		_ = m.Ack()
		if s.acked.Add(1) == s.want {
			s.last = time.Now()
			close(s.done)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("consume the second stream: %w", err)
	}
	r.consumes = append(r.consumes, cc)
	return s, nil
}

// startRelay republishes each message of the first stream to the second
// and acks it once the second stream has stored the copy. A goroutine
// waits on the futures in order, so no ack is synchronous.
func (r *rawFlow) startRelay(ctx context.Context) error {
	js, err := r.connect(r.conns[0].ConnectedUrl())
	if err != nil {
		return err
	}
	cons, err := r.consumer(ctx, js, r.name+"_FIRST")
	if err != nil {
		return err
	}

	type relayed struct {
		msg    jetstream.Msg
		future jetstream.PubAckFuture
	}
	pending := make(chan relayed, limitMaxAckPending)
	go func() {
		for p := range pending {
			select {
			case <-p.future.Ok():
				_ = p.msg.Ack()
			case err := <-p.future.Err():
				r.setRelayErr(err)
				_ = p.msg.Nak()
			}
		}
	}()

	cc, err := cons.Consume(func(m jetstream.Msg) {
		id := m.Headers().Get(jetstream.MsgIDHeader)
		f, err := js.PublishAsync(r.second, m.Data(), jetstream.WithMsgID(id),
			jetstream.WithStallWait(stallWait))
		if err != nil {
			r.setRelayErr(err)
			_ = m.Nak()
			return
		}
		pending <- relayed{msg: m, future: f}
	})
	if err != nil {
		close(pending)
		return fmt.Errorf("consume the first stream: %w", err)
	}
	r.consumes = append(r.consumes, stopThen(cc, func() { close(pending) }))
	return nil
}

func (r *rawFlow) consumer(ctx context.Context, js jetstream.JetStream, stream string) (
	jetstream.Consumer, error) {
	cons, err := js.CreateOrUpdateConsumer(ctx, stream, jetstream.ConsumerConfig{
		Durable:       "bench",
		AckPolicy:     jetstream.AckExplicitPolicy,
		MaxAckPending: limitMaxAckPending,
		AckWait:       time.Minute,
	})
	if err != nil {
		return nil, fmt.Errorf("create consumer on %s: %w", stream, err)
	}
	return cons, nil
}

// publish publishes n events to the first stream asynchronously and
// waits for every acknowledgement.
func (r *rawFlow) publish(ctx context.Context, n int) error {
	js, err := r.connect(r.conns[0].ConnectedUrl())
	if err != nil {
		return err
	}
	futures := make([]jetstream.PubAckFuture, 0, n)
	for i := range n {
		id := "limit-" + strconv.Itoa(i)
		f, err := js.PublishAsync(r.first, newEvent(id, "none"), jetstream.WithMsgID(id),
			jetstream.WithStallWait(stallWait))
		if err != nil {
			return fmt.Errorf("publish %d of %d to %s: %w", i, n, r.first, err)
		}
		futures = append(futures, f)
	}
	return waitAcks(ctx, futures)
}

func (r *rawFlow) setRelayErr(err error) {
	r.relayMu.Lock()
	defer r.relayMu.Unlock()
	if r.relayFirst == nil {
		r.relayFirst = fmt.Errorf("relay: %w", err)
	}
}

func (r *rawFlow) relayErr() error {
	r.relayMu.Lock()
	defer r.relayMu.Unlock()
	return r.relayFirst
}

// close stops the consumers, deletes the streams and closes the
// connections.
func (r *rawFlow) close() {
	for _, cc := range r.consumes {
		cc.Stop()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, suffix := range []string{"_FIRST", "_SECOND"} {
		_ = r.admin.DeleteStream(ctx, r.name+suffix)
	}
	for _, nc := range r.conns {
		nc.Close()
	}
}

// stoppedConsume runs a function after stopping a consume context.
type stoppedConsume struct {
	jetstream.ConsumeContext
	after func()
}

func stopThen(cc jetstream.ConsumeContext, after func()) jetstream.ConsumeContext {
	return stoppedConsume{ConsumeContext: cc, after: after}
}

func (s stoppedConsume) Stop() {
	s.ConsumeContext.Stop()
	<-s.ConsumeContext.Closed()
	s.after()
}
