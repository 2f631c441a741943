// Package live delivers recorded points to subscribers as their
// transactions commit: in-process on SQLite (one server owns the file),
// and across every replica on PostgreSQL through LISTEN/NOTIFY.
package live

import (
	"context"
	"sync"

	"github.com/sprocketapi/sprocket/ent"
	"github.com/sprocketapi/sprocket/internal/apperr"
	"github.com/sprocketapi/sprocket/internal/core"
)

// Buffer is how many points a subscriber may fall behind before it is
// disconnected: a slow consumer must never hold up writers or other
// subscribers. Its client can resubscribe.
const Buffer = 1024

// Hub fans points out to this process's subscribers.
type Hub struct {
	mu     sync.Mutex
	subs   map[int]map[*subscriber]struct{}
	closed bool
}

type subscriber struct {
	ch     chan core.Point
	closed bool
}

// NewHub returns an empty hub.
func NewHub() *Hub { return &Hub{subs: map[int]map[*subscriber]struct{}{}} }

// Subscribe returns the points recorded for factory id from now on; the
// channel is closed when ctx ends or the subscriber falls too far behind.
func (h *Hub) Subscribe(ctx context.Context, id int) (<-chan core.Point, error) {
	s := &subscriber{ch: make(chan core.Point, Buffer)}
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
	go func() {
		<-ctx.Done()
		h.mu.Lock()
		defer h.mu.Unlock()
		h.drop(id, s)
	}()
	return s.ch, nil
}

// drop removes and closes a subscriber; h.mu must be held.
func (h *Hub) drop(id int, s *subscriber) {
	if !s.closed {
		s.closed = true
		close(s.ch)
	}
	delete(h.subs[id], s)
	if len(h.subs[id]) == 0 {
		delete(h.subs, id)
	}
}

// closeAll completes every subscription and refuses new ones: the server
// is shutting down.
func (h *Hub) closeAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for id, m := range h.subs {
		for s := range m {
			h.drop(id, s)
		}
	}
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
func (h *Hub) Publish(id int, points []core.Point) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs[id] {
		for _, p := range points {
			select {
			case s.ch <- p:
			default:
				h.drop(id, s)
			}
			if s.closed {
				break
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
	tx := ent.TxFromContext(ctx)
	if tx == nil {
		l.Publish(id, points)
		return nil
	}
	pts := append([]core.Point(nil), points...)
	tx.OnCommit(func(next ent.Committer) ent.Committer {
		return ent.CommitFunc(func(ctx context.Context, tx *ent.Tx) error {
			err := next.Commit(ctx, tx)
			if err == nil {
				l.Publish(id, pts)
			}
			return err
		})
	})
	return nil
}
