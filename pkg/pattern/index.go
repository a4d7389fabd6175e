package pattern

// trieNode is one field path of the patterns of a Matcher. Its maps index
// the rules by the exact values they require at this path: a rule is
// evaluated for an event only if the event has one of those values.
type trieNode struct {
	children map[string]int32
	strings  map[string][]int32
	numbers  map[string][]int32
	// literals index true, false and null, in the order of their kinds.
	literals [3][]int32
}

// indexKey is an exact value at a field path.
type indexKey struct {
	field int32
	kind  kind
	text  string
}

// buildIndex files each rule under the exact values of its most selective
// required field: the one whose values the fewest rules share. Rules with
// no such field go to m.unindexed.
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
		for _, c := range f.leaf.conds {
			if c.op == opExact {
				counts[indexKey{f.field, c.kind, string(c.text)}]++
			}
		}
	}
	for _, group := range o.ors {
		for _, alternative := range group {
			countKeys(alternative, counts)
		}
	}
}

// selectKeys returns a set of exact values of which every event that
// matches o has at least one, choosing the set that the fewest other
// rules share, and its cost. It returns false when o has no such set.
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

// leafKeys returns the values of a leaf whose conditions are all exact
// values. A leaf with exists:false can match a missing field, so it has
// no key.
func leafKeys(field int32, leaf *leafPattern, counts map[indexKey]int) ([]indexKey, int, bool) {
	if leaf.existsFalse {
		return nil, 0, false
	}
	keys := make([]indexKey, 0, len(leaf.conds))
	cost := 0
	for _, c := range leaf.conds {
		if c.op != opExact {
			return nil, 0, false
		}
		key := indexKey{field, c.kind, string(c.text)}
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
	switch key.kind {
	case kindString:
		t.strings = addToMap(t.strings, key.text, r)
	case kindNumber:
		t.numbers = addToMap(t.numbers, key.text, r)
	default:
		t.literals[key.kind-kindTrue] = appendRule(t.literals[key.kind-kindTrue], r)
	}
}

func addToMap(index map[string][]int32, text string, r int32) map[string][]int32 {
	if index == nil {
		index = make(map[string][]int32)
	}
	index[text] = appendRule(index[text], r)
	return index
}

// appendRule appends r unless it is already last, which happens when an
// $or names the same value twice.
func appendRule(rules []int32, r int32) []int32 {
	if n := len(rules); n > 0 && rules[n-1] == r {
		return rules
	}
	return append(rules, r)
}
