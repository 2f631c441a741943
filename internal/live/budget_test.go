package live_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"entgo.io/ent/dialect"

	"github.com/sprocketapi/sprocket/internal/apperr"
	"github.com/sprocketapi/sprocket/internal/core"
	"github.com/sprocketapi/sprocket/internal/live"
	"github.com/sprocketapi/sprocket/internal/testdb"
)

// end reads ch until it closes and returns how many points came and the
// error of its last batch.
func end(t *testing.T, ch <-chan live.Batch) (int, error) {
	t.Helper()
	n := 0
	timeout := time.After(10 * time.Second)
	for {
		select {
		case b, ok := <-ch:
			if !ok {
				return n, nil
			}
			if b.Err != nil {
				if _, ok := <-ch; ok {
					t.Error("a batch came after the error")
				}
				return n, b.Err
			}
			n += len(b.Points)
		case <-timeout:
			t.Fatal("the subscription did not end within 10 s")
		}
	}
}

func batch(first, n int) []core.Point {
	pts := make([]core.Point, n)
	for i := range pts {
		pts[i] = core.Point{Time: int64(first + i)}
	}
	return pts
}

// TestAHubQueuesWholeBatchesAndEndsASlowSubscriberWithACode: a batch far
// larger than the buffer reaches a subscriber with nothing waiting; one
// that lets more than the buffer wait is ended with SUBSCRIBER_TOO_SLOW
// (its waiting points dropped), and the others go on.
func TestAHubQueuesWholeBatchesAndEndsASlowSubscriberWithACode(t *testing.T) {
	h := live.NewHub()
	h.SetBuffer(100)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	fast, _ := h.Subscribe(ctx, 1)
	slow, _ := h.Subscribe(ctx, 1)

	h.Publish(1, batch(0, 5000))
	if got := receive(t, fast, 5000); len(got) != 5000 || got[4999].Time != 4999 {
		t.Fatalf("fast got %d points", len(got))
	}
	// slow reads nothing: its goroutine holds one batch, and the others
	// wait in its queue until they are more than 100 points.
	for i := range 4 {
		h.Publish(1, batch(5000+40*i, 40))
		if got := receive(t, fast, 40); got[39].Time != int64(5039+40*i) {
			t.Errorf("fast after batch %d: %+v", i, got[39])
		}
	}
	if n := h.Subscribers(); n != 1 {
		t.Errorf("%d subscribers after the overflow, want 1", n)
	}
	n, err := end(t, slow)
	if apperr.CodeOf(err) != live.CodeTooSlow || n > 5040 {
		t.Errorf("slow: %d points, then %v", n, err)
	}
}

// TestDeletingAFactoryEndsItsSubscriptions on both databases: after the
// points recorded before, NOT_FOUND; subscribers of other factories go on;
// a rolled-back deletion ends nothing.
func TestDeletingAFactoryEndsItsSubscriptions(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d string) {
		url := testdb.URL(t, d)
		db := testdb.OpenURL(t, url, 4)
		svc := core.New(db.Client(), db.SQL, db.Dialect)
		var hub interface {
			core.Notifier
			Subscribe(context.Context, int) (<-chan live.Batch, error)
			Subscribers() int
			Close() error
		}
		if d == dialect.Postgres {
			p, err := live.NewPostgres(url, db.Client(), slog.New(slog.NewTextHandler(io.Discard, nil)))
			if err != nil {
				t.Fatal(err)
			}
			hub = p
		} else {
			hub = live.NewLocal()
		}
		t.Cleanup(func() { hub.Close() })
		svc.SetNotifier(hub)
		ctx := context.Background()
		f, _ := svc.CreateFactory(ctx, core.FactoryInput{})
		other, _ := svc.CreateFactory(ctx, core.FactoryInput{})
		ch, _ := hub.Subscribe(ctx, f.ID)
		och, _ := hub.Subscribe(ctx, other.ID)

		boom := errors.New("boom")
		if err := svc.InTx(ctx, func(ctx context.Context) error {
			if err := svc.DeleteFactory(ctx, f.ID); err != nil {
				return err
			}
			return boom
		}); !errors.Is(err, boom) {
			t.Fatal(err)
		}
		if _, err := svc.RecordProduction(ctx, f.ID, points(10, 20), false); err != nil {
			t.Fatal(err)
		}
		if err := svc.DeleteFactory(ctx, f.ID); err != nil {
			t.Fatal(err)
		}
		// On PostgreSQL the points are read back when their notice
		// arrives: after the deletion, there are none left to read.
		n, err := end(t, ch)
		if (n != 2 && d == dialect.SQLite) || n > 2 || apperr.CodeOf(err) != apperr.NotFound {
			t.Errorf("got %d points, then %v", n, err)
		}
		if _, err := svc.RecordProduction(ctx, other.ID, points(30), false); err != nil {
			t.Fatal(err)
		}
		receive(t, och, 1)
	})
}

