package delivery

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"github.com/switchyard-dev/switchyard/pkg/natstest"
	"github.com/switchyard-dev/switchyard/pkg/streams"
	internalv1 "github.com/switchyard-dev/switchyard/proto/switchyard/internalapi/v1"
	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

// benchRateLimit lifts the destination's rate limit above what the
// benchmarks reach, so they measure delivery, not the limit.
const benchRateLimit = 10000

// benchDeadline bounds one run of a benchmark, so a stuck delivery
// fails it instead of hanging.
const benchDeadline = 2 * time.Minute

// BenchmarkDeliverImmediate delivers tasks to a local endpoint that
// responds at once, with the default concurrency.
func BenchmarkDeliverImmediate(b *testing.B) {
	benchDeliver(b, 0, 0)
}

// BenchmarkDeliverSlow delivers tasks to a local endpoint that responds
// after 100 ms. Throughput must grow with the destination's
// max_concurrency: about max_concurrency × 10 events/s.
func BenchmarkDeliverSlow(b *testing.B) {
	for _, limit := range []int32{1, 10, 50} {
		b.Run(fmt.Sprintf("max_concurrency=%d", limit), func(b *testing.B) {
			benchDeliver(b, 100*time.Millisecond, limit)
		})
	}
}

// benchDeliver queues b.N tasks for an endpoint that responds after
// latency, then times their delivery by one service.
func benchDeliver(b *testing.B, latency time.Duration, maxConcurrency int32) {
	ns := natstest.Start(b)
	nc := ns.Connect(b)
	js, err := jetstream.New(nc)
	if err != nil {
		b.Fatal(err)
	}
	if err := streams.Ensure(context.Background(), js, ns.Topology, streams.Options{}); err != nil {
		b.Fatal(err)
	}

	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if latency > 0 {
			time.Sleep(latency)
		}
		calls.Add(1)
		w.WriteHeader(http.StatusOK)
	}))
	b.Cleanup(srv.Close)

	resolver := &fakeResolver{dests: map[string]*internalv1.ResolvedDestination{}, calls: map[string]int{}}
	dest := destination("bench", srv.URL)
	dest.MaxConcurrency = maxConcurrency
	dest.InvocationRateLimitPerSecond = benchRateLimit
	resolver.set(dest, basicConnection(v1.Network_NETWORK_PRIVATE))
	publishBenchTasks(b, js, ns.Topology, b.N)

	svc, err := New(context.Background(), Config{
		NATS: nc, Topology: ns.Topology, Resolver: resolver, Version: "bench",
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)

	b.ResetTimer()
	start := time.Now()
	go func() { done <- svc.Run(ctx) }()
	if !poll(benchDeadline, func() bool { return calls.Load() >= int64(b.N) }) {
		b.Fatalf("endpoint saw %d of %d requests within %s", calls.Load(), b.N, benchDeadline)
	}
	elapsed := time.Since(start)
	b.StopTimer()

	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
	cancel()
	if err := <-done; err != nil {
		b.Errorf("Run() = %v", err)
	}
}

// publishBenchTasks puts n tasks for the destination "bench" on the
// DELIVERIES stream, waiting on the acks in batches.
func publishBenchTasks(b *testing.B, js jetstream.JetStream, topo streams.Topology, n int) {
	const batch = 512
	var pending []jetstream.PubAckFuture
	wait := func() {
		for _, f := range pending {
			select {
			case <-f.Ok():
			case err := <-f.Err():
				b.Fatalf("publish task: %v", err)
			}
		}
		pending = pending[:0]
	}
	for i := range n {
		task := newTask("bench", fmt.Sprintf("ev-bench-%d", i))
		data, err := proto.Marshal(task)
		if err != nil {
			b.Fatal(err)
		}
		msg := nats.NewMsg(topo.DeliveriesSubject("bench"))
		msg.Data = data
		msg.Header.Set(streams.HeaderMsgID, task.GetEventId())
		f, err := js.PublishMsgAsync(msg)
		if err != nil {
			b.Fatalf("publish task: %v", err)
		}
		pending = append(pending, f)
		if len(pending) == batch {
			wait()
		}
	}
	wait()
}
