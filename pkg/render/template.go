package render

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/url"
	"strings"
	"time"
)

// Built-in template variables. They need no declaration, and declared
// variables cannot start with builtinPrefix.
const (
	builtinPrefix        = "switchyard."
	BuiltinRule          = "switchyard.rule"
	BuiltinEventID       = "switchyard.event-id"
	BuiltinBus           = "switchyard.bus"
	BuiltinIngestionTime = "switchyard.ingestion-time"
	BuiltinEvent         = "switchyard.event"
)

// segment is a piece of a parsed template: literal text, or a
// placeholder with the name of its variable.
type segment struct {
	literal  string
	variable string

	// inString marks a placeholder inside a JSON string of a JSON
	// template, whose value is inserted as string content.
	inString bool
}

// valueFunc returns the raw JSON value of a variable, and false when its
// path selects nothing.
type valueFunc func(name string) (json.RawMessage, bool, error)

// parseTemplate splits src into literal text and placeholders. A
// placeholder is "<name>", with a name of letters, digits, "_", "-" and
// "." that starts with a letter or "_". Any other "<" is literal text, so
// "</b>", "<?xml" and "a < b" need no escaping. A backslash right before a
// placeholder makes it literal text and is dropped.
//
// In a JSON template, parseTemplate also tracks JSON strings to find
// whether each placeholder sits inside one. Inside a string, the JSON escapes
// \\ and \" are skipped, so "\\<name>" is a backslash and a placeholder.
func parseTemplate(src string, jsonMode bool) []segment {
	var segments []segment
	var text strings.Builder
	inString := false

	for i := 0; i < len(src); i++ {
		c := src[i]
		if c == '\\' {
			if name, end, ok := placeholderAt(src, i+1); ok {
				text.WriteString("<" + name + ">")
				i = end - 1
				continue
			}
			if jsonMode && inString && i+1 < len(src) {
				text.WriteString(src[i : i+2])
				i++
				continue
			}
		}
		if name, end, ok := placeholderAt(src, i); ok {
			segments = appendLiteral(segments, &text)
			segments = append(segments, segment{variable: name, inString: inString})
			i = end - 1
			continue
		}
		if jsonMode && c == '"' {
			inString = !inString
		}
		text.WriteByte(c)
	}
	return appendLiteral(segments, &text)
}

func appendLiteral(segments []segment, text *strings.Builder) []segment {
	if text.Len() > 0 {
		segments = append(segments, segment{literal: text.String()})
		text.Reset()
	}
	return segments
}

// placeholderAt returns the variable name of a placeholder that starts
// at src[i], and the index just after its ">".
func placeholderAt(src string, i int) (string, int, bool) {
	if i >= len(src) || src[i] != '<' || i+1 >= len(src) || !isNameStart(src[i+1]) {
		return "", 0, false
	}
	for j := i + 2; j < len(src); j++ {
		switch c := src[j]; {
		case c == '>':
			return src[i+1 : j], j + 1, true
		case !isNameByte(c):
			return "", 0, false
		}
	}
	return "", 0, false
}

func isNameStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func isNameByte(c byte) bool {
	return isNameStart(c) || c >= '0' && c <= '9' || c == '-' || c == '.'
}

// validName reports whether a template can refer to name.
func validName(name string) bool {
	_, end, ok := placeholderAt("<"+name+">", 0)
	return ok && end == len(name)+2
}

// isBuiltin reports whether name is one of the built-in variables.
func isBuiltin(name string) bool {
	switch name {
	case BuiltinRule, BuiltinEventID, BuiltinBus, BuiltinIngestionTime, BuiltinEvent:
		return true
	}
	return false
}

// format is the kind of a template, chosen by content type: JSON, form
// or text.
type format int

const (
	formatText format = iota
	formatJSON
	formatForm
)

// formatOf returns the template format for a content type: JSON for
// application/json and +json types, form for
// application/x-www-form-urlencoded, and text for any other.
func formatOf(contentType string) format {
	mediaType, _, err := mime.ParseMediaType(contentType)
	switch {
	case err != nil:
		return formatText
	case mediaType == "application/json" || strings.HasSuffix(mediaType, "+json"):
		return formatJSON
	case mediaType == ContentTypeForm:
		return formatForm
	}
	return formatText
}

// insertion is the encoding of one value in a body.
type insertion int

const (
	asText insertion = iota
	asJSON
	asStringContent
	asQueryEscaped
)

// execute renders segments with the values that value returns.
//
// In a JSON template a placeholder outside a string becomes the value's
// compact JSON text, or null when its path selects nothing. Inside a
// string it becomes the value's text, JSON-escaped, and nothing when its
// path selects nothing. The text of a string is its content, and of any
// other value its compact JSON.
//
// In a form template a placeholder becomes the value's text escaped as a
// form value, and in a text template the value's text as is.
func execute(segments []segment, f format, value valueFunc) ([]byte, error) {
	var out bytes.Buffer
	for _, s := range segments {
		if s.variable == "" {
			out.WriteString(s.literal)
			continue
		}
		raw, found, err := value(s.variable)
		if errors.Is(err, ErrUnknownVariable) {
			return nil, err
		}
		if err != nil {
			return nil, fmt.Errorf("<%s>: %w", s.variable, err)
		}
		if err := insert(&out, raw, found, insertionOf(f, s)); err != nil {
			return nil, fmt.Errorf("<%s>: %w", s.variable, err)
		}
	}
	return out.Bytes(), nil
}

func insertionOf(f format, s segment) insertion {
	switch {
	case f == formatJSON && s.inString:
		return asStringContent
	case f == formatJSON:
		return asJSON
	case f == formatForm:
		return asQueryEscaped
	}
	return asText
}

// insert writes one value, or what stands for a missing one: null as
// JSON and nothing otherwise.
func insert(out *bytes.Buffer, raw json.RawMessage, found bool, how insertion) error {
	if how == asJSON {
		if !found {
			out.WriteString("null")
			return nil
		}
		compact, err := compactJSON(raw)
		out.Write(compact)
		return err
	}
	if !found {
		return nil
	}

	text, err := valueText(raw)
	if err != nil {
		return err
	}
	switch how {
	case asStringContent:
		return writeStringContent(out, text)
	case asQueryEscaped:
		out.WriteString(url.QueryEscape(text))
	default:
		out.WriteString(text)
	}
	return nil
}

// writeStringContent writes text as the content of a JSON string:
// quotes, backslashes and control characters escaped, invalid UTF-8
// replaced. It leaves <, > and & as they are, because the body goes to
// an HTTP endpoint and not into HTML.
func writeStringContent(out *bytes.Buffer, text string) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(text); err != nil {
		return err
	}
	quoted := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	out.Write(quoted[1 : len(quoted)-1])
	return nil
}

// builtinValue returns the value of a built-in variable for meta and the
// event: strings for all but the event, which is its JSON text.
func (d *document) builtinValue(name string, meta Meta) (json.RawMessage, bool, error) {
	var s string
	switch name {
	case BuiltinRule:
		s = meta.Rule
	case BuiltinEventID:
		s = meta.EventID
	case BuiltinBus:
		s = meta.Bus
	case BuiltinIngestionTime:
		if meta.IngestTime.IsZero() {
			return nil, false, nil
		}
		s = meta.IngestTime.UTC().Format(time.RFC3339Nano)
	case BuiltinEvent:
		return d.lookup(jsonPath{text: "$"})
	default:
		return nil, false, fmt.Errorf("%w <%s>", ErrUnknownVariable, name)
	}
	raw, err := json.Marshal(s)
	return raw, true, err
}
