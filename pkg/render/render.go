// Package render turns a matched event and a target into the parts of an
// HTTP request that the target decides: path values, headers, query
// string, body and content type. The rule engine renders each request
// once, so every retry of a delivery sends the same bytes.
//
// # Values
//
// A path value, header, query parameter or form field is a constant, or a
// JSON path into the event when it starts with "$." or "$[", such as
// "$.data.repository.name" or "$.data.commits[0]['id']". A constant
// therefore cannot start with "$." or "$[". See jsonPath for the
// supported path syntax. A path that selects a string yields the string
// itself, any other JSON value yields its compact JSON text, and a path
// that selects nothing yields "".
//
// Request escapes no path value or query value: delivery escapes each path
// value as one URL path segment and encodes the query string. It rejects a
// path value that is empty, "." or "..", which would change the URL path,
// and a header value with a control character such as CR or LF, because
// HTTP cannot carry one. A delivery of either would fail on every attempt.
//
// # Body
//
// The input of a target selects the body:
//
//   - none: the whole event, as CloudEvents JSON, byte for byte;
//   - path: the selected value. With a JSON content type it is JSON text,
//     so a string keeps its quotes and nothing selected gives null. With
//     any other content type it is the value's text, so a string has no
//     quotes and nothing selected gives an empty body;
//   - constant: the constant, byte for byte;
//   - form: application/x-www-form-urlencoded fields in name order;
//   - template: see below.
//
// The content type is the target's, or application/json, except for a
// form body, where it is application/x-www-form-urlencoded.
//
// # Templates
//
// A template contains placeholders "<name>" for variables. A variable
// is declared with a JSON path in InputTemplate.paths, or is one of the
// built-ins, which are always defined:
//
//	<switchyard.rule>            name of the matched rule
//	<switchyard.event-id>        id of the event
//	<switchyard.bus>             bus of the event
//	<switchyard.ingestion-time>  when ingest accepted the event, RFC 3339 in UTC
//	<switchyard.event>           the whole event, as JSON
//
// A template is a JSON template when the content type is
// application/json or ends in +json, which includes the default. The
// shape of the template does not matter, so a body never changes kind
// with the data. In a JSON template a placeholder outside a JSON string
// becomes the value as JSON, so <count> gives 3 and <name> gives "shop"
// with its quotes. Inside a JSON string it becomes the value's text with
// JSON escaping, so quotes, backslashes and newlines in the data cannot
// break the body. A path that selects nothing gives null outside a string
// and nothing inside one. [ValidateTarget] rejects a JSON template that
// some values would turn into invalid JSON, and Request checks the result
// again.
//
// A template is a form template when the content type is
// application/x-www-form-urlencoded. Each placeholder becomes the value's
// text escaped as a form value, so "BRANCH=<branch>&COMMIT=<commit>"
// decodes back to the values even when they contain "&" or "=". The
// template's own text is sent as written.
//
// Any other template is a text template, sent exactly as rendered: each
// placeholder becomes the value's text without quotes or escaping, and a
// path that selects nothing gives "". Use it for XML or plain text.
//
// Only "<" followed by a name and ">" starts a placeholder, so "</b>",
// "<?xml" and "a < b" are literal text. To write a placeholder-shaped
// text such as an XML start tag "<build>" literally, put a backslash in
// front of it: "\<build>".
package render

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	internalv1 "github.com/switchyard-dev/switchyard/proto/switchyard/internalapi/v1"
	v1 "github.com/switchyard-dev/switchyard/proto/switchyard/v1"
)

// Content types used when a target sets none.
const (
	ContentTypeJSON = "application/json"
	ContentTypeForm = "application/x-www-form-urlencoded"
)

// Meta describes the match an event is rendered for. Templates read it
// through the built-in variables.
type Meta struct {
	Bus        string
	Rule       string
	EventID    string
	IngestTime time.Time
}

// Request renders the request of target for the JSON event. It reads the
// event only as far as the target's paths need, so an event is checked
// for being a JSON object only when a path or <switchyard.event> is used.
// The result shares no memory with target, but its body may alias event
// when the whole event is sent.
//
// Errors are *FieldError values naming the field of target, and wrap
// ErrInvalidPath, ErrInvalidEvent, ErrUnknownVariable, ErrInvalidJSON,
// ErrInvalidHeaderValue or ErrInvalidPathValue.
func Request(event []byte, meta Meta, target *v1.Target) (*internalv1.RenderedRequest, error) {
	d := &document{raw: event}
	req := &internalv1.RenderedRequest{}

	for i, spec := range target.GetPathValues() {
		v, err := d.value(spec)
		if err != nil {
			return nil, pathValueError(i, spec, err)
		}
		if err := checkPathValueOf(v, spec); err != nil {
			return nil, pathValueError(i, spec, err)
		}
		req.PathValues = append(req.PathValues, v)
	}

	// A header or query parameter whose JSON path matches nothing in
	// the event is left out rather than sent empty, so the endpoint
	// applies its default, as Jenkins does for a build parameter.
	for _, name := range sortedKeys(target.GetHeaders()) {
		v, found, err := d.headerValue(target.GetHeaders()[name])
		if err != nil {
			return nil, &FieldError{Field: fmt.Sprintf("headers[%q]", name), Err: err}
		}
		if found {
			req.Headers = append(req.Headers, &internalv1.Header{Name: name, Value: v})
		}
	}

	for _, name := range sortedKeys(target.GetQuery()) {
		v, found, err := d.lookupValue(target.GetQuery()[name])
		if err != nil {
			return nil, &FieldError{Field: fmt.Sprintf("query[%q]", name), Err: err}
		}
		if found {
			req.Query = append(req.Query, &internalv1.QueryParameter{Name: name, Value: v})
		}
	}

	req.ContentType = ContentType(target)
	body, err := d.body(target.GetInput(), meta, formatOf(req.ContentType))
	if err != nil {
		return nil, err
	}
	req.Body = body
	return req, nil
}

