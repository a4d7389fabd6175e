package main

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Text output escapes the characters that a terminal would act on
// instead of showing. Stored data, such as an endpoint's response body
// with an ANSI escape sequence or a carriage return, must not move the
// cursor, rewrite earlier lines or change colors. JSON output stays as
// it is, since JSON writes control characters as \u escapes.

// escapeText replaces each character that a terminal would act on with
// its Go escape, such as \x1b or \r: the C0 controls, DEL, the C1
// controls, Unicode bidirectional overrides and bytes that are not
// UTF-8. With keepLines, newline and tab stay, so multi-line text such
// as a request body keeps its lines.
func escapeText(s string, keepLines bool) string {
	if !needsEscape(s, keepLines) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case !isTerminalControl(r, keepLines):
			b.WriteString(s[i : i+size])
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x80:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
		i += size
	}
	return b.String()
}

func needsEscape(s string, keepLines bool) bool {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || isTerminalControl(r, keepLines) {
			return true
		}
		i += size
	}
	return false
}

func isTerminalControl(r rune, keepLines bool) bool {
	switch {
	case keepLines && (r == '\n' || r == '\t'):
		return false
	case r < 0x20 || r == 0x7f:
		return true
	case r >= 0x80 && r <= 0x9f:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}

// escapingWriter escapes what is written to it with escapeText, keeping
// lines. It is stateless, so a multi-byte character split across two
// writes is escaped as bytes that are not UTF-8.
//
// NOTE: the printers write whole strings, and tabwriter whole cells, so
// no write splits a character today.
type escapingWriter struct{ w io.Writer }

func (e escapingWriter) Write(p []byte) (int, error) {
	s := string(p)
	if !needsEscape(s, true) {
		return e.w.Write(p)
	}
	if _, err := io.WriteString(e.w, escapeText(s, true)); err != nil {
		return 0, err
	}
	return len(p), nil
}
