package config

import (
	"net/http"
	"strings"

	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

// transportHeaders are the headers that Go's HTTP client (net/http, Go
// 1.26) sets itself, ignores or refuses in a request's header map, with
// why a configured value never reaches the endpoint. They apply to
// every header a user configures: target headers, connection
// parameters and the API key header.
var transportHeaders = map[string]string{
	// Request.Write leaves out Host, Content-Length, Transfer-Encoding
	// and Trailer from the header map and writes its own.
	"Host": "the HTTP client sends the host of the URL and ignores this header; " +
		"put the host in the URL",
	"Content-Length":    "the HTTP client sets it from the body and ignores this header",
	"Transfer-Encoding": "the HTTP client chooses the transfer coding and ignores this header",
	"Trailer":           "the HTTP client ignores this header, and delivery sends no trailers",
	// Hop-by-hop headers (RFC 9110, section 7.6.1) describe one
	// connection, which the HTTP client manages. Over HTTP/2 it drops
	// them or fails the request (RFC 9113, section 8.2.2).
	"Connection":       hopByHop,
	"Upgrade":          hopByHop,
	"Te":               hopByHop,
	"Keep-Alive":       hopByHop,
	"Proxy-Connection": hopByHop,
}

const hopByHop = "it is a hop-by-hop header that the HTTP client manages for each connection, " +
	"and HTTP/2 requests fail or drop it"

// userAgentReason explains why User-Agent is rejected: delivery sets its
// own User-Agent after the target headers and connection parameters.
const userAgentReason = "delivery replaces it with its own User-Agent on every call"

// checkTransportHeader rejects a header name in transportHeaders. noun
// names the header's role, as in "the target header".
func checkTransportHeader(field, noun, name string) error {
	if reason, ok := transportHeaders[http.CanonicalHeaderKey(name)]; ok {
		return invalidf(field, "%s %q cannot be set: %s", noun, name, reason)
	}
	return nil
}

// checkTargetHeader checks a target header name against what delivery
// sends in its place. Delivery applies the target headers first, then
// sets Content-Type from the target's content type whenever the request
// has a body, then the connection's header parameters, User-Agent and
// the authorization.
func checkTargetHeader(field, name string) error {
	const noun = "the target header"
	if err := checkHeaderName(field, noun, name); err != nil {
		return err
	}
	if err := checkTransportHeader(field, noun, name); err != nil {
		return err
	}
	switch http.CanonicalHeaderKey(name) {
	case "User-Agent":
		return invalidf(field, "%s %q cannot be set: %s", noun, name, userAgentReason)
	case "Content-Type":
		// NOTE: a target whose body renders empty, such as an empty
		// constant, would send this header unchanged. A Content-Type
		// without a body describes nothing, so it is rejected as well.
		return invalidf(field, "%s %q cannot be set: delivery sets Content-Type from the "+
			"target's content type on every request with a body; set the content type instead",
			noun, name)
	case "Authorization":
		// Basic and OAuth connections replace it, and a target's
		// headers are stored and shown in plain text, unlike a
		// connection's secrets.
		return invalidf(field, "%s %q cannot be set: credentials belong in the connection, "+
			"whose basic or OAuth authorization replaces this header and whose secrets are "+
			"stored encrypted; use the connection's authorization, or an api_key "+
			"authorization with the header name Authorization", noun, name)
	}
	return nil
}

// authHeader returns the header that the authorization of c sets on
// every call, or "" for none. Delivery sets it after the invocation
// parameters, so it replaces a parameter of the same name.
func authHeader(c *v1.Connection) string {
	switch {
	case c.GetBasic() != nil, c.GetOauthClientCredentials() != nil:
		return "Authorization"
	case c.GetApiKey() != nil:
		return c.GetApiKey().GetHeaderName()
	}
	return ""
}

// checkInvocationHeader checks a header parameter of connection c.
func checkInvocationHeader(field string, c *v1.Connection, p *v1.Parameter) error {
	const noun = "the header parameter"
	if err := checkTransportHeader(field, noun, p.GetKey()); err != nil {
		return err
	}
	if strings.EqualFold(p.GetKey(), "User-Agent") {
		return invalidf(field, "%s %q cannot be set: %s", noun, p.GetKey(), userAgentReason)
	}
	if auth := authHeader(c); auth != "" && strings.EqualFold(p.GetKey(), auth) {
		return invalidf(field, "%s %q cannot be set: the connection's %s authorization "+
			"sets %s on every call and replaces it; give the value as the authorization instead",
			noun, p.GetKey(), authKind(c), auth)
	}
	return nil
}

// checkTokenHeader checks a header parameter of an OAuth token request,
// whose method is already upper-case. The token request never replaces
// a header it sets itself: Content-Type when it has a body (any method
// but GET), Authorization when the client authenticates in the header,
// and Accept for GET and PUT, which pkg/oauth builds without
// golang.org/x/oauth2.
func checkTokenHeader(field string, o *v1.OAuthClientCredentials, p *v1.Parameter) error {
	const noun = "the token request header parameter"
	if err := checkTransportHeader(field, noun, p.GetKey()); err != nil {
		return err
	}
	var reason string
	switch http.CanonicalHeaderKey(p.GetKey()) {
	case "Accept":
		if o.GetTokenMethod() != http.MethodPost {
			reason = "the token request asks for application/json"
		}
	case "Content-Type":
		if o.GetTokenMethod() != http.MethodGet {
			reason = "the token request sends its body as application/x-www-form-urlencoded"
		}
	case "Authorization":
		if o.GetClientAuth() != v1.ClientAuth_CLIENT_AUTH_BODY {
			reason = "the client id and secret go in this header; use client authentication " +
				"in the body to send your own"
		}
	}
	if reason != "" {
		return invalidf(field, "%s %q would be ignored: %s", noun, p.GetKey(), reason)
	}
	return nil
}

// checkHeaderValue rejects a header value with a control character,
// which net/http refuses to send. The value is never shown, because it
// may be a secret.
func checkHeaderValue(field, noun, name, value string) error {
	if i := strings.IndexFunc(value, isControl); i >= 0 {
		return invalidf(field, "the value of %s %q contains the control character %q at byte %d; "+
			"HTTP header values cannot carry CR, LF or other control characters except tab",
			noun, name, value[i], i)
	}
	return nil
}

func authKind(c *v1.Connection) string {
	switch {
	case c.GetBasic() != nil:
		return "basic"
	case c.GetApiKey() != nil:
		return "api_key"
	case c.GetOauthClientCredentials() != nil:
		return "OAuth"
	}
	return ""
}
