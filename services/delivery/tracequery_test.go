package delivery

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// urlRecorder records the URL of each request it passes on.
type urlRecorder struct {
	next http.RoundTripper
	seen []string
}

func (r *urlRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.seen = append(r.seen, req.URL.String())
	return r.next.RoundTrip(req)
}

func TestQueryHiddenFromTracing(t *testing.T) {
	srv := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	sent := &urlRecorder{next: http.DefaultTransport}
	traced := &urlRecorder{next: revealQuery{next: sent}}
	client := &http.Client{Transport: hideQuery{next: traced}}

	tests := []struct {
		name, query, traced string
	}{
		{"secret values", "?api_key=s3cret&page=2", "?api_key=REDACTED&page=REDACTED"},
		{"no query", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			traced.seen, sent.seen = nil, nil
			req := httptest.NewRequest(http.MethodGet, srv.URL+"/hook"+tt.query, nil)
			req.RequestURI = ""
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()

			if got, want := traced.seen[0], srv.URL+"/hook"+tt.traced; got != want {
				t.Errorf("tracing saw %s, want %s", got, want)
			}
			if got, want := sent.seen[0], srv.URL+"/hook"+tt.query; got != want {
				t.Errorf("sent %s, want %s", got, want)
			}
			if got, want := req.URL.RawQuery, strings.TrimPrefix(tt.query, "?"); got != want {
				t.Errorf("caller's request query = %q, want %q unchanged", got, want)
			}
		})
	}
}
