package ruleengine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/switchyard-dev/switchyard/pkg/streams"
	"github.com/switchyard-dev/switchyard/pkg/telemetry"
	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

// Defaults of the Config fields that zero leaves unset.
const (
	DefaultBatchSize      = 256
	DefaultWorkers        = 4
	DefaultReloadInterval = time.Minute
)

// RuleLister lists the rules of a bus, or of every bus when bus is "".
// It must be safe for concurrent use.
type RuleLister interface {
	ListRules(ctx context.Context, bus string) ([]*v1.Rule, error)
}

// ConfigServiceRules lists rules through the config service's gRPC API.
type ConfigServiceRules struct {
	Client v1.ConfigServiceClient
}

// ListRules calls the ListRules RPC.
func (c ConfigServiceRules) ListRules(ctx context.Context, bus string) ([]*v1.Rule, error) {
	resp, err := c.Client.ListRules(ctx, &v1.ListRulesRequest{Bus: bus})
	if err != nil && bus == "" {
		return nil, fmt.Errorf("list rules: %w", err)
	}
	if err != nil {
		return nil, fmt.Errorf("list rules of bus %q: %w", bus, err)
	}
	return resp.GetRules(), nil
}

// Config configures a Service.
type Config struct {
	// NATS is the connection to JetStream. Required; the service does
	// not close it.
	NATS *nats.Conn
	// Topology names the streams and subjects.
	Topology streams.Topology
	// Logger receives the service's logs. Required.
	Logger *slog.Logger
	// Rules lists the rules to match. Required.
	Rules RuleLister
	// Streams sizes the streams that New creates when they are missing.
	Streams streams.Options
	// Telemetry provides the tracer and the meter. Nil means the
	// OpenTelemetry globals.
	Telemetry *telemetry.Telemetry

	// BatchSize is how many events a worker handles together, with
	// their task publishes awaited at once. Zero means DefaultBatchSize.
	BatchSize int
	// Workers is how many batches are handled at the same time. Zero
	// means DefaultWorkers.
	Workers int
	// ReloadInterval is how often every rule is reloaded, in case a
	// change notice was lost. Zero means DefaultReloadInterval.
	ReloadInterval time.Duration
}

// maxBatchSize bounds BatchSize so that the messages a consumer holds
// unacknowledged stay within maxAckPending.
const maxBatchSize = 1024

// maxWorkers bounds Workers for the same reason as maxBatchSize.
const maxWorkers = 16

func (c Config) withDefaults() Config {
	if c.BatchSize == 0 {
		c.BatchSize = DefaultBatchSize
	}
	if c.Workers == 0 {
		c.Workers = DefaultWorkers
	}
	if c.ReloadInterval == 0 {
		c.ReloadInterval = DefaultReloadInterval
	}
	return c
}

// Validate reports every required field that is missing and every value
// out of range.
func (c Config) Validate() error {
	var errs []error
	if c.NATS == nil {
		errs = append(errs, errors.New("NATS connection is missing"))
	}
	if c.Logger == nil {
		errs = append(errs, errors.New("logger is missing"))
	}
	if c.Rules == nil {
		errs = append(errs, errors.New("rule lister is missing"))
	}
	if c.BatchSize < 0 || c.BatchSize > maxBatchSize {
		errs = append(errs, fmt.Errorf("batch size %d is out of range 0 (the default) to %d", c.BatchSize, maxBatchSize))
	}
	if c.Workers < 0 || c.Workers > maxWorkers {
		errs = append(errs, fmt.Errorf("workers %d is out of range 0 (the default) to %d", c.Workers, maxWorkers))
	}
	if c.ReloadInterval < 0 {
		errs = append(errs, fmt.Errorf("reload interval %v is negative", c.ReloadInterval))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("invalid rule engine config: %w", err)
	}
	return nil
}
