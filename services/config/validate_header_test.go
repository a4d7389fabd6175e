package config

import (
	"context"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

// rejectedHeaders are the header names that no target header or
// connection parameter may set, because net/http sets, drops or refuses
// them.
var rejectedHeaders = []string{
	"Host", "Content-Length", "Transfer-Encoding", "Trailer", "Connection", "Upgrade",
	"TE", "Keep-Alive", "Proxy-Connection",
}

// rejection is one write that the service must reject with
// InvalidArgument on field, with parts in the description.
type rejection struct {
	name  string
	call  func(context.Context) error
	field string
	parts []string
}

func runRejections(t *testing.T, tests []rejection) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call(testContext(t))
			wantCode(t, err, codes.InvalidArgument)
			v := violation(t, status.Convert(err))
			if v.GetField() != tt.field {
				t.Errorf("field = %q, want %q", v.GetField(), tt.field)
			}
			for _, p := range tt.parts {
				if !strings.Contains(v.GetDescription(), p) {
					t.Errorf("description %q does not contain %q", v.GetDescription(), p)
				}
			}
			// The description names the concept, never the field path.
			if strings.Contains(v.GetDescription(), tt.field) {
				t.Errorf("description %q contains the field path %q", v.GetDescription(), tt.field)
			}
		})
	}
}

func headerParameter(name, value string) *v1.Parameter {
	return &v1.Parameter{Location: v1.ParameterLocation_PARAMETER_LOCATION_HEADER, Key: name, Value: value}
}

func TestTargetHeaderRejected(t *testing.T) {
	h := startService(t)
	h.seed(t)
	withHeaders := func(headers map[string]string) func(context.Context) error {
		return func(ctx context.Context) error {
			r := rule("default", "r2", &v1.Target{
				ApiDestination: "dest", PathValues: []string{"job"}, Headers: headers,
			})
			_, err := h.api.CreateRule(ctx, &v1.CreateRuleRequest{Rule: r})
			return err
		}
	}

	var tests []rejection
	for _, name := range rejectedHeaders {
		tests = append(tests, rejection{name, withHeaders(map[string]string{name: "x"}),
			`rule.targets[0].headers["` + name + `"]`, []string{"the target header", name}})
	}
	tests = append(tests,
		rejection{"lower-case host", withHeaders(map[string]string{"host": "x"}),
			`rule.targets[0].headers["host"]`, []string{"put the host in the URL"}},
		rejection{"User-Agent", withHeaders(map[string]string{"User-Agent": "x"}),
			`rule.targets[0].headers["User-Agent"]`, []string{"its own User-Agent"}},
		rejection{"Authorization", withHeaders(map[string]string{"Authorization": "Bearer x"}),
			`rule.targets[0].headers["Authorization"]`,
			[]string{"use the connection's authorization"}},
		rejection{"Content-Type", withHeaders(map[string]string{"content-type": "text/plain"}),
			`rule.targets[0].headers["content-type"]`,
			[]string{"target's content type", "set the content type instead"}},
		rejection{"CRLF in name", withHeaders(map[string]string{"X-A\r\nX-B": "x"}),
			`rule.targets[0].headers["X-A\r\nX-B"]`, []string{"control character", "CR, LF"}},
		rejection{"LF in value", withHeaders(map[string]string{"X-A": "a\nInjected: 1"}),
			`rule.targets[0].headers["X-A"]`, []string{`the target header "X-A"`, "control character"}},
		rejection{"NUL in value", withHeaders(map[string]string{"X-A": "a\x00"}),
			`rule.targets[0].headers["X-A"]`, []string{"control character"}},
	)
	runRejections(t, tests)
}

func TestTargetHeaderAccepted(t *testing.T) {
	h := startService(t)
	h.seed(t)
	r := rule("default", "r2", &v1.Target{
		ApiDestination: "dest", PathValues: []string{"job"},
		Headers: map[string]string{"X-Ref": "$.data.ref", "Accept": "application/json", "X-Tab": "a\tb"},
	})
	_, err := h.api.CreateRule(testContext(t), &v1.CreateRuleRequest{Rule: r})
	mustOK(t, err)
}

