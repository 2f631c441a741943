// Package live delivers recorded points to subscribers as their
// transactions commit: in-process on SQLite (one server owns the file),
// and across every replica on PostgreSQL through LISTEN/NOTIFY.
package live

import (
	"context"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/sprocketapi/sprocket/ent"
	"github.com/sprocketapi/sprocket/internal/apperr"
	"github.com/sprocketapi/sprocket/internal/core"
)

// DefaultBuffer is how many points a subscriber may have waiting by
// default (LIVE_BUFFER_POINTS): the largest batch RecordProduction takes,
// so that one batch always fits.
const DefaultBuffer = core.MaxRecordBatch

// CodeTooSlow is the code of the error that ends a subscription whose
// client fell too far behind: points were lost, and it must refetch.
const CodeTooSlow apperr.Code = "SUBSCRIBER_TOO_SLOW"

// ErrFactoryDeleted ends the subscriptions of a factory that was deleted.
var ErrFactoryDeleted = apperr.Errorf(apperr.NotFound, "The factory was deleted; its subscription has ended.")

func errTooSlow(limit int) error {
	return apperr.Errorf(CodeTooSlow,
		"This subscription fell more than %d points behind and was ended; points were lost. Refetch the factory's points, then subscribe again.", limit)
}

// Batch is what a subscription receives: the points of one committed
// write, in order, or, last, the coded error that ended the subscription
// (Err set, Points empty). A subscription that ends without an error (its
// context ended, or the server is shutting down) just closes its channel.
type Batch struct {
	Points []core.Point
	Err    error
}

// Hub fans points out to this process's subscribers. Publishing never
// blocks: each subscriber has a queue of whole batches, bounded in points,
// that its own goroutine hands on as the client reads. A subscriber whose
// queue would exceed the bound is ended with CodeTooSlow, so a slow client
// never holds up writers or other subscribers, and knows it lost points.
//
// The batches waiting in queues are charged to a Budget (SetBudget), once
// each however many subscribers share it, until the last of them has taken
// it: a batch that finds the budget full ends every subscriber that has
// points waiting, on any factory, as too slow, so that many slow
// subscribers of many factories cannot together hold more than the budget
// (LIVE_BUFFER_POINTS bounds each alone).
type Hub struct {
	mu     sync.Mutex
	subs   map[int]map[*subscriber]struct{}
	closed bool
	buffer int
	budget Budget
}

// Budget is memory shared with the other long-lived holders of the server
// (gqlhttp's streams budget).
type Budget interface {
	// Charge adds n bytes, and reports whether they fit: the hub charges
	// a batch whether it fits or not, and makes room afterwards.
	Charge(n int64) bool
	// Release gives n bytes back.
	Release(n int64)
}

// batchBytes is what a batch of n points holds while it waits.
func batchBytes(n int) int64 {
	return int64(n)*int64(unsafe.Sizeof(core.Point{})) + int64(unsafe.Sizeof(sharedBatch{}))
}

// sharedBatch is a published batch and the queues that hold it.
type sharedBatch struct {
	points []core.Point
	refs   atomic.Int32 // the queues holding it, and the publisher
	charge int64
	budget Budget // nil: not charged
}

// done drops one holder of b; the last gives its charge back.
func (b *sharedBatch) done() {
	if b.refs.Add(-1) == 0 && b.budget != nil {
		b.budget.Release(b.charge)
	}
}

type subscriber struct {
	mu     sync.Mutex
	queue  []*sharedBatch
	queued int // points in queue
	ended  bool
	end    error         // why it ended; delivered after the queue
	wake   chan struct{} // capacity 1: something to take
}

// NewHub returns an empty hub with the default buffer.
func NewHub() *Hub {
	return &Hub{subs: map[int]map[*subscriber]struct{}{}, buffer: DefaultBuffer}
}

// SetBuffer sets how many points a subscriber may have waiting before it
// is ended with CodeTooSlow (LIVE_BUFFER_POINTS); n <= 0 restores
// DefaultBuffer. A batch larger than n is still delivered to a subscriber
// with nothing waiting.
func (h *Hub) SetBuffer(n int) {
	if n <= 0 {
		n = DefaultBuffer
	}
	h.mu.Lock()
	h.buffer = n
	h.mu.Unlock()
}

// SetBudget charges the batches waiting for subscribers to b from now on;
// nil charges nothing.
func (h *Hub) SetBudget(b Budget) {
	h.mu.Lock()
	h.budget = b
	h.mu.Unlock()
}

// Subscribe returns the points recorded for factory id from now on, one
// Batch per committed write. The channel is closed when ctx ends, the
// server shuts down, or after a Batch with Err: the subscriber fell more
// than the buffer behind (CodeTooSlow), or the factory was deleted
// (apperr.NotFound).
func (h *Hub) Subscribe(ctx context.Context, id int) (<-chan Batch, error) {
	s := &subscriber{wake: make(chan struct{}, 1)}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil, apperr.Errorf(apperr.Unavailable, "The server is shutting down; subscribe again shortly.")
	}
	if h.subs[id] == nil {
		h.subs[id] = map[*subscriber]struct{}{}
	}
	h.subs[id][s] = struct{}{}
	h.mu.Unlock()
	out := make(chan Batch)
	go h.pump(ctx, id, s, out)
	return out, nil
}

// pump hands s's queue on to out until s ends or ctx does.
func (h *Hub) pump(ctx context.Context, id int, s *subscriber, out chan<- Batch) {
	defer close(out)
	defer h.remove(id, s)
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		}
		for {
			b, end, more := s.take()
			if !more {
				if end != nil {
					select {
					case out <- Batch{Err: end}:
					case <-ctx.Done():
					}
				}
				return
			}
			if b == nil {
				break
			}
			// Charged until the subscription has it.
			select {
			case out <- Batch{Points: b.points}:
				b.done()
			case <-ctx.Done():
				b.done()
				return
			}
		}
	}
}

