package config

import (
	"context"
	"fmt"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	internalv1 "github.com/switchyard-dev/switchyard/proto/switchyard/internalapi/v1"
	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

// maxParameters bounds the parameters of one list in a connection.
const maxParameters = 100

var tokenMethods = []string{"GET", "POST", "PUT"}

func connectionLabel(name string) string { return fmt.Sprintf("connection %q", name) }

func (s *Service) createConnection(ctx context.Context, in *v1.Connection) (*v1.Connection, error) {
	defer s.lockWrites()()

	c, err := normalizeConnection(in)
	if err != nil {
		return nil, err
	}
	if err := s.sealSecrets(c); err != nil {
		return nil, err
	}
	if err := requireSecrets(c); err != nil {
		return nil, err
	}

	c.CreateTime = timestamppb.Now()
	c.UpdateTime = c.CreateTime
	rev, err := s.connections.create(ctx, c.GetName(), connectionLabel(c.GetName()), c)
	if err != nil {
		return nil, err
	}
	c.Revision = int64(rev)
	s.announce(ctx, changeOf(internalv1.ChangeKind_CHANGE_KIND_CONNECTION, "",
		c.GetName(), c.GetRevision()))
	return redactConnection(c), nil
}

func (s *Service) getConnection(ctx context.Context, name string) (*v1.Connection, error) {
	if err := checkName("name", "the connection name", name); err != nil {
		return nil, err
	}
	c, err := s.connections.get(ctx, name, connectionLabel(name))
	if err != nil {
		return nil, err
	}
	s.openConnectionStates(ctx).merge(ctx, c)
	return redactConnection(c), nil
}

func (s *Service) listConnections(ctx context.Context) ([]*v1.Connection, error) {
	all, err := s.connections.list(ctx, ">")
	if err != nil {
		return nil, err
	}
	states := s.openConnectionStates(ctx)
	for i, c := range all {
		states.merge(ctx, c)
		all[i] = redactConnection(c)
	}
	return all, nil
}

// updateConnection replaces a connection. An empty secret keeps the
// stored one of the same field, or of the secret parameter with the
// same location and key. The state goes back to AUTHORIZED, since new
// credentials deserve a new try.
func (s *Service) updateConnection(ctx context.Context, in *v1.Connection) (*v1.Connection, error) {
	defer s.lockWrites()()

	c, err := normalizeConnection(in)
	if err != nil {
		return nil, err
	}

	label := connectionLabel(c.GetName())
	next, err := s.connections.update(ctx, c.GetName(), label, in.GetRevision(),
		func(stored *v1.Connection) (*v1.Connection, error) {
			if err := s.checkNetworkChange(ctx, stored, c); err != nil {
				return nil, err
			}
			next := proto.Clone(c).(*v1.Connection)
			if err := s.sealSecrets(next); err != nil {
				return nil, err
			}
			keepSecrets(next, stored)
			if err := requireSecrets(next); err != nil {
				return nil, err
			}
			next.CreateTime = stored.GetCreateTime()
			next.UpdateTime = timestamppb.Now()
			return next, nil
		})
	if err != nil {
		return nil, err
	}
	s.announce(ctx, changeOf(internalv1.ChangeKind_CHANGE_KIND_CONNECTION, "",
		next.GetName(), next.GetRevision()))
	return redactConnection(next), nil
}

// deleteConnection deletes a connection that no API destination uses.
func (s *Service) deleteConnection(ctx context.Context, name string, revision int64) error {
	defer s.lockWrites()()

	if err := checkName("name", "the connection name", name); err != nil {
		return err
	}

	c, err := s.connections.remove(ctx, name, connectionLabel(name), revision,
		func(*v1.Connection) error {
			users, err := s.destinationsUsing(ctx, name)
			if err != nil {
				return err
			}
			if len(users) > 0 {
				return classErrorf(ErrFailedPrecondition,
					"connection %q is used by API destinations %s; delete them or point them "+
						"at another connection first", name, quoteList(users))
			}
			return nil
		})
	if err != nil {
		return err
	}
	change := changeOf(internalv1.ChangeKind_CHANGE_KIND_CONNECTION, "", name, c.GetRevision())
	change.Deleted = true
	s.announce(ctx, change)
	return nil
}

// normalizeConnection returns a validated copy of in with defaults
// filled and output-only fields reset. Secrets are not checked here,
// because an update may keep stored ones.
func normalizeConnection(in *v1.Connection) (*v1.Connection, error) {
	if in == nil {
		return nil, invalidf("connection", "the connection is missing")
	}
	c := proto.Clone(in).(*v1.Connection)
	if err := checkName("connection.name", "the connection name", c.GetName()); err != nil {
		return nil, err
	}
	err := checkDescription("connection.description", "the connection", c.GetDescription())
	if err != nil {
		return nil, err
	}
	if err := normalizeAuthorization(c); err != nil {
		return nil, err
	}
	err = checkParameters("connection.invocation_parameters", "invocation",
		c.GetInvocationParameters(), func(field string, p *v1.Parameter) error {
			return checkInvocationHeader(field, c, p)
		})
	if err != nil {
		return nil, err
	}

	switch c.GetNetwork() {
	case v1.Network_NETWORK_UNSPECIFIED:
		c.Network = v1.Network_NETWORK_PUBLIC
	case v1.Network_NETWORK_PUBLIC, v1.Network_NETWORK_PRIVATE:
	default:
		return nil, invalidf("connection.network",
			"the network %d is not known; use PUBLIC or PRIVATE", c.GetNetwork())
	}
	if err := checkTokenURLNetwork(c); err != nil {
		return nil, err
	}

	// Every write stores AUTHORIZED, or AUTHORIZING for OAuth until
	// delivery has got a token. Delivery records outcomes per revision
	// in a bucket of its own, which reads merge in, so a write also
	// clears a DEAUTHORIZED state.
	c.State = v1.ConnectionState_CONNECTION_STATE_AUTHORIZED
	c.StateReason = ""
	if c.GetOauthClientCredentials() != nil {
		c.State = v1.ConnectionState_CONNECTION_STATE_AUTHORIZING
		c.StateReason = "no token requested yet; delivery requests one on the first call"
	}
	c.Revision = 0
	c.CreateTime = nil
	c.UpdateTime = nil
	return c, nil
}

func normalizeAuthorization(c *v1.Connection) error {
	switch auth := c.GetAuthorization().(type) {
	case *v1.Connection_Basic:
		b := auth.Basic
		b.PasswordSet = false
		if b.GetUsername() == "" {
			return invalidf("connection.basic.username", "the basic user name is missing; give it")
		}
		if strings.ContainsAny(b.GetUsername(), ":\r\n") {
			return invalidf("connection.basic.username",
				"the basic user name %q contains ':' or a line break, which Basic authorization "+
					"cannot carry", b.GetUsername())
		}
	case *v1.Connection_ApiKey:
		return normalizeAPIKey(auth.ApiKey)
	case *v1.Connection_OauthClientCredentials:
		return normalizeOAuth(auth.OauthClientCredentials)
	default:
		return invalidf("connection.authorization",
			"the connection's authorization is missing; set one of basic, api_key or "+
				"oauth_client_credentials")
	}
	return nil
}

func normalizeAPIKey(k *v1.ApiKeyAuth) error {
	k.ValueSet = false
	const field, noun = "connection.api_key.header_name", "the API key header"
	if err := checkHeaderName(field, noun, k.GetHeaderName()); err != nil {
		return err
	}
	if err := checkTransportHeader(field, noun, k.GetHeaderName()); err != nil {
		return err
	}
	// An empty value keeps the stored one on update, which was checked
	// when it was written.
	return checkHeaderValue("connection.api_key.value", noun, k.GetHeaderName(), k.GetValue())
}

func normalizeOAuth(o *v1.OAuthClientCredentials) error {
	o.ClientSecretSet = false
	const field = "connection.oauth_client_credentials"
	if _, err := checkHTTPURL(field+".token_url", "the OAuth token URL", o.GetTokenUrl()); err != nil {
		return err
	}

	// An empty method means POST, which RFC 6749 requires of token
	// endpoints.
	if o.GetTokenMethod() == "" {
		o.TokenMethod = "POST"
	}
	method, err := checkMethod(field+".token_method", "the OAuth token request method",
		o.GetTokenMethod(), tokenMethods)
	if err != nil {
		return err
	}
	o.TokenMethod = method

	if o.GetClientId() == "" {
		return invalidf(field+".client_id", "the OAuth client id is missing; give it")
	}
	switch o.GetClientAuth() {
	case v1.ClientAuth_CLIENT_AUTH_UNSPECIFIED:
		o.ClientAuth = v1.ClientAuth_CLIENT_AUTH_HEADER
	case v1.ClientAuth_CLIENT_AUTH_HEADER, v1.ClientAuth_CLIENT_AUTH_BODY:
	default:
		return invalidf(field+".client_auth",
			"the OAuth client authentication %d is not known; use HEADER or BODY", o.GetClientAuth())
	}
	return checkParameters(field+".token_parameters", "token request", o.GetTokenParameters(),
		func(field string, p *v1.Parameter) error { return checkTokenHeader(field, o, p) })
}

// checkParameters checks a list of parameters; kind names the list in
// errors, as in "invocation". checkHeader checks the name of each header
// parameter against the headers that the request sets itself.
func checkParameters(field, kind string, params []*v1.Parameter,
	checkHeader func(field string, p *v1.Parameter) error) error {
	if len(params) > maxParameters {
		return invalidf(field, "the connection has %d %s parameters; the maximum is %d",
			len(params), kind, maxParameters)
	}
	for i, p := range params {
		f := fieldIndex(field, i)
		switch p.GetLocation() {
		case v1.ParameterLocation_PARAMETER_LOCATION_HEADER:
			if err := checkHeaderParameter(f, p, checkHeader); err != nil {
				return err
			}
		case v1.ParameterLocation_PARAMETER_LOCATION_QUERY,
			v1.ParameterLocation_PARAMETER_LOCATION_BODY:
			if p.GetKey() == "" {
				return invalidf(f+".key", "the name of a %s %s parameter is missing; give it",
					kind, locationWord(p.GetLocation()))
			}
		default:
			return invalidf(f+".location", "the location %s of the %s parameter %q is not allowed; "+
				"use HEADER, QUERY or BODY", p.GetLocation(), kind, p.GetKey())
		}
	}
	return nil
}

func checkHeaderParameter(field string, p *v1.Parameter,
	checkHeader func(field string, p *v1.Parameter) error) error {
	const noun = "the header parameter"
	if err := checkHeaderName(field+".key", noun, p.GetKey()); err != nil {
		return err
	}
	if err := checkHeader(field+".key", p); err != nil {
		return err
	}
	return checkHeaderValue(field+".value", noun, p.GetKey(), p.GetValue())
}

func locationWord(l v1.ParameterLocation) string {
	return strings.ToLower(strings.TrimPrefix(l.String(), "PARAMETER_LOCATION_"))
}

// requireSecrets checks that every secret field of c has a value,
// either new or kept from the stored connection.
func requireSecrets(c *v1.Connection) error {
	switch {
	case c.GetBasic() != nil && c.GetBasic().GetPassword() == "":
		return invalidf("connection.basic.password",
			"the basic password is missing; give the password or API token")
	case c.GetApiKey() != nil && c.GetApiKey().GetValue() == "":
		return invalidf("connection.api_key.value", "the API key is missing; give it")
	case c.GetOauthClientCredentials() != nil &&
		c.GetOauthClientCredentials().GetClientSecret() == "":
		return invalidf("connection.oauth_client_credentials.client_secret",
			"the OAuth client secret is missing; give it")
	}
	err := requireSecretParameters("connection.invocation_parameters", c.GetInvocationParameters())
	if err != nil {
		return err
	}
	return requireSecretParameters("connection.oauth_client_credentials.token_parameters",
		c.GetOauthClientCredentials().GetTokenParameters())
}

func requireSecretParameters(field string, params []*v1.Parameter) error {
	for i, p := range params {
		if p.GetSecret() && p.GetValue() == "" {
			return invalidf(fieldIndex(field, i)+".value",
				"the value of the secret parameter %q is missing; give it", p.GetKey())
		}
	}
	return nil
}
