package delivery

import (
	"context"
	"net/http"
	"net/url"
)

// redactedQueryValue replaces every query value in what tracing sees.
const redactedQueryValue = "REDACTED"

// rawQueryKey is the context key under which hideQuery passes a
// request's real query to revealQuery.
type rawQueryKey struct{}

// hideQuery replaces each query value of a request with REDACTED before
// the tracing transport sees it, because that transport records the
// whole URL as url.full, and connections put API keys and other secret
// parameters in the query. revealQuery, below the tracing transport,
// puts the real query back before the request is sent. Keys stay, so a
// trace still shows which parameters were sent.
type hideQuery struct{ next http.RoundTripper }

func (h hideQuery) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.RawQuery == "" {
		return h.next.RoundTrip(req)
	}
	ctx := context.WithValue(req.Context(), rawQueryKey{}, req.URL.RawQuery)
	hidden := req.Clone(ctx)
	hidden.URL.RawQuery = redactQuery(req.URL.Query())
	return h.next.RoundTrip(hidden)
}

// revealQuery restores the query that hideQuery replaced.
type revealQuery struct{ next http.RoundTripper }

func (r revealQuery) RoundTrip(req *http.Request) (*http.Response, error) {
	raw, ok := req.Context().Value(rawQueryKey{}).(string)
	if !ok {
		return r.next.RoundTrip(req)
	}
	sent := req.Clone(req.Context())
	sent.URL.RawQuery = raw
	return r.next.RoundTrip(sent)
}

func redactQuery(q url.Values) string {
	for k, vs := range q {
		for i := range vs {
			vs[i] = redactedQueryValue
		}
		q[k] = vs
	}
	return q.Encode()
}
