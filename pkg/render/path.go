package render

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// maxIndexDigits bounds an array index so that it fits an int anywhere.
const maxIndexDigits = 9

// step is one step of a JSON path: a member name, or an array index when
// index is not negative.
type step struct {
	name  string
	index int
}

// jsonPath is a parsed JSON path. The supported syntax is "$" followed
// by any number of steps:
//
//	.name       a member whose name has no "." or "[" and is not "*"
//	['name']    a member by quoted name, also with double quotes; a
//	            backslash escapes the quote or a backslash
//	[N]         an array element, N a decimal number from 0
//
// Recursive descent (".."), wildcards ("*"), filters ("?()"), slices,
// unions and negative indexes are not supported, because a target value
// needs exactly one value.
type jsonPath struct {
	text  string
	steps []step
}

// isPath reports whether a target value is a JSON path rather than a
// constant. A constant therefore cannot start with "$." or "$[".
func isPath(spec string) bool {
	return strings.HasPrefix(spec, "$.") || strings.HasPrefix(spec, "$[")
}

// parsePath parses text into its steps. Errors wrap ErrInvalidPath.
func parsePath(text string) (jsonPath, error) {
	p := jsonPath{text: text}
	rest, ok := strings.CutPrefix(text, "$")
	if !ok {
		return p, pathErrorf(text, "it must start with $")
	}

	for rest != "" {
		var s step
		var err error
		switch rest[0] {
		case '.':
			s, rest, err = parseDotStep(rest[1:])
		case '[':
			s, rest, err = parseBracketStep(rest[1:])
		default:
			err = fmt.Errorf("unexpected %q; a step starts with . or [", rest[0])
		}
		if err != nil {
			return p, pathErrorf(text, "%v", err)
		}
		p.steps = append(p.steps, s)
	}
	return p, nil
}

func pathErrorf(text, format string, args ...any) error {
	return fmt.Errorf("%w %q: %s", ErrInvalidPath, text, fmt.Sprintf(format, args...))
}

// parseDotStep parses the member name after a ".".
func parseDotStep(rest string) (step, string, error) {
	end := strings.IndexAny(rest, ".[")
	if end < 0 {
		end = len(rest)
	}
	name := rest[:end]
	switch {
	case name == "" && strings.HasPrefix(rest, "."):
		return step{}, "", fmt.Errorf("recursive descent (..) is not supported")
	case name == "":
		return step{}, "", fmt.Errorf("empty member name after .")
	case name == "*":
		return step{}, "", fmt.Errorf("wildcards (*) are not supported; " +
			"write ['*'] for a member named *")
	}
	return step{name: name, index: -1}, rest[end:], nil
}

// parseBracketStep parses what follows a "[": a quoted name or an index.
func parseBracketStep(rest string) (step, string, error) {
	if rest != "" && (rest[0] == '\'' || rest[0] == '"') {
		return parseQuotedStep(rest)
	}

	end := strings.IndexByte(rest, ']')
	if end < 0 {
		return step{}, "", fmt.Errorf("missing ]")
	}
	digits := rest[:end]
	if !isDecimal(digits) {
		return step{}, "", fmt.Errorf("[%s] is not supported; brackets take an index "+
			"from 0 or a quoted name such as ['name']", digits)
	}
	if len(digits) > maxIndexDigits {
		return step{}, "", fmt.Errorf("index %s is too large", digits)
	}
	index, err := strconv.Atoi(digits)
	if err != nil {
		return step{}, "", err
	}
	return step{index: index}, rest[end+1:], nil
}

// parseQuotedStep parses a quoted name and the "]" after it.
func parseQuotedStep(rest string) (step, string, error) {
	quote := rest[0]
	var name strings.Builder
	for i := 1; i < len(rest); i++ {
		c := rest[i]
		switch {
		case c == '\\' && i+1 < len(rest):
			i++
			name.WriteByte(rest[i])
		case c == quote:
			after, ok := strings.CutPrefix(rest[i+1:], "]")
			if !ok {
				return step{}, "", fmt.Errorf("missing ] after the quoted name")
			}
			return step{name: name.String(), index: -1}, after, nil
		default:
			name.WriteByte(c)
		}
	}
	return step{}, "", fmt.Errorf("missing closing %c", quote)
}

func isDecimal(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// document is an event whose containers are decoded on first use and
// kept, so a target without paths costs no decoding and many paths into
// one object decode it once.
type document struct {
	raw        []byte
	checked    bool
	err        error
	containers map[string]container
}

// container is a decoded JSON object or array. Its values stay raw, so
// numbers keep their text and members keep their order when selected.
type container struct {
	object map[string]json.RawMessage
	array  []json.RawMessage
}

// lookup returns the raw JSON value that p selects, and false when a
// member or element on the way is missing or the wrong kind.
func (d *document) lookup(p jsonPath) (json.RawMessage, bool, error) {
	if err := d.check(); err != nil {
		return nil, false, err
	}

	current := json.RawMessage(d.raw)
	key := ""
	for _, s := range p.steps {
		c := d.decode(key, current)
		key += stepKey(s)
		var ok bool
		if current, ok = c.child(s); !ok {
			return nil, false, nil
		}
	}
	return current, true, nil
}

// check decodes the top level once and fails for an event that is not a
// JSON object.
func (d *document) check() error {
	if d.checked {
		return d.err
	}
	d.checked = true
	d.containers = map[string]container{}

	var root map[string]json.RawMessage
	if firstByte(d.raw) != '{' {
		d.err = ErrInvalidEvent
	} else if err := json.Unmarshal(d.raw, &root); err != nil {
		d.err = fmt.Errorf("%w: %w", ErrInvalidEvent, err)
	}
	d.containers[""] = container{object: root}
	return d.err
}

// decode returns the container at the path prefix key, decoding raw on
// the first request. A value that is neither object nor array gives an
// empty container, so the path selects nothing.
func (d *document) decode(key string, raw json.RawMessage) container {
	if c, ok := d.containers[key]; ok {
		return c
	}
	var c container
	switch firstByte(raw) {
	case '{':
		_ = json.Unmarshal(raw, &c.object)
	case '[':
		_ = json.Unmarshal(raw, &c.array)
	}
	d.containers[key] = c
	return c
}

func (c container) child(s step) (json.RawMessage, bool) {
	if s.index >= 0 {
		if s.index >= len(c.array) {
			return nil, false
		}
		return c.array[s.index], true
	}
	v, ok := c.object[s.name]
	return v, ok
}

// stepKey encodes a step for the container cache. Names and indexes get
// different prefixes, and a name's length ends it unambiguously.
func stepKey(s step) string {
	if s.index >= 0 {
		return "[" + strconv.Itoa(s.index) + "]"
	}
	return "." + strconv.Itoa(len(s.name)) + ":" + s.name
}

// valueText returns a JSON string's content and the compact JSON text of
// any other value.
func valueText(raw json.RawMessage) (string, error) {
	if firstByte(raw) == '"' {
		var s string
		err := json.Unmarshal(raw, &s)
		return s, err
	}
	compact, err := compactJSON(raw)
	return string(compact), err
}

func compactJSON(raw json.RawMessage) ([]byte, error) {
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func firstByte(b []byte) byte {
	b = bytes.TrimLeft(b, " \t\r\n")
	if len(b) == 0 {
		return 0
	}
	return b[0]
}
