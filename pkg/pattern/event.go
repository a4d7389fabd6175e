package pattern

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// node is one value of an event that lies on a path some pattern names.
// The nodes of an event form a tree in matchState.nodes, linked through
// indexes, so that reusing the slice makes scanning allocation-free.
type node struct {
	scalar
	// field is the path trie node of the value.
	field int32
	// first is the first member of an object or element of an array, and
	// next the following sibling; both are -1 when absent.
	first int32
	next  int32
}

// scanner reads an event and keeps only the values on paths in the trie,
// skipping the rest after checking that it is well-formed JSON.
type scanner struct {
	data  []byte
	pos   int
	nodes []node
	// text stores decoded strings and canonical numbers.
	text []byte
	// onScalar is called for each kept scalar, with its node index.
	onScalar func(index int32)
	trie     []trieNode
}

func (s *scanner) reset(data []byte) {
	s.data, s.pos = data, 0
	s.nodes = s.nodes[:0]
	s.text = s.text[:0]
}

// scanEvent reads the event, whose top level must be an object, and
// returns the index of its root node.
func (s *scanner) scanEvent() (int32, error) {
	s.skipSpace()
	if s.pos >= len(s.data) || s.data[s.pos] != '{' {
		return -1, s.fail("expected a JSON object")
	}
	root, err := s.value(0, 0)
	if err != nil {
		return -1, err
	}
	s.skipSpace()
	if s.pos != len(s.data) {
		return -1, s.fail("unexpected data after the event object")
	}
	return root, nil
}

func (s *scanner) fail(message string) error {
	return fmt.Errorf("%w: %s at offset %d", ErrInvalidEvent, message, s.pos)
}

func (s *scanner) skipSpace() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
		// Indented JSON has long runs of spaces, so skip eight at a time.
		for s.pos+8 <= len(s.data) && binary.LittleEndian.Uint64(s.data[s.pos:]) == eightSpaces {
			s.pos += 8
		}
	}
}

const eightSpaces = 0x2020202020202020

func (s *scanner) add(n node) int32 {
	n.first, n.next = -1, -1
	s.nodes = append(s.nodes, n)
	return int32(len(s.nodes) - 1)
}

// value reads the value at s.pos as a node of the trie node field.
func (s *scanner) value(field int32, depth int) (int32, error) {
	s.skipSpace()
	if s.pos >= len(s.data) {
		return -1, s.fail("unexpected end of input")
	}
	switch s.data[s.pos] {
	case '{':
		return s.object(field, depth+1)
	case '[':
		return s.array(field, depth+1)
	case '"':
		text, err := s.readString()
		if err != nil {
			return -1, err
		}
		return s.addScalar(node{scalar: scalar{kind: kindString, text: text}, field: field}), nil
	}
	return s.literalOrNumber(field)
}

func (s *scanner) addScalar(n node) int32 {
	index := s.add(n)
	s.onScalar(index)
	return index
}

func (s *scanner) literalOrNumber(field int32) (int32, error) {
	if k, ok := s.readLiteral(); ok {
		return s.addScalar(node{scalar: scalar{kind: k}, field: field}), nil
	}
	raw, err := s.readNumber()
	if err != nil {
		return -1, err
	}
	start := len(s.text)
	s.text = appendCanonicalNumber(s.text, raw)
	// The conversion does not allocate because the string does not escape.
	num, _ := strconv.ParseFloat(string(raw), 64)
	n := node{scalar: scalar{kind: kindNumber, text: s.text[start:], num: num}, field: field}
	return s.addScalar(n), nil
}

// readLiteral reads true, false or null at s.pos, if one is there.
func (s *scanner) readLiteral() (kind, bool) {
	var text string
	var k kind
	switch s.data[s.pos] {
	case 't':
		text, k = "true", kindTrue
	case 'f':
		text, k = "false", kindFalse
	case 'n':
		text, k = "null", kindNull
	default:
		return 0, false
	}
	end := s.pos + len(text)
	if end > len(s.data) || string(s.data[s.pos:end]) != text {
		return 0, false
	}
	s.pos = end
	return k, true
}

func (s *scanner) object(field int32, depth int) (int32, error) {
	if depth > MaxEventDepth {
		return -1, s.fail("nesting is too deep")
	}
	index := s.add(node{scalar: scalar{kind: kindObject}, field: field})
	t := &s.trie[field]
	if len(t.childKeys) == 0 {
		return index, s.skipObject(depth)
	}
	s.pos++
	last := int32(-1)
	for first := true; ; first = false {
		s.skipSpace()
		if first && s.pos < len(s.data) && s.data[s.pos] == '}' {
			s.pos++
			return index, nil
		}
		key, err := s.readKey()
		if err != nil {
			return -1, err
		}
		child, ok := t.child(key)
		member := int32(-1)
		if ok {
			member, err = s.value(child, depth)
		} else {
			err = s.skipValue(depth)
		}
		if err != nil {
			return -1, err
		}
		if member >= 0 {
			s.link(index, &last, member)
		}
		if done, err := s.endOfList('}'); done || err != nil {
			return index, err
		}
	}
}