// memory is a live.Budget of limit bytes that records what is charged.
type memory struct {
	mu           sync.Mutex
	limit, bytes int64
}

func (m *memory) Charge(n int64) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.bytes += n
	return m.bytes <= m.limit
}

func (m *memory) Release(n int64) {
	m.mu.Lock()
	m.bytes -= n
	m.mu.Unlock()
}

func (m *memory) held() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.bytes
}

// waitHeld waits until m holds want bytes.
func waitHeld(t *testing.T, m *memory, want int64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for m.held() != want {
		if time.Now().After(deadline) {
			t.Fatalf("%d bytes charged, want %d", m.held(), want)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestWaitingBatchesAreChargedOnceUntilTheLastSubscriberTakesThem: a batch
// shared by two subscribers is charged once, for as long as either has not
// been handed it, and given back when a subscriber that has not goes away.
func TestWaitingBatchesAreChargedOnceUntilTheLastSubscriberTakesThem(t *testing.T) {
	h := live.NewHub()
	m := &memory{limit: 1 << 30}
	h.SetBudget(m)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	first, _ := h.Subscribe(ctx, 1)
	leaving, leave := context.WithCancel(ctx)
	second, _ := h.Subscribe(leaving, 1)

	h.Publish(1, batch(0, 100))
	h.Publish(1, batch(100, 100))
	charged := m.held()
	if charged < 2*100*24 || charged > 2*100*24+512 {
		t.Fatalf("two batches of 100 points charged %d bytes", charged)
	}
	<-first
	<-second // taken by both: given back
	waitHeld(t, m, charged/2)
	<-first
	leave() // the second never takes it
	waitHeld(t, m, 0)
	if h.Subscribers() != 1 {
		t.Errorf("%d subscribers, want 1", h.Subscribers())
	}
}

// TestAFullBudgetEndsTheSubscribersThatAreBehind: a batch that finds the
// budget full ends, as too slow, every subscriber with points waiting, on
// any factory, and their batches are given back; subscribers with nothing
// waiting get the batch.
func TestAFullBudgetEndsTheSubscribersThatAreBehind(t *testing.T) {
	h := live.NewHub()
	m := &memory{limit: 150 * 24}
	h.SetBudget(m)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	slow, _ := h.Subscribe(ctx, 1)
	fast, _ := h.Subscribe(ctx, 2)
	h.Publish(1, batch(0, 100)) // slow does not read
	h.Publish(2, batch(0, 100)) // over the budget
	if n, err := end(t, slow); n != 0 || apperr.CodeOf(err) != live.CodeTooSlow {
		t.Errorf("the subscriber behind got %d points, then %v", n, err)
	}
	if b := <-fast; len(b.Points) != 100 {
		t.Errorf("the subscriber with nothing waiting got %+v", b)
	}
	waitHeld(t, m, 0)
}
