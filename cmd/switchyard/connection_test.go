package main

import (
	"strings"
	"testing"

	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

const testSecret = "s3cret-token-value"

func TestConnectionCreateBasicFromEnv(t *testing.T) {
	f := &fakeConfig{}
	c := newCLI(t, f)
	c.env = map[string]string{"JENKINS_TOKEN": testSecret}

	r := c.run("connection", "create", "jenkins", "--auth", "basic",
		"--username", "ci", "--password-env", "JENKINS_TOKEN", "--network", "private")
	r.wantCode(t, exitOK)

	req := last[*v1.CreateConnectionRequest](t, f).GetConnection()
	if got := req.GetBasic().GetUsername(); got != "ci" {
		t.Errorf("username = %q, want ci", got)
	}
	if got := req.GetBasic().GetPassword(); got != testSecret {
		t.Errorf("password = %q, want the value of JENKINS_TOKEN", got)
	}
	if got := req.GetNetwork(); got != v1.Network_NETWORK_PRIVATE {
		t.Errorf("network = %v, want private", got)
	}

	if strings.Contains(r.stdout+r.stderr, testSecret) {
		t.Errorf("output contains the secret:\n%s%s", r.stdout, r.stderr)
	}
	for _, want := range []string{"auth:", "basic", "username:", "password:", "(set)", "private", "authorized"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout = %q, want %q", r.stdout, want)
		}
	}
}

func TestConnectionJSONHidesSecrets(t *testing.T) {
	f := &fakeConfig{}
	c := newCLI(t, f)
	c.env = map[string]string{"TOKEN": testSecret, "HEADER_SECRET": testSecret + "-h"}

	r := c.run("-o", "json", "connection", "create", "jenkins", "--auth", "basic",
		"--username", "ci", "--password-env", "TOKEN", "--header-env", "X-Secret=HEADER_SECRET")
	r.wantCode(t, exitOK)

	if strings.Contains(r.stdout, testSecret) {
		t.Errorf("JSON output contains a secret:\n%s", r.stdout)
	}
	if !strings.Contains(r.stdout, `"password_set": true`) {
		t.Errorf("stdout = %s, want password_set true", r.stdout)
	}
}

func TestConnectionCreatePasswordStdin(t *testing.T) {
	f := &fakeConfig{}
	c := newCLI(t, f)
	c.stdin = testSecret + "\n"

	r := c.run("connection", "create", "jenkins", "--auth", "basic",
		"--username", "ci", "--password-stdin")
	r.wantCode(t, exitOK)

	req := last[*v1.CreateConnectionRequest](t, f).GetConnection()
	if got := req.GetBasic().GetPassword(); got != testSecret {
		t.Errorf("password = %q, want %q without the newline", got, testSecret)
	}
	if req.GetNetwork() != v1.Network_NETWORK_PUBLIC {
		t.Errorf("network = %v, want the default public", req.GetNetwork())
	}
}

func TestConnectionCreateAPIKey(t *testing.T) {
	f := &fakeConfig{}
	c := newCLI(t, f)
	c.env = map[string]string{"KEY": testSecret}

	r := c.run("connection", "create", "saas", "--auth", "api_key",
		"--api-key-name", "X-API-Key", "--api-key-env", "KEY", "--query", "tenant=a=b")
	r.wantCode(t, exitOK)

	req := last[*v1.CreateConnectionRequest](t, f).GetConnection()
	if got := req.GetApiKey().GetHeaderName(); got != "X-API-Key" {
		t.Errorf("header name = %q, want X-API-Key", got)
	}
	if got := req.GetApiKey().GetValue(); got != testSecret {
		t.Errorf("value = %q, want the value of KEY", got)
	}
	params := req.GetInvocationParameters()
	if len(params) != 1 || params[0].GetKey() != "tenant" || params[0].GetValue() != "a=b" {
		t.Errorf("parameters = %v, want query tenant=a=b", params)
	}
}