// link appends member to the children of parent, after last.
func (s *scanner) link(parent int32, last *int32, member int32) {
	if *last < 0 {
		s.nodes[parent].first = member
	} else {
		s.nodes[*last].next = member
	}
	*last = member
}

// readKey reads an object key and the colon after it.
func (s *scanner) readKey() ([]byte, error) {
	if s.pos >= len(s.data) || s.data[s.pos] != '"' {
		return nil, s.fail("expected a string key")
	}
	key, err := s.readString()
	if err != nil {
		return nil, err
	}
	s.skipSpace()
	if s.pos >= len(s.data) || s.data[s.pos] != ':' {
		return nil, s.fail("expected ':' after an object key")
	}
	s.pos++
	return key, nil
}

// endOfList reads the ',' or closing bracket after a member or element.
func (s *scanner) endOfList(closing byte) (bool, error) {
	s.skipSpace()
	if s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ',':
			s.pos++
			s.skipSpace()
			return false, nil
		case closing:
			s.pos++
			return true, nil
		}
	}
	return false, s.fail("expected ',' or '" + string(closing) + "'")
}

func (s *scanner) array(field int32, depth int) (int32, error) {
	if depth > MaxEventDepth {
		return -1, s.fail("nesting is too deep")
	}
	index := s.add(node{scalar: scalar{kind: kindArray}, field: field})
	s.pos++
	s.skipSpace()
	if s.pos < len(s.data) && s.data[s.pos] == ']' {
		s.pos++
		return index, nil
	}
	last := int32(-1)
	for {
		element, err := s.value(field, depth)
		if err != nil {
			return -1, err
		}
		s.link(index, &last, element)
		if done, err := s.endOfList(']'); done || err != nil {
			return index, err
		}
	}
}

// skipValue checks and skips the value at s.pos.
func (s *scanner) skipValue(depth int) error {
	s.skipSpace()
	if s.pos >= len(s.data) {
		return s.fail("unexpected end of input")
	}
	switch s.data[s.pos] {
	case '{':
		return s.skipObject(depth + 1)
	case '[':
		return s.skipArray(depth + 1)
	case '"':
		_, _, err := s.scanString()
		return err
	}
	if _, ok := s.readLiteral(); ok {
		return nil
	}
	_, err := s.readNumber()
	return err
}

func (s *scanner) skipObject(depth int) error {
	if depth > MaxEventDepth {
		return s.fail("nesting is too deep")
	}
	s.pos++
	s.skipSpace()
	if s.pos < len(s.data) && s.data[s.pos] == '}' {
		s.pos++
		return nil
	}
	for {
		if s.pos >= len(s.data) || s.data[s.pos] != '"' {
			return s.fail("expected a string key")
		}
		if _, _, err := s.scanString(); err != nil {
			return err
		}
		s.skipSpace()
		if s.pos >= len(s.data) || s.data[s.pos] != ':' {
			return s.fail("expected ':' after an object key")
		}
		s.pos++
		if err := s.skipValue(depth); err != nil {
			return err
		}
		if done, err := s.endOfList('}'); done || err != nil {
			return err
		}
	}
}

func (s *scanner) skipArray(depth int) error {
	if depth > MaxEventDepth {
		return s.fail("nesting is too deep")
	}
	s.pos++
	s.skipSpace()
	if s.pos < len(s.data) && s.data[s.pos] == ']' {
		s.pos++
		return nil
	}
	for {
		if err := s.skipValue(depth); err != nil {
			return err
		}
		if done, err := s.endOfList(']'); done || err != nil {
			return err
		}
	}
}

// scanString checks and skips the string at s.pos. It returns the raw
// text between the quotes and whether that text needs decoding, because
// it has escapes or bytes outside ASCII.
func (s *scanner) scanString() (raw []byte, needsDecoding bool, err error) {
	start := s.pos + 1
	i := start
	for {
		var nonASCII bool
		i, nonASCII = skipPlain(s.data, i)
		needsDecoding = needsDecoding || nonASCII
		if i >= len(s.data) {
			s.pos = len(s.data)
			return nil, false, s.fail("unterminated string")
		}
		switch c := s.data[i]; {
		case c == '"':
			s.pos = i + 1
			return s.data[start:i], needsDecoding, nil
		case c == '\\':
			n, ok := escapeLength(s.data[i:])
			if !ok {
				s.pos = i
				return nil, false, s.fail("invalid escape in string")
			}
			needsDecoding = true
			i += n
		default:
			s.pos = i
			return nil, false, s.fail("control character in string")
		}
	}
}

