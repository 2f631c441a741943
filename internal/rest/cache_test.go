package rest

import "testing"

func TestSeriesCacheKeepsTheBudgetAndTheNewestVersion(t *testing.T) {
	c := newSeriesCache(400) // entries of at most 100 bytes
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
	if c.used > c.budget {
		t.Errorf("%d bytes used of %d", c.used, c.budget)
	}
	if _, ok := c.get(8, 1); !ok {
		t.Error("the newest entry was evicted")
	}
	if _, ok := c.get(2, 1); ok {
		t.Error("the least recently used entry was not evicted")
	}
}
