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

// runLimit measures what the NATS server allows on this machine: first
// the raw two-hop flow, then the raw shaped flow (see runShaped). Both
// use the env's server and payloads of the same size as the other
// phases.
func runLimit(ctx context.Context, e *env, cfg Config) (*LimitResult, error) {
	res := &LimitResult{Events: cfg.Events}
	elapsed, err := runTwoHop(ctx, e, cfg.Events)
	if err != nil {
		return res, err
	}
	res.Seconds = elapsed.Seconds()
	res.EventsPerSecond = rate(cfg.Events, elapsed)

	res.Shaped, err = runShaped(ctx, e.natsURL, cfg.Events)
	return res, err
}

// runTwoHop measures a two-hop flow shaped like Switchyard's. Events are
// published asynchronously into a file-backed work queue. A consumer
// republishes each one to a second file-backed stream and acks the
// first once the copy is stored, and a last consumer acks the second
// stream. It returns the time from the first publish to the last ack.
func runTwoHop(ctx context.Context, e *env, events int) (time.Duration, error) {
	raw, err := newRawFlow(ctx, e)
	if err != nil {
		return 0, err
	}
	defer raw.close()

	sink, err := raw.startSink(ctx, events)
	if err != nil {
		return 0, err
	}
	if err := raw.startRelay(ctx); err != nil {
		return 0, err
	}

	start := time.Now()
	if err := raw.publish(ctx, raw.first, "limit", events); err != nil {
		return 0, err
	}
	if err := sink.wait(ctx, "raw flow: acked in the second stream"); err != nil {
		return 0, err
	}
	return sink.last.Sub(start), raw.firstErr()
}

// flowClients are the connections, consumers and streams of a raw flow,
// each client on its own connection as each service has. It keeps the
// first error of the flow's background work.
type flowClients struct {
	url   string
	conns []*nats.Conn
	admin jetstream.JetStream
	// stops end the consumers and their goroutines, in order.
	stops []func()
	// streams are deleted on close.
	streams []string

	errMu sync.Mutex
	err   error
}

// connect opens one more connection to the flow's server.
func (f *flowClients) connect() (jetstream.JetStream, error) {
	nc, err := nats.Connect(f.url, nats.Name("switchyard-bench-limit"))
	if err != nil {
		return nil, fmt.Errorf("connect to NATS at %s: %w", f.url, err)
	}
	f.conns = append(f.conns, nc)
	return jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(maxPendingPublishes))
}

// createStreams connects the admin client and creates the streams,
// which close deletes.
func (f *flowClients) createStreams(ctx context.Context, configs []jetstream.StreamConfig) error {
	js, err := f.connect()
	if err != nil {
		return err
	}
	f.admin = js
	for _, sc := range configs {
		if _, err := js.CreateStream(ctx, sc); err != nil {
			return fmt.Errorf("create stream %s: %w", sc.Name, err)
		}
		f.streams = append(f.streams, sc.Name)
	}
	return nil
}

// consumer creates the flow's durable consumer on stream.
func (f *flowClients) consumer(ctx context.Context, js jetstream.JetStream, stream string) (
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

// publish publishes n events to subject asynchronously, with message ids
// idPrefix-0 and up, and waits for every acknowledgement.
func (f *flowClients) publish(ctx context.Context, subject, idPrefix string, n int) error {
	js, err := f.connect()
	if err != nil {
		return err
	}
	futures := make([]jetstream.PubAckFuture, 0, n)
	for i := range n {
		id := idPrefix + "-" + strconv.Itoa(i)
		f, err := js.PublishAsync(subject, newEvent(id, "none"), jetstream.WithMsgID(id),
			jetstream.WithStallWait(stallWait))
		if err != nil {
			return fmt.Errorf("publish %d of %d to %s: %w", i, n, subject, err)
		}
		futures = append(futures, f)
	}
	return waitAcks(ctx, futures)
}

// copyFuture is one asynchronous publish made for a relayed message.
// failed reports which of its errors mean the copy is not stored; nil
// means every error.
type copyFuture struct {
	jetstream.PubAckFuture
	failed func(error) bool
}

// forwardFunc publishes the copies of a relayed message.
type forwardFunc func(js jetstream.JetStream, m jetstream.Msg) ([]copyFuture, error)

// relay consumes stream on a connection of its own and passes each
// message to forward. A goroutine waits on the copies' futures in order
// and acks the message once every copy is stored, or naks it, so no ack
// is synchronous.
func (f *flowClients) relay(ctx context.Context, stream string, forward forwardFunc,
	pullOpts ...jetstream.PullConsumeOpt) error {
	js, err := f.connect()
	if err != nil {
		return err
	}
	cons, err := f.consumer(ctx, js, stream)
	if err != nil {
		return err
	}

	type relayed struct {
		msg     jetstream.Msg
		futures []copyFuture
	}
	pending := make(chan relayed, limitMaxAckPending)
	go func() {
		for p := range pending {
			if f.waitCopies(p.futures) {
				_ = p.msg.Ack()
			} else {
				_ = p.msg.Nak()
			}
		}
	}()

	cc, err := cons.Consume(func(m jetstream.Msg) {
		futures, err := forward(js, m)
		if err != nil {
			f.setErr(err)
			_ = m.Nak()
			return
		}
		pending <- relayed{msg: m, futures: futures}
	}, pullOpts...)
	if err != nil {
		close(pending)
		return fmt.Errorf("consume %s: %w", stream, err)
	}
	f.stops = append(f.stops, func() {
		stopConsume(cc)
		close(pending)
	})
	return nil
}

// waitCopies waits for every future and reports whether all copies
// are stored.
func (f *flowClients) waitCopies(futures []copyFuture) bool {
	stored := true
	for _, c := range futures {
		select {
		case <-c.Ok():
		case err := <-c.Err():
			if c.failed == nil || c.failed(err) {
				f.setErr(fmt.Errorf("copy of a relayed message not stored: %w", err))
				stored = false
			}
		}
	}
	return stored
}

func (f *flowClients) setErr(err error) {
	f.errMu.Lock()
	defer f.errMu.Unlock()
	if f.err == nil {
		f.err = err
	}
}

func (f *flowClients) firstErr() error {
	f.errMu.Lock()
	defer f.errMu.Unlock()
	return f.err
}

// close stops the consumers, deletes the streams and closes the
// connections.
func (f *flowClients) close() {
	for _, stop := range f.stops {
		stop()
	}
	if f.admin != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for _, name := range f.streams {
			_ = f.admin.DeleteStream(ctx, name)
		}
	}
	for _, nc := range f.conns {
		nc.Close()
	}
}

