package rest

import (
	"runtime"
	"testing"

	"github.com/sprocketapi/sprocket/internal/lru"
)

func TestSeriesCacheKeepsTheBudgetAndTheNewestVersion(t *testing.T) {
	const slot = lru.EntryOverhead + entryShare
	c := newSeriesCache(4 * (100 + slot)) // answers of at most 100 bytes
	body := func(n int) []byte { return make([]byte, n) }
	c.put(1, 1, body(90))
	c.put(2, 1, body(90))
	c.put(3, 1, body(101)) // too big to keep
	if _, ok := c.get(3, 1); ok {
		t.Error("an entry over a quarter of the budget was kept")
	}
	if _, ok := c.get(1, 2); ok {
		t.Error("a stale version was served")
	}
	c.put(1, 0, body(10)) // older than what is cached: ignored
	if b, ok := c.get(1, 1); !ok || len(b) != 90 {
		t.Error("an older copy replaced a newer one")
	}
	for f := 4; f <= 8; f++ {
		c.put(f, 1, body(90))
	}
	if st := c.stats(); st.Bytes > st.Budget || st.Entries != 4 {
		t.Errorf("%+v", st)
	}
	if _, ok := c.get(8, 1); !ok {
		t.Error("the newest entry was evicted")
	}
	if _, ok := c.get(2, 1); ok {
		t.Error("the least recently used entry was not evicted")
	}
}

// TestManySmallAnswersStayWithinTheBudget: answers of empty factories
// (about 95 bytes each) fill the cache; the heap it holds stays within its
// budget, because each is charged its overhead too (counting the bodies
// only, 44,420 of them held 17 MB for 4.2 MB of bodies).
func TestManySmallAnswersStayWithinTheBudget(t *testing.T) {
	const budget = 2 << 20
	before := heapInUse()
	c := newSeriesCache(budget)
	for f := range 44_420 {
		// As the stream copies it: appended, so with room to spare.
		body := append([]byte(nil), `{"chart_data":{"sprocket_production_actual":[],"sprocket_production_goal":[],"time":[]},"id":1}`...)
		body = append(body, '\n')
		c.put(f, 1, body)
	}
	held := int64(heapInUse()) - int64(before)
	runtime.KeepAlive(c)
	st := c.stats()
	t.Logf("%d answers kept, %d bytes charged, %d held", st.Entries, st.Bytes, held)
	if held > budget {
		t.Errorf("the cache holds %d bytes of heap, over its budget of %d", held, budget)
	}
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