func TestConnectionCreateAuthWithHyphens(t *testing.T) {
	f := &fakeConfig{}
	c := newCLI(t, f)
	c.env = map[string]string{"KEY": testSecret, "SECRET": testSecret}

	r := c.run("connection", "create", "saas", "--auth", "api-key",
		"--api-key-name", "X-API-Key", "--api-key-env", "KEY")
	r.wantCode(t, exitOK)
	if got := last[*v1.CreateConnectionRequest](t, f).GetConnection().GetApiKey().GetValue(); got != testSecret {
		t.Errorf("api key value = %q, want the value of KEY", got)
	}

	r = c.run("connection", "create", "api", "--auth", "oauth-client-credentials",
		"--token-url", "https://auth.example.com/token", "--client-id", "cid",
		"--client-secret-env", "SECRET")
	r.wantCode(t, exitOK)
	if got := last[*v1.CreateConnectionRequest](t, f).GetConnection().GetOauthClientCredentials().GetClientId(); got != "cid" {
		t.Errorf("oauth client id = %q, want cid", got)
	}
}

func TestConnectionCreateOAuth(t *testing.T) {
	f := &fakeConfig{}
	c := newCLI(t, f)
	c.env = map[string]string{"CLIENT_SECRET": testSecret, "SCOPE_SECRET": "hidden-scope"}

	r := c.run("connection", "create", "api", "--auth", "oauth_client_credentials",
		"--token-url", "http://127.0.0.1:9/token", "--token-method", "put",
		"--client-id", "cid", "--client-secret-env", "CLIENT_SECRET", "--client-auth", "body",
		"--token-param", "body:audience=https://api.example", "--token-param", "header:X-Tenant=t1",
		"--token-param-env", "query:scope=SCOPE_SECRET",
		"--header", "X-Env=prod", "--body-field", "source=switchyard")
	r.wantCode(t, exitOK)

	o := last[*v1.CreateConnectionRequest](t, f).GetConnection().GetOauthClientCredentials()
	if o.GetTokenMethod() != "PUT" || o.GetClientId() != "cid" || o.GetClientSecret() != testSecret {
		t.Errorf("oauth = %v, want PUT, cid and the secret", o)
	}
	if o.GetClientAuth() != v1.ClientAuth_CLIENT_AUTH_BODY {
		t.Errorf("client auth = %v, want body", o.GetClientAuth())
	}

	want := []struct {
		loc    v1.ParameterLocation
		key    string
		value  string
		secret bool
	}{
		{v1.ParameterLocation_PARAMETER_LOCATION_BODY, "audience", "https://api.example", false},
		{v1.ParameterLocation_PARAMETER_LOCATION_HEADER, "X-Tenant", "t1", false},
		{v1.ParameterLocation_PARAMETER_LOCATION_QUERY, "scope", "hidden-scope", true},
	}
	params := o.GetTokenParameters()
	if len(params) != len(want) {
		t.Fatalf("token parameters = %v, want %d", params, len(want))
	}
	for i, w := range want {
		p := params[i]
		if p.GetLocation() != w.loc || p.GetKey() != w.key || p.GetValue() != w.value || p.GetSecret() != w.secret {
			t.Errorf("token parameter %d = %v, want %+v", i, p, w)
		}
	}
	if strings.Contains(r.stdout, "hidden-scope") || strings.Contains(r.stdout, testSecret) {
		t.Errorf("stdout contains a secret:\n%s", r.stdout)
	}
}

