package main

import (
	"slices"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

const connectionLong = `A connection stores how Switchyard authenticates to an endpoint: HTTP
Basic, an API key header, or an OAuth client credentials grant. It also
stores parameters added to every call and the network the calls may reach.

Secrets are never taken from a flag value, because command lines end up in
shell history and process listings. There is no --password flag: give
--password-env VAR to read the environment variable VAR, or --password-stdin
to read standard input. The same applies to --api-key-env/--api-key-stdin,
--client-secret-env/--client-secret-stdin and the *-env parameter flags.
Secrets are write-only: get and list show whether one is set, never its value.`

// connectionFlags are the flags of connection create and update.
type connectionFlags struct {
	description string
	auth        string
	network     string

	username      string
	passwordEnv   string
	passwordStdin bool

	apiKeyName  string
	apiKeyEnv   string
	apiKeyStdin bool

	tokenURL          string
	tokenMethod       string
	clientID          string
	clientSecretEnv   string
	clientSecretStdin bool
	clientAuth        string
	tokenParams       []string
	tokenParamsEnv    []string

	headers, queries, bodyFields          []string
	headersEnv, queriesEnv, bodyFieldsEnv []string

	// Update only.
	removeParams      []string
	removeTokenParams []string
}

func newConnectionCommand(a *app) *cobra.Command {
	cmd := newGroupCommand("connection", "Manage connections: credentials and network of endpoints")
	cmd.Long = connectionLong
	cmd.AddCommand(
		newConnectionCreateCommand(a),
		newConnectionGetCommand(a),
		newConnectionListCommand(a),
		newConnectionUpdateCommand(a),
		newConnectionDeleteCommand(a),
	)
	return cmd
}

func newConnectionCreateCommand(a *app) *cobra.Command {
	f := &connectionFlags{}
	cmd := &cobra.Command{
		Use:   "create NAME --auth basic|api_key|oauth_client_credentials|oauth [flags]",
		Short: "Create a connection",
		Long:  connectionLong,
		Example: `  export JENKINS_TOKEN=...
  switchyard connection create jenkins --auth basic --username ci \
      --password-env JENKINS_TOKEN --network private`,
		Args: exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c := &v1.Connection{Name: args[0], Network: v1.Network_NETWORK_PUBLIC}
			if err := f.apply(a, cmd.Flags(), c); err != nil {
				return err
			}

			client, err := a.configClient()
			if err != nil {
				return err
			}
			ctx, cancel := a.callContext(cmd)
			defer cancel()

			sent := c
			c, err = client.CreateConnection(ctx, &v1.CreateConnectionRequest{Connection: sent})
			if err != nil {
				return withFlags(err, connectionFieldFlag(sent))
			}
			return a.printConnection(c)
		},
	}
	f.register(cmd.Flags(), false)
	return cmd
}

func newConnectionGetCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "get NAME",
		Short: "Show a connection; secrets show as (set), never their value",
		Args:  exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			client, err := a.configClient()
			if err != nil {
				return err
			}
			ctx, cancel := a.callContext(cmd)
			defer cancel()

			c, err := client.GetConnection(ctx, &v1.GetConnectionRequest{Name: args[0]})
			if err != nil {
				return err
			}
			return a.printConnection(c)
		},
	}
}

func newConnectionListCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List connections",
		Args:  exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			client, err := a.configClient()
			if err != nil {
				return err
			}
			ctx, cancel := a.callContext(cmd)
			defer cancel()

			resp, err := client.ListConnections(ctx, &v1.ListConnectionsRequest{})
			if err != nil {
				return err
			}
			for _, c := range resp.GetConnections() {
				redactConnection(c)
			}
			if a.jsonOutput() {
				return a.printProto(resp)
			}

			t := newTable(a.out)
			t.row("NAME", "AUTH", "NETWORK", "STATE", "REVISION")
			for _, c := range resp.GetConnections() {
				t.row(c.GetName(), authName(c), networkText(c.GetNetwork()),
					stateText(c.GetState()), itoa(c.GetRevision()))
			}
			return t.flush()
		},
	}
}

// newConnectionUpdateCommand reads the connection, changes what the flags
// give and writes it back with the revision it read, so a concurrent
// change fails with Aborted instead of being overwritten. A secret left
// out is sent empty, which keeps the stored one.
func newConnectionUpdateCommand(a *app) *cobra.Command {
	f := &connectionFlags{}
	cmd := &cobra.Command{
		Use:   "update NAME [flags]",
		Short: "Change a connection; a secret left out keeps the stored one",
		Long:  connectionLong,
		Args:  exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !localFlagsChanged(cmd) {
				return usagef("nothing to update: give the flags to change")
			}
			client, err := a.configClient()
			if err != nil {
				return err
			}
			ctx, cancel := a.callContext(cmd)
			defer cancel()

			c, err := client.GetConnection(ctx, &v1.GetConnectionRequest{Name: args[0]})
			if err != nil {
				return err
			}
			if err := f.apply(a, cmd.Flags(), c); err != nil {
				return err
			}
			sent := c
			c, err = client.UpdateConnection(ctx, &v1.UpdateConnectionRequest{Connection: sent})
			if err != nil {
				return withFlags(err, connectionFieldFlag(sent))
			}
			return a.printConnection(c)
		},
	}
	f.register(cmd.Flags(), true)
	return cmd
}

