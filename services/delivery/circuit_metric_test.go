package delivery

import (
	"context"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

func TestCircuitStateGauge(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = provider.Shutdown(context.Background()) })

	b := newBreakers(2, time.Minute, time.Minute, time.Now)
	for range 2 {
		b.record("down", signalFailure, "HTTP 503")
	}
	b.record("up", signalSuccess, "")
	o := &observer{meter: provider.Meter("test")}
	if err := o.observeCircuits(b); err != nil {
		t.Fatal(err)
	}

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	points := gaugePoints(t, rm, "switchyard.delivery.circuit.state")
	if len(points) != 1 {
		t.Fatalf("got %d series, want 1 for the open destination: %v", len(points), points)
	}
	p := points[0]
	if dest, _ := p.Attributes.Value(attribute.Key("destination")); dest.AsString() != "down" {
		t.Errorf("destination = %q, want down", dest.AsString())
	}
	if state, _ := p.Attributes.Value(attribute.Key("state")); state.AsString() != "OPEN" {
		t.Errorf("state = %q, want OPEN", state.AsString())
	}
	if p.Value != 1 {
		t.Errorf("value = %d, want 1", p.Value)
	}
}

func gaugePoints(t *testing.T, rm metricdata.ResourceMetrics, name string) []metricdata.DataPoint[int64] {
	t.Helper()
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != name {
				continue
			}
			g, ok := m.Data.(metricdata.Gauge[int64])
			if !ok {
				t.Fatalf("%s is %T, want an int64 gauge", name, m.Data)
			}
			return g.DataPoints
		}
	}
	return nil
}
