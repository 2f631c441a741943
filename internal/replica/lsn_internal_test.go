package replica

import (
	"sync"
	"testing"
	"time"
)

func TestLSNReadsAndPrintsPgLSN(t *testing.T) {
	for _, s := range []string{"0/0", "0/16B3748", "16/B374D848", "FFFFFFFF/FFFFFFFF"} {
		l, err := ParseLSN(s)
		if err != nil || l.String() != s {
			t.Errorf("%q: %v %v", s, l, err)
		}
	}
	if l, _ := ParseLSN("1/0"); l != 1<<32 {
		t.Errorf("1/0 = %d", l)
	}
	if a, b := mustLSN(t, "0/FFFFFFFF"), mustLSN(t, "1/0"); a >= b {
		t.Error("positions do not order by their halves")
	}
	for _, bad := range []string{"", "/", "1/", "/1", "12", "G/0", "1/2/3", "123456789/0", "-1/0", "0x1/0"} {
		if _, err := ParseLSN(bad); err == nil {
			t.Errorf("%q was accepted", bad)
		}
	}
}

func mustLSN(t *testing.T, s string) LSN {
	t.Helper()
	l, err := ParseLSN(s)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestLagIsTheAgeOfTheOldestUnreplayedPosition: a standby that replayed
// the newest position is not behind however idle the primary; one that
// did not is as far behind as the oldest position it misses is old, even
// when the primary has been idle since.
func TestLagIsTheAgeOfTheOldestUnreplayedPosition(t *testing.T) {
	h := history{keep: time.Minute}
	t0 := time.Unix(1000, 0)
	h.add(t0, 100)
	h.add(t0.Add(time.Second), 200)
	h.add(t0.Add(2*time.Second), 200) // idle: the position stays
	h.add(t0.Add(3*time.Second), 300)
	now := t0.Add(10 * time.Second)
	for _, c := range []struct {
		replayed LSN
		want     time.Duration
	}{
		{300, 0}, {400, 0}, {200, 7 * time.Second}, {150, 9 * time.Second}, {99, 10 * time.Second},
	} {
		if got := h.lag(c.replayed, now); got != c.want {
			t.Errorf("replayed %d: lag %v, want %v", c.replayed, got, c.want)
		}
	}
	// Samples older than keep go, but the newest of them, which still
	// dates the positions after it.
	h.add(t0.Add(5*time.Minute), 400)
	if len(h.samples) != 2 || h.samples[0].lsn != 300 || h.samples[1].lsn != 400 {
		t.Errorf("samples after keep: %+v", h.samples)
	}
}

// TestNewestKeepsTheNewestUnderConcurrentRaises: raises from many
// goroutines in any order leave the largest position, never an older one.
func TestNewestKeepsTheNewestUnderConcurrentRaises(t *testing.T) {
	var n Newest
	if n.Load() != 0 {
		t.Fatal("the zero value holds a position")
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 1000 {
				n.Raise(LSN(uint64((i*8+g)%8000) << 20))
			}
		})
	}
	wg.Wait()
	if want := LSN(uint64(7999) << 20); n.Load() != want {
		t.Errorf("newest %v, want %v", n.Load(), want)
	}
	n.Raise(1)
	if want := LSN(uint64(7999) << 20); n.Load() != want {
		t.Errorf("an older raise moved it back to %v", n.Load())
	}
}
