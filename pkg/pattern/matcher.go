package pattern

import (
	"slices"
	"sync"
)

// Builder collects the patterns of one bus and compiles them into a
// Matcher. The zero value is ready to use. A Builder is not safe for
// concurrent use.
type Builder struct {
	rules []builderRule
}

type builderRule struct {
	id      string
	pattern *objectPattern
}

// NewBuilder returns an empty Builder.
func NewBuilder() *Builder {
	return &Builder{}
}

// Add compiles src and files it under id, a rule id. Several patterns may
// share an id, and the rule then matches when any of them does. An invalid
// pattern returns the Validate error and leaves the builder unchanged.
func (b *Builder) Add(id string, src []byte) error {
	p, err := parsePattern(src)
	if err != nil {
		return err
	}
	b.rules = append(b.rules, builderRule{id: id, pattern: p})
	return nil
}

// Build compiles the patterns added so far into a new Matcher. The
// builder may be reused or dropped after.
func (b *Builder) Build() *Matcher {
	m := &Matcher{trie: []trieNode{{}}}
	idIndex := make(map[string]int32)
	for _, r := range b.rules {
		id, ok := idIndex[r.id]
		if !ok {
			id = int32(len(m.ids))
			idIndex[r.id] = id
			m.ids = append(m.ids, r.id)
		}
		m.rules = append(m.rules, rule{id: id, root: m.compileObject(0, r.pattern)})
	}
	m.buildIndex()
	m.states.New = func() any { return m.newState() }
	return m
}

// Matcher matches events against the patterns of one bus. Create one with
// Builder.Build. It is immutable and safe for concurrent use by many
// goroutines. To change the rules, build a new Matcher and swap it in
// atomically, so that matching never waits for a rebuild.
type Matcher struct {
	// trie contains one node per field path that a pattern names. Node 0
	// is the top level of the event.
	trie  []trieNode
	rules []rule
	// ids are the distinct rule ids, in the order they were first added.
	ids []string
	// unindexed lists the rules that have no indexed field to find them
	// by. They are evaluated for every event.
	unindexed []int32
	states    sync.Pool
}

type rule struct {
	id   int32
	root *objectMatcher
}

// objectMatcher is an objectPattern whose keys are resolved to trie nodes.
type objectMatcher struct {
	fields []fieldMatcher
	ors    [][]*objectMatcher
}

type fieldMatcher struct {
	field  int32
	leaf   *leafPattern
	object *objectMatcher
}

func (m *Matcher) compileObject(field int32, p *objectPattern) *objectMatcher {
	o := &objectMatcher{fields: make([]fieldMatcher, 0, len(p.fields))}
	for _, f := range p.fields {
		child := m.childField(field, f.key)
		fm := fieldMatcher{field: child, leaf: f.leaf}
		if f.object != nil {
			fm.object = m.compileObject(child, f.object)
		}
		o.fields = append(o.fields, fm)
	}
	for _, group := range p.ors {
		alternatives := make([]*objectMatcher, len(group))
		for i, alternative := range group {
			alternatives[i] = m.compileObject(field, alternative)
		}
		o.ors = append(o.ors, alternatives)
	}
	return o
}

// childField returns the trie node for key below field, adding it if new.
func (m *Matcher) childField(field int32, key string) int32 {
	if child, ok := m.trie[field].child([]byte(key)); ok {
		return child
	}
	child := int32(len(m.trie))
	m.trie = append(m.trie, trieNode{})
	m.trie[field].addChild(key, child)
	return child
}

// Match appends to dst the ids of the patterns that match the JSON event
// and returns the extended slice. Each id appears at most once, at the
// place of its first matching pattern in the order the patterns were
// added. An event that is not a well-formed JSON object returns an error
// wrapping ErrInvalidEvent.
func (m *Matcher) Match(event []byte, dst []string) ([]string, error) {
	st := m.states.Get().(*matchState)
	defer m.release(st)
	st.begin(event)
	root, err := st.scanEvent()
	if err != nil {
		return dst, err
	}
	for _, r := range m.unindexed {
		st.addCandidate(r)
	}
	slices.Sort(st.candidates)
	for _, r := range st.candidates {
		id := m.rules[r].id
		if st.idSeen[id] == st.stamp || !st.matchObject(m.rules[r].root, root) {
			continue
		}
		st.idSeen[id] = st.stamp
		dst = append(dst, m.ids[id])
	}
	return dst, nil
}

func (m *Matcher) release(st *matchState) {
	if st.reusable() {
		m.states.Put(st)
	}
}

// Matches reports whether the JSON event matches the pattern. It compiles
// the pattern on each call, so it suits one-off tests, not a stream.
func Matches(patternSrc, event []byte) (bool, error) {
	b := NewBuilder()
	if err := b.Add("", patternSrc); err != nil {
		return false, err
	}
	ids, err := b.Build().Match(event, nil)
	return len(ids) > 0, err
}
