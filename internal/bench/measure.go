package bench

import (
	"bytes"
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"time"
)

// worker is one concurrent client's own state: nothing in it is shared, so
// the hot loop takes no lock.
type worker struct {
	index int
	rng   *rand.Rand
	seq   int          // requests this worker has started, warm-up included
	buf   bytes.Buffer // the last answer, for workloads that look at it
	body  []byte       // the next request body, for workloads that build one
	lean  map[*target]*leanConn

	lat      []time.Duration
	bytes    int64
	points   int64
	errors   int64
	samples  []string
	finished time.Time
}

// plan is a workload made ready on one target.
type plan struct {
	// before prepares the worker's next request (builds a body); it is not
	// timed. May be nil.
	before func(w *worker)
	// op sends one request and returns the answer's size and the points it
	// wrote.
	op func(ctx context.Context, w *worker) (bytes int64, points int, err error)
	// cleanup removes what the workload created; may be nil.
	cleanup func(ctx context.Context) error
	// background reports, after cleanup, what ran beside the measured
	// requests; may be nil.
	background func() *Background
}

// measurement is what one workload did on one target.
type measurement struct {
	requests, errors, bytes, points int64
	elapsed                         time.Duration
	lat                             []time.Duration // sorted
	samples                         []string
}

const maxSamples = 3

// measure runs p with clients workers for warmup, then duration. A
// request counts when it completes after the warm-up (the cold ones that
// complete during it do not) and was started before the end; the measured
// window runs from the end of the warm-up until the last counted request
// has completed, so throughput is completions in the window, which holds
// even when one request takes longer than the warm-up (a bulk write).
// Every counted request's latency is kept, so percentiles are exact (8
// bytes a request: a few million requests are a few tens of MB).
func measure(ctx context.Context, p *plan, clients int, warmup, duration time.Duration, seed uint64) measurement {
	workers := make([]*worker, clients)
	for i := range workers {
		workers[i] = &worker{index: i, rng: rand.New(rand.NewPCG(seed, uint64(i)))}
	}
	began := time.Now()
	measureFrom := began.Add(warmup)
	end := measureFrom.Add(duration)
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Go(func() {
			for ctx.Err() == nil {
				if p.before != nil {
					p.before(w)
				}
				t0 := time.Now()
				if !t0.Before(end) {
					break
				}
				n, pts, err := p.op(ctx, w)
				done := time.Now()
				d := done.Sub(t0)
				w.seq++
				if done.Before(measureFrom) {
					continue
				}
				w.lat = append(w.lat, d)
				w.bytes += n
				if err != nil {
					w.errors++
					if len(w.samples) < maxSamples {
						w.samples = append(w.samples, err.Error())
					}
					continue
				}
				w.points += int64(pts)
			}
			w.finished = time.Now()
			for _, l := range w.lean {
				if l != nil {
					l.close()
				}
			}
		})
	}
	wg.Wait()

	var m measurement
	last := measureFrom
	for _, w := range workers {
		m.requests += int64(len(w.lat))
		m.errors += w.errors
		m.bytes += w.bytes
		m.points += w.points
		m.lat = append(m.lat, w.lat...)
		for _, s := range w.samples {
			if len(m.samples) < maxSamples && !slices.Contains(m.samples, s) {
				m.samples = append(m.samples, s)
			}
		}
		if w.finished.After(last) {
			last = w.finished
		}
	}
	m.elapsed = last.Sub(measureFrom)
	slices.Sort(m.lat)
	return m
}

// percentile is the nearest-rank percentile q (0 < q ≤ 1) of sorted.
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}
