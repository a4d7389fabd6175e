// Package render turns a matched event and a target into the HTTP request
// parts that a target decides: path values, headers, query string, body
// and content type. The rule engine renders each request once, so every
// retry of a delivery sends the same bytes.
//
// A target value is either a constant or, when it starts with "$.", a
// JSON path into the event made of dot-separated field names, such as
// "$.data.repository.name". A path that selects a string yields the
// string itself. Any other JSON value yields its compact JSON text, and a
// path that selects nothing yields "".
//
// Render does not escape anything: values go into the RenderedRequest as
// they are. Escaping is delivery's job when it builds the HTTP call. It
// must escape each path value as one URL path segment and encode the
// query string, and net/http rejects header values that contain CR or
// LF. Only form bodies are encoded here, because the body is final once
// rendered.
package render

import (
	"fmt"
	"net/url"
	"slices"
	"time"

	internalv1 "github.com/switchyard-dev/switchyard/proto/switchyard/internalapi/v1"
	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

// Content types used when a target sets none.
const (
	ContentTypeJSON = "application/json"
	ContentTypeForm = "application/x-www-form-urlencoded"
)

// Meta describes the match an event is rendered for.
//
// TODO: Request does not read Meta yet. Input templates, which are still
// missing, will expose these fields as placeholders.
type Meta struct {
	Bus        string
	Rule       string
	IngestTime time.Time
}

// Request renders the request of target for the JSON event. It reads the
// event only as far as the target's paths need, so an event is checked
// for being a JSON object only when a path is used. The result shares no
// memory with target, but its body may alias event when the whole event
// is sent.
//
// Errors wrap ErrInvalidPath, ErrInvalidEvent or ErrTemplateUnsupported.
func Request(event []byte, meta Meta, target *v1.Target) (*internalv1.RenderedRequest, error) {
	d := &document{raw: event}
	req := &internalv1.RenderedRequest{}

	for i, spec := range target.GetPathValues() {
		v, err := d.value(spec)
		if err != nil {
			return nil, fmt.Errorf("path value %d: %w", i, err)
		}
		req.PathValues = append(req.PathValues, v)
	}

	for _, name := range sortedKeys(target.GetHeaders()) {
		v, err := d.value(target.GetHeaders()[name])
		if err != nil {
			return nil, fmt.Errorf("header %q: %w", name, err)
		}
		req.Headers = append(req.Headers, &internalv1.Header{Name: name, Value: v})
	}

	for _, name := range sortedKeys(target.GetQuery()) {
		v, err := d.value(target.GetQuery()[name])
		if err != nil {
			return nil, fmt.Errorf("query parameter %q: %w", name, err)
		}
		req.Query = append(req.Query, &internalv1.QueryParameter{Name: name, Value: v})
	}

	body, contentType, err := d.body(target.GetInput())
	if err != nil {
		return nil, err
	}
	req.Body = body
	req.ContentType = target.GetContentType()
	if req.ContentType == "" {
		req.ContentType = contentType
	}
	return req, nil
}

// body renders the input of a target and returns the body with its
// default content type.
func (d *document) body(in *v1.Input) ([]byte, string, error) {
	switch kind := in.GetKind().(type) {
	case nil:
		return d.raw, ContentTypeJSON, nil

	case *v1.Input_Path:
		raw, err := d.selectJSON(kind.Path)
		if err != nil {
			return nil, "", fmt.Errorf("input path: %w", err)
		}
		return raw, ContentTypeJSON, nil

	case *v1.Input_Constant:
		return []byte(kind.Constant), ContentTypeJSON, nil

	case *v1.Input_Form:
		return d.form(kind.Form)

	case *v1.Input_Template:
		// TODO: input templates, which fill <name> placeholders from
		// paths; a target with one cannot be delivered until they exist.
		return nil, "", ErrTemplateUnsupported

	default:
		return nil, "", fmt.Errorf("input of kind %T is not supported", kind)
	}
}

// form renders form fields as an application/x-www-form-urlencoded body,
// with the fields in name order.
func (d *document) form(f *v1.FormBody) ([]byte, string, error) {
	values := make(url.Values, len(f.GetFields()))
	for name, spec := range f.GetFields() {
		v, err := d.value(spec)
		if err != nil {
			return nil, "", fmt.Errorf("form field %q: %w", name, err)
		}
		values.Set(name, v)
	}
	return []byte(values.Encode()), ContentTypeForm, nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
