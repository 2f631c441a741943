package lru

import (
	"fmt"
	"runtime"
	"testing"
)

func TestTheLeastRecentlyUsedEntriesGoFirst(t *testing.T) {
	c := New[string, int](10*(EntryOverhead+10), 0)
	for i := range 10 {
		if !c.Add(fmt.Sprint(i), i, 10, nil) {
			t.Fatalf("entry %d refused", i)
		}
	}
	if _, ok := c.Get("0"); !ok { // 0 is now the most recent
		t.Fatal("entry 0 missing")
	}
	c.Add("10", 10, 10, nil) // evicts 1, the least recent
	if _, ok := c.Get("1"); ok {
		t.Error("entry 1 survived")
	}
	for _, k := range []string{"0", "2", "9", "10"} {
		if _, ok := c.Get(k); !ok {
			t.Errorf("entry %s missing", k)
		}
	}
	st := c.Stats()
	if st.Entries != 10 || st.Bytes != 10*(EntryOverhead+10) || st.Evictions != 1 || st.Refusals != 0 {
		t.Errorf("stats %+v", st)
	}
	// Replacing an entry charges its new size only.
	c.Add("10", 11, 10, nil)
	if v, _ := c.Get("10"); v != 11 || c.Stats().Bytes != st.Bytes {
		t.Errorf("after a replacement: %d, %+v", v, c.Stats())
	}
}

func TestEntriesOverTheLimitAreNotKept(t *testing.T) {
	c := New[string, string](1000+4*EntryOverhead, 0) // entries up to a quarter
	if !c.Add("a", "x", c.MaxEntry(), nil) {
		t.Error("an entry of MaxEntry was refused")
	}
	if c.Add("a", "y", c.MaxEntry()+1, nil) {
		t.Error("an entry over MaxEntry was kept")
	}
	if _, ok := c.Get("a"); ok {
		t.Error("the former value of a refused entry is still served")
	}
	if st := c.Stats(); st.Refusals != 1 || st.Entries != 0 || st.Bytes != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestKeepDecidesOverTheHeldValue(t *testing.T) {
	c := New[int, int](1<<20, 0)
	c.Add(1, 5, 0, nil)
	older := func(old int) bool { return old <= 4 }
	if c.Add(1, 4, 0, older) {
		t.Error("kept a value that keep refused")
	}
	if v, _ := c.Get(1); v != 5 {
		t.Errorf("held %d, want 5", v)
	}
	if !c.Add(2, 4, 0, older) {
		t.Error("keep is asked only when a value is held")
	}
}

// TestTheChargeCoversTheHeap: the bytes a cache is charged are at least
// the heap its entries hold (and not much more), for the entries the
// project keeps: string keys (documents) and int keys (factories).
func TestTheChargeCoversTheHeap(t *testing.T) {
	// Go's maps grow by doubling: 7/8 × 2^17 + 1 entries is just past a
	// growth, where each entry's share of the index is largest.
	for _, n := range []int{100_000, 7<<14 + 1} {
		checkCharge(t, n)
	}
}

func checkCharge(t *testing.T, n int) {
	check := func(name string, fill func() (charged int64, keep any)) {
		t.Helper()
		before := heap()
		charged, keep := fill()
		held := int64(heap()) - int64(before)
		runtime.KeepAlive(keep)
		t.Logf("%d entries, %s: %d bytes held, %d charged (%.0f and %.0f an entry)", n, name, held, charged, float64(held)/float64(n), float64(charged)/float64(n))
		if charged < held || charged > 2*held {
			t.Errorf("%s: charged %d bytes for %d held", name, charged, held)
		}
	}
	check("string keys", func() (int64, any) {
		c := New[string, *[4]int64](1<<40, 1<<30)
		for i := range n {
			k := fmt.Sprintf("%016d", i)
			c.Add(k, new([4]int64), int64(len(k))+32, nil)
		}
		return c.Stats().Bytes, c
	})
	check("int keys", func() (int64, any) {
		c := New[int, []byte](1<<40, 1<<30)
		for i := range n {
			b := make([]byte, 96)
			c.Add(i, b, int64(cap(b)), nil)
		}
		return c.Stats().Bytes, c
	})
}

func heap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
