package live_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
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
