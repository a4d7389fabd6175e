package cloudevent

import (
	"bytes"
	"encoding/json"
	"errors"
	"regexp"
	"strconv"
	"strings"

	"github.com/cloudevents/sdk-go/v2/event"
)

// maxNumberShown bounds how much of a number an error message repeats.
const maxNumberShown = 40

// jsonStep is one level of a JSON path: an object member or an array
// element.
type jsonStep struct {
	object    bool
	key       string
	index     int
	expectKey bool
}

// numberAt is a number in a JSON text: its literal, its JSON path and
// the byte offset just past it.
type numberAt struct {
	literal string
	path    string
	end     int64
}

// outOfRangeError names the first number in raw that a 64-bit float
// cannot hold, such as 1e400, when such numbers are why the SDK could
// not parse raw, and returns nil otherwise. The SDK's error about them
// names its parser's internals instead. DecodeStructured calls this
// only after the SDK failed, so valid events are not scanned twice.
func outOfRangeError(raw []byte) *Error {
	numbers := outOfRangeNumbers(raw)
	if len(numbers) == 0 {
		return nil
	}
	// The SDK may have failed for another reason as well, such as object
	// data with a text media type. Only when raw parses with the numbers
	// replaced by 0 are they the cause.
	ev := event.New()
	if err := ParseSafely(func() error { return ev.UnmarshalJSON(zeroNumbers(raw, numbers)) }); err != nil {
		return nil
	}
	return numberError(numbers[0], "$")
}

// CheckNumbers returns a MalformedEvent error that names the first
// number in the JSON text raw that a 64-bit float cannot hold, such as
// 1e400, and its JSON path, which starts with root in place of "$". It
// returns nil when raw has no such number or is not valid JSON.
//
// A root such as "$.data" names a number in data checked on its own by
// its path in the event.
func CheckNumbers(raw []byte, root string) *Error {
	numbers := outOfRangeNumbers(raw)
	if len(numbers) == 0 {
		return nil
	}
	return numberError(numbers[0], root)
}

func numberError(n numberAt, root string) *Error {
	return Errorf(CodeMalformedEvent,
		"the number %s at %s is out of the range of a 64-bit float (about ±1.8e308); "+
			"send it as a JSON string, or in other units that bring it into range",
		shortNumber(n.literal), root+strings.TrimPrefix(n.path, "$"))
}

// JSONKind names the kind of the JSON value that raw starts with, with
// its article, such as "an array" or "null", for messages that name what
// was sent instead of the expected kind. It looks at the first byte
// only, so raw should be valid JSON.
func JSONKind(raw []byte) string {
	trimmed := bytes.TrimLeft(raw, " \t\r\n")
	if len(trimmed) == 0 {
		return "nothing"
	}
	switch c := trimmed[0]; {
	case c == '{':
		return "an object"
	case c == '[':
		return "an array"
	case c == '"':
		return "a string"
	case c == 't' || c == 'f':
		return "a boolean"
	case c == 'n':
		return "null"
	case c == '-' || '0' <= c && c <= '9':
		return "a number"
	}
	return "not JSON"
}

// zeroNumbers returns a copy of raw with each of numbers replaced by 0.
func zeroNumbers(raw []byte, numbers []numberAt) []byte {
	out := make([]byte, 0, len(raw))
	last := int64(0)
	for _, n := range numbers {
		start := n.end - int64(len(n.literal))
		out = append(out, raw[last:start]...)
		out = append(out, '0')
		last = n.end
	}
	return append(out, raw[last:]...)
}

// outOfRangeNumbers returns the numbers in raw that a 64-bit float
// cannot hold, in the order they appear. It stops at the first syntax
// error, so it returns nothing useful for invalid JSON.
func outOfRangeNumbers(raw []byte) []numberAt {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var found []numberAt
	var path []jsonStep
	for {
		token, err := dec.Token()
		if err != nil {
			return found
		}
		if n := len(path); n > 0 && path[n-1].expectKey {
			if key, ok := token.(string); ok {
				path[n-1].key, path[n-1].expectKey = key, false
				continue
			}
		}

		switch t := token.(type) {
		case json.Delim:
			if t == '}' || t == ']' {
				path = path[:len(path)-1]
				endValue(path)
				continue
			}
			startValue(path)
			path = append(path, jsonStep{object: t == '{', index: -1, expectKey: t == '{'})
		case json.Number:
			startValue(path)
			if _, err := strconv.ParseFloat(t.String(), 64); errors.Is(err, strconv.ErrRange) {
				found = append(found, numberAt{t.String(), formatPath(path), dec.InputOffset()})
			}
			endValue(path)
		default:
			startValue(path)
			endValue(path)
		}
	}
}

// startValue counts a value that starts inside the innermost array.
func startValue(path []jsonStep) {
	if n := len(path); n > 0 && !path[n-1].object {
		path[n-1].index++
	}
}

// endValue makes the innermost object expect its next key.
func endValue(path []jsonStep) {
	if n := len(path); n > 0 && path[n-1].object {
		path[n-1].expectKey = true
	}
}

var plainKey = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// formatPath writes path in JSONPath notation, such as
// $.data.items[2]["unit price"].
func formatPath(path []jsonStep) string {
	var b strings.Builder
	b.WriteString("$")
	for _, step := range path {
		switch {
		case !step.object:
			b.WriteString("[" + strconv.Itoa(step.index) + "]")
		case plainKey.MatchString(step.key):
			b.WriteString("." + step.key)
		default:
			b.WriteString("[" + strconv.Quote(step.key) + "]")
		}
	}
	return b.String()
}

func shortNumber(s string) string {
	if len(s) <= maxNumberShown {
		return s
	}
	return s[:maxNumberShown] + "... (" + strconv.Itoa(len(s)) + " characters)"
}
