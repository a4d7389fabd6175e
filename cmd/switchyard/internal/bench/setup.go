package bench

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
	"google.golang.org/protobuf/types/known/durationpb"

	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

// maxRateLimit is the highest invocation rate limit that config accepts
// for a destination, so the limit never caps a benchmark.
const maxRateLimit = 10000

// connectionName is the connection every benchmark destination uses:
// an API key header, on the private network so that 127.0.0.1 is
// allowed.
const connectionName = "bench"

// createWorkers is how many rules are created at once.
const createWorkers = 8

// probeDestination receives the probe events of every bus.
const probeDestination = "probe"

// probeInterval is how long waitLoaded waits for one probe event
// before it publishes the next.
const probeInterval = 250 * time.Millisecond

// readyKey is the data.key of the probe events that tell when the rule
// engine has loaded a bus's rules.
const readyKey = "ready"

func (e *env) createConnection(ctx context.Context) error {
	_, err := e.config.CreateConnection(ctx, &v1.CreateConnectionRequest{
		Connection: &v1.Connection{
			Name:    connectionName,
			Network: v1.Network_NETWORK_PRIVATE,
			Authorization: &v1.Connection_ApiKey{ApiKey: &v1.ApiKeyAuth{
				HeaderName: "X-Bench-Key", Value: randomHex(8),
			}},
		},
	})
	if err != nil {
		return fmt.Errorf("create connection %s: %w", connectionName, err)
	}
	return nil
}

// setUp creates the connection and the probe destination, whose
// endpoint the env keeps until it closes.
func (e *env) setUp(ctx context.Context) error {
	if err := e.createConnection(ctx); err != nil {
		return err
	}
	probe, err := startEndpoint()
	if err != nil {
		return err
	}
	e.onClose(probe.close)
	e.probe = probe
	return e.createDestination(ctx, probeDestination, probe.url)
}

func (e *env) createBus(ctx context.Context, bus string) error {
	_, err := e.config.CreateBus(ctx, &v1.CreateBusRequest{Bus: &v1.Bus{Name: bus}})
	if err != nil {
		return fmt.Errorf("create bus %s: %w", bus, err)
	}
	return nil
}

func (e *env) createDestination(ctx context.Context, name, url string) error {
	_, err := e.config.CreateApiDestination(ctx, &v1.CreateApiDestinationRequest{
		ApiDestination: &v1.ApiDestination{
			Name:                         name,
			Url:                          url,
			Method:                       "POST",
			Connection:                   connectionName,
			InvocationRateLimitPerSecond: maxRateLimit,
		},
	})
	if err != nil {
		return fmt.Errorf("create destination %s: %w", name, err)
	}
	return nil
}

// ruleSet describes the rules of one benchmark bus: rule i matches the
// events whose data.key is ruleKey(i) and sends them to destination
// i mod len(destinations).
type ruleSet struct {
	bus          string
	rules        int
	destinations []string
	retry        *v1.RetryPolicy
}

func ruleKey(i int) string { return "k" + strconv.Itoa(i) }

// create creates the bus and its rules, then a last rule for the probe
// events: once the rule engine matches that one, it has every rule, since
// it loads a bus's rules in one listing.
func (rs ruleSet) create(ctx context.Context, e *env) error {
	if err := e.createBus(ctx, rs.bus); err != nil {
		return err
	}

	var next atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	for range createWorkers {
		g.Go(func() error {
			for i := int(next.Add(1)) - 1; i < rs.rules; i = int(next.Add(1)) - 1 {
				if err := rs.createRule(gctx, e, "r"+strconv.Itoa(i), ruleKey(i), i); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	return rs.createProbeRule(ctx, e)
}

func (rs ruleSet) createRule(ctx context.Context, e *env, name, key string, i int) error {
	return rs.createRuleTo(ctx, e, name, key, rs.destinations[i%len(rs.destinations)])
}

func (rs ruleSet) createProbeRule(ctx context.Context, e *env) error {
	return rs.createRuleTo(ctx, e, "ready", readyKey, probeDestination)
}

func (rs ruleSet) createRuleTo(ctx context.Context, e *env, name, key, dest string) error {
	_, err := e.config.CreateRule(ctx, &v1.CreateRuleRequest{Rule: &v1.Rule{
		Bus:          rs.bus,
		Name:         name,
		EventPattern: eventKeyPattern(key),
		State:        v1.RuleState_RULE_STATE_ENABLED,
		Targets:      []*v1.Target{{Id: "t", ApiDestination: dest, RetryPolicy: rs.retry}},
	}})
	if err != nil {
		return fmt.Errorf("create rule %s on bus %s: %w", name, rs.bus, err)
	}
	return nil
}

// waitLoaded publishes a probe event every probeInterval until the probe
// endpoint receives one for this bus.
func (rs ruleSet) waitLoaded(ctx context.Context, e *env) error {
	want := e.probe.ok.Load() + 1
	for n := 0; ; n++ {
		id := fmt.Sprintf("%s-ready-%d", rs.bus, n)
		if _, err := e.js.Publish(ctx, e.topology.IngestSubject(rs.bus), newEvent(id, readyKey)); err != nil {
			return fmt.Errorf("publish probe event: %w", err)
		}

		wait, cancel := context.WithTimeout(ctx, probeInterval)
		err := e.probe.waitOK(wait, int(want))
		cancel()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("rules of bus %s not loaded: %w", rs.bus, ctx.Err())
		}
	}
}

// shortRetryPolicy returns a policy of few attempts and short backoff, so
// the isolation phase ends within seconds.
func shortRetryPolicy() *v1.RetryPolicy {
	attempts := int32(3)
	return &v1.RetryPolicy{
		MaxAttempts: &attempts,
		BackoffBase: durationpb.New(10 * time.Millisecond),
		BackoffMax:  durationpb.New(100 * time.Millisecond),
	}
}
