package server_test

import (
	"context"
	"fmt"
	"github.com/sprocketapi/sprocket/internal/testdb"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	"github.com/coder/websocket"

	"github.com/sprocketapi/sprocket/internal/core"
)

// The memory goal of an attack on what the server holds over time: its
// peak stays within this much of idle.
const heldAttackBudget = 300 << 20

// wsMessageDocument is the size of a document that, with its subscribe
// message around it, fits in one WebSocket message (1 MiB).
const wsMessageDocument = 1<<20 - 4096

// TestSubscriptionsWithLargeDocumentsHoldLittle: 5 WebSockets × 100
// subscriptions, each subscribe carrying a document of about 1 MiB (the
// subscription and a long comment), on PostgreSQL with the default
// settings: the server's memory stays within the goal while they are sent,
// what it still holds once they run is a few KB each (their documents'
// source is not kept), and they deliver points.
func TestSubscriptionsWithLargeDocumentsHoldLittle(t *testing.T) {
	if testing.Short() {
		t.Skip("long: 500 subscriptions of 1 MiB documents")
	}
	s := newLiveServer(t, dialect.Postgres, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const sockets, each = 5, 100

	idle := idleResident()
	heldBefore := heldAfterGC()
	smp := startSampler()
	conns := make([]*websocket.Conn, sockets)
	var wg sync.WaitGroup
	for i := range conns {
		c := s.dialInitialised(ctx)
		conns[i] = c
		wg.Go(func() {
			for j := range each {
				s.subscribeWS(ctx, c, fmt.Sprint(j), subscription(wsMessageDocument, fmt.Sprintf("%d-%d", i, j)))
			}
		})
	}
	wg.Wait()
	s.waitSubscribers(sockets*each, 30*time.Second)
	peak := smp.finish()
	held := int64(heldAfterGC()) - int64(heldBefore)
	t.Logf("%d subscriptions of %d-byte documents: resident %.1f MB idle, %.1f MB peak; %.1f MB held after GC (%.1f KB each)",
		sockets*each, wsMessageDocument, mbOf(idle), mbOf(peak), float64(held)/(1<<20), float64(held)/float64(sockets*each)/1024)
	if rise := int64(peak) - int64(idle); rise > heldAttackBudget {
		t.Errorf("resident memory rose %.1f MB, more than %d MB", float64(rise)/(1<<20), heldAttackBudget>>20)
	}
	if perSub := held / (sockets * each); perSub > 64<<10 {
		t.Errorf("each subscription holds %d bytes after GC; its document's source is kept", perSub)
	}

	// They run: a point reaches each.
	if _, err := s.svc.RecordProduction(ctx, s.factory, []core.Point{{Time: 1_800_000_000, Actual: 7, Goal: 8}}, false); err != nil {
		t.Fatal(err)
	}
	for _, c := range conns {
		got := 0
		for got < each {
			m := s.nextMessage(ctx, c)
			if m.Type != "next" {
				t.Fatalf("got %s %s", m.Type, m.Payload)
			}
			if code, msg := firstErrorCode(m.Payload); code != "" {
				t.Fatalf("a subscription answered %s: %s", code, msg)
			}
			got++
		}
	}
}

// TestTheSeriesCacheHoldsItsBudgetOfSmallAnswers: thousands of empty
// factories read through GET /v1/factories/{id} fill the series cache
// with answers of about 95 bytes; the heap it holds stays within
// SERIES_CACHE_BYTES, its overhead counted, on both databases.
func TestTheSeriesCacheHoldsItsBudgetOfSmallAnswers(t *testing.T) {
	if testing.Short() {
		t.Skip("long: creates and reads thousands of factories")
	}
	const budget, factories = 256 << 10, 4000
	testdb.Each(t, func(t *testing.T, d string) {
		s := newLiveServer(t, d, map[string]string{"SERIES_CACHE_BYTES": fmt.Sprint(budget)})
		ctx := context.Background()
		ids := make([]int, factories)
		for i := range ids {
			f, err := s.svc.CreateFactory(ctx, core.FactoryInput{})
			if err != nil {
				t.Fatal(err)
			}
			ids[i] = f.ID
		}
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
		get := func(id int) {
			res, err := client.Get(fmt.Sprintf("%s/v1/factories/%d", s.url, id))
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				t.Fatalf("GET factory %d: %d", id, res.StatusCode)
			}
		}
		get(ids[0]) // the first answer's allocations are not the cache's
		before := heldAfterGC()
		for _, id := range ids {
			get(id)
		}
		held := int64(heldAfterGC()) - int64(before)
		entries, _ := s.metric(`sprocket_cache_entries{cache="series"}`)
		charged, _ := s.metric(`sprocket_cache_bytes{cache="series"}`)
		t.Logf("%d factories read: %.0f answers cached, %.0f bytes charged, %d bytes of heap held", factories, entries, charged, held)
		if held > budget*5/4 {
			t.Errorf("the series cache holds %d bytes of heap, over its budget of %d", held, budget)
		}
		if entries == 0 || charged > budget {
			t.Errorf("metrics: %.0f entries, %.0f bytes charged of %d", entries, charged, budget)
		}
	})
}
