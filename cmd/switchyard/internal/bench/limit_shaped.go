package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchyard-dev/switchyard/pkg/records"
	"github.com/switchyard-dev/switchyard/pkg/streams"
)

// shapedWorkers is how many tasks the shaped flow delivers at once.
const shapedWorkers = 64

// shapedMaxUpdateTries bounds the read-and-update loop of one record.
const shapedMaxUpdateTries = 10

// Record values of the shaped flow: pending as created beside the task,
// delivered as written after the HTTP call.
var (
	recordPending   = []byte(`{"state":"pending","attempts":0}`)
	recordDelivered = []byte(`{"state":"delivered","attempts":1,"status":200}`)
)

// runShaped measures the raw shaped flow: the JetStream and HTTP work
// that Switchyard's design requires for each event, with none of the
// services' logic. Events pass three file-backed streams in a row, as
// INGRESS, EVENTS and DELIVERIES. The first hop republishes each event,
// as ingest does. The second creates a record in a key-value bucket
// asynchronously beside each task it publishes, as the rule engine
// does, and acks the event once both are stored. Then shapedWorkers
// workers read each task's record, POST the payload to a local
// endpoint, update the record at the revision read, and ack the task,
// as delivery does. The rate runs from the first publish to the last
// ack.
func runShaped(ctx context.Context, natsURL string, events int) (*ShapedResult, error) {
	res := &ShapedResult{Events: events}
	ep, err := startEndpoint()
	if err != nil {
		return res, err
	}
	defer ep.close()
	flow, err := newShapedFlow(ctx, natsURL)
	if err != nil {
		return res, err
	}
	defer flow.close()

	elapsed, err := flow.run(ctx, ep.url, events)
	res.Seconds = elapsed.Seconds()
	res.EventsPerSecond = rate(events, elapsed)
	res.UpdateRetries = int(flow.records.updateRetries.Load())
	res.LateCreates = int(flow.records.lateCreates.Load())
	return res, err
}

// shapedFlow is the streams, bucket and clients of the raw shaped flow.
type shapedFlow struct {
	flowClients
	name string
	// ingress, events and deliveries are the subjects of the streams.
	ingress    string
	events     string
	deliveries string
	records    *recordBucket
}

// newShapedFlow creates the flow's streams and bucket under a name of
// its own, which close deletes.
func newShapedFlow(ctx context.Context, natsURL string) (*shapedFlow, error) {
	name := "BENCH_SHAPED_" + strings.ToUpper(randomHex(4))
	lower := strings.ToLower(name)
	f := &shapedFlow{flowClients: flowClients{url: natsURL}, name: name,
		ingress: lower + ".ingress", events: lower + ".events", deliveries: lower + ".deliveries"}
	stream := func(suffix, subject string, retention jetstream.RetentionPolicy) jetstream.StreamConfig {
		return jetstream.StreamConfig{Name: name + suffix, Subjects: []string{subject},
			Storage: jetstream.FileStorage, Retention: retention, Duplicates: 2 * time.Minute}
	}
	err := f.createStreams(ctx, []jetstream.StreamConfig{
		stream("_INGRESS", f.ingress, jetstream.WorkQueuePolicy),
		stream("_EVENTS", f.events, jetstream.LimitsPolicy),
		stream("_DELIVERIES", f.deliveries, jetstream.WorkQueuePolicy),
	})
	if err == nil {
		f.records, err = f.createBucket(ctx, lower+"_records")
	}
	if err != nil {
		f.close()
		return nil, err
	}
	return f, nil
}

// createBucket creates the records bucket, file-backed with a TTL as
// Switchyard's delivery records are, and has close delete it.
func (f *shapedFlow) createBucket(ctx context.Context, bucket string) (*recordBucket, error) {
	kv, err := f.admin.CreateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: bucket, Storage: jetstream.FileStorage, TTL: time.Hour,
	})
	if err != nil {
		return nil, fmt.Errorf("create bucket %s: %w", bucket, err)
	}
	f.streams = append(f.streams, "KV_"+bucket)
	return &recordBucket{kv: kv}, nil
}

// shapedPullOptions are the services' own pull options.
func shapedPullOptions() []jetstream.PullConsumeOpt {
	return []jetstream.PullConsumeOpt{
		jetstream.PullExpiry(streams.PullExpiry), jetstream.PullHeartbeat(streams.PullHeartbeat),
	}
}

// run publishes n events through the flow and returns the time from the
// first publish to the last task acked.
func (f *shapedFlow) run(ctx context.Context, url string, n int) (time.Duration, error) {
	done, err := f.startDelivery(ctx, url, n)
	if err != nil {
		return 0, err
	}
	if err := f.relay(ctx, f.name+"_EVENTS", f.createTask, shapedPullOptions()...); err != nil {
		return 0, err
	}
	republishEvent := func(js jetstream.JetStream, m jetstream.Msg) ([]copyFuture, error) {
		return republish(js, m, f.events)
	}
	if err := f.relay(ctx, f.name+"_INGRESS", republishEvent, shapedPullOptions()...); err != nil {
		return 0, err
	}

	start := time.Now()
	if err := f.publish(ctx, f.ingress, "shaped", n); err != nil {
		return 0, err
	}
	if err := done.wait(ctx, "raw shaped flow: tasks delivered"); err != nil {
		return 0, errors.Join(err, f.firstErr())
	}
	return done.last.Sub(start), f.firstErr()
}

