package pattern

// matchState is the scratch space of one Match call, pooled by the
// Matcher so that matching does not allocate once it is warm.
type matchState struct {
	scanner
	candidates []int32
	// ruleSeen and idSeen store, per rule and per id, the stamp of the last
	// event that added the rule as a candidate or returned the id. A new
	// stamp per event clears both in constant time.
	ruleSeen []uint32
	idSeen   []uint32
	stamp    uint32
	// foldBuffer stores the case-folding key of a string being indexed.
	foldBuffer []byte
}

func (m *Matcher) newState() *matchState {
	st := &matchState{
		ruleSeen: make([]uint32, len(m.rules)),
		idSeen:   make([]uint32, len(m.ids)),
	}
	st.trie = m.trie
	st.onScalar = st.indexScalar
	return st
}

// maxPooledNodes and maxPooledText bound the scratch space that a state
// keeps in the pool, so that one huge event does not pin its memory.
const (
	maxPooledNodes = 1 << 16
	maxPooledText  = 1 << 20
)

func (st *matchState) reusable() bool {
	return cap(st.nodes) <= maxPooledNodes && cap(st.text) <= maxPooledText
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
	switch n.kind {
	case kindString:
		st.addCandidates(t.strings[string(n.text)])
		st.indexString(t, n.text)
	case kindNumber:
		st.addCandidates(t.numbers[string(n.text)])
	default:
		st.addCandidates(t.literals[n.kind-kindTrue])
	}
}

// indexString adds the rules indexed under a prefix, a suffix or the
// case folding of s.
func (st *matchState) indexString(t *trieNode, s []byte) {
	for _, length := range t.prefixLengths {
		if length > len(s) {
			break
		}
		st.addCandidates(t.prefixes[string(s[:length])])
	}
	for _, length := range t.suffixLengths {
		if length > len(s) {
			break
		}
		st.addCandidates(t.suffixes[string(s[len(s)-length:])])
	}
	if t.folded != nil {
		st.foldBuffer = appendFoldKey(st.foldBuffer[:0], s)
		st.addCandidates(t.folded[string(st.foldBuffer)])
	}
}

func (st *matchState) addCandidates(rules []int32) {
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
