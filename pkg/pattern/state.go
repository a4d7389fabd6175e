package pattern

// matchState is the scratch space of one Match call, pooled by the
// Matcher so that matching does not allocate once it is warm.
type matchState struct {
	scanner
	m          *Matcher
	candidates []int32
	// ruleSeen and idSeen hold, per rule and per id, the stamp of the last
	// event that added the rule as a candidate or returned the id. A new
	// stamp per event clears both in constant time.
	ruleSeen []uint32
	idSeen   []uint32
	stamp    uint32
}

func (m *Matcher) newState() *matchState {
	st := &matchState{
		m:        m,
		ruleSeen: make([]uint32, len(m.rules)),
		idSeen:   make([]uint32, len(m.ids)),
	}
	st.trie = m.trie
	st.onScalar = st.indexScalar
	return st
}

func (st *matchState) begin(event []byte) {
	st.reset(event)
	st.candidates = st.candidates[:0]
	st.stamp++
	if st.stamp == 0 {
		clear(st.ruleSeen)
		clear(st.idSeen)
		st.stamp = 1
	}
}

func (st *matchState) addCandidate(r int32) {
	if st.ruleSeen[r] != st.stamp {
		st.ruleSeen[r] = st.stamp
		st.candidates = append(st.candidates, r)
	}
}

// indexScalar adds as candidates the rules indexed under the scalar's
// field and value.
func (st *matchState) indexScalar(index int32) {
	n := &st.nodes[index]
	t := &st.trie[n.field]
	var rules []int32
	switch n.kind {
	case kindString:
		rules = t.strings[string(n.text)]
	case kindNumber:
		rules = t.numbers[string(n.text)]
	default:
		rules = t.literals[n.kind-kindTrue]
	}
	for _, r := range rules {
		st.addCandidate(r)
	}
}

// matchObject evaluates o against the event node at index, or against a
// missing value when index is -1. An object pattern matches an array when
// it matches one element, so that one match never combines fields of
// different elements. An empty array counts as a missing value.
func (st *matchState) matchObject(o *objectMatcher, index int32) bool {
	if index >= 0 && st.nodes[index].kind == kindArray {
		first := st.nodes[index].first
		if first < 0 {
			return st.matchObject(o, -1)
		}
		for e := first; e >= 0; e = st.nodes[e].next {
			if st.matchObject(o, e) {
				return true
			}
		}
		return false
	}
	for i := range o.fields {
		if !st.matchField(&o.fields[i], index) {
			return false
		}
	}
	for _, group := range o.ors {
		if !st.matchAny(group, index) {
			return false
		}
	}
	return true
}

func (st *matchState) matchAny(group []*objectMatcher, index int32) bool {
	for _, alternative := range group {
		if st.matchObject(alternative, index) {
			return true
		}
	}
	return false
}

func (st *matchState) matchField(f *fieldMatcher, parent int32) bool {
	member := st.member(parent, f.field)
	if f.object != nil {
		return st.matchObject(f.object, member)
	}
	found, matched := st.matchLeaf(f.leaf, member)
	return matched || (!found && f.leaf.existsFalse)
}

// member returns the last member of the object at index with the given
// field, or -1. The last one wins among duplicate keys, as in
// encoding/json.
func (st *matchState) member(index, field int32) int32 {
	if index < 0 || st.nodes[index].kind != kindObject {
		return -1
	}
	found := int32(-1)
	for c := st.nodes[index].first; c >= 0; c = st.nodes[c].next {
		if st.nodes[c].field == field {
			found = c
		}
	}
	return found
}

// matchLeaf reports whether the value at index, or any scalar in it when
// it is an array, exists and whether one matches a condition of leaf.
func (st *matchState) matchLeaf(leaf *leafPattern, index int32) (found, matched bool) {
	if index < 0 {
		return false, false
	}
	n := &st.nodes[index]
	switch n.kind {
	case kindObject:
		return false, false
	case kindArray:
		for e := n.first; e >= 0; e = st.nodes[e].next {
			f, m := st.matchLeaf(leaf, e)
			if m {
				return true, true
			}
			found = found || f
		}
		return found, false
	}
	for i := range leaf.conds {
		if leaf.conds[i].match(&n.scalar) {
			return true, true
		}
	}
	return true, false
}
