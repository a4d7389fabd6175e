package pattern

import (
	"slices"
	"unicode"
	"unicode/utf8"
)

// trieNode is one field path of the patterns of a Matcher, with an index
// of the rules by the values they require at this path. A rule is
// evaluated for an event only if the event has one of those values.
type trieNode struct {
	// childKeys and childFields list the keys below this path and their
	// nodes. children maps the same once there are more than
	// maxListedChildren, where hashing beats comparing keys in turn.
	childKeys   []string
	childFields []int32
	children    map[string]int32

	strings map[string][]int32
	numbers map[string][]int32
	// literals index true, false and null, in the order of their kinds.
	literals [3][]int32
	// prefixes and suffixes index those conditions. prefixLengths and
	// suffixLengths list the distinct byte lengths in each, in ascending
	// order, so that a value is looked up once per length.
	prefixes      map[string][]int32
	prefixLengths []int
	suffixes      map[string][]int32
	suffixLengths []int
	// folded indexes equals-ignore-case conditions by appendFoldKey.
	folded map[string][]int32
}

const maxListedChildren = 8

// child returns the node of key below t.
func (t *trieNode) child(key []byte) (int32, bool) {
	if t.children != nil {
		field, ok := t.children[string(key)]
		return field, ok
	}
	for i, k := range t.childKeys {
		if k == string(key) {
			return t.childFields[i], true
		}
	}
	return 0, false
}

func (t *trieNode) addChild(key string, field int32) {
	t.childKeys = append(t.childKeys, key)
	t.childFields = append(t.childFields, field)
	if len(t.childKeys) <= maxListedChildren {
		return
	}
	if t.children == nil {
		t.children = make(map[string]int32, len(t.childKeys))
		for i, k := range t.childKeys {
			t.children[k] = t.childFields[i]
		}
	}
	t.children[key] = field
}

// indexKey is a value that a condition requires at a field path: an exact
// value, a prefix, a suffix, or a string under case folding.
type indexKey struct {
	field int32
	op    operator // opExact, opPrefix, opSuffix or opEqualFold
	kind  kind     // the kind of an exact value; kindString otherwise
	text  string
}

// keyOf returns the index key of c, or false if c has none.
func keyOf(field int32, c *cond) (indexKey, bool) {
	if !c.indexed {
		return indexKey{}, false
	}
	kind := kindString
	if c.keyOp == opExact {
		kind = c.kind
	}
	return indexKey{field, c.keyOp, kind, c.key}, true
}

// buildIndex files each rule under the keys of its most selective
// required field: the one whose keys the fewest rules share. Rules with
// no such field go to m.unindexed.
//
// TODO: index numeric ranges and cidr blocks too. A rule that uses only
// those operators, anything-but, exists, contains, wildcards that start
// and end with a star, or suffixes and prefixes ignoring case, runs for
// every event, so the cost of such rules grows with their number.
func (m *Matcher) buildIndex() {
	counts := make(map[indexKey]int)
	for _, r := range m.rules {
		countKeys(r.root, counts)
	}
	for i, r := range m.rules {
		keys, _, ok := selectKeys(r.root, counts)
		if !ok {
			m.unindexed = append(m.unindexed, int32(i))
			continue
		}
		for _, key := range keys {
			m.addToIndex(key, int32(i))
		}
	}
}

func countKeys(o *objectMatcher, counts map[indexKey]int) {
	for _, f := range o.fields {
		if f.object != nil {
			countKeys(f.object, counts)
			continue
		}
		for i := range f.leaf.conds {
			if key, ok := keyOf(f.field, &f.leaf.conds[i]); ok {
				counts[key]++
			}
		}
	}
	for _, group := range o.ors {
		for _, alternative := range group {
			countKeys(alternative, counts)
		}
	}
}

