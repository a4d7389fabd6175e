package streams_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchyard-dev/switchyard/pkg/natstest"
	"github.com/switchyard-dev/switchyard/pkg/streams"
)

func TestDefaultReplicas(t *testing.T) {
	tests := []struct {
		env     string
		want    int
		wantErr string
	}{
		{"", 1, ""},
		{"3", 3, ""},
		{"0", 0, `invalid SWITCHYARD_REPLICAS "0"`},
		{"6", 0, "1 to 5"},
		{"three", 0, `"three"`},
	}
	for _, tt := range tests {
		got, err := streams.DefaultReplicas(func(string) string { return tt.env })
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("DefaultReplicas(%q) error = %v, want one containing %q", tt.env, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("DefaultReplicas(%q) = %d, %v; want %d", tt.env, got, err, tt.want)
		}
	}
}

func TestCheckReplicasNamesFlag(t *testing.T) {
	for _, n := range []int{0, -1, 6} {
		err := streams.CheckReplicas(n)
		if err == nil || !strings.Contains(err.Error(), "--replicas") {
			t.Errorf("CheckReplicas(%d) = %v, want an error naming --replicas", n, err)
		}
	}
	if err := streams.CheckReplicas(3); err != nil {
		t.Errorf("CheckReplicas(3) = %v", err)
	}
}

func TestEnsureReplicasOnOneServer(t *testing.T) {
	srv := natstest.Start(t)
	js, err := jetstream.New(srv.Connect(t))
	if err != nil {
		t.Fatal(err)
	}
	err = streams.Ensure(t.Context(), js, srv.Topology, streams.Options{Owner: true, Replicas: 3})
	if err == nil {
		t.Fatal("Ensure with 3 replicas on one server = nil error, want one")
	}
	for _, want := range []string{"not clustered", "--replicas", streams.EnvReplicas} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error = %q, want it to contain %q", err, want)
		}
	}
}

func TestEnsureReplicasOnCluster(t *testing.T) {
	c := natstest.StartCluster(t, 3)
	js, err := jetstream.New(c.Connect(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()

	// A service other than config may start first and create the
	// streams with one replica; the owner then scales them.
	if err := streams.Ensure(ctx, js, c.Topology, streams.Options{}); err != nil {
		t.Fatalf("Ensure with defaults: %v", err)
	}
	durable, err := js.CreateOrUpdateConsumer(ctx, c.Topology.Stream(streams.Events),
		jetstream.ConsumerConfig{Durable: "ruleengine", AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		t.Fatal(err)
	}
	if err := streams.Ensure(ctx, js, c.Topology, streams.Options{Owner: true, Replicas: 3}); err != nil {
		t.Fatalf("Ensure as owner with 3 replicas: %v", err)
	}

	for _, name := range []string{
		c.Topology.Stream(streams.Ingress),
		c.Topology.Stream(streams.Events),
		c.Topology.Stream(streams.Deliveries),
		"KV_" + c.Topology.Bucket(streams.BucketDeliveries),
		"KV_" + c.Topology.Bucket(streams.BucketRules),
	} {
		s, err := js.Stream(ctx, name)
		if err != nil {
			t.Fatalf("stream %s: %v", name, err)
		}
		if got := s.CachedInfo().Config.Replicas; got != 3 {
			t.Errorf("stream %s has %d replicas, want 3", name, got)
		}
	}

	// The services' durable consumers were created with the stream's
	// replicas at the time; the server scales them with the stream.
	waitConsumerReplicas(t, ctx, durable, 3)

	err = streams.Ensure(ctx, js, c.Topology, streams.Options{Owner: true, Replicas: 5})
	if err == nil {
		t.Fatal("Ensure with 5 replicas on 3 servers = nil error, want one")
	}
	if !strings.Contains(err.Error(), "lower --replicas") {
		t.Errorf("error = %q, want it to name the fix", err)
	}
}

// waitConsumerReplicas polls until the consumer has want replicas in
// the cluster, which the server reaches a moment after scaling.
func waitConsumerReplicas(t *testing.T, ctx context.Context, c jetstream.Consumer, want int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		info, err := c.Info(ctx)
		got := -1
		if err == nil && info.Cluster != nil {
			got = len(info.Cluster.Replicas) + 1
		}
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("consumer %s has %d replicas after 20s, want %d (error %v)",
				c.CachedInfo().Name, got, want, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
