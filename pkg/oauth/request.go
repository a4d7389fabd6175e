package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

// maxResponseBytes bounds the token response that is read, as
// golang.org/x/oauth2 does.
const maxResponseBytes = 1 << 20

// fetched is a token as the endpoint returned it.
type fetched struct {
	accessToken string
	// expiresIn is the lifetime the server gave, or 0 when it sent no
	// expires_in.
	expiresIn time.Duration
}

// request is a validated token request of one connection.
type request struct {
	tokenURL *url.URL
	method   string
	clientID string
	secret   string
	inHeader bool // client authentication in a Basic header, else in the body
	headers  []*v1.Parameter
	query    url.Values
	body     url.Values
}

// newRequest checks cfg and sorts its parameters by location. The
// errors name the field but never a value, since values may be secret.
func newRequest(cfg *v1.OAuthClientCredentials) (*request, error) {
	if cfg == nil {
		return nil, fmt.Errorf("%w: no client credentials", ErrInvalidConfig)
	}
	u, err := url.Parse(cfg.GetTokenUrl())
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: token_url must be an absolute http or https URL", ErrInvalidConfig)
	}
	if cfg.GetClientId() == "" {
		return nil, fmt.Errorf("%w: client_id is empty", ErrInvalidConfig)
	}

	r := &request{
		tokenURL: u,
		method:   strings.ToUpper(cfg.GetTokenMethod()),
		clientID: cfg.GetClientId(),
		secret:   cfg.GetClientSecret(),
		inHeader: cfg.GetClientAuth() != v1.ClientAuth_CLIENT_AUTH_BODY,
		query:    url.Values{},
		body:     url.Values{},
	}
	if r.method == "" {
		r.method = http.MethodPost
	}
	if r.method != http.MethodGet && r.method != http.MethodPost && r.method != http.MethodPut {
		return nil, fmt.Errorf("%w: token_method %q is not GET, POST or PUT", ErrInvalidConfig, r.method)
	}
	if err := r.addParameters(cfg.GetTokenParameters()); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *request) addParameters(params []*v1.Parameter) error {
	for i, p := range params {
		if p.GetKey() == "" {
			return fmt.Errorf("%w: token_parameters[%d] has an empty key", ErrInvalidConfig, i)
		}
		switch p.GetLocation() {
		case v1.ParameterLocation_PARAMETER_LOCATION_HEADER:
			r.headers = append(r.headers, p)
		case v1.ParameterLocation_PARAMETER_LOCATION_QUERY:
			r.query.Add(p.GetKey(), p.GetValue())
		case v1.ParameterLocation_PARAMETER_LOCATION_BODY:
			r.body.Add(p.GetKey(), p.GetValue())
		default:
			return fmt.Errorf("%w: token_parameters[%d] %q has no location", ErrInvalidConfig, i, p.GetKey())
		}
	}
	return nil
}

