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
	if err := checkName("name", name); err != nil {
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

	if err := checkName("name", name); err != nil {
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
		return nil, invalidf("connection", "missing")
	}
	c := proto.Clone(in).(*v1.Connection)
	if err := checkName("connection.name", c.GetName()); err != nil {
		return nil, err
	}
	if err := normalizeAuthorization(c); err != nil {
		return nil, err
	}
	err := checkParameters("connection.invocation_parameters", c.GetInvocationParameters())
	if err != nil {
		return nil, err
	}

	switch c.GetNetwork() {
	case v1.Network_NETWORK_UNSPECIFIED:
		c.Network = v1.Network_NETWORK_PUBLIC
	case v1.Network_NETWORK_PUBLIC, v1.Network_NETWORK_PRIVATE:
	default:
		return nil, invalidf("connection.network", "%d is not a known network; use PUBLIC or PRIVATE",
			c.GetNetwork())
	}

	// Every write stores AUTHORIZED. Delivery records failures per
	// revision in a bucket of its own, which reads merge in, so a write
	// also clears a DEAUTHORIZED state.
	c.State = v1.ConnectionState_CONNECTION_STATE_AUTHORIZED
	c.StateReason = ""
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
			return invalidf("connection.basic.username", "missing; give the user name")
		}
		if strings.ContainsAny(b.GetUsername(), ":\r\n") {
			return invalidf("connection.basic.username",
				"%q contains ':' or a line break, which Basic authorization cannot carry",
				b.GetUsername())
		}
	case *v1.Connection_ApiKey:
		auth.ApiKey.ValueSet = false
		return checkHeaderName("connection.api_key.header_name", auth.ApiKey.GetHeaderName())
	case *v1.Connection_OauthClientCredentials:
		return normalizeOAuth(auth.OauthClientCredentials)
	default:
		return invalidf("connection.authorization",
			"missing; set one of basic, api_key or oauth_client_credentials")
	}
	return nil
}

func normalizeOAuth(o *v1.OAuthClientCredentials) error {
	o.ClientSecretSet = false
	const field = "connection.oauth_client_credentials"
	if _, err := checkHTTPURL(field+".token_url", o.GetTokenUrl()); err != nil {
		return err
	}

	// An empty method means POST, which RFC 6749 requires of token
	// endpoints.
	if o.GetTokenMethod() == "" {
		o.TokenMethod = "POST"
	}
	method, err := checkMethod(field+".token_method", o.GetTokenMethod(), tokenMethods)
	if err != nil {
		return err
	}
	o.TokenMethod = method

	if o.GetClientId() == "" {
		return invalidf(field+".client_id", "missing; give the OAuth client id")
	}
	switch o.GetClientAuth() {
	case v1.ClientAuth_CLIENT_AUTH_UNSPECIFIED:
		o.ClientAuth = v1.ClientAuth_CLIENT_AUTH_HEADER
	case v1.ClientAuth_CLIENT_AUTH_HEADER, v1.ClientAuth_CLIENT_AUTH_BODY:
	default:
		return invalidf(field+".client_auth", "%d is not known; use HEADER or BODY", o.GetClientAuth())
	}
	return checkParameters(field+".token_parameters", o.GetTokenParameters())
}

func checkParameters(field string, params []*v1.Parameter) error {
	if len(params) > maxParameters {
		return invalidf(field, "%d parameters; the maximum is %d", len(params), maxParameters)
	}
	for i, p := range params {
		f := fieldIndex(field, i)
		switch p.GetLocation() {
		case v1.ParameterLocation_PARAMETER_LOCATION_HEADER:
			if err := checkHeaderName(f+".key", p.GetKey()); err != nil {
				return err
			}
		case v1.ParameterLocation_PARAMETER_LOCATION_QUERY,
			v1.ParameterLocation_PARAMETER_LOCATION_BODY:
			if p.GetKey() == "" {
				return invalidf(f+".key", "missing; give the parameter name")
			}
		default:
			return invalidf(f+".location", "%s is not allowed; use HEADER, QUERY or BODY",
				p.GetLocation())
		}
	}
	return nil
}

// requireSecrets checks that every secret field of c has a value,
// either new or kept from the stored connection.
func requireSecrets(c *v1.Connection) error {
	switch {
	case c.GetBasic() != nil && c.GetBasic().GetPassword() == "":
		return invalidf("connection.basic.password", "missing; give the password or API token")
	case c.GetApiKey() != nil && c.GetApiKey().GetValue() == "":
		return invalidf("connection.api_key.value", "missing; give the API key")
	case c.GetOauthClientCredentials() != nil &&
		c.GetOauthClientCredentials().GetClientSecret() == "":
		return invalidf("connection.oauth_client_credentials.client_secret",
			"missing; give the OAuth client secret")
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
				"missing for secret parameter %q; give its value", p.GetKey())
		}
	}
	return nil
}