func TestConnectionHeaderRejected(t *testing.T) {
	h := startService(t)
	create := func(change func(c *v1.Connection)) func(context.Context) error {
		return func(ctx context.Context) error {
			c := basicConnection("c2", "pw")
			change(c)
			_, err := h.api.CreateConnection(ctx, &v1.CreateConnectionRequest{Connection: c})
			return err
		}
	}
	params := func(p ...*v1.Parameter) func(context.Context) error {
		return create(func(c *v1.Connection) { c.InvocationParameters = p })
	}
	apiKey := func(name, value string, p ...*v1.Parameter) func(context.Context) error {
		return create(func(c *v1.Connection) {
			c.Authorization = &v1.Connection_ApiKey{ApiKey: &v1.ApiKeyAuth{HeaderName: name, Value: value}}
			c.InvocationParameters = p
		})
	}
	oauth := func(method string, auth v1.ClientAuth, p ...*v1.Parameter) func(context.Context) error {
		return create(func(c *v1.Connection) {
			c.Authorization = &v1.Connection_OauthClientCredentials{
				OauthClientCredentials: &v1.OAuthClientCredentials{
					TokenUrl: "https://auth.example/token", TokenMethod: method, ClientId: "id",
					ClientSecret: "cs", ClientAuth: auth, TokenParameters: p,
				},
			}
		})
	}
	const first = "connection.invocation_parameters[0]"
	const token = "connection.oauth_client_credentials.token_parameters[0]"

	var tests []rejection
	for _, name := range rejectedHeaders {
		tests = append(tests,
			rejection{"parameter " + name, params(headerParameter(name, "x")), first + ".key",
				[]string{"the header parameter", name}},
			rejection{"token parameter " + name,
				oauth("POST", v1.ClientAuth_CLIENT_AUTH_BODY, headerParameter(name, "x")),
				token + ".key", []string{"the token request header parameter", name}},
			rejection{"api key header " + name, apiKey(name, "k"), "connection.api_key.header_name",
				[]string{"the API key header", name}})
	}
	tests = append(tests,
		rejection{"parameter User-Agent", params(headerParameter("user-agent", "x")), first + ".key",
			[]string{"its own User-Agent"}},
		rejection{"parameter Authorization with basic", params(headerParameter("Authorization", "x")),
			first + ".key", []string{"basic authorization", "give the value as the authorization"}},
		rejection{"parameter named like the api key header",
			apiKey("X-Key", "k", headerParameter("x-key", "other")), first + ".key",
			[]string{"api_key authorization", "X-Key"}},
		rejection{"parameter CRLF in name", params(headerParameter("X-A\r\nB", "x")), first + ".key",
			[]string{"control character"}},
		rejection{"parameter CR in value", params(headerParameter("X-A", "a\rb")), first + ".value",
			[]string{`the header parameter "X-A"`, "control character", "byte 1"}},
		rejection{"secret parameter LF in value", params(&v1.Parameter{
			Location: v1.ParameterLocation_PARAMETER_LOCATION_HEADER, Key: "X-A",
			Value: "sec\nret", Secret: true,
		}), first + ".value", []string{"control character"}},
		rejection{"api key value with LF", apiKey("X-Key", "k\nX: y"), "connection.api_key.value",
			[]string{"the API key header", "control character"}},
		rejection{"token Authorization with header client auth",
			oauth("POST", v1.ClientAuth_CLIENT_AUTH_HEADER, headerParameter("Authorization", "x")),
			token + ".key", []string{"would be ignored", "client authentication in the body"}},
		rejection{"token Content-Type with POST",
			oauth("POST", v1.ClientAuth_CLIENT_AUTH_BODY, headerParameter("Content-Type", "x")),
			token + ".key", []string{"x-www-form-urlencoded"}},
		rejection{"token Accept with PUT",
			oauth("PUT", v1.ClientAuth_CLIENT_AUTH_BODY, headerParameter("Accept", "x")),
			token + ".key", []string{"application/json"}},
		rejection{"token parameter CR in value",
			oauth("POST", v1.ClientAuth_CLIENT_AUTH_BODY, headerParameter("X-A", "a\rb")),
			token + ".value", []string{"control character"}},
	)
	runRejections(t, tests)

	// The secret value never appears in the error.
	err := params(&v1.Parameter{
		Location: v1.ParameterLocation_PARAMETER_LOCATION_HEADER, Key: "X-A",
		Value: "hunter2\n", Secret: true,
	})(testContext(t))
	if strings.Contains(status.Convert(err).Message(), "hunter2") {
		t.Errorf("message %q shows the secret value", status.Convert(err).Message())
	}
}

