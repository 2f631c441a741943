package rest

import (
	"bytes"
	"unsafe"

	"github.com/sprocketapi/sprocket/internal/lru"
)

// seriesCache keeps encoded /v1 factory answers, keyed by factory and series
// version, within a byte budget, least recently used out first. The
// version changes in every transaction that writes the factory's points
// (on any replica: it is read from the database on every request), so an
// entry is never older than the version it is found under. Each entry is
// charged its answer and what the cache holds around it (lru.EntryOverhead),
// so that many small answers (empty factories) stay within the budget too.
type seriesCache struct {
	lru *lru.Cache[int, cacheEntry]
}

type cacheEntry struct {
	version int64
	body    []byte
}

// entryShare is what an entry holds besides its answer's bytes.
const entryShare = int64(unsafe.Sizeof(cacheEntry{}))

func newSeriesCache(budget int64) *seriesCache {
	// An answer is kept if it is at most a quarter of the budget.
	return &seriesCache{lru: lru.New[int, cacheEntry](budget, budget/4)}
}

// maxEntry is the largest answer worth keeping.
func (c *seriesCache) maxEntry() int64 {
	if c == nil {
		return 0
	}
	return c.lru.MaxEntry() - entryShare
}

func (c *seriesCache) get(factory int, version int64) ([]byte, bool) {
	if c == nil {
		return nil, false
	}
	e, ok := c.lru.Get(factory)
	if !ok || e.version != version {
		return nil, false
	}
	return e.body, true
}

func (c *seriesCache) put(factory int, version int64, body []byte) {
	if c == nil || int64(len(body)) > c.maxEntry() {
		return
	}
	if cap(body) > len(body)+len(body)/8 {
		// Append grew the copy beyond the answer: keep only the answer.
		body = bytes.Clone(body)
	}
	c.lru.Add(factory, cacheEntry{version: version, body: body}, int64(cap(body))+entryShare,
		func(old cacheEntry) bool { return old.version <= version }) // a newer copy is kept
}

// stats are the cache's figures for the metrics.
func (c *seriesCache) stats() lru.Stats { return c.lru.Stats() }
