package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/sync/errgroup"

	"github.com/switchyard-dev/switchyard/pkg/streams"
)

// Buses of the ingest phase. They have no rules, so the rule engine acks
// their events unmatched.
const (
	ingestHTTPBus = "bench-ingest-http"
	ingestNATSBus = "bench-ingest-nats"
)

// runIngest measures both ways into ingest: HTTP POSTs of one structured
// CloudEvent each, and JetStream publishes to ingest.<bus>.
func runIngest(ctx context.Context, e *env, cfg Config) (*IngestResult, error) {
	for _, bus := range []string{ingestHTTPBus, ingestNATSBus} {
		if err := e.createBus(ctx, bus); err != nil {
			return nil, err
		}
	}

	res := &IngestResult{HTTPRequests: cfg.Events, HTTPConnections: cfg.Connections}
	if err := postEvents(ctx, e, cfg, res); err != nil {
		return res, err
	}
	return res, publishIngest(ctx, e, cfg, res)
}

// postEvents sends cfg.Events requests over cfg.Connections connections,
// each waiting for its response before the next.
func postEvents(ctx context.Context, e *env, cfg Config, res *IngestResult) error {
	transport := &http.Transport{
		MaxIdleConnsPerHost: cfg.Connections,
		MaxConnsPerHost:     cfg.Connections,
	}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport, Timeout: 10 * time.Second}
	url := e.ingestURL + "/v1/buses/" + ingestHTTPBus + "/events"

	var next, failed atomic.Int64
	var latency recorder
	cpu := startCPU(e)
	start := time.Now()
	g, gctx := errgroup.WithContext(ctx)
	for range cfg.Connections {
		g.Go(func() error {
			for i := next.Add(1) - 1; i < int64(cfg.Events); i = next.Add(1) - 1 {
				ok, err := postEvent(gctx, client, url, "http-"+strconv.FormatInt(i, 10), &latency)
				if err != nil {
					return err
				}
				if !ok {
					failed.Add(1)
				}
			}
			return nil
		})
	}
	err := g.Wait()
	elapsed := time.Since(start)

	res.HTTPFailed = int(failed.Load())
	res.HTTPSeconds = elapsed.Seconds()
	res.HTTPRequestsPerSecond = rate(cfg.Events-res.HTTPFailed, elapsed)
	res.HTTPLatency = latency.summary()
	res.HTTPCPU = e.cpuUse(cpu, cfg.Events)
	if err == nil && res.HTTPFailed > 0 {
		err = fmt.Errorf("%d of %d requests got a status other than 200", res.HTTPFailed, cfg.Events)
	}
	return err
}

// postEvent sends one event in structured mode and reports whether
// ingest responded 200, which it does once JetStream stored the event.
func postEvent(ctx context.Context, client *http.Client, url, id string, latency *recorder) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url,
		bytes.NewReader(newEvent(id, "none")))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/cloudevents+json")

	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return false, fmt.Errorf("post event: %w", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	latency.add(time.Since(start))
	return resp.StatusCode == http.StatusOK, nil
}

// publishIngest publishes cfg.Events events to ingest.<bus> and waits
// until EVENTS holds all of them.
func publishIngest(ctx context.Context, e *env, cfg Config, res *IngestResult) error {
	stream, err := e.js.Stream(ctx, e.topology.Stream(streams.Events))
	if err != nil {
		return fmt.Errorf("look up the EVENTS stream: %w", err)
	}
	subject := e.topology.EventsSubject(ingestNATSBus)

	b := batch{bus: ingestNATSBus, idPrefix: "nats", count: cfg.Events,
		key: func(int) string { return "none" }}
	start, err := b.publish(ctx, e)
	if err != nil {
		return err
	}
	err = poll(ctx, func() (bool, string) {
		n, err := subjectCount(ctx, stream, subject)
		if err != nil {
			return false, err.Error()
		}
		return n >= cfg.Events, fmt.Sprintf("%d of %d events in EVENTS", n, cfg.Events)
	})
	elapsed := time.Since(start)

	res.NATSEvents = cfg.Events
	res.NATSSeconds = elapsed.Seconds()
	res.NATSEventsPerSecond = rate(cfg.Events, elapsed)
	return err
}

// subjectCount returns how many messages a stream holds on one subject.
func subjectCount(ctx context.Context, s jetstream.Stream, subject string) (int, error) {
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(subject))
	if err != nil {
		return 0, fmt.Errorf("stream info: %w", err)
	}
	return int(info.State.Subjects[subject]), nil
}
