package rediscache

import (
	"container/list"
	"sync"
	"time"
)

// memory is a least-recently-used map with a lifetime per entry. It is
// safe for concurrent use.
type memory struct {
	mu         sync.Mutex
	maxEntries int
	order      *list.List // front is the most recently used
	entries    map[string]*list.Element
}

type memoryEntry struct {
	key     string
	value   []byte
	expires time.Time
}

func newMemory(maxEntries int) *memory {
	return &memory{
		maxEntries: maxEntries,
		order:      list.New(),
		entries:    make(map[string]*list.Element),
	}
}

// get returns a copy of the value, so callers cannot change what others
// read.
func (m *memory) get(key string, now time.Time) ([]byte, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()

	el, ok := m.entries[key]
	if !ok {
		return nil, false
	}
	e := el.Value.(*memoryEntry)
	if !now.Before(e.expires) {
		m.remove(el)
		return nil, false
	}
	m.order.MoveToFront(el)
	return clone(e.value), true
}

// set stores a copy of value until now+ttl, evicting the least recently
// used entry when the map is full.
func (m *memory) set(key string, value []byte, now time.Time, ttl time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()

	if el, ok := m.entries[key]; ok {
		e := el.Value.(*memoryEntry)
		e.value = clone(value)
		e.expires = now.Add(ttl)
		m.order.MoveToFront(el)
		return
	}

	for m.order.Len() >= m.maxEntries {
		m.remove(m.order.Back())
	}
	e := &memoryEntry{key: key, value: clone(value), expires: now.Add(ttl)}
	m.entries[key] = m.order.PushFront(e)
}

func (m *memory) delete(key string) {
	m.mu.Lock()
	defer m.mu.Unlock()

	if el, ok := m.entries[key]; ok {
		m.remove(el)
	}
}

func (m *memory) len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.order.Len()
}

func (m *memory) remove(el *list.Element) {
	m.order.Remove(el)
	delete(m.entries, el.Value.(*memoryEntry).key)
}

func clone(b []byte) []byte {
	return append([]byte(nil), b...)
}
