package replica

import (
	"math"
	"sync"
	"time"
)

// The staleness bound. A read routed to a standby at time r sees every
// write committed before r - MaxLag, whoever wrote it (this server,
// another one, psql): a standby serves reads only while it is known to
// hold every write committed within the last MaxLag, and that is known
// from two facts, each read with a deadline:
//
//   - every check samples the primary's position: a sample (t, L) taken
//     with t read before the query was sent says that every write
//     committed before t is at or before L (a commit's record is written
//     before the commit returns);
//   - every check (and every poll of a waiting read) reads the standby's
//     replay position R.
//
// So a standby with R >= L holds every write committed before t, and its
// freshness is the latest such t (fresh). It is compared with the clock
// when a read is routed, not when the check ran, so a standby whose
// checks stop answering, whose replay is paused or whose primary cannot
// be sampled ages out after MaxLag by itself. Since freshness is renewed
// once a check, a standby is fresh at most Interval + a check's time ago
// when all is well: MaxLag must be longer than Interval.

// history keeps the primary's recent log positions with the times they
// were read, to tell as of when a standby holds every committed write.
type history struct {
	mu      sync.Mutex
	keep    time.Duration
	samples []sample // in order of time and position
}

type sample struct {
	at  time.Time
	lsn LSN
}

// add records that every write committed before at is at or before l.
func (h *history) add(at time.Time, l LSN) {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := len(h.samples)
	switch {
	case n > 0 && (l < h.samples[n-1].lsn || at.Before(h.samples[n-1].at)):
		return // out of order: an older sample says less
	case n > 0 && h.samples[n-1].lsn == l:
		// The primary is idle: the newer time says more.
		h.samples[n-1].at = at
		return
	}
	h.samples = append(h.samples, sample{at, l})
	drop := 0
	for drop < len(h.samples)-1 && at.Sub(h.samples[drop].at) > h.keep {
		drop++
	}
	h.samples = h.samples[drop:]
}

// asOf is the latest time at which the primary was at or before replayed:
// a standby that replayed it holds every write committed before then.
// Zero when no kept sample is that old.
func (h *history) asOf(replayed LSN) time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	for i := len(h.samples) - 1; i >= 0; i-- {
		if h.samples[i].lsn <= replayed {
			return h.samples[i].at
		}
	}
	return time.Time{}
}

// epoch is what freshness is measured from, on the monotonic clock: a
// step of the wall clock must not move the bound.
var epoch = time.Now()

// refresh raises sb's freshness to what its replay position and the
// primary's samples prove.
func (s *Set) refresh(sb *Standby) {
	t := s.history.asOf(sb.replayed.Load())
	if t.IsZero() {
		return
	}
	f := int64(t.Sub(epoch)) + 1 // 0 stays "never"
	for {
		old := sb.fresh.Load()
		if f <= old || sb.fresh.CompareAndSwap(old, f) {
			return
		}
	}
}

// staleness is how stale a read sb served at now could be: the time since
// it was last known to hold every committed write (unbounded when never).
func (s *Set) staleness(sb *Standby, now time.Time) time.Duration {
	f := sb.fresh.Load()
	if f == 0 {
		return math.MaxInt64
	}
	return max(0, now.Sub(epoch)-time.Duration(f-1))
}
