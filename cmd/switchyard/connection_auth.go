package main

import (
	"fmt"
	"strings"

	"github.com/spf13/pflag"

	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

// Names of the authorization types on the command line.
const (
	authBasic  = "basic"
	authAPIKey = "api_key"
	authOAuth  = "oauth_client_credentials"
)

// authAliases maps the other forms that --auth accepts to the type names:
// a short form and the spellings with hyphens, as the flags write them.
var authAliases = map[string]string{
	"oauth":                    authOAuth,
	"api-key":                  authAPIKey,
	"oauth-client-credentials": authOAuth,
}

// authFlags lists the flags that belong to each authorization type.
var authFlags = map[string][]string{
	authBasic:  {"username", "password-env", "password-stdin"},
	authAPIKey: {"api-key-name", "api-key-env", "api-key-stdin"},
	authOAuth: {"token-url", "token-method", "client-id", "client-secret-env",
		"client-secret-stdin", "client-auth", "token-param", "token-param-env",
		"remove-token-param"},
}

// authName returns the command-line name of c's authorization type, or ""
// when it has none.
func authName(c *v1.Connection) string {
	switch {
	case c.GetBasic() != nil:
		return authBasic
	case c.GetApiKey() != nil:
		return authAPIKey
	case c.GetOauthClientCredentials() != nil:
		return authOAuth
	}
	return ""
}

// applyAuth sets c's authorization from the flags. A type other than the
// stored one starts from scratch, so all its required fields, secret
// included, must be given.
func (f *connectionFlags) applyAuth(a *app, fs *pflag.FlagSet, c *v1.Connection) error {
	current := authName(c)
	name := current
	if fs.Changed("auth") {
		name = f.auth
		if full, ok := authAliases[name]; ok {
			name = full
		}
	}
	if name == "" {
		return usagef("missing --auth: want %s, %s or %s", authBasic, authAPIKey, authOAuth)
	}
	if _, ok := authFlags[name]; !ok {
		return usagef("invalid --auth %q: want %s, %s or %s (oauth for short)",
			name, authBasic, authAPIKey, authOAuth)
	}
	if err := checkAuthFlags(fs, name); err != nil {
		return err
	}

	fresh := name != current
	switch name {
	case authBasic:
		return f.applyBasic(a, fs, c, fresh)
	case authAPIKey:
		return f.applyAPIKey(a, fs, c, fresh)
	default:
		return f.applyOAuth(a, fs, c, fresh)
	}
}

// checkAuthFlags rejects flags of an authorization type other than name.
func checkAuthFlags(fs *pflag.FlagSet, name string) error {
	for other, flags := range authFlags {
		if other == name {
			continue
		}
		for _, flag := range flags {
			if fs.Changed(flag) {
				return usagef("--%s applies to --auth %s, but the connection uses %s",
					flag, other, name)
			}
		}
	}
	return nil
}

func (f *connectionFlags) applyBasic(a *app, fs *pflag.FlagSet, c *v1.Connection,
	fresh bool) error {
	b := c.GetBasic()
	if fresh {
		b = &v1.BasicAuth{}
	}
	if fs.Changed("username") {
		b.Username = f.username
	}

	password, err := a.readSecret(secretSource{"password-env", f.passwordEnv,
		"password-stdin", f.passwordStdin})
	if err != nil {
		return err
	}
	if password != "" {
		b.Password = password
	}

	if fresh && b.Username == "" {
		return usagef("--auth basic needs --username")
	}
	if fresh && password == "" {
		return missingSecret("basic", "password")
	}
	c.Authorization = &v1.Connection_Basic{Basic: b}
	return nil
}

func (f *connectionFlags) applyAPIKey(a *app, fs *pflag.FlagSet, c *v1.Connection,
	fresh bool) error {
	k := c.GetApiKey()
	if fresh {
		k = &v1.ApiKeyAuth{}
	}
	if fs.Changed("api-key-name") {
		k.HeaderName = f.apiKeyName
	}

	value, err := a.readSecret(secretSource{"api-key-env", f.apiKeyEnv,
		"api-key-stdin", f.apiKeyStdin})
	if err != nil {
		return err
	}
	if value != "" {
		k.Value = value
	}

	if fresh && k.HeaderName == "" {
		return usagef("--auth api_key needs --api-key-name, such as X-API-Key")
	}
	if fresh && value == "" {
		return missingSecret("api_key", "api-key")
	}
	c.Authorization = &v1.Connection_ApiKey{ApiKey: k}
	return nil
}

func (f *connectionFlags) applyOAuth(a *app, fs *pflag.FlagSet, c *v1.Connection,
	fresh bool) error {
	o := c.GetOauthClientCredentials()
	if fresh {
		o = &v1.OAuthClientCredentials{TokenMethod: "POST"}
	}
	if err := f.applyOAuthFields(fs, o); err != nil {
		return err
	}

	secret, err := a.readSecret(secretSource{"client-secret-env", f.clientSecretEnv,
		"client-secret-stdin", f.clientSecretStdin})
	if err != nil {
		return err
	}
	if secret != "" {
		o.ClientSecret = secret
	}
	if err := f.applyTokenParameters(a, o); err != nil {
		return err
	}

	switch {
	case fresh && o.TokenUrl == "":
		return usagef("--auth %s needs --token-url", authOAuth)
	case fresh && o.ClientId == "":
		return usagef("--auth %s needs --client-id", authOAuth)
	case fresh && secret == "":
		return missingSecret(authOAuth, "client-secret")
	}
	c.Authorization = &v1.Connection_OauthClientCredentials{OauthClientCredentials: o}
	return nil
}

func (f *connectionFlags) applyOAuthFields(fs *pflag.FlagSet, o *v1.OAuthClientCredentials) error {
	if fs.Changed("token-url") {
		o.TokenUrl = f.tokenURL
	}
	if fs.Changed("client-id") {
		o.ClientId = f.clientID
	}
	if fs.Changed("token-method") {
		method := strings.ToUpper(f.tokenMethod)
		if method != "GET" && method != "POST" && method != "PUT" {
			return usagef("invalid --token-method %q: want GET, POST or PUT", f.tokenMethod)
		}
		o.TokenMethod = method
	}

	if !fs.Changed("client-auth") {
		return nil
	}
	switch f.clientAuth {
	case "header":
		o.ClientAuth = v1.ClientAuth_CLIENT_AUTH_HEADER
	case "body":
		o.ClientAuth = v1.ClientAuth_CLIENT_AUTH_BODY
	default:
		return usagef("invalid --client-auth %q: want header or body", f.clientAuth)
	}
	return nil
}

func (f *connectionFlags) applyTokenParameters(a *app, o *v1.OAuthClientCredentials) error {
	plain, err := locatedFlags("token-param", f.tokenParams, false)
	if err != nil {
		return err
	}
	secret, err := locatedFlags("token-param-env", f.tokenParamsEnv, true)
	if err != nil {
		return err
	}
	params, err := a.parameters(append(plain, secret...))
	if err != nil {
		return err
	}

	list, err := removeParameters("remove-token-param", o.GetTokenParameters(), f.removeTokenParams)
	if err != nil {
		return err
	}
	o.TokenParameters = mergeParameters(list, params)
	return nil
}

// missingSecret explains how to give a required secret; secret is the
// stem of its flags, such as "password" for --password-env.
func missingSecret(auth, secret string) error {
	noun := strings.ReplaceAll(secret, "-", " ")
	article := "a"
	if strings.ContainsRune("aeiou", rune(noun[0])) {
		article = "an"
	}
	return usageError{err: fmt.Errorf("--auth %s needs %s %s: use --%s-env VAR or --%s-stdin "+
		"(a secret is never taken from a flag value)", auth, article, noun, secret, secret)}
}
