package config

import (
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
)

// namePattern is the form of every name and target id. Names become
// NATS subject tokens and KV key tokens, which exclude dots, spaces and
// wildcards.
var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)

const nameRule = "use 1 to 64 letters, digits, '-' or '_', starting with a letter or digit"

func checkName(field, name string) error {
	if name == "" {
		return invalidf(field, "missing; %s", nameRule)
	}
	if !namePattern.MatchString(name) {
		return invalidf(field, "%q is not a valid name; %s", name, nameRule)
	}
	return nil
}

// checkHTTPURL checks that raw is an absolute http or https URL without
// user info. The error leaves out a URL with user info, because that
// holds a credential.
func checkHTTPURL(field, raw string) (*url.URL, error) {
	if raw == "" {
		return nil, invalidf(field, "missing; give an http or https URL")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, invalidf(field,
			"not a valid URL; give an http or https URL such as https://example.com/hook")
	}
	if u.User != nil {
		return nil, invalidf(field, "contains user info; put credentials in a connection instead")
	}
	if u.Scheme == "" {
		return nil, invalidf(field,
			"%q is not an absolute URL; give one such as https://example.com/hook", raw)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, invalidf(field, "%q has scheme %q; use http or https", raw, u.Scheme)
	}
	if u.Hostname() == "" {
		return nil, invalidf(field, "%q has no host; give a URL such as https://example.com/hook", raw)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, invalidf(field, "%q has port %q; use a port from 1 to 65535", raw, p)
		}
	}
	return u, nil
}

// checkMethod upper-cases method and checks that it is one of allowed.
func checkMethod(field, method string, allowed []string) (string, error) {
	upper := strings.ToUpper(method)
	for _, a := range allowed {
		if upper == a {
			return upper, nil
		}
	}
	if method == "" {
		return "", invalidf(field, "missing; use one of %s", strings.Join(allowed, ", "))
	}
	return "", invalidf(field, "%q is not allowed; use one of %s", method, strings.Join(allowed, ", "))
}

// checkDuration checks an optional duration against [lower, upper]. A
// nil d is valid and means the default.
func checkDuration(field string, d *durationpb.Duration, lower, upper time.Duration) error {
	if d == nil {
		return nil
	}
	if err := d.CheckValid(); err != nil {
		return invalidf(field, "invalid duration: %v", err)
	}
	if v := d.AsDuration(); v < lower || v > upper {
		return invalidf(field, "%s is out of range; use %s to %s", v, lower, upper)
	}
	return nil
}

func checkRange(field string, v, lower, upper int64) error {
	if v < lower || v > upper {
		return invalidf(field, "%d is out of range; use %d to %d", v, lower, upper)
	}
	return nil
}

// checkHeaderName checks that name is an HTTP header field name: one or
// more token characters as defined by RFC 9110, section 5.6.2.
func checkHeaderName(field, name string) error {
	if name == "" {
		return invalidf(field, "missing; give an HTTP header name such as X-API-Key")
	}
	for _, c := range []byte(name) {
		if !isTokenChar(c) {
			return invalidf(field, "%q is not a valid HTTP header name; "+
				"use letters, digits and !#$%%&'*+-.^_`|~", name)
		}
	}
	return nil
}

func isTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

func fieldIndex(field string, i int) string { return fmt.Sprintf("%s[%d]", field, i) }
