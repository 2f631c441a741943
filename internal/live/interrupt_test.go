package live_test

import (
	"context"
	"io"
	"log/slog"
	"net/url"
	"testing"
	"time"

	"entgo.io/ent/dialect"

	"github.com/sprocketapi/sprocket/internal/apperr"
	"github.com/sprocketapi/sprocket/internal/core"
	"github.com/sprocketapi/sprocket/internal/live"
	"github.com/sprocketapi/sprocket/internal/testdb"
)

// TestLosingTheNotificationConnectionEndsSubscriptionsWithACode: when the
// listener's connection to PostgreSQL dies (the primary went away), the
// points recorded until it listens again reach no one, so every open
// subscription ends with SUBSCRIPTION_INTERRUPTED instead of waiting
// silently; new subscriptions are refused (SERVICE_UNAVAILABLE) until the
// listener is back, and then receive points again.
func TestLosingTheNotificationConnectionEndsSubscriptionsWithACode(t *testing.T) {
	direct := testdb.URL(t, dialect.Postgres)
	u, err := url.Parse(direct)
	if err != nil {
		t.Fatal(err)
	}
	proxy := testdb.NewProxy(t, u.Host)
	db := testdb.OpenURL(t, direct, 4)
	svc := core.New(db.Client(), db.SQL, db.Dialect)
	l, err := live.NewPostgres(proxy.Via(direct), db.Client(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	svc.SetNotifier(l)
	ctx := context.Background()
	f, err := svc.CreateFactory(ctx, core.FactoryInput{})
	if err != nil {
		t.Fatal(err)
	}
	ch, err := l.Subscribe(ctx, f.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.RecordProduction(ctx, f.ID, points(1), false); err != nil {
		t.Fatal(err)
	}
	receive(t, ch, 1)

	proxy.Cut()
	select {
	case b, ok := <-ch:
		if !ok || apperr.CodeOf(b.Err) != live.CodeInterrupted {
			t.Fatalf("after the cut the subscription got %+v (open %v), want the error %s", b, ok, live.CodeInterrupted)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the subscription went on silently after its notifications stopped")
	}
	if _, ok := <-ch; ok {
		t.Error("the subscription stayed open after its error")
	}
	if _, err := l.Subscribe(ctx, f.ID); apperr.CodeOf(err) != apperr.Unavailable {
		t.Errorf("subscribing while notifications are down: %v, want SERVICE_UNAVAILABLE", err)
	}

	proxy.Restore()
	var again <-chan live.Batch
	deadline := time.Now().Add(10 * time.Second)
	for again, err = l.Subscribe(ctx, f.ID); err != nil; again, err = l.Subscribe(ctx, f.ID) {
		if time.Now().After(deadline) {
			t.Fatalf("subscriptions still refused 10 s after the link came back: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := svc.RecordProduction(ctx, f.ID, points(2), false); err != nil {
		t.Fatal(err)
	}
	if p := receive(t, again, 1)[0]; p.Time != 2 {
		t.Errorf("after the reconnection got %+v, want the point at 2", p)
	}
}