func newConnectionDeleteCommand(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a connection that no destination uses",
		Args:  exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			client, err := a.configClient()
			if err != nil {
				return err
			}
			ctx, cancel := a.callContext(cmd)
			defer cancel()

			_, err = client.DeleteConnection(ctx, &v1.DeleteConnectionRequest{Name: args[0]})
			if err != nil {
				return withPreconditionHint(err,
					"`switchyard destination update NAME --connection OTHER` points an API destination "+
						"at another connection")
			}
			return a.printDeleted("connection", args[0])
		},
	}
}

// localFlagsChanged reports whether a flag of cmd itself, other than
// those named in ignore, was given.
func localFlagsChanged(cmd *cobra.Command, ignore ...string) bool {
	changed := false
	cmd.LocalNonPersistentFlags().VisitAll(func(f *pflag.Flag) {
		if f.Changed && !slices.Contains(ignore, f.Name) {
			changed = true
		}
	})
	return changed
}

func (f *connectionFlags) register(fs *pflag.FlagSet, update bool) {
	fs.StringVar(&f.description, "description", "", "what the connection is for")
	fs.StringVar(&f.auth, "auth", "",
		"authorization: basic, api_key or oauth_client_credentials (oauth for short); "+
			"hyphens may replace the underscores")
	fs.StringVar(&f.network, "network", "public",
		"addresses calls may reach: public, or private to allow private ranges and loopback")

	fs.StringVar(&f.username, "username", "", "basic: user name")
	fs.StringVar(&f.passwordEnv, "password-env", "",
		"basic: read the password, such as a Jenkins API token, from this environment variable")
	fs.BoolVar(&f.passwordStdin, "password-stdin", false,
		"basic: read the password from standard input")

	fs.StringVar(&f.apiKeyName, "api-key-name", "", "api_key: header name, such as X-API-Key")
	fs.StringVar(&f.apiKeyEnv, "api-key-env", "",
		"api_key: read the key from this environment variable")
	fs.BoolVar(&f.apiKeyStdin, "api-key-stdin", false, "api_key: read the key from standard input")

	fs.StringVar(&f.tokenURL, "token-url", "", "oauth: token endpoint URL")
	fs.StringVar(&f.tokenMethod, "token-method", "",
		"oauth: token request method: GET, POST or PUT (default POST)")
	fs.StringVar(&f.clientID, "client-id", "", "oauth: client id")
	fs.StringVar(&f.clientSecretEnv, "client-secret-env", "",
		"oauth: read the client secret from this environment variable")
	fs.BoolVar(&f.clientSecretStdin, "client-secret-stdin", false,
		"oauth: read the client secret from standard input")
	fs.StringVar(&f.clientAuth, "client-auth", "",
		"oauth: send the client id and secret in the Basic auth header or as body fields: header or body")
	fs.StringArrayVar(&f.tokenParams, "token-param", nil,
		"oauth: token request parameter LOCATION:NAME=VALUE, LOCATION header, query or body (repeatable)")
	fs.StringArrayVar(&f.tokenParamsEnv, "token-param-env", nil,
		"oauth: secret token request parameter LOCATION:NAME=VAR, value read from the environment variable VAR")

	fs.StringArrayVar(&f.headers, "header", nil,
		"header NAME=VALUE added to every call (repeatable)")
	fs.StringArrayVar(&f.queries, "query", nil,
		"query parameter NAME=VALUE added to every call (repeatable)")
	fs.StringArrayVar(&f.bodyFields, "body-field", nil,
		"body field NAME=VALUE added to every call (repeatable)")
	fs.StringArrayVar(&f.headersEnv, "header-env", nil,
		"secret header NAME=VAR, value read from the environment variable VAR (repeatable)")
	fs.StringArrayVar(&f.queriesEnv, "query-env", nil,
		"secret query parameter NAME=VAR, value read from the environment variable VAR (repeatable)")
	fs.StringArrayVar(&f.bodyFieldsEnv, "body-field-env", nil,
		"secret body field NAME=VAR, value read from the environment variable VAR (repeatable)")

	if update {
		fs.StringArrayVar(&f.removeParams, "remove-param", nil,
			"remove the invocation parameter LOCATION:NAME (repeatable)")
		fs.StringArrayVar(&f.removeTokenParams, "remove-token-param", nil,
			"oauth: remove the token request parameter LOCATION:NAME (repeatable)")
	}
}

