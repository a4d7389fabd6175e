package config

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

func TestValidation(t *testing.T) {
	h := startService(t)
	h.seed(t)
	api := h.api

	conn := func(change func(c *v1.Connection)) func(context.Context) error {
		return func(ctx context.Context) error {
			c := basicConnection("c2", "pw")
			change(c)
			_, err := api.CreateConnection(ctx, &v1.CreateConnectionRequest{Connection: c})
			return err
		}
	}
	oauth := func(change func(o *v1.OAuthClientCredentials)) func(context.Context) error {
		return conn(func(c *v1.Connection) {
			o := &v1.OAuthClientCredentials{
				TokenUrl: "https://auth.example/token", TokenMethod: "post",
				ClientId: "id", ClientSecret: "cs",
			}
			change(o)
			c.Authorization = &v1.Connection_OauthClientCredentials{OauthClientCredentials: o}
		})
	}
	dest := func(change func(d *v1.ApiDestination)) func(context.Context) error {
		return func(ctx context.Context) error {
			d := destination("d2", "conn", "https://example.com/hook")
			change(d)
			_, err := api.CreateApiDestination(ctx, &v1.CreateApiDestinationRequest{ApiDestination: d})
			return err
		}
	}
	target := func() *v1.Target {
		return &v1.Target{ApiDestination: "dest", PathValues: []string{"$.data.job"}}
	}
	newRule := func(change func(r *v1.Rule)) func(context.Context) error {
		return func(ctx context.Context) error {
			r := rule("default", "r2", target())
			change(r)
			_, err := api.CreateRule(ctx, &v1.CreateRuleRequest{Rule: r})
			return err
		}
	}
	retry := func(p *v1.RetryPolicy) func(context.Context) error {
		return newRule(func(r *v1.Rule) { r.Targets[0].RetryPolicy = p })
	}
	secs := func(n int) *durationpb.Duration { return durationpb.New(time.Duration(n) * time.Second) }

	tests := []struct {
		name  string
		call  func(context.Context) error
		code  codes.Code
		parts []string
	}{
		// Names.
		{"bus name with dot", func(ctx context.Context) error {
			_, err := api.CreateBus(ctx, &v1.CreateBusRequest{Bus: &v1.Bus{Name: "a.b"}})
			return err
		}, codes.InvalidArgument, []string{"bus.name", `"a.b"`, "letters, digits"}},
		{"bus name missing", func(ctx context.Context) error {
			_, err := api.CreateBus(ctx, &v1.CreateBusRequest{Bus: &v1.Bus{}})
			return err
		}, codes.InvalidArgument, []string{"bus.name", "missing"}},
		{"bus name too long", func(ctx context.Context) error {
			_, err := api.CreateBus(ctx, &v1.CreateBusRequest{Bus: &v1.Bus{Name: strings.Repeat("a", 65)}})
			return err
		}, codes.InvalidArgument, []string{"bus.name", "1 to 64"}},
		{"bus name leading dash", func(ctx context.Context) error {
			_, err := api.CreateBus(ctx, &v1.CreateBusRequest{Bus: &v1.Bus{Name: "-x"}})
			return err
		}, codes.InvalidArgument, []string{`"-x"`}},
		{"object too large", conn(func(c *v1.Connection) {
			for i := range maxParameters {
				c.InvocationParameters = append(c.InvocationParameters, &v1.Parameter{
					Location: v1.ParameterLocation_PARAMETER_LOCATION_QUERY,
					Key:      fmt.Sprintf("p%d", i), Value: strings.Repeat("x", 3000),
				})
			}
		}), codes.InvalidArgument, []string{`connection "c2"`, "bytes encoded", "maximum is 262144"}},
		{"connection name wildcard", conn(func(c *v1.Connection) { c.Name = "a*" }),
			codes.InvalidArgument, []string{"connection.name", `"a*"`}},
		{"destination name space", dest(func(d *v1.ApiDestination) { d.Name = "a b" }),
			codes.InvalidArgument, []string{"api_destination.name", `"a b"`}},
		{"rule name slash", newRule(func(r *v1.Rule) { r.Name = "a/b" }),
			codes.InvalidArgument, []string{"rule.name", `"a/b"`}},
		{"target id dot", newRule(func(r *v1.Rule) { r.Targets[0].Id = "t.1" }),
			codes.InvalidArgument, []string{"rule.targets[0].id", `"t.1"`}},
		{"get with bad name", func(ctx context.Context) error {
			_, err := api.GetConnection(ctx, &v1.GetConnectionRequest{Name: "x>"})
			return err
		}, codes.InvalidArgument, []string{`"x>"`}},

		// Destination URL, method and limits.
		{"url scheme ftp", dest(func(d *v1.ApiDestination) { d.Url = "ftp://example.com/" }),
			codes.InvalidArgument, []string{"api_destination.url", `"ftp"`, "http or https"}},
		{"url no host", dest(func(d *v1.ApiDestination) { d.Url = "https:///path" }),
			codes.InvalidArgument, []string{"api_destination.url", "no host"}},
		{"url port too large", dest(func(d *v1.ApiDestination) { d.Url = "http://127.0.0.1:99999/x" }),
			codes.InvalidArgument, []string{"api_destination.url", "port", "1 to 65535"}},
		{"url unparsable", dest(func(d *v1.ApiDestination) { d.Url = "http://[::1" }),
			codes.InvalidArgument, []string{"api_destination.url", "not a valid URL"}},
		{"url relative", dest(func(d *v1.ApiDestination) { d.Url = "/job/x" }),
			codes.InvalidArgument, []string{"api_destination.url", `"/job/x"`, "not an absolute URL"}},
		{"url missing", dest(func(d *v1.ApiDestination) { d.Url = "" }),
			codes.InvalidArgument, []string{"api_destination.url", "missing"}},
		{"url user info", dest(func(d *v1.ApiDestination) { d.Url = "https://u:hunter2@example.com/" }),
			codes.InvalidArgument, []string{"api_destination.url", "user info", "connection"}},
		{"method TRACE", dest(func(d *v1.ApiDestination) { d.Method = "TRACE" }),
			codes.InvalidArgument, []string{"api_destination.method", `"TRACE"`, "GET, POST"}},
		{"method missing", dest(func(d *v1.ApiDestination) { d.Method = "" }),
			codes.InvalidArgument, []string{"api_destination.method", "missing"}},
		{"timeout too short", dest(func(d *v1.ApiDestination) {
			d.Timeout = durationpb.New(500 * time.Millisecond)
		}), codes.InvalidArgument, []string{"api_destination.timeout", "500ms", "1s to 1m0s"}},
		{"timeout too long", dest(func(d *v1.ApiDestination) { d.Timeout = secs(61) }),
			codes.InvalidArgument, []string{"api_destination.timeout", "1m1s"}},
		{"rate limit too high", dest(func(d *v1.ApiDestination) { d.InvocationRateLimitPerSecond = 10001 }),
			codes.InvalidArgument, []string{"invocation_rate_limit_per_second", "10001", "0 to 10000"}},
		{"rate limit negative", dest(func(d *v1.ApiDestination) { d.InvocationRateLimitPerSecond = -1 }),
			codes.InvalidArgument, []string{"invocation_rate_limit_per_second", "-1"}},
		{"max concurrency too high", dest(func(d *v1.ApiDestination) { d.MaxConcurrency = 1001 }),
			codes.InvalidArgument, []string{"api_destination.max_concurrency", "1001", "0 to 1000"}},
		{"destination connection missing", dest(func(d *v1.ApiDestination) { d.Connection = "ghost" }),
			codes.FailedPrecondition, []string{`connection "ghost" not found; create it first`}},

		// Connection authorization.
		{"no authorization", conn(func(c *v1.Connection) { c.Authorization = nil }),
			codes.InvalidArgument, []string{"connection.authorization", "basic, api_key"}},
		{"basic without username", conn(func(c *v1.Connection) { c.GetBasic().Username = "" }),
			codes.InvalidArgument, []string{"connection.basic.username", "missing"}},
		{"basic username with colon", conn(func(c *v1.Connection) { c.GetBasic().Username = "a:b" }),
			codes.InvalidArgument, []string{"connection.basic.username", `"a:b"`}},
		{"basic without password", conn(func(c *v1.Connection) { c.GetBasic().Password = "" }),
			codes.InvalidArgument, []string{"connection.basic.password", "missing"}},
		{"api key without header", conn(func(c *v1.Connection) {
			c.Authorization = &v1.Connection_ApiKey{ApiKey: &v1.ApiKeyAuth{Value: "k"}}
		}), codes.InvalidArgument, []string{"connection.api_key.header_name", "missing"}},
		{"api key bad header", conn(func(c *v1.Connection) {
			c.Authorization = &v1.Connection_ApiKey{ApiKey: &v1.ApiKeyAuth{HeaderName: "X Key", Value: "k"}}
		}), codes.InvalidArgument, []string{"connection.api_key.header_name", `"X Key"`}},
		{"api key without value", conn(func(c *v1.Connection) {
			c.Authorization = &v1.Connection_ApiKey{ApiKey: &v1.ApiKeyAuth{HeaderName: "X-Key"}}
		}), codes.InvalidArgument, []string{"connection.api_key.value", "missing"}},
		{"oauth token url ftp", oauth(func(o *v1.OAuthClientCredentials) { o.TokenUrl = "ftp://a/" }),
			codes.InvalidArgument, []string{"oauth_client_credentials.token_url", `"ftp"`}},
		{"oauth token url missing", oauth(func(o *v1.OAuthClientCredentials) { o.TokenUrl = "" }),
			codes.InvalidArgument, []string{"oauth_client_credentials.token_url", "missing"}},
		{"oauth method DELETE", oauth(func(o *v1.OAuthClientCredentials) { o.TokenMethod = "DELETE" }),
			codes.InvalidArgument, []string{"token_method", `"DELETE"`, "GET, POST, PUT"}},
		{"oauth without client id", oauth(func(o *v1.OAuthClientCredentials) { o.ClientId = "" }),
			codes.InvalidArgument, []string{"oauth_client_credentials.client_id", "missing"}},
		{"oauth without secret", oauth(func(o *v1.OAuthClientCredentials) { o.ClientSecret = "" }),
			codes.InvalidArgument, []string{"oauth_client_credentials.client_secret", "missing"}},
		{"secret parameter without value", conn(func(c *v1.Connection) {
			c.InvocationParameters = []*v1.Parameter{{
				Location: v1.ParameterLocation_PARAMETER_LOCATION_QUERY, Key: "token", Secret: true,
			}}
		}), codes.InvalidArgument, []string{"invocation_parameters[0].value", `"token"`}},
		{"parameter without location", conn(func(c *v1.Connection) {
			c.InvocationParameters = []*v1.Parameter{{Key: "k", Value: "v"}}
		}), codes.InvalidArgument, []string{"invocation_parameters[0].location", "HEADER, QUERY or BODY"}},
		{"unknown network", conn(func(c *v1.Connection) { c.Network = 9 }),
			codes.InvalidArgument, []string{"connection.network", "9"}},

		// Rules.
		{"rule bus missing", newRule(func(r *v1.Rule) { r.Bus = "ghost" }),
			codes.FailedPrecondition, []string{`bus "ghost" not found; create it first`}},
		{"rule destination missing", newRule(func(r *v1.Rule) { r.Targets[0].ApiDestination = "ghost" }),
			codes.FailedPrecondition, []string{`API destination "ghost" not found; create it first`}},
		{"event pattern invalid", newRule(func(r *v1.Rule) { r.EventPattern = `{"source": "ci"}` }),
			codes.InvalidArgument, []string{"event_pattern: the event pattern is invalid: source"}},
		{"event pattern unknown operator", newRule(func(r *v1.Rule) {
			r.EventPattern = `{"data": {"ref": [{"prefx": "x"}]}}`
		}), codes.InvalidArgument, []string{"event_pattern: the event pattern is invalid: data.ref[0]", "prefx"}},
		{"event pattern missing", newRule(func(r *v1.Rule) { r.EventPattern = "" }),
			codes.InvalidArgument, []string{"rule.event_pattern", "missing"}},
		{"no targets", newRule(func(r *v1.Rule) { r.Targets = nil }),
			codes.InvalidArgument, []string{"rule.targets", "0 targets", "1 to 5"}},
		{"six targets", newRule(func(r *v1.Rule) {
			r.Targets = nil
			for _, id := range []string{"a", "b", "c", "d", "e", "f"} {
				tg := target()
				tg.Id = id
				r.Targets = append(r.Targets, tg)
			}
		}), codes.InvalidArgument, []string{"rule.targets", "6 targets"}},
		{"duplicate target ids", newRule(func(r *v1.Rule) { r.Targets = append(r.Targets, target()) }),
			codes.InvalidArgument, []string{"rule.targets[1].id", `"dest"`, "target 0"}},
		{"too few path values", newRule(func(r *v1.Rule) { r.Targets[0].PathValues = nil }),
			codes.InvalidArgument, []string{"rule.targets[0].path_values", "0 path values", `1 "*"`}},
		{"too many path values", newRule(func(r *v1.Rule) {
			r.Targets[0].PathValues = []string{"a", "b"}
		}), codes.InvalidArgument, []string{"rule.targets[0].path_values", "2 path values"}},
		{"dot segment path value", newRule(func(r *v1.Rule) { r.Targets[0].PathValues = []string{".."} }),
			codes.InvalidArgument, []string{"rule.targets[0].path_values[0]: " +
				`path value 1 (constant "..") is "..", a dot segment`}},
		{"invalid path value path", newRule(func(r *v1.Rule) { r.Targets[0].PathValues = []string{"$.a..b"} }),
			codes.InvalidArgument, []string{"rule.targets[0].path_values[0]: path value 1 ($.a..b): " +
				"invalid JSON path"}},
		{"unknown rule state", newRule(func(r *v1.Rule) { r.State = 7 }),
			codes.InvalidArgument, []string{"rule.state", "7"}},
		{"bad header name", newRule(func(r *v1.Rule) { r.Targets[0].Headers = map[string]string{"a b": "x"} }),
			codes.InvalidArgument, []string{"rule.targets[0].headers", `"a b"`}},

		// Retry policies.
		{"max attempts too high", retry(&v1.RetryPolicy{MaxAttempts: proto.Int32(186)}),
			codes.InvalidArgument, []string{"retry_policy.max_attempts", "186", "0 to 185"}},
		{"max attempts negative", retry(&v1.RetryPolicy{MaxAttempts: proto.Int32(-1)}),
			codes.InvalidArgument, []string{"retry_policy.max_attempts", "-1"}},
		{"max event age too short", retry(&v1.RetryPolicy{MaxEventAge: secs(59)}),
			codes.InvalidArgument, []string{"retry_policy.max_event_age", "59s", "1m0s to 24h0m0s"}},
		{"max event age too long", retry(&v1.RetryPolicy{MaxEventAge: secs(86401)}),
			codes.InvalidArgument, []string{"retry_policy.max_event_age", "24h0m1s"}},
		{"backoff base zero", retry(&v1.RetryPolicy{BackoffBase: secs(0)}),
			codes.InvalidArgument, []string{"retry_policy.backoff_base", "0s", "more than 0s"}},
		{"backoff base over max", retry(&v1.RetryPolicy{BackoffBase: secs(10), BackoffMax: secs(5)}),
			codes.InvalidArgument, []string{"retry_policy.backoff_base", "10s", "backoff maximum 5s"}},
		{"backoff base over default max", retry(&v1.RetryPolicy{BackoffBase: secs(600)}),
			codes.InvalidArgument, []string{"retry_policy.backoff_base", "10m0s", "default backoff maximum 5m0s"}},

		// Other RPCs.
		{"test pattern invalid pattern", func(ctx context.Context) error {
			_, err := api.TestEventPattern(ctx, &v1.TestEventPatternRequest{
				EventPattern: `{"a": 1}`, Event: `{}`,
			})
			return err
		}, codes.InvalidArgument, []string{"event_pattern: the event pattern is invalid: a"}},
		{"test pattern invalid event", func(ctx context.Context) error {
			_, err := api.TestEventPattern(ctx, &v1.TestEventPatternRequest{
				EventPattern: `{"a": [1]}`, Event: `{"a": `,
			})
			return err
		}, codes.InvalidArgument, []string{"event: "}},
		{"deliveries without event id", func(ctx context.Context) error {
			_, err := api.GetDeliveries(ctx, &v1.GetDeliveriesRequest{})
			return err
		}, codes.InvalidArgument, []string{"event_id", "missing"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call(testContext(t))
			wantCode(t, err, tt.code, tt.parts...)
		})
	}
}

func TestValidRetryPolicyAccepted(t *testing.T) {
	h := startService(t)
	h.seed(t)
	r := rule("default", "bounded", &v1.Target{
		ApiDestination: "dest", PathValues: []string{"job"},
		RetryPolicy: &v1.RetryPolicy{
			MaxAttempts: proto.Int32(0),
			MaxEventAge: durationpb.New(time.Hour),
			BackoffBase: durationpb.New(time.Second),
			BackoffMax:  durationpb.New(time.Minute),
		},
	})
	_, err := h.api.CreateRule(testContext(t), &v1.CreateRuleRequest{Rule: r})
	mustOK(t, err)
}