func TestConnectionHeaderAccepted(t *testing.T) {
	h := startService(t)
	ctx := testContext(t)
	tests := map[string]*v1.Connection{
		"content type parameter": {
			Name:          "c1",
			Authorization: &v1.Connection_Basic{Basic: &v1.BasicAuth{Username: "u", Password: "p"}},
			InvocationParameters: []*v1.Parameter{
				headerParameter("Content-Type", "application/vnd.api+json"),
			},
		},
		"authorization parameter beside an api key": {
			Name:                 "c2",
			Authorization:        &v1.Connection_ApiKey{ApiKey: &v1.ApiKeyAuth{HeaderName: "X-Key", Value: "k"}},
			InvocationParameters: []*v1.Parameter{headerParameter("Authorization", "Token t")},
		},
		"token Authorization with body client auth": {
			Name: "c3",
			Authorization: &v1.Connection_OauthClientCredentials{
				OauthClientCredentials: &v1.OAuthClientCredentials{
					TokenUrl: "https://auth.example/token", ClientId: "id", ClientSecret: "cs",
					ClientAuth:      v1.ClientAuth_CLIENT_AUTH_BODY,
					TokenParameters: []*v1.Parameter{headerParameter("Authorization", "x")},
				},
			},
		},
		"token Content-Type and Accept with GET": {
			Name: "c4",
			Authorization: &v1.Connection_OauthClientCredentials{
				OauthClientCredentials: &v1.OAuthClientCredentials{
					TokenUrl: "https://auth.example/token", TokenMethod: "GET", ClientId: "id",
					ClientSecret:    "cs",
					TokenParameters: []*v1.Parameter{headerParameter("Content-Type", "x")},
				},
			},
		},
		"api key in User-Agent": {
			Name: "c5",
			Authorization: &v1.Connection_ApiKey{ApiKey: &v1.ApiKeyAuth{
				HeaderName: "User-Agent", Value: "k",
			}},
		},
	}
	for name, c := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := h.api.CreateConnection(ctx, &v1.CreateConnectionRequest{Connection: c})
			mustOK(t, err)
		})
	}
}

func TestURLFragmentRejected(t *testing.T) {
	h := startService(t)
	h.seed(t)
	dest := func(url string) func(context.Context) error {
		return func(ctx context.Context) error {
			d := destination("d2", "conn", url)
			_, err := h.api.CreateApiDestination(ctx, &v1.CreateApiDestinationRequest{ApiDestination: d})
			return err
		}
	}
	tokenURL := func(ctx context.Context) error {
		c := basicConnection("c2", "pw")
		c.Authorization = &v1.Connection_OauthClientCredentials{
			OauthClientCredentials: &v1.OAuthClientCredentials{
				TokenUrl: "https://auth.example/token#x", ClientId: "id", ClientSecret: "cs",
			},
		}
		_, err := h.api.CreateConnection(ctx, &v1.CreateConnectionRequest{Connection: c})
		return err
	}
	runRejections(t, []rejection{
		{"fragment", dest("https://example.com/hook#build"), "api_destination.url",
			[]string{"the destination URL", `the fragment "#build"`, "never send", "%23"}},
		{"empty fragment", dest("https://example.com/hook#"), "api_destination.url",
			[]string{`the fragment "#"`}},
		{"fragment after query", dest("https://example.com/hook?a=1#x"), "api_destination.url",
			[]string{`the fragment "#x"`}},
		{"token URL fragment", tokenURL, "connection.oauth_client_credentials.token_url",
			[]string{"the OAuth token URL", `"#x"`}},
	})

	err := dest("https://example.com/hook?a=%231")(testContext(t))
	mustOK(t, err)
}

