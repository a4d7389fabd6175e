package oauth

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// meterName names the meter after this package, as the other
// Switchyard packages do.
const meterName = "github.com/switchyard-dev/switchyard/pkg/oauth"

// metrics counts cache lookups and token requests.
type metrics struct {
	lookups metric.Int64Counter
	fetches metric.Int64Counter
}

var (
	hitAttrs     = metric.WithAttributes(attribute.String("result", "hit"))
	missAttrs    = metric.WithAttributes(attribute.String("result", "miss"))
	successAttrs = metric.WithAttributes(attribute.String("result", "success"))
	failureAttrs = metric.WithAttributes(attribute.String("result", "failure"))
)

func newMetrics(provider metric.MeterProvider) (metrics, error) {
	meter := provider.Meter(meterName)
	lookups, err := meter.Int64Counter("switchyard.oauth.cache.lookups",
		metric.WithDescription("OAuth token cache lookups, by result (hit or miss)."))
	if err != nil {
		return metrics{}, err
	}
	fetches, err := meter.Int64Counter("switchyard.oauth.token.requests",
		metric.WithDescription("Requests to OAuth token endpoints, by result (success or failure)."))
	if err != nil {
		return metrics{}, err
	}
	return metrics{lookups: lookups, fetches: fetches}, nil
}

func (m metrics) lookup(ctx context.Context, hit bool) {
	if hit {
		m.lookups.Add(ctx, 1, hitAttrs)
	} else {
		m.lookups.Add(ctx, 1, missAttrs)
	}
}

func (m metrics) fetch(ctx context.Context, err error) {
	if err == nil {
		m.fetches.Add(ctx, 1, successAttrs)
	} else {
		m.fetches.Add(ctx, 1, failureAttrs)
	}
}