// ContentType returns the content type that target's requests carry:
// the target's own, or the default for its input.
func ContentType(target *v1.Target) string {
	if ct := target.GetContentType(); ct != "" {
		return ct
	}
	if target.GetInput().GetForm() != nil {
		return ContentTypeForm
	}
	return ContentTypeJSON
}

// value returns spec itself when it is a constant, or the text of the
// value that the path spec selects, which is empty when it selects
// nothing.
func (d *document) value(spec string) (string, error) {
	v, _, err := d.lookupValue(spec)
	return v, err
}

// lookupValue is value that also reports whether there was a value: a
// constant always is one, a path only when it selects something.
func (d *document) lookupValue(spec string) (string, bool, error) {
	if !isPath(spec) {
		return spec, true, nil
	}
	p, err := parsePath(spec)
	if err != nil {
		return "", false, err
	}
	raw, found, err := d.lookup(p)
	if err != nil || !found {
		return "", false, err
	}
	v, err := valueText(raw)
	return v, err == nil, err
}

// headerValue is lookupValue for a header, which cannot carry control
// characters other than tab.
func (d *document) headerValue(spec string) (string, bool, error) {
	v, found, err := d.lookupValue(spec)
	if err != nil || !found {
		return "", false, err
	}
	if i := strings.IndexFunc(v, isControl); i >= 0 {
		return "", false, fmt.Errorf("%w: the value contains the control character %q at byte %d, "+
			"which HTTP headers cannot carry", ErrInvalidHeaderValue, v[i], i)
	}
	return v, true, nil
}

func isControl(r rune) bool {
	return r < ' ' && r != '\t' || r == 0x7f
}

func (d *document) body(in *v1.Input, meta Meta, f format) ([]byte, error) {
	switch kind := in.GetKind().(type) {
	case nil:
		return d.raw, nil

	case *v1.Input_Path:
		body, err := d.selectBody(kind.Path, f == formatJSON)
		if err != nil {
			return nil, &FieldError{Field: "input.path", Err: err}
		}
		return body, nil

	case *v1.Input_Constant:
		return []byte(kind.Constant), nil

	case *v1.Input_Form:
		return d.form(kind.Form, meta)

	case *v1.Input_Template:
		body, err := d.template(kind.Template, meta, f)
		if err != nil {
			return nil, &FieldError{Field: "input.template", Err: err}
		}
		return body, nil

	default:
		return nil, fmt.Errorf("input of kind %T is not supported", kind)
	}
}

// selectBody returns the value that path selects, as JSON or as text.
func (d *document) selectBody(path string, asJSONText bool) ([]byte, error) {
	p, err := parsePath(path)
	if err != nil {
		return nil, err
	}
	raw, found, err := d.lookup(p)
	if err != nil {
		return nil, err
	}

	var out bytes.Buffer
	how := asText
	if asJSONText {
		how = asJSON
	}
	if err := insert(&out, raw, found, how); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// form renders form fields as an application/x-www-form-urlencoded body,
// with the fields in name order.
func (d *document) form(f *v1.FormBody, meta Meta) ([]byte, error) {
	values := make(url.Values, len(f.GetFields())+len(f.GetJsonFields()))
	for name, spec := range f.GetFields() {
		v, err := d.value(spec)
		if err != nil {
			return nil, &FieldError{Field: fmt.Sprintf("input.form.fields[%q]", name), Err: err}
		}
		values.Set(name, v)
	}
	for name, t := range f.GetJsonFields() {
		v, err := d.template(t, meta, formatJSON)
		if err != nil {
			return nil, &FieldError{Field: fmt.Sprintf("input.form.json_fields[%q]", name), Err: err}
		}
		values.Set(name, string(v))
	}
	return []byte(values.Encode()), nil
}

// template renders a template. A JSON template that renders invalid
// JSON fails with ErrInvalidJSON, which ValidateTarget prevents for
// every value.
func (d *document) template(t *v1.InputTemplate, meta Meta, f format) ([]byte, error) {
	paths := make(map[string]jsonPath, len(t.GetPaths()))
	for name, spec := range t.GetPaths() {
		p, err := parsePath(spec)
		if err != nil {
			return nil, fmt.Errorf("paths[%q]: %w", name, err)
		}
		paths[name] = p
	}

	value := func(name string) (json.RawMessage, bool, error) {
		if p, ok := paths[name]; ok {
			return d.lookup(p)
		}
		return d.builtinValue(name, meta)
	}
	body, err := execute(parseTemplate(t.GetTemplate(), f == formatJSON), f, value)
	if err != nil {
		return nil, err
	}
	if f == formatJSON && !json.Valid(body) {
		return nil, fmt.Errorf("%w: the rendered template", ErrInvalidJSON)
	}
	return body, nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
