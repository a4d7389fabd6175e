package delivery

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/switchyard-dev/switchyard/pkg/render"
	internalv1 "github.com/switchyard-dev/switchyard/proto/switchyard/internalapi/v1"
	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
	"github.com/switchyard-dev/switchyard/services/delivery/retry"
)

const defaultContentType = "application/json"

// buildRequest builds the HTTP request of a task for a resolved
// destination. The target decides path values, headers, query and
// body; the connection's invocation parameters then override the
// target's where they share a key. The caller signs the request.
//
// Body invocation parameters apply only to JSON bodies: they are set
// as string fields of the top-level JSON object, and an empty body
// becomes an object. Other bodies, or JSON that is not an object, are
// sent without them.
//
// Errors wrap retry.ErrConfig, since the same task and configuration
// fail the same way on every attempt.
func buildRequest(ctx context.Context, task *internalv1.DeliveryTask,
	r *internalv1.ResolvedDestination, userAgent string) (*http.Request, error) {
	dest, conn := r.GetApiDestination(), r.GetConnection()
	rendered := task.GetRequest()

	u, err := render.FillURL(dest.GetUrl(), rendered.GetPathValues())
	if err != nil {
		return nil, fmt.Errorf("%w: destination %s: %w", retry.ErrConfig, dest.GetName(), err)
	}
	u.RawQuery = mergeQuery(u.Query(), rendered.GetQuery(), conn.GetInvocationParameters())

	contentType := rendered.GetContentType()
	if contentType == "" {
		contentType = defaultContentType
	}
	body := mergeBody(rendered.GetBody(), contentType, conn.GetInvocationParameters())

	method := dest.GetMethod()
	if method == "" {
		method = http.MethodPost
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%w: destination %s: %w", retry.ErrConfig, dest.GetName(), err)
	}

	for _, h := range rendered.GetHeaders() {
		req.Header.Set(h.GetName(), h.GetValue())
	}
	if len(body) > 0 {
		req.Header.Set("Content-Type", contentType)
	}
	for _, p := range conn.GetInvocationParameters() {
		if p.GetLocation() == v1.ParameterLocation_PARAMETER_LOCATION_HEADER {
			req.Header.Set(p.GetKey(), p.GetValue())
		}
	}
	req.Header.Set("User-Agent", userAgent)
	return req, nil
}

func mergeQuery(q url.Values, target []*internalv1.QueryParameter, params []*v1.Parameter) string {
	for _, p := range target {
		q.Set(p.GetName(), p.GetValue())
	}
	for _, p := range params {
		if p.GetLocation() == v1.ParameterLocation_PARAMETER_LOCATION_QUERY {
			q.Set(p.GetKey(), p.GetValue())
		}
	}
	return q.Encode()
}

// mergeBody sets the body invocation parameters on a JSON object body.
// It returns body unchanged when there are none or they do not apply.
func mergeBody(body []byte, contentType string, params []*v1.Parameter) []byte {
	var fields []*v1.Parameter
	for _, p := range params {
		if p.GetLocation() == v1.ParameterLocation_PARAMETER_LOCATION_BODY {
			fields = append(fields, p)
		}
	}
	if len(fields) == 0 || !isJSON(contentType) {
		return body
	}

	object := map[string]json.RawMessage{}
	if len(bytes.TrimSpace(body)) > 0 {
		if err := json.Unmarshal(body, &object); err != nil || object == nil {
			return body
		}
	}
	for _, p := range fields {
		v, err := json.Marshal(p.GetValue())
		if err != nil {
			return body
		}
		object[p.GetKey()] = v
	}
	merged, err := json.Marshal(object)
	if err != nil {
		return body
	}
	return merged
}

func isJSON(contentType string) bool {
	mediaType, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	return mediaType == "application/json" || strings.HasSuffix(mediaType, "+json")
}
