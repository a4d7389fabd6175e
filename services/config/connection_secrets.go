package config

import (
	"fmt"

	"google.golang.org/protobuf/proto"

	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

// secretRefs returns a pointer to each secret field of c: the password,
// the API key value, the client secret and the values of secret
// parameters.
func secretRefs(c *v1.Connection) []*string {
	var refs []*string
	if b := c.GetBasic(); b != nil {
		refs = append(refs, &b.Password)
	}
	if k := c.GetApiKey(); k != nil {
		refs = append(refs, &k.Value)
	}
	if o := c.GetOauthClientCredentials(); o != nil {
		refs = append(refs, &o.ClientSecret)
		refs = appendSecretParameters(refs, o.GetTokenParameters())
	}
	return appendSecretParameters(refs, c.GetInvocationParameters())
}

func appendSecretParameters(refs []*string, params []*v1.Parameter) []*string {
	for _, p := range params {
		if p.GetSecret() {
			refs = append(refs, &p.Value)
		}
	}
	return refs
}

// secretOwner is the additional data that binds a sealed secret to its
// connection.
func secretOwner(name string) string { return "switchyard connection " + name }

// sealSecrets encrypts every non-empty secret of c in place.
func (s *Service) sealSecrets(c *v1.Connection) error {
	for _, ref := range secretRefs(c) {
		if *ref == "" {
			continue
		}
		sealed, err := s.keys.seal(*ref, secretOwner(c.GetName()))
		if err != nil {
			return err
		}
		*ref = sealed
	}
	return nil
}

// openSecrets decrypts every secret of a stored connection in place.
func (s *Service) openSecrets(c *v1.Connection) error {
	for _, ref := range secretRefs(c) {
		if *ref == "" {
			continue
		}
		plain, err := s.keys.open(*ref, secretOwner(c.GetName()))
		if err != nil {
			return fmt.Errorf("connection %q: %w", c.GetName(), err)
		}
		*ref = plain
	}
	return nil
}

// keepSecrets fills each empty secret of next with the stored one of the
// same field. A secret parameter keeps the value of the stored secret
// parameter with the same location and key in the same list.
func keepSecrets(next, stored *v1.Connection) {
	if b := next.GetBasic(); b != nil && b.GetPassword() == "" {
		b.Password = stored.GetBasic().GetPassword()
	}
	if k := next.GetApiKey(); k != nil && k.GetValue() == "" {
		k.Value = stored.GetApiKey().GetValue()
	}
	if o := next.GetOauthClientCredentials(); o != nil {
		old := stored.GetOauthClientCredentials()
		if o.GetClientSecret() == "" {
			o.ClientSecret = old.GetClientSecret()
		}
		keepSecretParameters(o.GetTokenParameters(), old.GetTokenParameters())
	}
	keepSecretParameters(next.GetInvocationParameters(), stored.GetInvocationParameters())
}

func keepSecretParameters(next, stored []*v1.Parameter) {
	for _, p := range next {
		if !p.GetSecret() || p.GetValue() != "" {
			continue
		}
		for _, old := range stored {
			if old.GetSecret() && old.GetLocation() == p.GetLocation() && old.GetKey() == p.GetKey() {
				p.Value = old.GetValue()
				break
			}
		}
	}
}

// redactConnection returns a copy of a stored connection for the public
// API: secrets removed, and flags saying which ones are set.
func redactConnection(c *v1.Connection) *v1.Connection {
	out := proto.Clone(c).(*v1.Connection)
	setSecretFlags(out)
	for _, ref := range secretRefs(out) {
		*ref = ""
	}
	return out
}
