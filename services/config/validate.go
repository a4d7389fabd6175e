package config

import (
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/types/known/durationpb"
)

// namePattern is the form of every name and target id. Names become
// NATS subject tokens and KV key tokens, which exclude dots, spaces and
// wildcards.
var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)

const nameRule = "use 1 to 64 letters, digits, '-' or '_', starting with a letter or digit"

// maxDescriptionLength is the maximum length in characters of the
// description of a bus, connection, API destination or rule. It is the
// limit that Amazon EventBridge sets on the descriptions of the same
// objects.
const maxDescriptionLength = 512

// checkName checks a name; noun names it in errors, as in "the bus name".
func checkName(field, noun, name string) error {
	if name == "" {
		return invalidf(field, "%s is missing; %s", noun, nameRule)
	}
	if !namePattern.MatchString(name) {
		return invalidf(field, "%s %q is not valid; %s", noun, name, nameRule)
	}
	return nil
}

// checkDescription checks the length of an object's description; noun
// names the object, as in "the rule".
func checkDescription(field, noun, description string) error {
	if n := utf8.RuneCountInString(description); n > maxDescriptionLength {
		return invalidf(field, "the description of %s has %d characters; the maximum is %d, "+
			"so shorten it", noun, n, maxDescriptionLength)
	}
	return nil
}

// checkHTTPURL checks that raw is an absolute http or https URL without
// user info or fragment; noun names it, as in "the destination URL". The
// error leaves out a URL with user info, because that holds a credential.
func checkHTTPURL(field, noun, raw string) (*url.URL, error) {
	const example = "https://example.com/hook"
	if raw == "" {
		return nil, invalidf(field, "%s is missing; give an http or https URL such as %s", noun, example)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, invalidf(field,
			"%s is not a valid URL; give an http or https URL such as %s", noun, example)
	}
	if u.User != nil {
		return nil, invalidf(field,
			"%s contains user info; put credentials in a connection instead", noun)
	}
	if u.Scheme == "" {
		return nil, invalidf(field, "%s %q is not an absolute URL; give one such as %s",
			noun, raw, example)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, invalidf(field, "%s %q has scheme %q; use http or https", noun, raw, u.Scheme)
	}
	if u.Hostname() == "" {
		return nil, invalidf(field, "%s %q has no host; give a URL such as %s", noun, raw, example)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, invalidf(field, "%s %q has port %q; use a port from 1 to 65535", noun, raw, p)
		}
	}
	// url.Parse splits at the first "#", so any "#" starts a fragment,
	// even an empty one.
	if i := strings.IndexByte(raw, '#'); i >= 0 {
		return nil, invalidf(field, "%s %q has the fragment %q, which HTTP clients never send; "+
			"remove it, or encode a literal # in the path or query as %%23", noun, raw, raw[i:])
	}
	return u, nil
}

// checkMethod upper-cases method and checks that it is one of allowed;
// noun names it, as in "the destination method".
func checkMethod(field, noun, method string, allowed []string) (string, error) {
	upper := strings.ToUpper(method)
	for _, a := range allowed {
		if upper == a {
			return upper, nil
		}
	}
	if method == "" {
		return "", invalidf(field, "%s is missing; use one of %s", noun, strings.Join(allowed, ", "))
	}
	return "", invalidf(field, "%s %q is not allowed; use one of %s",
		noun, method, strings.Join(allowed, ", "))
}

// checkDuration checks an optional duration against [lower, upper]. A
// nil d is valid and means the default.
func checkDuration(field, noun string, d *durationpb.Duration, lower, upper time.Duration) error {
	if d == nil {
		return nil
	}
	if err := d.CheckValid(); err != nil {
		return invalidf(field, "%s is not a valid duration: %v", noun, err)
	}
	if v := d.AsDuration(); v < lower || v > upper {
		return invalidf(field, "%s %s is out of range; use %s to %s", noun, v, lower, upper)
	}
	return nil
}

func checkRange(field, noun string, v, lower, upper int64) error {
	if v < lower || v > upper {
		return invalidf(field, "%s %d is out of range; use %d to %d", noun, v, lower, upper)
	}
	return nil
}

// checkHeaderName checks that name is an HTTP header field name: one or
// more token characters as defined by RFC 9110, section 5.6.2. noun
// names the header's role, as in "the API key header".
func checkHeaderName(field, noun, name string) error {
	if name == "" {
		return invalidf(field, "the name of %s is missing; give an HTTP header name such as X-API-Key",
			noun)
	}
	if i := strings.IndexFunc(name, isControl); i >= 0 {
		return invalidf(field, "the name %q of %s contains the control character %q; "+
			"HTTP header names cannot carry CR, LF or other control characters", name, noun, name[i])
	}
	for _, c := range []byte(name) {
		if !isTokenChar(c) {
			return invalidf(field, "the name %q of %s is not a valid HTTP header name; "+
				"use letters, digits and !#$%%&'*+-.^_`|~", name, noun)
		}
	}
	return nil
}

// isControl reports whether r is a control character that an HTTP
// field cannot carry: net/http rejects a request with one (RFC 9110,
// section 5.5 allows only tab among them).
func isControl(r rune) bool {
	return r < ' ' && r != '\t' || r == 0x7f
}

func isTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

func fieldIndex(field string, i int) string { return fmt.Sprintf("%s[%d]", field, i) }
