package render

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// pathPrefix starts every JSON path in a target value. A value without
// it is a constant, so a constant cannot start with "$.".
const pathPrefix = "$."

// document is an event whose top level is decoded on first use, so that
// a target without paths costs no decoding.
type document struct {
	raw    []byte
	root   map[string]json.RawMessage
	parsed bool
	err    error
}

// value returns spec itself when it is a constant, or the text of the
// value that the path spec selects.
func (d *document) value(spec string) (string, error) {
	if !strings.HasPrefix(spec, pathPrefix) {
		return spec, nil
	}
	raw, err := d.lookup(spec)
	if err != nil || raw == nil {
		return "", err
	}
	return text(raw)
}

// selectJSON returns the compact JSON text of the value that path
// selects, the whole event for "$", and nil when nothing is selected.
func (d *document) selectJSON(path string) ([]byte, error) {
	if path == "$" {
		return d.raw, nil
	}
	raw, err := d.lookup(path)
	if err != nil || raw == nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// lookup returns the raw JSON value at path, or nil when a field on the
// way is missing or is not an object.
func (d *document) lookup(path string) (json.RawMessage, error) {
	fields, err := splitPath(path)
	if err != nil {
		return nil, err
	}
	object, err := d.rootObject()
	if err != nil {
		return nil, err
	}

	var current json.RawMessage
	for i, field := range fields {
		if i > 0 {
			object = decodeObject(current)
		}
		var ok bool
		if current, ok = object[field]; !ok {
			return nil, nil
		}
	}
	return current, nil
}

func (d *document) rootObject() (map[string]json.RawMessage, error) {
	if !d.parsed {
		d.parsed = true
		if firstByte(d.raw) != '{' {
			d.err = ErrInvalidEvent
		} else if err := json.Unmarshal(d.raw, &d.root); err != nil {
			d.err = fmt.Errorf("%w: %w", ErrInvalidEvent, err)
		}
	}
	return d.root, d.err
}

// splitPath returns the field names of a path such as "$.data.name".
func splitPath(path string) ([]string, error) {
	rest, ok := strings.CutPrefix(path, pathPrefix)
	if !ok {
		return nil, fmt.Errorf("%w %q: it must start with %q", ErrInvalidPath, path, pathPrefix)
	}
	fields := strings.Split(rest, ".")
	for _, f := range fields {
		if f == "" {
			return nil, fmt.Errorf("%w %q: empty field name", ErrInvalidPath, path)
		}
	}
	return fields, nil
}

// decodeObject returns the members of raw, or nil when raw is not an
// object, which makes the path select nothing.
func decodeObject(raw json.RawMessage) map[string]json.RawMessage {
	if firstByte(raw) != '{' {
		return nil
	}
	var object map[string]json.RawMessage
	if err := json.Unmarshal(raw, &object); err != nil {
		return nil
	}
	return object
}

// text returns a JSON string's content, and the compact JSON text of any
// other value.
func text(raw json.RawMessage) (string, error) {
	if firstByte(raw) == '"' {
		var s string
		err := json.Unmarshal(raw, &s)
		return s, err
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return "", err
	}
	return buf.String(), nil
}

func firstByte(b []byte) byte {
	b = bytes.TrimLeft(b, " \t\r\n")
	if len(b) == 0 {
		return 0
	}
	return b[0]
}