// rawFlow is the two streams and three clients of the raw two-hop flow.
type rawFlow struct {
	flowClients
	name   string
	first  string
	second string
}

func newRawFlow(ctx context.Context, e *env) (*rawFlow, error) {
	name := "BENCH_LIMIT_" + strings.ToUpper(randomHex(4))
	r := &rawFlow{flowClients: flowClients{url: e.natsURL}, name: name,
		first: strings.ToLower(name) + ".first", second: strings.ToLower(name) + ".second"}
	err := r.createStreams(ctx, []jetstream.StreamConfig{
		{Name: name + "_FIRST", Subjects: []string{r.first}, Storage: jetstream.FileStorage,
			Retention: jetstream.WorkQueuePolicy, Duplicates: 2 * time.Minute},
		{Name: name + "_SECOND", Subjects: []string{r.second}, Storage: jetstream.FileStorage,
			Duplicates: 2 * time.Minute},
	})
	if err != nil {
		r.close()
		return nil, err
	}
	return r, nil
}

func (r *rawFlow) startSink(ctx context.Context, want int) (*sink, error) {
	js, err := r.connect()
	if err != nil {
		return nil, err
	}
	cons, err := r.consumer(ctx, js, r.name+"_SECOND")
	if err != nil {
		return nil, err
	}
	s := newSink(want)
	cc, err := cons.Consume(func(m jetstream.Msg) {
		_ = m.Ack()
		s.add()
	})
	if err != nil {
		return nil, fmt.Errorf("consume the second stream: %w", err)
	}
	r.stops = append(r.stops, cc.Stop)
	return s, nil
}

// startRelay republishes each message of the first stream to the second
// and acks it once the second stream has stored the copy.
func (r *rawFlow) startRelay(ctx context.Context) error {
	return r.relay(ctx, r.name+"_FIRST", func(js jetstream.JetStream, m jetstream.Msg) ([]copyFuture, error) {
		return republish(js, m, r.second)
	})
}

// republish publishes a copy of m to subject with m's message id.
func republish(js jetstream.JetStream, m jetstream.Msg, subject string) ([]copyFuture, error) {
	id := m.Headers().Get(jetstream.MsgIDHeader)
	f, err := js.PublishAsync(subject, m.Data(), jetstream.WithMsgID(id),
		jetstream.WithStallWait(stallWait))
	if err != nil {
		return nil, fmt.Errorf("republish to %s: %w", subject, err)
	}
	return []copyFuture{{PubAckFuture: f}}, nil
}

// sink counts the messages that reached the end of a flow.
type sink struct {
	want  int64
	acked atomic.Int64
	done  chan struct{}
	// last is the time of the want-th message, set before done closes.
	last time.Time
}

func newSink(want int) *sink {
	return &sink{want: int64(want), done: make(chan struct{})}
}

// add counts one message.
func (s *sink) add() {
	if s.acked.Add(1) == s.want {
		s.last = time.Now()
		close(s.done)
	}
}

// wait waits until the sink has counted every message or ctx ends. The
// error names the count with label.
func (s *sink) wait(ctx context.Context, label string) error {
	select {
	case <-s.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%s: %d of %d: %w", label, s.acked.Load(), s.want, ctx.Err())
	}
}

// stopConsume stops a consume context and waits until nats.go reports
// it fully stopped, with its processing complete.
func stopConsume(cc jetstream.ConsumeContext) {
	cc.Stop()
	<-cc.Closed()
}
