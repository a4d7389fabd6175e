package bench

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchyard-dev/switchyard/pkg/natstest"
)

func TestShapedFlowDeliversEveryEvent(t *testing.T) {
	ns := natstest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ep, err := startEndpoint()
	if err != nil {
		t.Fatal(err)
	}
	defer ep.close()
	flow, err := newShapedFlow(ctx, ns.URL)
	if err != nil {
		t.Fatal(err)
	}

	const events = 300
	elapsed, err := flow.run(ctx, ep.url, events)
	if err != nil {
		flow.close()
		t.Fatalf("run: %v", err)
	}
	if elapsed <= 0 {
		t.Errorf("elapsed = %v, want above 0", elapsed)
	}
	if got := ep.ok.Load(); got != events {
		t.Errorf("endpoint received %d events, want %d", got, events)
	}
	checkRecordsDelivered(t, ctx, flow.records.kv, events)
	t.Logf("%d update retries, %d late creates",
		flow.records.updateRetries.Load(), flow.records.lateCreates.Load())

	flow.close()
	checkStreamsDeleted(t, ns.URL, flow.name)
}

// checkRecordsDelivered checks that the bucket holds want records, each
// updated to delivered.
func checkRecordsDelivered(t *testing.T, ctx context.Context, kv jetstream.KeyValue, want int) {
	t.Helper()
	keys, err := kv.ListKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var count int
	for key := range keys.Keys() {
		count++
		entry, err := kv.Get(ctx, key)
		if err != nil {
			t.Errorf("record %s: %v", key, err)
			continue
		}
		if !bytes.Equal(entry.Value(), recordDelivered) {
			t.Errorf("record %s = %s, want %s", key, entry.Value(), recordDelivered)
		}
	}
	if count != want {
		t.Errorf("bucket holds %d records, want %d", count, want)
	}
}

// checkStreamsDeleted checks that no stream named after the flow is left
// on the server, the records bucket's included.
func checkStreamsDeleted(t *testing.T, url, name string) {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	for left := range js.StreamNames(context.Background()).Name() {
		if strings.Contains(strings.ToUpper(left), name) {
			t.Errorf("stream %s is left after close", left)
		}
	}
}

// TestShapedRecordCreateRacesUpdate runs both orders in which the
// asynchronous create of a record and the worker's update can be
// stored, and checks that the record always ends delivered.
func TestShapedRecordCreateRacesUpdate(t *testing.T) {
	ns := natstest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	flow, err := newShapedFlow(ctx, ns.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer flow.close()
	js, err := flow.connect()
	if err != nil {
		t.Fatal(err)
	}
	b := flow.records

	t.Run("create stored after the read", func(t *testing.T) {
		const key = "created-after-read"
		revision, err := b.read(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		if revision != 0 {
			t.Fatalf("revision before the create = %d, want 0", revision)
		}
		create, err := b.createAsync(js, key)
		if err != nil {
			t.Fatal(err)
		}
		created := waitCopy(t, ctx, create)
		if created == nil {
			t.Fatal("the create of a new record counted as late")
		}

		retries := b.updateRetries.Load()
		if err := b.update(ctx, key, revision); err != nil {
			t.Fatalf("update: %v", err)
		}
		if got := b.updateRetries.Load() - retries; got != 1 {
			t.Errorf("update retried %d times, want 1", got)
		}
		if got := checkRecord(t, ctx, b.kv, key); got <= created.Sequence {
			t.Errorf("record revision = %d, want above the create's %d", got, created.Sequence)
		}
	})

	t.Run("update stored before the create", func(t *testing.T) {
		const key = "updated-before-create"
		if err := b.update(ctx, key, 0); err != nil {
			t.Fatalf("update: %v", err)
		}
		late := b.lateCreates.Load()
		create, err := b.createAsync(js, key)
		if err != nil {
			t.Fatal(err)
		}
		if ack := waitCopy(t, ctx, create); ack != nil {
			t.Errorf("the create after the update was stored at sequence %d, want rejected", ack.Sequence)
		}
		if got := b.lateCreates.Load() - late; got != 1 {
			t.Errorf("late creates = %d, want 1", got)
		}
		checkRecord(t, ctx, b.kv, key)
	})
}

// waitCopy waits for the future of a copy and returns its ack, or nil
// when the publish failed with an error that counts as stored. It fails
// the test on any other error.
func waitCopy(t *testing.T, ctx context.Context, c copyFuture) *jetstream.PubAck {
	t.Helper()
	select {
	case ack := <-c.Ok():
		return ack
	case err := <-c.Err():
		if c.failed == nil || c.failed(err) {
			t.Fatalf("copy not stored: %v", err)
		}
		return nil
	case <-ctx.Done():
		t.Fatal(ctx.Err())
		return nil
	}
}

// checkRecord checks that key's record is delivered and returns its
// revision.
func checkRecord(t *testing.T, ctx context.Context, kv jetstream.KeyValue, key string) uint64 {
	t.Helper()
	entry, err := kv.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(entry.Value(), recordDelivered) {
		t.Errorf("record %s = %s, want %s", key, entry.Value(), recordDelivered)
	}
	return entry.Revision()
}