// apply changes c as the given flags specify. On create c is new, so the
// authorization's required fields must all be given.
func (f *connectionFlags) apply(a *app, fs *pflag.FlagSet, c *v1.Connection) error {
	if fs.Changed("description") {
		c.Description = f.description
	}
	if fs.Changed("network") {
		network, err := parseNetwork(f.network)
		if err != nil {
			return err
		}
		c.Network = network
	}
	if err := f.applyAuth(a, fs, c); err != nil {
		return err
	}
	return f.applyInvocationParameters(a, c)
}

func (f *connectionFlags) applyInvocationParameters(a *app, c *v1.Connection) error {
	params, err := a.parameters([]paramFlag{
		{"header", v1.ParameterLocation_PARAMETER_LOCATION_HEADER, f.headers, false},
		{"query", v1.ParameterLocation_PARAMETER_LOCATION_QUERY, f.queries, false},
		{"body-field", v1.ParameterLocation_PARAMETER_LOCATION_BODY, f.bodyFields, false},
		{"header-env", v1.ParameterLocation_PARAMETER_LOCATION_HEADER, f.headersEnv, true},
		{"query-env", v1.ParameterLocation_PARAMETER_LOCATION_QUERY, f.queriesEnv, true},
		{"body-field-env", v1.ParameterLocation_PARAMETER_LOCATION_BODY, f.bodyFieldsEnv, true},
	})
	if err != nil {
		return err
	}

	list, err := removeParameters("remove-param", c.GetInvocationParameters(), f.removeParams)
	if err != nil {
		return err
	}
	c.InvocationParameters = mergeParameters(list, params)
	return nil
}

func parseNetwork(s string) (v1.Network, error) {
	switch s {
	case "public":
		return v1.Network_NETWORK_PUBLIC, nil
	case "private":
		return v1.Network_NETWORK_PRIVATE, nil
	}
	return 0, usagef("invalid --network %q: want public or private", s)
}

func networkText(n v1.Network) string       { return enumText(n.String(), "NETWORK_") }
func stateText(s v1.ConnectionState) string { return enumText(s.String(), "CONNECTION_STATE_") }

// redactConnection clears every secret value in c. The config service
// never returns one, and this keeps the CLI from printing one even if a
// server did.
func redactConnection(c *v1.Connection) {
	if b := c.GetBasic(); b != nil {
		b.Password = ""
	}
	if k := c.GetApiKey(); k != nil {
		k.Value = ""
	}
	if o := c.GetOauthClientCredentials(); o != nil {
		o.ClientSecret = ""
		redactParameters(o.GetTokenParameters())
	}
	redactParameters(c.GetInvocationParameters())
}

func redactParameters(list []*v1.Parameter) {
	for _, p := range list {
		if p.GetSecret() {
			p.Value = ""
		}
	}
}

func (a *app) printConnection(c *v1.Connection) error {
	redactConnection(c)
	if a.jsonOutput() {
		return a.printProto(c)
	}

	t := newTable(a.out)
	t.field("name", c.GetName())
	t.field("description", orDash(c.GetDescription()))
	t.field("auth", authName(c))
	authFields(t, c)
	for _, p := range c.GetInvocationParameters() {
		t.field("parameter", parameterText(p))
	}
	t.field("network", networkText(c.GetNetwork()))
	t.field("state", stateText(c.GetState()))
	if c.GetStateReason() != "" {
		t.field("state reason", c.GetStateReason())
	}
	t.field("revision", itoa(c.GetRevision()))
	t.field("created", formatTime(c.GetCreateTime()))
	t.field("updated", formatTime(c.GetUpdateTime()))
	return t.flush()
}

func authFields(t table, c *v1.Connection) {
	switch {
	case c.GetBasic() != nil:
		b := c.GetBasic()
		t.field("username", b.GetUsername())
		t.field("password", setText(b.GetPasswordSet()))
	case c.GetApiKey() != nil:
		k := c.GetApiKey()
		t.field("api key header", k.GetHeaderName())
		t.field("api key", setText(k.GetValueSet()))
	case c.GetOauthClientCredentials() != nil:
		o := c.GetOauthClientCredentials()
		t.field("token url", o.GetTokenUrl())
		t.field("token method", o.GetTokenMethod())
		t.field("client id", o.GetClientId())
		t.field("client secret", setText(o.GetClientSecretSet()))
		t.field("client auth", enumText(o.GetClientAuth().String(), "CLIENT_AUTH_"))
		for _, p := range o.GetTokenParameters() {
			t.field("token parameter", parameterText(p))
		}
	}
}
