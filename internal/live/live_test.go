package live_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"entgo.io/ent/dialect"

	"github.com/sprocketapi/sprocket/internal/core"
	"github.com/sprocketapi/sprocket/internal/live"
	"github.com/sprocketapi/sprocket/internal/testdb"
)

// receive reads n points from ch or fails after a deadline.
func receive(t *testing.T, ch <-chan live.Batch, n int) []core.Point {
	t.Helper()
	var got []core.Point
	deadline := time.After(10 * time.Second)
	for len(got) < n {
		select {
		case b, ok := <-ch:
			if !ok {
				t.Fatalf("subscription closed after %d of %d points", len(got), n)
			}
			if b.Err != nil {
				t.Fatalf("subscription ended after %d of %d points: %v", len(got), n, b.Err)
			}
			got = append(got, b.Points...)
		case <-deadline:
			t.Fatalf("received %d of %d points within 10 s", len(got), n)
		}
	}
	return got
}

func points(times ...int64) []core.Point {
	out := make([]core.Point, len(times))
	for i, tm := range times {
		out[i] = core.Point{Time: tm, Actual: float64(tm) / 2, Goal: 3}
	}
	return out
}

func TestLocalDeliversCommittedPointsOnly(t *testing.T) {
	db := testdb.Open(t, dialect.SQLite)
	svc := core.New(db.Client(), db.SQL, db.Dialect)
	hub := live.NewLocal()
	svc.SetNotifier(hub)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f, err := svc.CreateFactory(ctx, core.FactoryInput{})
	if err != nil {
		t.Fatal(err)
	}
	ch, _ := hub.Subscribe(ctx, f.ID)
	other, _ := hub.Subscribe(ctx, f.ID+1)

	// A rolled-back batch delivers nothing.
	boom := errors.New("boom")
	err = svc.InTx(ctx, func(ctx context.Context) error {
		if _, err := svc.RecordProduction(ctx, f.ID, points(1, 2), false); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if _, err := svc.RecordProduction(ctx, f.ID, points(10, 20, 30), false); err != nil {
		t.Fatal(err)
	}
	got := receive(t, ch, 3)
	if got[0].Time != 10 || got[2].Time != 30 || got[1].Actual != 10 {
		t.Errorf("got %+v", got)
	}
	select {
	case p := <-ch:
		t.Errorf("an extra point arrived: %+v (from the rolled-back batch?)", p)
	case p := <-other:
		t.Errorf("a subscriber of another factory got %+v", p)
	case <-time.After(100 * time.Millisecond):
	}
	cancel()
	for range ch { // closed once ctx ends
	}
}

// TestPostgresDeliversAcrossReplicas: two replicas share one database;
// points recorded through one reach subscribers of the other.
func TestPostgresDeliversAcrossReplicas(t *testing.T) {
	url := testdb.URL(t, dialect.Postgres)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	replica := func() (*core.Service, *live.Postgres) {
		db := testdb.OpenURL(t, url, 4)
		client := db.Client()
		svc := core.New(client, db.SQL, db.Dialect)
		l, err := live.NewPostgres(url, client, log)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		svc.SetNotifier(l)
		return svc, l
	}
	writer, _ := replica()
	_, reader := replica()
	ctx := context.Background()
	f, err := writer.CreateFactory(ctx, core.FactoryInput{})
	if err != nil {
		t.Fatal(err)
	}
	ch, _ := reader.Subscribe(ctx, f.ID)
	// A batch larger than one NOTIFY payload arrives whole and in order.
	batch := make([]int64, 2500)
	for i := range batch {
		batch[i] = int64(1000 + i)
	}
	if _, err := writer.RecordProduction(ctx, f.ID, points(batch...), false); err != nil {
		t.Fatal(err)
	}
	got := receive(t, ch, len(batch))
	seen := map[int64]bool{}
	for _, p := range got {
		seen[p.Time] = true
	}
	if len(seen) != len(batch) {
		t.Errorf("%d distinct points of %d", len(seen), len(batch))
	}
	// A failed batch (a repeated time) notifies nobody.
	if _, err := writer.RecordProduction(ctx, f.ID, points(5, 1000), false); err == nil {
		t.Fatal("a batch with an existing time was accepted")
	}
	if _, err := writer.RecordProduction(ctx, f.ID, points(7), false); err != nil {
		t.Fatal(err)
	}
	if p := receive(t, ch, 1)[0]; p.Time != 7 {
		t.Errorf("after a failed batch got %+v, want the point at 7", p)
	}
}
