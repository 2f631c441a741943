package live_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sprocketapi/sprocket/internal/apperr"
	"github.com/sprocketapi/sprocket/internal/live"
)

// TestClientsComingAndGoingWhilePointsArePublished: many clients
// subscribe, read a little or nothing, and leave, while points are
// published without pause. Every subscription's channel closes once its
// client leaves (or after SUBSCRIBER_TOO_SLOW for one that stopped
// reading), each sees its factory's points in order without repeats, and
// the hub is left with no subscriber.
func TestClientsComingAndGoingWhilePointsArePublished(t *testing.T) {
	h := live.NewHub()
	h.SetBuffer(1000)
	const factories = 3
	stop := make(chan struct{})
	var published sync.WaitGroup
	published.Add(1)
	go func() {
		defer published.Done()
		next := make([]int, factories+1)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			id := 1 + i%factories
			h.Publish(id, batch(next[id], 10))
			next[id] += 10
			if i%64 == 0 {
				time.Sleep(time.Millisecond) // let clients take turns
			}
		}
	}()

	var clients sync.WaitGroup
	var tooSlow atomic.Int64
	for c := range 32 {
		clients.Add(1)
		go func() {
			defer clients.Done()
			for i := range 20 {
				id := 1 + (c+i)%factories
				ctx, cancel := context.WithCancel(context.Background())
				ch, err := h.Subscribe(ctx, id)
				if err != nil {
					cancel()
					t.Errorf("subscribe: %v", err)
					return
				}
				last := int64(-1)
				check := func(b live.Batch) {
					for _, p := range b.Points {
						if p.Time <= last {
							t.Errorf("factory %d: point %d after %d", id, p.Time, last)
						}
						last = p.Time
					}
					if b.Err != nil {
						if apperr.CodeOf(b.Err) != live.CodeTooSlow {
							t.Errorf("subscription ended with %v", b.Err)
						}
						tooSlow.Add(1)
					}
				}
				// Read (c+i)%4 batches, or stop reading for a while
				// (falling behind), then leave.
				if (c+i)%5 == 4 {
					time.Sleep(20 * time.Millisecond)
				}
				for range (c + i) % 4 {
					select {
					case b, ok := <-ch:
						if ok {
							check(b)
						}
					case <-time.After(5 * time.Second):
						t.Error("no batch within 5 s while points are published")
					}
				}
				cancel()
				timeout := time.After(5 * time.Second)
			drain:
				for {
					select {
					case b, ok := <-ch:
						if !ok {
							break drain
						}
						check(b)
					case <-timeout:
						t.Error("a subscription's channel did not close within 5 s of its client leaving")
						break drain
					}
				}
			}
		}()
	}
	clients.Wait()
	close(stop)
	published.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for h.Subscribers() != 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if n := h.Subscribers(); n != 0 {
		t.Errorf("%d subscribers left after every client left", n)
	}
	t.Logf("%d subscriptions ended as too slow", tooSlow.Load())
}