// createTask creates the record of an event's task and publishes the
// task, both asynchronously. The record's key is the message id.
func (f *shapedFlow) createTask(js jetstream.JetStream, m jetstream.Msg) ([]copyFuture, error) {
	record, err := f.records.createAsync(js, m.Headers().Get(jetstream.MsgIDHeader))
	if err != nil {
		return nil, err
	}
	task, err := republish(js, m, f.deliveries)
	if err != nil {
		return nil, err
	}
	return append(task, record), nil
}

// startDelivery consumes the tasks with shapedWorkers workers, and
// returns the sink that counts the tasks delivered and acked.
func (f *shapedFlow) startDelivery(ctx context.Context, url string, want int) (*sink, error) {
	js, err := f.connect()
	if err != nil {
		return nil, err
	}
	cons, err := f.consumer(ctx, js, f.name+"_DELIVERIES")
	if err != nil {
		return nil, err
	}

	transport := &http.Transport{MaxIdleConnsPerHost: shapedWorkers, MaxConnsPerHost: shapedWorkers}
	client := &http.Client{Transport: transport, Timeout: 10 * time.Second}
	done := newSink(want)
	tasks := make(chan jetstream.Msg, shapedWorkers)
	stopping := make(chan struct{})
	workCtx, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	var workers sync.WaitGroup
	for range shapedWorkers {
		workers.Go(func() {
			for m := range tasks {
				if f.deliver(workCtx, client, url, m) {
					done.add()
				}
			}
		})
	}

	cc, err := cons.Consume(func(m jetstream.Msg) {
		select {
		case tasks <- m:
		case <-stopping:
			_ = m.Nak()
		}
	}, shapedPullOptions()...)
	if err != nil {
		err = fmt.Errorf("consume %s_DELIVERIES: %w", f.name, err)
	}
	f.stops = append(f.stops, func() {
		close(stopping)
		cancelWork()
		if cc != nil {
			stopConsume(cc)
		}
		close(tasks)
		workers.Wait()
		transport.CloseIdleConnections()
	})
	return done, err
}

// deliver reads the task's record, posts the payload, updates the
// record and acks the task, or naks it on the first error. It reports
// whether the task was delivered.
func (f *shapedFlow) deliver(ctx context.Context, client *http.Client, url string, m jetstream.Msg) bool {
	key := m.Headers().Get(jetstream.MsgIDHeader)
	revision, err := f.records.read(ctx, key)
	if err == nil {
		err = post(ctx, client, url, m.Data())
	}
	if err == nil {
		err = f.records.update(ctx, key, revision)
	}
	if err != nil {
		f.setErr(err)
		_ = m.Nak()
		return false
	}
	_ = m.Ack()
	return true
}

// post sends body to url and fails unless the response is 200.
func post(ctx context.Context, client *http.Client, url string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/cloudevents+json")
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("post task: %w", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("post task: endpoint responded %s, want 200 OK", resp.Status)
	}
	return nil
}

// recordBucket stores one record per task, created pending beside the
// task and updated once the task is delivered. The create is
// asynchronous, so a worker may read the record before it is stored.
type recordBucket struct {
	kv jetstream.KeyValue
	// updateRetries counts updates that met another revision than the
	// one read, because the create was stored after the read.
	updateRetries atomic.Int64
	// lateCreates counts creates that found the record stored already,
	// because the update was stored first.
	lateCreates atomic.Int64
}

// createAsync publishes the pending record of key on the condition that
// the key has no value yet, as records.Store.CreateAsync does. A record
// stored already counts as created, because only the update can have
// stored it.
func (b *recordBucket) createAsync(js jetstream.JetStream, key string) (copyFuture, error) {
	msg := nats.NewMsg("$KV." + b.kv.Bucket() + "." + key)
	msg.Data = recordPending
	msg.Header.Set(jetstream.ExpectedLastSubjSeqHeader, "0")
	future, err := js.PublishMsgAsync(msg, jetstream.WithStallWait(stallWait))
	if err != nil {
		return copyFuture{}, fmt.Errorf("create record %s: %w", key, err)
	}
	failed := func(err error) bool {
		if records.CreateFailed(err) {
			return true
		}
		b.lateCreates.Add(1)
		return false
	}
	return copyFuture{PubAckFuture: future, failed: failed}, nil
}

// read returns the revision of key's record, or 0 when no record is
// stored yet.
func (b *recordBucket) read(ctx context.Context, key string) (uint64, error) {
	entry, err := b.kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read record %s: %w", key, err)
	}
	return entry.Revision(), nil
}

// update writes the delivered record of key on the condition that its
// revision is still the one read, 0 meaning no record. When JetStream
// rejects the write with "wrong last sequence", as when the create was
// stored after the read, it reads the record again and retries.
func (b *recordBucket) update(ctx context.Context, key string, revision uint64) error {
	for range shapedMaxUpdateTries {
		_, err := b.kv.Update(ctx, key, recordDelivered, revision)
		if err == nil {
			return nil
		}
		if !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			return fmt.Errorf("update record %s: %w", key, err)
		}
		b.updateRetries.Add(1)
		if revision, err = b.read(ctx, key); err != nil {
			return err
		}
	}
	return fmt.Errorf("update record %s: %d tries met another revision", key, shapedMaxUpdateTries)
}
