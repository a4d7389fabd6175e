package render

import (
	"fmt"
	"net/url"
	"strings"
)

// checkPathValue rejects a path value that would not stay one segment
// of its own: an empty one, which joins its neighbours, and "." or "..",
// which a server or proxy may resolve to leave the intended path.
// Escaping cannot help, because dot segments are unreserved characters.
// Request applies it to every rendered path value, and FillURL again to
// the path values of tasks rendered before Request did. The message
// continues a sentence that names the path value, as in "path value 1
// is empty".
func checkPathValue(v string) error {
	switch v {
	case "":
		return invalidPathValue("is empty")
	case ".", "..":
		return invalidPathValue(fmt.Sprintf("is %q, a dot segment that would change the URL path", v))
	}
	return nil
}

// checkPathValueOf is checkPathValue for the value v that spec, a JSON
// path or a constant, gave. Its message adds the cause and the fix.
func checkPathValueOf(v, spec string) error {
	err := checkPathValue(v)
	if err == nil {
		return nil
	}
	msg := err.Error()
	switch {
	case !isPath(spec):
		msg += "; change the constant"
	case v == "":
		msg += ", because the JSON path matched nothing or an empty string in the event; " +
			"send events with a value there, or take the path value from another JSON path"
	default:
		msg += "; send events with another value there, or take the path value from " +
			"another JSON path"
	}
	return invalidPathValue(msg)
}

// invalidPathValue is an ErrInvalidPathValue error whose message
// continues a sentence that names the path value.
type invalidPathValue string

func (e invalidPathValue) Error() string { return string(e) }
func (e invalidPathValue) Unwrap() error { return ErrInvalidPathValue }

// FillURL replaces each "*" path segment of raw, an API destination's
// URL, with the next path value, escaped as one segment. Delivery builds
// its requests with it, and `rule test-transform` its previews, so a
// preview fails where a delivery would.
func FillURL(raw string, values []string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("invalid URL: %w", err)
	}

	segments := strings.Split(u.EscapedPath(), "/")
	next := 0
	for i, s := range segments {
		if s != "*" {
			continue
		}
		if next == len(values) {
			return nil, fmt.Errorf("URL has more * segments than the %d path values", len(values))
		}
		if err := checkPathValue(values[next]); err != nil {
			return nil, fmt.Errorf("path value %d %w", next+1, err)
		}
		segments[i] = url.PathEscape(values[next])
		next++
	}
	if next != len(values) {
		return nil, fmt.Errorf("got %d path values for %d * segments of the URL", len(values), next)
	}

	escaped := strings.Join(segments, "/")
	path, err := url.PathUnescape(escaped)
	if err != nil {
		return nil, fmt.Errorf("invalid URL path: %w", err)
	}
	u.Path, u.RawPath = path, escaped
	return u, nil
}
