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

// TestAStandbyHoldsEveryWriteCommittedBeforeTheLastSampleItReplayed: a
// sample (t, L) says every write committed before t is at or before L, so
// a standby that replayed R holds every write committed before the latest
// sample at or before R: when the primary idles at a position, the latest
// time it was seen there counts, not the first; a standby behind every
// kept sample is held to nothing.
func TestAStandbyHoldsEveryWriteCommittedBeforeTheLastSampleItReplayed(t *testing.T) {
	h := history{keep: time.Minute}
	t0 := time.Unix(1000, 0)
	h.add(t0, 100)
	h.add(t0.Add(time.Second), 200)
	h.add(t0.Add(2*time.Second), 200) // idle: the position stays
	h.add(t0.Add(3*time.Second), 300)
	h.add(t0.Add(2500*time.Millisecond), 250) // out of order: ignored
	for _, c := range []struct {
		replayed LSN
		want     time.Time
	}{
		{300, t0.Add(3 * time.Second)}, {400, t0.Add(3 * time.Second)}, {299, t0.Add(2 * time.Second)},
		{200, t0.Add(2 * time.Second)}, {150, t0}, {99, time.Time{}},
	} {
		if got := h.asOf(c.replayed); !got.Equal(c.want) {
			t.Errorf("replayed %d: as of %v, want %v", c.replayed, got, c.want)
		}
	}
	// Samples older than keep go, but the newest always stays.
	h.add(t0.Add(5*time.Minute), 400)
	if len(h.samples) != 1 || h.samples[0].lsn != 400 {
		t.Errorf("samples after keep: %+v", h.samples)
	}
	if got := h.asOf(300); !got.IsZero() {
		t.Errorf("a standby behind every kept sample is fresh as of %v", got)
	}
}

// TestStalenessIsMeasuredWhenAReadIsRouted: a standby's freshness is
// compared with the clock of the read, so that it ages between checks and
// is skipped once older than the bound, without a check having run.
func TestStalenessIsMeasuredWhenAReadIsRouted(t *testing.T) {
	s := &Set{history: history{keep: time.Minute}}
	sb := &Standby{}
	t0 := time.Now()
	if got := s.staleness(sb, t0); got < time.Hour {
		t.Errorf("a standby never known fresh: staleness %v", got)
	}
	s.history.add(t0, 100)
	sb.replayed.Raise(100)
	s.refresh(sb)
	for _, d := range []time.Duration{0, time.Second, 3 * time.Second} {
		if got := s.staleness(sb, t0.Add(d)); got != d {
			t.Errorf("at +%v: staleness %v", d, got)
		}
	}
	// A later sample the standby has not replayed does not renew it; an
	// older proof does not age it.
	s.history.add(t0.Add(time.Second), 200)
	s.refresh(sb)
	if got := s.staleness(sb, t0.Add(2*time.Second)); got != 2*time.Second {
		t.Errorf("after an unreplayed sample: staleness %v", got)
	}
	sb.replayed.Raise(200)
	s.refresh(sb)
	if got := s.staleness(sb, t0.Add(2*time.Second)); got != time.Second {
		t.Errorf("after replaying it: staleness %v", got)
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