func TestConnectionCreateInvalid(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		env   map[string]string
		stdin string
		want  string
	}{
		{"missing auth", []string{"--username", "u"}, nil, "", "missing --auth"},
		{"unknown auth", []string{"--auth", "digest"}, nil, "", `invalid --auth "digest"`},
		{"empty env var", []string{"--auth", "basic", "--username", "u", "--password-env", "JENKINS_TOKEN"},
			nil, "", "environment variable JENKINS_TOKEN is empty; export it or use --password-stdin"},
		{"env and stdin", []string{"--auth", "basic", "--username", "u", "--password-env", "P", "--password-stdin"},
			map[string]string{"P": "x"}, "y", "use one of --password-env and --password-stdin"},
		{"empty stdin", []string{"--auth", "basic", "--username", "u", "--password-stdin"},
			nil, "\n", "standard input is empty"},
		{"no password", []string{"--auth", "basic", "--username", "u"}, nil, "",
			"use --password-env VAR or --password-stdin"},
		{"no api key", []string{"--auth", "api-key", "--api-key-name", "X-Key"}, nil, "",
			"--auth api_key needs an api key: use --api-key-env VAR or --api-key-stdin"},
		{"no username", []string{"--auth", "basic", "--password-env", "P"},
			map[string]string{"P": "x"}, "", "needs --username"},
		{"flag of other auth", []string{"--auth", "basic", "--username", "u", "--api-key-name", "X"},
			nil, "", "--api-key-name applies to --auth api_key"},
		{"header without =", []string{"--auth", "api_key", "--api-key-name", "K", "--api-key-stdin",
			"--header", "X-Foo"}, nil, "k", `invalid --header "X-Foo": missing "="`},
		{"header without name", []string{"--auth", "api_key", "--api-key-name", "K", "--api-key-stdin",
			"--header", "=v"}, nil, "k", "missing NAME before"},
		{"header twice", []string{"--auth", "api_key", "--api-key-name", "K", "--api-key-stdin",
			"--header", "X-A=1", "--header", "x-a=2"}, nil, "k", "given twice"},
		{"header env unset", []string{"--auth", "api_key", "--api-key-name", "K", "--api-key-stdin",
			"--header-env", "X-A=NOPE"}, nil, "k", "environment variable NOPE is empty; export it"},
		{"token param without location", []string{"--auth", "oauth_client_credentials",
			"--token-param", "audience=x"}, nil, "", "want LOCATION:NAME=VALUE"},
		{"bad network", []string{"--auth", "basic", "--network", "lan"}, nil, "", `invalid --network "lan"`},
		{"bad token method", []string{"--auth", "oauth_client_credentials", "--token-method", "DELETE"},
			nil, "", "want GET, POST or PUT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeConfig{}
			c := newCLI(t, f)
			c.env = tt.env
			c.stdin = tt.stdin

			r := c.run(append([]string{"connection", "create", "c"}, tt.args...)...)
			r.wantCode(t, exitUsage)

			if !strings.Contains(r.stderr, tt.want) {
				t.Errorf("stderr = %q, want %q", r.stderr, tt.want)
			}
			if n := f.requestCount(); n != 0 {
				t.Errorf("requests = %d, want 0", n)
			}
		})
	}
}

func storedBasicConnection() *v1.Connection {
	return &v1.Connection{
		Name:     "jenkins",
		Revision: 3,
		Network:  v1.Network_NETWORK_PRIVATE,
		State:    v1.ConnectionState_CONNECTION_STATE_AUTHORIZED,
		Authorization: &v1.Connection_Basic{Basic: &v1.BasicAuth{
			Username: "ci", PasswordSet: true,
		}},
		InvocationParameters: []*v1.Parameter{
			{Location: v1.ParameterLocation_PARAMETER_LOCATION_HEADER, Key: "X-Keep", Value: "1"},
			{Location: v1.ParameterLocation_PARAMETER_LOCATION_QUERY, Key: "drop", Value: "2"},
		},
	}
}

func TestConnectionUpdateKeepsSecret(t *testing.T) {
	f := &fakeConfig{connection: storedBasicConnection()}
	c := newCLI(t, f)

	r := c.run("connection", "update", "jenkins", "--username", "bot",
		"--header", "x-keep=changed", "--remove-param", "query:drop")
	r.wantCode(t, exitOK)

	req := last[*v1.UpdateConnectionRequest](t, f).GetConnection()
	if got := req.GetRevision(); got != 3 {
		t.Errorf("revision = %d, want the 3 that was read", got)
	}
	if got := req.GetBasic().GetUsername(); got != "bot" {
		t.Errorf("username = %q, want bot", got)
	}
	if got := req.GetBasic().GetPassword(); got != "" {
		t.Errorf("password = %q, want empty so the stored one is kept", got)
	}
	if got := req.GetNetwork(); got != v1.Network_NETWORK_PRIVATE {
		t.Errorf("network = %v, want private kept", got)
	}
	params := req.GetInvocationParameters()
	if len(params) != 1 || params[0].GetKey() != "x-keep" || params[0].GetValue() != "changed" {
		t.Errorf("parameters = %v, want only header x-keep=changed", params)
	}
}

