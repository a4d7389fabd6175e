package records

import (
	"unicode/utf8"

	internalv1 "github.com/switchyard-dev/switchyard/proto/switchyard/internalapi/v1"
	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

// maxBodyView bounds the body kept in a delivery record, which shows
// the request for reading, not for replaying it.
const maxBodyView = 4 << 10

// RequestView returns the rendered request as a delivery record shows
// it. It holds what the target rendered from the event and none of the
// connection's secrets, which delivery adds only when it calls.
func RequestView(req *internalv1.RenderedRequest) *v1.DeliveryRequest {
	view := &v1.DeliveryRequest{
		PathValues:  req.GetPathValues(),
		ContentType: req.GetContentType(),
	}
	for _, h := range req.GetHeaders() {
		view.Headers = append(view.Headers, &v1.HttpField{Name: h.GetName(), Value: h.GetValue()})
	}
	for _, q := range req.GetQuery() {
		view.Query = append(view.Query, &v1.HttpField{Name: q.GetName(), Value: q.GetValue()})
	}

	body := req.GetBody()
	if len(body) > maxBodyView {
		body = body[:maxBodyView]
		// Cut at a character boundary, so the view stays valid UTF-8.
		for len(body) > 0 && !utf8.Valid(body) {
			body = body[:len(body)-1]
		}
		view.BodyTruncated = true
	}
	view.Body = string(body)
	return view
}
