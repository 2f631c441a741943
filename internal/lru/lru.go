// Package lru is a least-recently-used cache bounded by the bytes its
// entries hold, not by their number: each entry is charged its size (as
// its owner measures it) plus EntryOverhead, and an entry larger than the
// cache's per-entry limit is not kept at all.
package lru

import (
	"sync"
	"sync/atomic"
)

// EntryOverhead is what the cache itself holds for an entry besides the
// key's and the value's contents: the entry (key header, value, size and
// list links) and its slot in the index, measured (TestTheChargeCoversTheHeap).
const EntryOverhead = 128

// Cache maps keys to values within a byte budget. It is safe for
// concurrent use.
type Cache[K comparable, V any] struct {
	budget, maxEntry int64

	mu    sync.Mutex
	used  int64
	items map[K]*entry[K, V]
	head  *entry[K, V] // most recently used; a ring through prev/next
	count int

	evictions, refusals atomic.Int64
}

type entry[K comparable, V any] struct {
	key        K
	value      V
	size       int64 // charged, overhead included
	prev, next *entry[K, V]
}

// New returns a cache of budget bytes that keeps no entry charged more
// than maxEntry (0: a quarter of the budget).
func New[K comparable, V any](budget, maxEntry int64) *Cache[K, V] {
	if maxEntry <= 0 || maxEntry > budget {
		maxEntry = budget / 4
	}
	return &Cache[K, V]{budget: budget, maxEntry: maxEntry, items: map[K]*entry[K, V]{}}
}

// Get returns the value of key, which becomes the most recently used.
func (c *Cache[K, V]) Get(key K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.items[key]
	if !ok {
		var zero V
		return zero, false
	}
	c.unlink(e)
	c.pushFront(e)
	return e.value, true
}

// MaxEntry is the largest size an entry may be charged (see Add).
func (c *Cache[K, V]) MaxEntry() int64 { return c.maxEntry - EntryOverhead }

// Add keeps value under key, charged size bytes (what the key and value
// hold) plus EntryOverhead, evicting the least recently used entries to
// make room. An entry charged more than the per-entry limit is refused
// (counted, and a former value of key is dropped); so is one for which
// keep, given the value held under key, reports false. Add reports
// whether the value is kept.
func (c *Cache[K, V]) Add(key K, value V, size int64, keep func(old V) bool) bool {
	size += EntryOverhead
	c.mu.Lock()
	defer c.mu.Unlock()
	old, ok := c.items[key]
	if ok && keep != nil && !keep(old.value) {
		return false
	}
	if ok {
		c.remove(old)
	}
	if size > c.maxEntry {
		c.refusals.Add(1)
		return false
	}
	e := &entry[K, V]{key: key, value: value, size: size}
	c.items[key] = e
	c.pushFront(e)
	c.used += size
	c.count++
	for c.used > c.budget {
		c.remove(c.head.prev)
		c.evictions.Add(1)
	}
	return true
}

func (c *Cache[K, V]) remove(e *entry[K, V]) {
	c.unlink(e)
	delete(c.items, e.key)
	c.used -= e.size
	c.count--
}

func (c *Cache[K, V]) pushFront(e *entry[K, V]) {
	if c.head == nil {
		e.prev, e.next = e, e
	} else {
		e.next, e.prev = c.head, c.head.prev
		c.head.prev.next = e
		c.head.prev = e
	}
	c.head = e
}

func (c *Cache[K, V]) unlink(e *entry[K, V]) {
	if e.next == e {
		c.head = nil
	} else {
		e.prev.next, e.next.prev = e.next, e.prev
		if c.head == e {
			c.head = e.next
		}
	}
	e.prev, e.next = nil, nil
}

// Stats is what a cache holds and has done, for metrics.
type Stats struct {
	// Bytes is what the entries held are charged; Budget its limit.
	Bytes, Budget int64
	Entries       int
	// Evictions counts entries dropped to make room; Refusals entries
	// not kept because they were larger than the per-entry limit.
	Evictions, Refusals int64
}

// Stats returns the cache's figures.
func (c *Cache[K, V]) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return Stats{Bytes: c.used, Budget: c.budget, Entries: c.count,
		Evictions: c.evictions.Load(), Refusals: c.refusals.Load()}
}
