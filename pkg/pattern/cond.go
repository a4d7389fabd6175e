package pattern

import (
	"bytes"
	"net/netip"
	"unicode"
	"unicode/utf8"
)

// kind is the JSON type of an event value.
type kind uint8

const (
	kindString kind = iota
	kindNumber
	kindTrue
	kindFalse
	kindNull
	kindObject
	kindArray
)

// operator is the test that a condition applies to one scalar value.
type operator uint8

const (
	opExact operator = iota
	opExists
	opPrefix
	opPrefixFold
	opSuffix
	opSuffixFold
	opEqualFold
	opContains
	opWildcard
	opNumeric
	opCIDR
	opAnythingBut
)

// cond is one compiled condition of a field. It is immutable once parsed.
type cond struct {
	op operator
	// kind is the type of the value for opExact.
	kind kind
	// text is the exact value (a decoded string, or a number in the form
	// of appendCanonicalNumber), or the operand of a string operator.
	text []byte
	// indexed, keyOp and key give a value that every value matching c
	// has, which the Matcher uses to find the rules to evaluate. keyOp is
	// opExact, opPrefix, opSuffix or opEqualFold.
	indexed bool
	keyOp   operator
	key     string
	// segments are the literal parts of a wildcard, split at each
	// unescaped '*'.
	segments [][]byte
	lower    bound
	upper    bound
	prefix   netip.Prefix
	// not lists the conditions of anything-but, which matches a value
	// that matches none of them.
	not []cond
}

// bound is one end of a numeric range.
type bound struct {
	set       bool
	inclusive bool
	value     float64
}

// scalar is one string, number, true, false or null value of an event.
type scalar struct {
	kind kind
	// text is the decoded string, or the canonical form of a number.
	text []byte
	num  float64
}

// setIndexKey sets the index key of c, if it has one. A wildcard is found
// by its text when it has no star, or else by its literal start or end.
// An equals-ignore-case operand is found by its appendFoldKey form.
func (c *cond) setIndexKey() {
	switch c.op {
	case opExact, opPrefix, opSuffix:
		c.indexed, c.keyOp, c.key = true, c.op, string(c.text)
	case opEqualFold:
		c.indexed, c.keyOp, c.key = true, c.op, string(appendFoldKey(nil, c.text))
	case opWildcard:
		first, last := c.segments[0], c.segments[len(c.segments)-1]
		switch {
		case len(c.segments) == 1:
			c.indexed, c.keyOp, c.key = true, opExact, string(first)
		case len(first) > 0:
			c.indexed, c.keyOp, c.key = true, opPrefix, string(first)
		case len(last) > 0:
			c.indexed, c.keyOp, c.key = true, opSuffix, string(last)
		}
	}
}

func (c *cond) match(v *scalar) bool {
	switch c.op {
	case opExact:
		return v.kind == c.kind && bytes.Equal(v.text, c.text)
	case opExists:
		return true
	case opNumeric:
		return v.kind == kindNumber && c.inRange(v.num)
	case opAnythingBut:
		for i := range c.not {
			if c.not[i].match(v) {
				return false
			}
		}
		return true
	}
	if v.kind != kindString {
		return false
	}
	return c.matchString(v.text)
}

func (c *cond) matchString(s []byte) bool {
	switch c.op {
	case opPrefix:
		return bytes.HasPrefix(s, c.text)
	case opPrefixFold:
		return hasPrefixFold(s, c.text)
	case opSuffix:
		return bytes.HasSuffix(s, c.text)
	case opSuffixFold:
		return hasSuffixFold(s, c.text)
	case opEqualFold:
		return bytes.EqualFold(s, c.text)
	case opContains:
		return bytes.Contains(s, c.text)
	case opWildcard:
		return matchWildcard(c.segments, s)
	case opCIDR:
		addr, ok := parseAddr(s)
		return ok && c.prefix.Contains(addr)
	}
	return false
}

func (c *cond) inRange(x float64) bool {
	if c.lower.set {
		if x < c.lower.value || (x == c.lower.value && !c.lower.inclusive) {
			return false
		}
	}
	if c.upper.set {
		if x > c.upper.value || (x == c.upper.value && !c.upper.inclusive) {
			return false
		}
	}
	return true
}

// matchWildcard reports whether s matches the wildcard split into
// segments at its stars. Taking each middle segment at its leftmost
// occurrence is enough, because a star matches any run of bytes.
func matchWildcard(segments [][]byte, s []byte) bool {
	if len(segments) == 1 {
		return bytes.Equal(s, segments[0])
	}
	first, last := segments[0], segments[len(segments)-1]
	if len(s) < len(first)+len(last) {
		return false
	}
	if !bytes.HasPrefix(s, first) || !bytes.HasSuffix(s, last) {
		return false
	}
	s = s[len(first) : len(s)-len(last)]
	for _, middle := range segments[1 : len(segments)-1] {
		i := bytes.Index(s, middle)
		if i < 0 {
			return false
		}
		s = s[i+len(middle):]
	}
	return true
}

// hasPrefixFold reports whether s starts with prefix under simple Unicode
// case folding, the folding of bytes.EqualFold. Simple folding maps one
// rune to one rune, so the runes can be compared in pairs.
func hasPrefixFold(s, prefix []byte) bool {
	for len(prefix) > 0 {
		if len(s) == 0 {
			return false
		}
		want, n := utf8.DecodeRune(prefix)
		got, m := utf8.DecodeRune(s)
		if !equalFoldRune(want, got) {
			return false
		}
		prefix, s = prefix[n:], s[m:]
	}
	return true
}

// hasSuffixFold is hasPrefixFold for the end of s.
func hasSuffixFold(s, suffix []byte) bool {
	for len(suffix) > 0 {
		if len(s) == 0 {
			return false
		}
		want, n := utf8.DecodeLastRune(suffix)
		got, m := utf8.DecodeLastRune(s)
		if !equalFoldRune(want, got) {
			return false
		}
		suffix, s = suffix[:len(suffix)-n], s[:len(s)-m]
	}
	return true
}

func equalFoldRune(a, b rune) bool {
	if a == b {
		return true
	}
	if a < utf8.RuneSelf && b < utf8.RuneSelf {
		return lowerASCII(a) == lowerASCII(b)
	}
	for r := unicode.SimpleFold(a); r != a; r = unicode.SimpleFold(r) {
		if r == b {
			return true
		}
	}
	return false
}

func lowerASCII(r rune) rune {
	if 'A' <= r && r <= 'Z' {
		return r + 'a' - 'A'
	}
	return r
}