func TestDescriptionTooLong(t *testing.T) {
	h := startService(t)
	h.seed(t)
	long := strings.Repeat("é", maxDescriptionLength+1)
	bus := func(ctx context.Context) error {
		_, err := h.api.CreateBus(ctx, &v1.CreateBusRequest{Bus: &v1.Bus{Name: "b2", Description: long}})
		return err
	}
	busUpdate := func(ctx context.Context) error {
		_, err := h.api.UpdateBus(ctx, &v1.UpdateBusRequest{Bus: &v1.Bus{Name: DefaultBus, Description: long}})
		return err
	}
	conn := func(ctx context.Context) error {
		c := basicConnection("c2", "pw")
		c.Description = long
		_, err := h.api.CreateConnection(ctx, &v1.CreateConnectionRequest{Connection: c})
		return err
	}
	dest := func(ctx context.Context) error {
		d := destination("d2", "conn", "https://example.com/hook")
		d.Description = long
		_, err := h.api.CreateApiDestination(ctx, &v1.CreateApiDestinationRequest{ApiDestination: d})
		return err
	}
	newRule := func(ctx context.Context) error {
		r := rule("default", "r2", &v1.Target{ApiDestination: "dest", PathValues: []string{"job"}})
		r.Description = long
		_, err := h.api.CreateRule(ctx, &v1.CreateRuleRequest{Rule: r})
		return err
	}
	parts := []string{"513 characters", "maximum is 512"}
	runRejections(t, []rejection{
		{"bus", bus, "bus.description", append([]string{"the bus"}, parts...)},
		{"bus update", busUpdate, "bus.description", parts},
		{"connection", conn, "connection.description", append([]string{"the connection"}, parts...)},
		{"destination", dest, "api_destination.description",
			append([]string{"the API destination"}, parts...)},
		{"rule", newRule, "rule.description", append([]string{"the rule"}, parts...)},
	})

	atLimit := strings.Repeat("é", maxDescriptionLength)
	_, err := h.api.CreateBus(testContext(t), &v1.CreateBusRequest{Bus: &v1.Bus{Name: "b3", Description: atLimit}})
	mustOK(t, err)
}

func TestTargetHeaderOfAPIKeyRejected(t *testing.T) {
	h := startService(t)
	h.seed(t)
	ctx := testContext(t)
	key := basicConnection("keyed", "")
	key.Authorization = &v1.Connection_ApiKey{ApiKey: &v1.ApiKeyAuth{HeaderName: "X-Api-Key", Value: "k"}}
	_, err := h.api.CreateConnection(ctx, &v1.CreateConnectionRequest{Connection: key})
	mustOK(t, err)
	_, err = h.api.CreateApiDestination(ctx, &v1.CreateApiDestinationRequest{
		ApiDestination: destination("keyed-dest", "keyed", "https://example.com/hook"),
	})
	mustOK(t, err)

	target := &v1.Target{ApiDestination: "keyed-dest", Headers: map[string]string{"x-api-key": "mine"}}
	create := func(ctx context.Context) error {
		_, err := h.api.CreateRule(ctx, &v1.CreateRuleRequest{Rule: rule("default", "r2", target)})
		return err
	}
	update := func(ctx context.Context) error {
		r, err := h.api.GetRule(ctx, &v1.GetRuleRequest{Name: "build"})
		if err != nil {
			return err
		}
		r.Targets = append(r.Targets, target)
		_, err = h.api.UpdateRule(ctx, &v1.UpdateRuleRequest{Rule: r})
		return err
	}
	parts := []string{`"x-api-key"`, `connection "keyed"`, `API destination "keyed-dest"`,
		"X-Api-Key", "the connection's header wins"}
	runRejections(t, []rejection{
		{"create", create, `rule.targets[0].headers["x-api-key"]`, parts},
		{"update", update, `rule.targets[1].headers["x-api-key"]`, parts},
	})

	// Another header on the same destination passes.
	target.Headers = map[string]string{"X-Other": "v"}
	mustOK(t, create(ctx))
}
