package core

import (
	"context"
	"fmt"
	"sync"
)

// coalescer answers concurrent lookups by key with shared queries, and
// never makes a lookup wait for company. A lookup that finds fewer than
// limit queries in flight starts one at once with its own key; the lookups
// that arrive while limit queries are in flight queue, and the next query
// to start takes all of them. So an idle server answers as before, and a
// busy one sends one statement for many requests instead of one each (a
// primary-key read costs PostgreSQL, lib/pq and the kernel about the same
// for one row as for ten).
//
// Every lookup is answered by a query that began after the lookup did, so
// it sees every write committed before the lookup started: coalescing
// never serves an older answer than a query of its own would (unlike
// sharing the result of a query already in flight).
type coalescer[K comparable, V any] struct {
	// fetch reads the values of keys; a key missing from the map has no
	// value. It runs under a context without the callers' cancellation
	// (one caller giving up must not fail the others), bounded by the
	// first caller's deadline.
	fetch func(ctx context.Context, keys []K) (map[K]V, error)
	limit int // queries in flight at most; more lookups queue

	mu      sync.Mutex
	running int
	queue   []*lookup[K, V]
}

type lookup[K comparable, V any] struct {
	ctx  context.Context
	key  K
	done chan struct{}
	val  V
	ok   bool
	err  error
}

// get returns the value of key, and whether there is one.
func (c *coalescer[K, V]) get(ctx context.Context, key K) (V, bool, error) {
	l := &lookup[K, V]{ctx: ctx, key: key, done: make(chan struct{})}
	c.mu.Lock()
	c.queue = append(c.queue, l)
	var batch []*lookup[K, V]
	lead := c.running < c.limit
	if lead {
		c.running++
		batch = c.take()
	}
	c.mu.Unlock()
	if lead {
		// This lookup leads: it runs the query in its own goroutine, for
		// itself and any that queued in the same instant, then hands the
		// queue to a new goroutine so that its answer does not wait for
		// the next query. A leader whose caller gives up still finishes
		// the query it runs for the others, within its deadline.
		c.run(batch)
	}
	select {
	case <-l.done:
		return l.val, l.ok, l.err
	case <-ctx.Done():
		var zero V
		return zero, false, ctx.Err()
	}
}

// take removes the queue's lookups, leaving out those whose caller has
// already given up. c.mu must be held.
func (c *coalescer[K, V]) take() []*lookup[K, V] {
	var batch []*lookup[K, V]
	for _, l := range c.queue {
		if l.ctx.Err() == nil {
			batch = append(batch, l)
		}
	}
	clear(c.queue)
	c.queue = c.queue[:0]
	return batch
}

// run answers batch with one query, then starts the next query for the
// lookups that queued meanwhile, or gives its slot back.
func (c *coalescer[K, V]) run(batch []*lookup[K, V]) {
	if len(batch) > 0 {
		c.answer(batch)
	}
	c.mu.Lock()
	next := c.take()
	if len(next) == 0 {
		c.running--
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	go c.run(next)
}

// answer runs fetch for batch and hands every lookup its value or the
// query's error. A panicking fetch fails the batch instead of leaving its
// lookups waiting.
func (c *coalescer[K, V]) answer(batch []*lookup[K, V]) {
	first := batch[0].ctx
	ctx := context.WithoutCancel(first)
	if d, ok := first.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, d)
		defer cancel()
	}
	keys := make([]K, 0, len(batch))
	seen := make(map[K]struct{}, len(batch))
	for _, l := range batch {
		if _, dup := seen[l.key]; !dup {
			seen[l.key] = struct{}{}
			keys = append(keys, l.key)
		}
	}
	var vals map[K]V
	var err error
	func() {
		defer func() {
			if v := recover(); v != nil {
				err = fmt.Errorf("core: lookup of %d keys panicked: %v", len(keys), v)
			}
		}()
		vals, err = c.fetch(ctx, keys)
	}()
	for _, l := range batch {
		if err != nil {
			l.err = err
		} else {
			l.val, l.ok = vals[l.key]
		}
		close(l.done)
	}
}
