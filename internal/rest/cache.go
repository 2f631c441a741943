package rest

import (
	"container/list"
	"sync"
)

// seriesCache keeps encoded /v1 factory answers, keyed by factory and series
// version, within a byte budget, least recently used out first. The
// version changes in every transaction that writes the factory's points
// (on any replica: it is read from the database on every request), so an
// entry is never older than the version it is found under.
type seriesCache struct {
	mu     sync.Mutex
	budget int64
	used   int64
	order  *list.List // front: most recently used
	items  map[int]*list.Element
}

type cacheEntry struct {
	factory int
	version int64
	body    []byte
}

func newSeriesCache(budget int64) *seriesCache {
	return &seriesCache{budget: budget, order: list.New(), items: map[int]*list.Element{}}
}

// maxEntry is the largest answer worth keeping: a quarter of the budget.
func (c *seriesCache) maxEntry() int64 {
	if c == nil {
		return 0
	}
	return c.budget / 4
}

func (c *seriesCache) get(factory int, version int64) ([]byte, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[factory]
	if !ok {
		return nil, false
	}
	e := el.Value.(*cacheEntry)
	if e.version != version {
		return nil, false
	}
	c.order.MoveToFront(el)
	return e.body, true
}

func (c *seriesCache) put(factory int, version int64, body []byte) {
	if c == nil || int64(len(body)) > c.maxEntry() {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[factory]; ok {
		old := el.Value.(*cacheEntry)
		if old.version > version {
			return // a newer copy is already here
		}
		c.used -= int64(len(old.body))
		c.order.Remove(el)
		delete(c.items, factory)
	}
	c.items[factory] = c.order.PushFront(&cacheEntry{factory: factory, version: version, body: body})
	c.used += int64(len(body))
	for c.used > c.budget {
		el := c.order.Back()
		e := el.Value.(*cacheEntry)
		c.order.Remove(el)
		delete(c.items, e.factory)
		c.used -= int64(len(e.body))
	}
}
