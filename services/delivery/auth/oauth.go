package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

// Errors of Sign for OAuth connections. Transport errors of the token
// request are returned wrapped as they are.
var (
	// ErrToken means the token endpoint responded without a token, as
	// when it rejects the client secret.
	ErrToken = errors.New("token request failed")
	// ErrInvalidTokenRequest means the connection's token settings
	// cannot make a request, such as an invalid token URL.
	ErrInvalidTokenRequest = errors.New("invalid token request")
)

// expiryMargin is how long before its expiry a token is replaced, so a
// token does not expire between signing and the endpoint's check.
const expiryMargin = time.Minute

// defaultTokenLifetime applies when a token response has no
// expires_in.
const defaultTokenLifetime = time.Hour

// maxTokenResponse bounds the token response read.
const maxTokenResponse = 64 << 10

// Signer applies connections' authorization to requests. It fetches
// OAuth client credentials tokens and keeps them in memory until
// shortly before expiry. It is safe for concurrent use.
//
// TODO: share tokens across replicas through Redis; each replica
// fetches its own token until then.
type Signer struct {
	// Client returns the HTTP client for a connection's network, so
	// token requests pass the same network checks as deliveries.
	Client func(v1.Network) *http.Client
	// UserAgent is sent with token requests.
	UserAgent string

	mu     sync.Mutex
	tokens map[string]token
}

type token struct {
	value   string
	expires time.Time
	// revision of the connection that the token was fetched for.
	revision int64
}

// Sign sets the authorization of c on req, fetching a token first when
// c uses OAuth and no valid token is cached.
func (s *Signer) Sign(ctx context.Context, req *http.Request, c *v1.Connection) error {
	cc := c.GetOauthClientCredentials()
	if cc == nil {
		return Apply(req.Header, c)
	}
	tok, err := s.token(ctx, c)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	return nil
}

// Forget drops the cached token of a connection, so the next Sign
// fetches a new one. Call it when an endpoint rejects the token.
func (s *Signer) Forget(connection string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.tokens, connection)
}

// Secrets returns Secrets(c) and the cached token of c.
func (s *Signer) Secrets(c *v1.Connection) []string {
	out := Secrets(c)
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.tokens[c.GetName()]; ok {
		out = append(out, t.value)
	}
	return out
}

func (s *Signer) token(ctx context.Context, c *v1.Connection) (string, error) {
	s.mu.Lock()
	t, ok := s.tokens[c.GetName()]
	s.mu.Unlock()
	if ok && t.revision == c.GetRevision() && time.Now().Before(t.expires) {
		return t.value, nil
	}

	t, err := s.fetch(ctx, c)
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	if s.tokens == nil {
		s.tokens = map[string]token{}
	}
	s.tokens[c.GetName()] = t
	s.mu.Unlock()
	return t.value, nil
}

// fetch runs the client credentials grant (RFC 6749, section 4.4).
func (s *Signer) fetch(ctx context.Context, c *v1.Connection) (token, error) {
	req, err := s.tokenRequest(ctx, c.GetOauthClientCredentials())
	if err != nil {
		return token{}, err
	}
	resp, err := s.Client(c.GetNetwork()).Do(req)
	if err != nil {
		return token{}, fmt.Errorf("token request: %w", err)
	}
	defer resp.Body.Close()

	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTokenResponse))
	if err != nil {
		return token{}, fmt.Errorf("read token response: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return token{}, fmt.Errorf("%w: token endpoint returned HTTP %d", ErrToken, resp.StatusCode)
	}
	var parsed struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int64  `json:"expires_in"`
	}
	if err := json.Unmarshal(body, &parsed); err != nil || parsed.AccessToken == "" {
		return token{}, fmt.Errorf("%w: token response has no access_token", ErrToken)
	}
	if parsed.TokenType != "" && !strings.EqualFold(parsed.TokenType, "bearer") {
		return token{}, fmt.Errorf("%w: token type %q is not bearer", ErrToken, parsed.TokenType)
	}

	lifetime := defaultTokenLifetime
	if parsed.ExpiresIn > 0 {
		lifetime = time.Duration(parsed.ExpiresIn) * time.Second
	}
	return token{
		value:    parsed.AccessToken,
		expires:  time.Now().Add(lifetime - min(expiryMargin, lifetime/2)),
		revision: c.GetRevision(),
	}, nil
}

// tokenRequest builds the token request. Body parameters go in the
// query string for GET. The client id and secret go in a Basic header
// unless client_auth selects body fields.
func (s *Signer) tokenRequest(ctx context.Context, cc *v1.OAuthClientCredentials) (*http.Request, error) {
	method := strings.ToUpper(cc.GetTokenMethod())
	if method == "" {
		method = http.MethodPost
	}
	u, err := url.Parse(cc.GetTokenUrl())
	if err != nil {
		return nil, fmt.Errorf("%w: token URL: %w", ErrInvalidTokenRequest, err)
	}

	form := url.Values{"grant_type": {"client_credentials"}}
	query := u.Query()
	header := http.Header{}
	for _, p := range cc.GetTokenParameters() {
		switch p.GetLocation() {
		case v1.ParameterLocation_PARAMETER_LOCATION_HEADER:
			header.Set(p.GetKey(), p.GetValue())
		case v1.ParameterLocation_PARAMETER_LOCATION_QUERY:
			query.Set(p.GetKey(), p.GetValue())
		default:
			form.Set(p.GetKey(), p.GetValue())
		}
	}
	if cc.GetClientAuth() == v1.ClientAuth_CLIENT_AUTH_BODY {
		form.Set("client_id", cc.GetClientId())
		form.Set("client_secret", cc.GetClientSecret())
	}

	var body io.Reader
	if method == http.MethodGet {
		for k, v := range form {
			query[k] = v
		}
	} else {
		body = strings.NewReader(form.Encode())
		header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	u.RawQuery = query.Encode()

	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidTokenRequest, err)
	}
	req.Header = header
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", s.UserAgent)
	if cc.GetClientAuth() != v1.ClientAuth_CLIENT_AUTH_BODY {
		// RFC 6749, section 2.3.1: both parts are form-encoded first.
		req.SetBasicAuth(url.QueryEscape(cc.GetClientId()), url.QueryEscape(cc.GetClientSecret()))
	}
	return req, nil
}
