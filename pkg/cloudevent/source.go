package cloudevent

import (
	"fmt"
	"net/url"
	"strings"
)

// exampleSource is a source that the error messages give as an example.
const exampleSource = "/ci/jenkins"

// CheckSource rejects a source that is not a URI-reference as RFC 3986
// defines it, which CloudEvents 1.0 requires. The SDK's parser accepts
// more: it would store "/x y" as "/x%20y", a source that the producer
// never sent. what names where the value came from, such as
// `attribute "source"` or `header "ce-source"`. A blank source passes,
// because Complete rejects it as missing.
func CheckSource(what, source string) *Error {
	if strings.TrimSpace(source) == "" {
		return nil
	}
	if i, ok := invalidURIByte(source); ok {
		return Errorf(CodeInvalidAttribute,
			"%s is %q, not a valid URI-reference (RFC 3986): %s is not allowed; "+
				"percent-encode it, as in %q",
			what, source, describeByte(source, i), percentEncode(source))
	}
	u, err := url.Parse(source)
	if err != nil {
		return Errorf(CodeInvalidAttribute,
			"%s is %q, not a valid URI-reference (RFC 3986): %v; send a path such as %q or "+
				"an absolute URI such as \"https://example.com/ci\"",
			what, source, unwrapURLError(err), exampleSource)
	}
	if strings.Count(source, "[")+strings.Count(source, "]") != strings.Count(u.Host, "[")+strings.Count(u.Host, "]") {
		return Errorf(CodeInvalidAttribute,
			"%s is %q, not a valid URI-reference (RFC 3986): \"[\" and \"]\" are allowed only "+
				"around an IPv6 host; percent-encode them elsewhere, as in %q",
			what, source, percentEncode(source))
	}
	return nil
}

// invalidURIByte returns the index of the first byte of s that RFC 3986
// allows nowhere in a URI-reference, or a "%" that does not start a
// percent-encoded octet.
func invalidURIByte(s string) (int, bool) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' {
			if i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
				i += 2
				continue
			}
			return i, true
		}
		if !isURIChar(c) {
			return i, true
		}
	}
	return 0, false
}

// percentEncode returns s with every byte that invalidURIByte rejects
// percent-encoded, and "[" and "]" outside an IPv6 host too.
func percentEncode(s string) string {
	host := ""
	if u, err := url.Parse(s); err == nil {
		host = u.Host
	}
	hostStart := strings.Index(s, "//"+host)
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		inHost := host != "" && hostStart >= 0 && i >= hostStart+2 && i < hostStart+2+len(host)
		_, badPercent := invalidURIByte(s[i:min(i+3, len(s))])
		switch {
		case c == '%' && badPercent:
			b.WriteString("%25")
		case c == '%':
			b.WriteByte(c)
		case !isURIChar(c), (c == '[' || c == ']') && !inHost:
			fmt.Fprintf(&b, "%%%02X", c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// describeByte names the byte at i of s for an error message: the
// character it starts, or the byte in hex when s is not UTF-8 there.
func describeByte(s string, i int) string {
	switch r := []rune(s[i:])[0]; {
	case r == ' ':
		return fmt.Sprintf("the space at byte %d", i)
	case r == '%':
		return fmt.Sprintf("the %% at byte %d, which does not start a %%XX escape,", i)
	case r == '\uFFFD':
		return fmt.Sprintf("the byte 0x%02X at byte %d", s[i], i)
	default:
		return fmt.Sprintf("the character %q at byte %d", r, i)
	}
}

// isURIChar reports whether c may appear as itself in a URI-reference:
// an unreserved character, a reserved one or "%".
func isURIChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("-._~:/?#[]@!$&'()*+,;=%", c) >= 0
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// unwrapURLError returns the reason of a url.Parse error without the
// "parse URL:" prefix, which repeats the value.
func unwrapURLError(err error) error {
	if urlErr, ok := err.(*url.Error); ok {
		return urlErr.Err
	}
	return err
}