func TestConnectionUpdateNewPassword(t *testing.T) {
	f := &fakeConfig{connection: storedBasicConnection()}
	c := newCLI(t, f)
	c.stdin = testSecret

	r := c.run("connection", "update", "jenkins", "--password-stdin")
	r.wantCode(t, exitOK)

	req := last[*v1.UpdateConnectionRequest](t, f).GetConnection()
	if got := req.GetBasic().GetPassword(); got != testSecret {
		t.Errorf("password = %q, want the one from stdin", got)
	}
	if got := req.GetBasic().GetUsername(); got != "ci" {
		t.Errorf("username = %q, want ci kept", got)
	}
}

func TestConnectionUpdateSwitchAuthNeedsSecret(t *testing.T) {
	f := &fakeConfig{connection: storedBasicConnection()}
	c := newCLI(t, f)

	r := c.run("connection", "update", "jenkins", "--auth", "api_key", "--api-key-name", "X-Key")
	r.wantCode(t, exitUsage)

	if !strings.Contains(r.stderr, "--api-key-env VAR or --api-key-stdin") {
		t.Errorf("stderr = %q, want the ways to give the key", r.stderr)
	}
}

func TestConnectionUpdateRejectsOtherAuthFlags(t *testing.T) {
	f := &fakeConfig{connection: storedBasicConnection()}
	c := newCLI(t, f)

	r := c.run("connection", "update", "jenkins", "--client-id", "x")
	r.wantCode(t, exitUsage)

	want := "--client-id applies to --auth oauth_client_credentials, but the connection uses basic"
	if !strings.Contains(r.stderr, want) {
		t.Errorf("stderr = %q, want %q", r.stderr, want)
	}
}

func TestConnectionUpdateAborted(t *testing.T) {
	f := &fakeConfig{connection: storedBasicConnection(), writeAfterGet: true}
	c := newCLI(t, f)

	r := c.run("connection", "update", "jenkins", "--username", "bot")
	r.wantCode(t, exitFailure)

	if !strings.Contains(r.stderr, "error: revision 3 is stale") {
		t.Errorf("stderr = %q, want the server's message", r.stderr)
	}
	if !strings.Contains(r.stderr, "hint: someone changed it since it was read; get it again and retry") {
		t.Errorf("stderr = %q, want the retry hint", r.stderr)
	}
}

func TestConnectionGetText(t *testing.T) {
	conn := storedBasicConnection()
	conn.InvocationParameters = append(conn.InvocationParameters, &v1.Parameter{
		Location: v1.ParameterLocation_PARAMETER_LOCATION_HEADER, Key: "X-Token",
		Value: testSecret, Secret: true,
	})
	f := &fakeConfig{connection: conn}
	c := newCLI(t, f)

	r := c.run("connection", "get", "jenkins")
	r.wantCode(t, exitOK)

	for _, want := range []string{"password:", "(set)", "header X-Keep=1", "header X-Token=(secret)",
		"revision:", "3", "private", "authorized"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout = %q, want %q", r.stdout, want)
		}
	}
	if strings.Contains(r.stdout, testSecret) {
		t.Errorf("stdout contains the secret parameter value:\n%s", r.stdout)
	}
}

func TestConnectionListText(t *testing.T) {
	f := &fakeConfig{connection: storedBasicConnection()}
	c := newCLI(t, f)

	r := c.run("connection", "list")
	r.wantCode(t, exitOK)

	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 2 {
		t.Fatalf("stdout = %q, want a header and one row", r.stdout)
	}
	if fields := strings.Fields(lines[1]); strings.Join(fields, " ") != "jenkins basic private authorized 3" {
		t.Errorf("row = %q, want jenkins basic private authorized 3", lines[1])
	}
}
