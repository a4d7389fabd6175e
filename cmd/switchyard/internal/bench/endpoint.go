package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// endpoint is the local HTTP destination of the benchmarks. It responds
// 200 at once, or 503 to every other request when flaky, and counts its
// responses. It listens on a free port of 127.0.0.1 only.
type endpoint struct {
	srv      *http.Server
	url      string
	flaky    atomic.Bool
	received atomic.Int64
	ok       atomic.Int64
	failed   atomic.Int64

	// latency, when set, records publish-to-receipt times read from the
	// events' data.sent.
	latency *recorder

	mu        sync.Mutex
	lastOK    time.Time
	maxGap    time.Duration
	badBodies int
}

func startEndpoint() (*endpoint, error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("endpoint listener: %w", err)
	}
	e := &endpoint{url: "http://" + lis.Addr().String() + "/hook"}
	e.srv = &http.Server{Handler: e, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := e.srv.Serve(lis); err != nil && !errors.Is(err, http.ErrServerClosed) {
			// Serve fails only when the listener does; the phases then
			// time out waiting for deliveries and report that.
			_ = lis.Close()
		}
	}()
	return e, nil
}

func (e *endpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	body, err := io.ReadAll(r.Body)
	n := e.received.Add(1)
	if e.flaky.Load() && n%2 == 0 {
		e.failed.Add(1)
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusOK)

	e.ok.Add(1)
	e.mu.Lock()
	if !e.lastOK.IsZero() {
		e.maxGap = max(e.maxGap, now.Sub(e.lastOK))
	}
	e.lastOK = now
	e.mu.Unlock()
	if e.latency != nil {
		e.recordLatency(now, body, err)
	}
}

func (e *endpoint) recordLatency(now time.Time, body []byte, readErr error) {
	sent, err := sentTime(body)
	if readErr != nil || err != nil {
		e.mu.Lock()
		e.badBodies++
		e.mu.Unlock()
		return
	}
	e.latency.add(now.Sub(sent))
}

// lastDelivery returns the time of the latest 200 response.
func (e *endpoint) lastDelivery() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.lastOK
}

// longestGap returns the longest time between two 200 responses.
func (e *endpoint) longestGap() time.Duration {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.maxGap
}

// waitOK polls until the endpoint has responded 200 to want requests,
// or ctx ends.
func (e *endpoint) waitOK(ctx context.Context, want int) error {
	return poll(ctx, func() (bool, string) {
		got := e.ok.Load()
		return got >= int64(want), fmt.Sprintf("%d of %d deliveries received", got, want)
	})
}

func (e *endpoint) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = e.srv.Shutdown(ctx)
}

// poll calls cond every 5 ms until it returns true or ctx ends; the
// error then carries the last state cond described.
func poll(ctx context.Context, cond func() (bool, string)) error {
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, state := cond()
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %s", ctx.Err(), state)
		case <-tick.C:
		}
	}
}

// reset zeroes the counters and latencies between two measurements.
func (e *endpoint) reset() {
	e.received.Store(0)
	e.ok.Store(0)
	e.failed.Store(0)
	e.mu.Lock()
	e.lastOK = time.Time{}
	e.maxGap = 0
	e.badBodies = 0
	e.mu.Unlock()
	if e.latency != nil {
		e.latency.mu.Lock()
		e.latency.samples = nil
		e.latency.mu.Unlock()
	}
}