// skipPlain returns the index of the first quote, backslash or control
// character in data at or after i, or len(data), and whether the bytes
// skipped include any outside ASCII. It tests eight bytes at a time.
func skipPlain(data []byte, i int) (int, bool) {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	var seen uint64
	for ; i+8 <= len(data); i += 8 {
		x := binary.LittleEndian.Uint64(data[i:])
		quote := x ^ (ones * '"')
		backslash := x ^ (ones * '\\')
		// A high bit in special marks a byte that is zero in quote or
		// backslash, or below 0x20 in x; the masks cannot miss one.
		special := ((quote - ones) &^ quote) | ((backslash - ones) &^ backslash) |
			((x - ones*0x20) &^ x)
		if special&highs != 0 {
			break
		}
		seen |= x
	}
	for ; i < len(data); i++ {
		c := data[i]
		if c == '"' || c == '\\' || c < 0x20 {
			break
		}
		seen |= uint64(c)
	}
	return i, seen&highs != 0
}

// escapeLength returns the length of the escape sequence at the start of b.
func escapeLength(b []byte) (int, bool) {
	if len(b) < 2 {
		return 0, false
	}
	switch b[1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return 2, true
	case 'u':
		if len(b) < 6 {
			return 0, false
		}
		for _, c := range b[2:6] {
			if !isHex(c) {
				return 0, false
			}
		}
		return 6, true
	}
	return 0, false
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// readString reads the string at s.pos and returns its decoded value,
// which is the raw text itself when that needs no decoding. Like
// encoding/json, it replaces invalid UTF-8 and lone surrogates with
// U+FFFD.
func (s *scanner) readString() ([]byte, error) {
	raw, needsDecoding, err := s.scanString()
	if err != nil || !needsDecoding {
		return raw, err
	}
	if !hasEscape(raw) && utf8.Valid(raw) {
		return raw, nil
	}
	start := len(s.text)
	s.text = appendDecoded(s.text, raw)
	return s.text[start:], nil
}

func hasEscape(raw []byte) bool {
	for _, c := range raw {
		if c == '\\' {
			return true
		}
	}
	return false
}

// appendDecoded appends the decoded form of a checked JSON string body.
func appendDecoded(dst, raw []byte) []byte {
	for i := 0; i < len(raw); {
		c := raw[i]
		if c == '\\' {
			var r rune
			r, i = decodeEscape(raw, i)
			dst = utf8.AppendRune(dst, r)
			continue
		}
		if c < utf8.RuneSelf {
			dst = append(dst, c)
			i++
			continue
		}
		r, n := utf8.DecodeRune(raw[i:])
		dst = utf8.AppendRune(dst, r)
		i += n
	}
	return dst
}

// decodeEscape decodes the escape at raw[i] and returns the rune and the
// index after it, joining a surrogate pair into one rune.
func decodeEscape(raw []byte, i int) (rune, int) {
	switch raw[i+1] {
	case 'b':
		return '\b', i + 2
	case 'f':
		return '\f', i + 2
	case 'n':
		return '\n', i + 2
	case 'r':
		return '\r', i + 2
	case 't':
		return '\t', i + 2
	case 'u':
	default:
		return rune(raw[i+1]), i + 2
	}
	r := hex4(raw[i+2 : i+6])
	if !utf16.IsSurrogate(r) {
		return r, i + 6
	}
	if i+12 <= len(raw) && raw[i+6] == '\\' && raw[i+7] == 'u' {
		if pair := utf16.DecodeRune(r, hex4(raw[i+8:i+12])); pair != utf8.RuneError {
			return pair, i + 12
		}
	}
	return utf8.RuneError, i + 6
}

func hex4(b []byte) rune {
	var r rune
	for _, c := range b {
		switch {
		case c <= '9':
			r = r<<4 | rune(c-'0')
		case c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			r = r<<4 | rune(c-'a'+10)
		}
	}
	return r
}

// readNumber checks and skips the JSON number at s.pos and returns its text.
func (s *scanner) readNumber() ([]byte, error) {
	start, i := s.pos, s.pos
	data := s.data
	if i < len(data) && data[i] == '-' {
		i++
	}
	switch {
	case i < len(data) && data[i] == '0':
		i++
	case i < len(data) && data[i] >= '1' && data[i] <= '9':
		i = skipDigits(data, i)
	default:
		s.pos = i
		return nil, s.fail("invalid value")
	}
	if i < len(data) && data[i] == '.' {
		if i = skipDigits(data, i+1); data[i-1] == '.' {
			s.pos = i
			return nil, s.fail("invalid number")
		}
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		digits := i
		if i = skipDigits(data, i); i == digits {
			s.pos = i
			return nil, s.fail("invalid number")
		}
	}
	s.pos = i
	return data[start:i], nil
}

func skipDigits(data []byte, i int) int {
	for i < len(data) && data[i] >= '0' && data[i] <= '9' {
		i++
	}
	return i
}