// urlWithQuery returns the token URL with the query parameters added to
// any it already has.
func (r *request) urlWithQuery(extra url.Values) string {
	u := *r.tokenURL
	q := u.Query()
	for k, vs := range r.query {
		q[k] = append(q[k], vs...)
	}
	for k, vs := range extra {
		q[k] = append(q[k], vs...)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// fetch makes one token request through client.
func (r *request) fetch(ctx context.Context, client *http.Client) (fetched, error) {
	if r.method == http.MethodPost {
		return r.fetchPost(ctx, client)
	}
	return r.fetchOther(ctx, client)
}

// fetchPost uses golang.org/x/oauth2, which sends POST requests only.
// The transport adds the header parameters and keeps the network error,
// because x/oauth2 turns it into text that contains the URL, and the
// URL may contain secret query parameters.
func (r *request) fetchPost(ctx context.Context, client *http.Client) (fetched, error) {
	style := oauth2.AuthStyleInParams
	if r.inHeader {
		style = oauth2.AuthStyleInHeader
	}
	conf := clientcredentials.Config{
		ClientID:       r.clientID,
		ClientSecret:   r.secret,
		TokenURL:       r.urlWithQuery(nil),
		EndpointParams: r.body,
		AuthStyle:      style,
	}

	transport := &paramTransport{base: client.Transport, headers: r.headers}
	wrapped := *client
	wrapped.Transport = transport
	ctx = context.WithValue(ctx, oauth2.HTTPClient, &wrapped)

	tok, err := conf.Token(ctx)
	if err != nil {
		status, transportErr := transport.result()
		return fetched{}, postError(err, status, transportErr)
	}

	// x/oauth2 turns expires_in into an expiry time when the response
	// arrives, so the time left is expires_in less a few microseconds.
	var expiresIn time.Duration
	if !tok.Expiry.IsZero() {
		expiresIn = max(time.Until(tok.Expiry), time.Nanosecond)
	}
	return fetched{accessToken: tok.AccessToken, expiresIn: expiresIn}, nil
}

// postError turns an x/oauth2 error into a TokenError. x/oauth2 puts
// the response body into the text of its errors, so only the status and
// the error code are kept. Status is the one the transport saw, or 0.
func postError(err error, status int, transportErr error) error {
	var retrieve *oauth2.RetrieveError
	if errors.As(err, &retrieve) && retrieve.Response != nil {
		return &TokenError{
			StatusCode: retrieve.Response.StatusCode,
			ErrorCode:  safeErrorCode(retrieve.ErrorCode),
		}
	}
	if transportErr != nil {
		return &TokenError{Err: transportErr}
	}
	// What is left are 2xx responses that x/oauth2 could not read, such
	// as a body that is not JSON or has no access_token.
	return &TokenError{StatusCode: status, problem: "response contains no valid access token"}
}

// fetchOther sends a GET or PUT token request, which x/oauth2 cannot.
// A GET carries the body parameters in the query string; a PUT sends
// them as a form like a POST.
func (r *request) fetchOther(ctx context.Context, client *http.Client) (fetched, error) {
	form := url.Values{"grant_type": {"client_credentials"}}
	for k, vs := range r.body {
		form[k] = vs
	}
	if !r.inHeader {
		form.Set("client_id", r.clientID)
		if r.secret != "" {
			form.Set("client_secret", r.secret)
		}
	}

	req, err := r.newOtherRequest(ctx, form)
	if err != nil {
		return fetched{}, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return fetched{}, &TokenError{Err: unwrapURLError(err)}
	}
	defer resp.Body.Close()
	return readTokenResponse(resp)
}

func (r *request) newOtherRequest(ctx context.Context, form url.Values) (*http.Request, error) {
	var (
		target = r.urlWithQuery(nil)
		body   io.Reader
	)
	if r.method == http.MethodGet {
		target = r.urlWithQuery(form)
	} else {
		body = strings.NewReader(form.Encode())
	}

	req, err := http.NewRequestWithContext(ctx, r.method, target, body)
	if err != nil {
		// The URL was checked in newRequest, so this is not expected;
		// the error text would contain the URL, so it is left out.
		return nil, fmt.Errorf("%w: cannot build the token request", ErrInvalidConfig)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Accept", "application/json")
	if r.inHeader {
		// Escaped as RFC 6749 section 2.3.1 requires and x/oauth2 does.
		req.SetBasicAuth(url.QueryEscape(r.clientID), url.QueryEscape(r.secret))
	}
	addHeaderParameters(req.Header, r.headers)
	return req, nil
}

// addHeaderParameters adds the header parameters of a connection to h.
// A parameter never replaces a header that the request already has,
// such as Authorization or Content-Type, so client authentication and
// the body format stay as configured.
func addHeaderParameters(h http.Header, params []*v1.Parameter) {
	present := make(map[string]bool, len(h))
	for k := range h {
		present[k] = true
	}
	for _, p := range params {
		if !present[http.CanonicalHeaderKey(p.GetKey())] {
			h.Add(p.GetKey(), p.GetValue())
		}
	}
}

// tokenResponse is the RFC 6749 section 5.1 token response.
type tokenResponse struct {
	AccessToken string `json:"access_token"`
	// ExpiresIn is a number by the RFC, but some servers send a string.
	ExpiresIn json.RawMessage `json:"expires_in"`
	Error     string          `json:"error"`
}

// expiresIn returns expires_in as a duration, or 0 when it is missing,
// not a positive whole number, or in the wrong format.
func (t tokenResponse) expiresIn() time.Duration {
	text := strings.Trim(string(t.ExpiresIn), `"`)
	secs, err := strconv.ParseInt(text, 10, 64)
	if err != nil || secs <= 0 {
		return 0
	}
	return time.Duration(min(secs, maxExpiresIn)) * time.Second
}

func readTokenResponse(resp *http.Response) (fetched, error) {
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return fetched{}, &TokenError{Err: err}
	}
	parsed, parseErr := parseTokenResponse(resp.Header.Get("Content-Type"), raw)

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fetched{}, &TokenError{
			StatusCode: resp.StatusCode,
			ErrorCode:  safeErrorCode(parsed.Error),
		}
	}
	if parseErr != nil || parsed.AccessToken == "" {
		return fetched{}, &TokenError{
			StatusCode: resp.StatusCode,
			problem:    "response contains no valid access token",
		}
	}

	return fetched{accessToken: parsed.AccessToken, expiresIn: parsed.expiresIn()}, nil
}

// maxExpiresIn caps expires_in in seconds (about 30 years), so the
// conversion to a Duration cannot overflow.
const maxExpiresIn = 1 << 30

// parseTokenResponse reads a JSON token response, or a form-encoded one
// when the Content-Type is form or plain text, as some older servers
// send.
func parseTokenResponse(contentType string, raw []byte) (tokenResponse, error) {
	mediaType, _, _ := mime.ParseMediaType(contentType)
	if mediaType == "application/x-www-form-urlencoded" || mediaType == "text/plain" {
		values, err := url.ParseQuery(string(raw))
		if err != nil {
			return tokenResponse{}, err
		}
		return tokenResponse{
			AccessToken: values.Get("access_token"),
			ExpiresIn:   json.RawMessage(values.Get("expires_in")),
			Error:       values.Get("error"),
		}, nil
	}

	var parsed tokenResponse
	if err := json.Unmarshal(raw, &parsed); err != nil {
		return tokenResponse{}, err
	}
	return parsed, nil
}

// unwrapURLError drops the *url.Error that net/http puts around
// transport errors, because its text contains the URL with any secret
// query parameters.
func unwrapURLError(err error) error {
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		return urlErr.Err
	}
	return err
}

// paramTransport adds header parameters to the token request that
// x/oauth2 builds, and records the response status or transport error.
type paramTransport struct {
	base    http.RoundTripper
	headers []*v1.Parameter

	mu      sync.Mutex
	status  int
	lastErr error
}

func (t *paramTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if len(t.headers) > 0 {
		req = req.Clone(req.Context())
		addHeaderParameters(req.Header, t.headers)
	}
	base := t.base
	if base == nil {
		base = http.DefaultTransport
	}
	resp, err := base.RoundTrip(req)

	t.mu.Lock()
	defer t.mu.Unlock()
	if err != nil {
		t.lastErr = err
	} else {
		t.status = resp.StatusCode
	}
	return resp, err
}

func (t *paramTransport) result() (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.status, t.lastErr
}
