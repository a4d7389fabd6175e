package main

import (
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

func TestStripIndexes(t *testing.T) {
	tests := map[string]string{
		"api_destination.url":                         "api_destination.url",
		"rule.targets[0].headers":                     "rule.targets.headers",
		`rule.targets[1].headers["X-Ref"]`:            "rule.targets.headers",
		`rule.targets[0].headers["a]b"].x`:            "rule.targets.headers.x",
		`rule.targets[0].input.template.paths["ref"]`: "rule.targets.input.template.paths",
		"connection.invocation_parameters[12].key":    "connection.invocation_parameters.key",
		"ids[3]": "ids",
	}
	for path, want := range tests {
		if got := stripIndexes(path); got != want {
			t.Errorf("stripIndexes(%q) = %q, want %q", path, got, want)
		}
	}
}

func TestFieldFlagOfCommand(t *testing.T) {
	c := &v1.Connection{
		InvocationParameters: []*v1.Parameter{
			{Location: v1.ParameterLocation_PARAMETER_LOCATION_QUERY, Key: "q"},
			{Location: v1.ParameterLocation_PARAMETER_LOCATION_HEADER, Key: "X-S", Secret: true},
		},
		Authorization: &v1.Connection_OauthClientCredentials{
			OauthClientCredentials: &v1.OAuthClientCredentials{TokenParameters: []*v1.Parameter{
				{Location: v1.ParameterLocation_PARAMETER_LOCATION_HEADER, Key: "X-T"},
				{Location: v1.ParameterLocation_PARAMETER_LOCATION_BODY, Key: "s", Secret: true},
			}},
		},
	}
	tests := []struct {
		flags fieldFlags
		path  string
		want  string
	}{
		{destinationFieldFlag, "api_destination.url", "--url"},
		{destinationFieldFlag, "api_destination.invocation_rate_limit_per_second", "--rate-limit"},
		{destinationFieldFlag, "api_destination.name", "NAME"},
		{destinationFieldFlag, "api_destination", ""},
		{busFieldFlag, "bus.description", "--description"},
		{connectionFieldFlag(c), "connection.invocation_parameters[0].key", "--query"},
		{connectionFieldFlag(c), "connection.invocation_parameters[1].value", "--header-env"},
		{connectionFieldFlag(c), "connection.invocation_parameters[7].key", "--header"},
		{connectionFieldFlag(c), "connection.oauth_client_credentials.token_parameters[0].key",
			"--token-param"},
		{connectionFieldFlag(c), "connection.oauth_client_credentials.token_parameters[1].value",
			"--token-param-env"},
		{connectionFieldFlag(c), "connection.api_key.header_name", "--api-key-name"},
		{ruleFieldFlag, `rule.targets[0].headers["Host"]`, "--target-header"},
		{ruleFieldFlag, `rule.targets[2].input.template.paths["ref"]`, "--template-var"},
		{ruleFieldFlag, "rule.targets[0].input.template", "--input-template"},
		{ruleFieldFlag, `rule.targets[0].input.form.json_fields["json"].paths["a"]`, "--template-var"},
		{ruleFieldFlag, "rule.targets[0].retry_policy.backoff_base", "--backoff-base"},
		{ruleFieldFlag, "rule.targets[1].id", "--target"},
		{ruleFieldFlag, "rule", ""},
		{ruleFieldFlag, "rule.targets[0].input.constant", ""},
		{nil, "name", "NAME"},
		{nil, "end_time", "--to"},
		{nil, "unknown.field", "unknown.field"},
	}
	for _, tt := range tests {
		if got := flagOf(tt.flags, tt.path); got != tt.want {
			t.Errorf("flag of %q = %q, want %q", tt.path, got, tt.want)
		}
	}
}

func TestInvalidArgumentNamesFlag(t *testing.T) {
	st, err := status.New(codes.InvalidArgument, "api_destination.url: bad").WithDetails(
		&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{
			{Field: "api_destination.url", Description: "the destination URL is bad"},
		}})
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeConfig{err: st.Err()}
	c := newCLI(t, f)

	r := c.run("destination", "create", "d", "--url", "http://127.0.0.1:9/", "--connection", "c")
	r.wantCode(t, exitUsage)
	if want := "error: invalid --url: the destination URL is bad\n"; r.stderr != want {
		t.Errorf("stderr = %q, want %q", r.stderr, want)
	}
}