// selectKeys returns a set of keys of which every event that matches o
// has at least one, choosing the set that the fewest other rules share,
// and its cost. It returns false when o has no such set.
func selectKeys(o *objectMatcher, counts map[indexKey]int) ([]indexKey, int, bool) {
	var best []indexKey
	bestCost, found := 0, false
	consider := func(keys []indexKey, cost int, ok bool) {
		if ok && (!found || cost < bestCost) {
			best, bestCost, found = keys, cost, true
		}
	}
	for _, f := range o.fields {
		if f.object != nil {
			consider(selectKeys(f.object, counts))
		} else {
			consider(leafKeys(f.field, f.leaf, counts))
		}
	}
	for _, group := range o.ors {
		consider(groupKeys(group, counts))
	}
	return best, bestCost, found
}

// leafKeys returns the keys of a leaf whose conditions can all be
// indexed. A leaf with exists:false can match a missing field, so it has
// no keys.
func leafKeys(field int32, leaf *leafPattern, counts map[indexKey]int) ([]indexKey, int, bool) {
	if leaf.existsFalse {
		return nil, 0, false
	}
	keys := make([]indexKey, 0, len(leaf.conds))
	cost := 0
	for i := range leaf.conds {
		key, ok := keyOf(field, &leaf.conds[i])
		if !ok {
			return nil, 0, false
		}
		keys = append(keys, key)
		cost += counts[key]
	}
	return keys, cost, true
}

// groupKeys returns the union of the keys of the alternatives of an $or,
// which exists only when every alternative has keys.
func groupKeys(group []*objectMatcher, counts map[indexKey]int) ([]indexKey, int, bool) {
	var keys []indexKey
	cost := 0
	for _, alternative := range group {
		k, c, ok := selectKeys(alternative, counts)
		if !ok {
			return nil, 0, false
		}
		keys = append(keys, k...)
		cost += c
	}
	return keys, cost, true
}

func (m *Matcher) addToIndex(key indexKey, r int32) {
	t := &m.trie[key.field]
	switch {
	case key.op == opPrefix:
		t.prefixes = addToMap(t.prefixes, key.text, r)
		t.prefixLengths = addLength(t.prefixLengths, len(key.text))
	case key.op == opSuffix:
		t.suffixes = addToMap(t.suffixes, key.text, r)
		t.suffixLengths = addLength(t.suffixLengths, len(key.text))
	case key.op == opEqualFold:
		t.folded = addToMap(t.folded, key.text, r)
	case key.kind == kindString:
		t.strings = addToMap(t.strings, key.text, r)
	case key.kind == kindNumber:
		t.numbers = addToMap(t.numbers, key.text, r)
	default:
		t.literals[key.kind-kindTrue] = appendRule(t.literals[key.kind-kindTrue], r)
	}
}

func addLength(lengths []int, n int) []int {
	if slices.Contains(lengths, n) {
		return lengths
	}
	lengths = append(lengths, n)
	slices.Sort(lengths)
	return lengths
}

func addToMap(index map[string][]int32, text string, r int32) map[string][]int32 {
	if index == nil {
		index = make(map[string][]int32)
	}
	index[text] = appendRule(index[text], r)
	return index
}

// appendRule appends r unless it is already last, which happens when a
// rule names the same key twice.
func appendRule(rules []int32, r int32) []int32 {
	if n := len(rules); n > 0 && rules[n-1] == r {
		return rules
	}
	return append(rules, r)
}

// appendFoldKey appends to dst a form of s in which every rune is
// replaced by the smallest rune of its simple case folding orbit. Two
// strings are equal under bytes.EqualFold exactly when their keys are
// equal. s must be valid UTF-8.
func appendFoldKey(dst, s []byte) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			// In ASCII the smallest rune of a letter's orbit is the capital.
			if 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
			dst = append(dst, c)
			i++
			continue
		}
		r, n := utf8.DecodeRune(s[i:])
		dst = utf8.AppendRune(dst, smallestFold(r))
		i += n
	}
	return dst
}

func smallestFold(r rune) rune {
	smallest := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		smallest = min(smallest, f)
	}
	return smallest
}