// remove forgets s, whose pump has stopped; it receives nothing more, and
// what it had waiting is given back.
func (h *Hub) remove(id int, s *subscriber) {
	h.mu.Lock()
	h.forget(id, s)
	h.mu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, b := range s.queue {
		b.done()
	}
	s.queue, s.queued, s.ended = nil, 0, true
}

// forget removes s from the hub; h.mu must be held.
func (h *Hub) forget(id int, s *subscriber) {
	delete(h.subs[id], s)
	if len(h.subs[id]) == 0 {
		delete(h.subs, id)
	}
}

func (s *subscriber) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// offer queues b, or ends s with CodeTooSlow and reports false when it
// would take its queue beyond limit points.
func (s *subscriber) offer(b *sharedBatch, limit int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended {
		return false
	}
	if s.queued > 0 && s.queued+len(b.points) > limit {
		s.tooSlow(limit)
		return false
	}
	b.refs.Add(1)
	s.queue = append(s.queue, b)
	s.queued += len(b.points)
	s.signal()
	return true
}

// tooSlow ends s with CodeTooSlow; s.mu must be held. The queued points are
// dropped too: the client must refetch anyway, and learns it at once.
func (s *subscriber) tooSlow(limit int) {
	for _, b := range s.queue {
		b.done()
	}
	s.queue, s.queued = nil, 0
	s.ended, s.end = true, errTooSlow(limit)
	s.signal()
}

// endIfBehind ends s with CodeTooSlow if it has points waiting, and
// reports whether it did.
func (s *subscriber) endIfBehind(limit int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended || s.queued == 0 {
		return false
	}
	s.tooSlow(limit)
	return true
}

// finish ends s with err (nil: a plain end) once its queue is delivered.
func (s *subscriber) finish(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.ended {
		s.ended, s.end = true, err
	}
	s.signal()
}

// take returns the next queued batch, whose charge the caller gives back
// (done) once it is delivered; nil and more when there is none yet; more
// false (and why) when s has ended and its queue is empty.
func (s *subscriber) take() (b *sharedBatch, end error, more bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.queue) > 0 {
		b = s.queue[0]
		s.queue[0] = nil
		s.queue = s.queue[1:]
		s.queued -= len(b.points)
		return b, nil, true
	}
	if s.ended {
		return nil, s.end, false
	}
	return nil, nil, true
}

// closeAll completes every subscription (after the points already queued)
// and refuses new ones: the server is shutting down.
func (h *Hub) closeAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for id, m := range h.subs {
		for s := range m {
			s.finish(nil)
		}
		delete(h.subs, id)
	}
}

// End ends every subscription to factory id with err, after the points
// already queued for them.
func (h *Hub) End(id int, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs[id] {
		s.finish(err)
	}
	delete(h.subs, id)
}

// Subscribers returns how many subscriptions are open, for metrics.
func (h *Hub) Subscribers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, m := range h.subs {
		n += len(m)
	}
	return n
}

// watched reports whether anyone here listens to factory id.
func (h *Hub) watched(id int) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs[id]) > 0
}

// Publish hands points to factory id's subscribers without ever blocking.
// The subscribers share the slice: it must not change afterwards.
func (h *Hub) Publish(id int, points []core.Point) {
	if len(points) == 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.subs[id]) == 0 {
		return
	}
	b := &sharedBatch{points: points, charge: batchBytes(len(points)), budget: h.budget}
	b.refs.Store(1) // the publisher's, dropped below
	defer b.done()
	if b.budget != nil && !b.budget.Charge(b.charge) {
		h.endSubscribersBehind()
	}
	for s := range h.subs[id] {
		if !s.offer(b, h.buffer) {
			h.forget(id, s)
		}
	}
}

// endSubscribersBehind ends every subscriber that has points waiting, as
// too slow, to give their batches back to the budget; h.mu must be held.
func (h *Hub) endSubscribersBehind() {
	for id, m := range h.subs {
		for s := range m {
			if s.endIfBehind(h.buffer) {
				h.forget(id, s)
			}
		}
	}
}

// Local delivers points within this process, after the writing
// transaction commits.
type Local struct {
	*Hub
}

// NewLocal returns the in-process notifier and subscription source.
func NewLocal() *Local { return &Local{Hub: NewHub()} }

// Close completes every subscription.
func (l *Local) Close() error {
	l.closeAll()
	return nil
}

// PointsRecorded implements core.Notifier.
func (l *Local) PointsRecorded(ctx context.Context, id int, points []core.Point) error {
	pts := append([]core.Point(nil), points...)
	onCommit(ctx, func() { l.Publish(id, pts) })
	return nil
}

// FactoryDeleted implements core.Notifier: the factory's subscriptions
// end with ErrFactoryDeleted once the deletion commits.
func (l *Local) FactoryDeleted(ctx context.Context, id int) error {
	onCommit(ctx, func() { l.End(id, ErrFactoryDeleted) })
	return nil
}

// onCommit runs f once ctx's transaction commits, or now without one.
func onCommit(ctx context.Context, f func()) {
	tx := ent.TxFromContext(ctx)
	if tx == nil {
		f()
		return
	}
	tx.OnCommit(func(next ent.Committer) ent.Committer {
		return ent.CommitFunc(func(ctx context.Context, tx *ent.Tx) error {
			err := next.Commit(ctx, tx)
			if err == nil {
				f()
			}
			return err
		})
	})
}
