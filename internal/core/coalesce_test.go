package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sprocketapi/sprocket/ent"
	"github.com/sprocketapi/sprocket/internal/apperr"
	"github.com/sprocketapi/sprocket/internal/testdb"
)

// gate is a fetch that records the keys of each call and holds every call
// until the test releases it, so that the test decides what is in flight.
type gate struct {
	mu      sync.Mutex
	calls   [][]int
	started chan []int
	release chan error
	ctxs    []context.Context
}

func newGate() *gate {
	return &gate{started: make(chan []int, 16), release: make(chan error)}
}

func (g *gate) fetch(ctx context.Context, keys []int) (map[int]string, error) {
	g.mu.Lock()
	g.calls = append(g.calls, slices.Clone(keys))
	g.ctxs = append(g.ctxs, ctx)
	g.mu.Unlock()
	g.started <- keys
	if err := <-g.release; err != nil {
		return nil, err
	}
	out := map[int]string{}
	for _, k := range keys {
		if k >= 0 { // negative keys have no value
			out[k] = fmt.Sprint("v", k)
		}
	}
	return out, nil
}

type answer struct {
	key int
	val string
	ok  bool
	err error
}

func lookupAsync(ctx context.Context, c *coalescer[int, string], key int, out chan<- answer) {
	go func() {
		v, ok, err := c.get(ctx, key)
		out <- answer{key, v, ok, err}
	}()
}

// waitQueued waits until n lookups are queued behind the queries in flight.
func waitQueued(t *testing.T, c *coalescer[int, string], n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c.mu.Lock()
		q := len(c.queue)
		c.mu.Unlock()
		if q == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d lookups queued, want %d", q, n)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestCoalescerSharesQueriesWithoutDelayingAny(t *testing.T) {
	g := newGate()
	c := &coalescer[int, string]{fetch: g.fetch, limit: 1}
	ctx := context.Background()
	out := make(chan answer, 16)

	// An idle coalescer queries at once, for the one key.
	lookupAsync(ctx, c, 1, out)
	if keys := <-g.started; !slices.Equal(keys, []int{1}) {
		t.Fatalf("first query for %v, want [1]", keys)
	}
	// While it is in flight, lookups queue: none starts a query.
	for _, k := range []int{2, 3, 2, -4} {
		lookupAsync(ctx, c, k, out)
	}
	waitQueued(t, c, 4)
	select {
	case keys := <-g.started:
		t.Fatalf("a second query (%v) started while the limit was reached", keys)
	default:
	}
	g.release <- nil
	if a := <-out; a.key != 1 || a.val != "v1" || !a.ok || a.err != nil {
		t.Fatalf("first lookup answered %+v", a)
	}
	// The next query takes every queued key once.
	keys := slices.Sorted(slices.Values(<-g.started))
	if want := []int{-4, 2, 3}; !slices.Equal(keys, want) {
		t.Fatalf("second query for %v, want %v", keys, want)
	}
	g.release <- nil
	got := map[int][]answer{}
	for range 4 {
		a := <-out
		got[a.key] = append(got[a.key], a)
	}
	for _, k := range []int{2, 3} {
		for _, a := range got[k] {
			if a.val != fmt.Sprint("v", k) || !a.ok || a.err != nil {
				t.Errorf("lookup of %d answered %+v", k, a)
			}
		}
	}
	if len(got[2]) != 2 {
		t.Errorf("%d answers for key 2, want 2", len(got[2]))
	}
	if a := got[-4][0]; a.ok || a.err != nil {
		t.Errorf("a key without a value answered %+v", a)
	}
	// The slot was given back: the next lookup queries at once again.
	lookupAsync(ctx, c, 5, out)
	if keys := <-g.started; !slices.Equal(keys, []int{5}) {
		t.Fatalf("query for %v, want [5]", keys)
	}
	g.release <- nil
	<-out
	if len(g.calls) != 3 {
		t.Errorf("%d queries for 6 lookups, want 3", len(g.calls))
	}
}

func TestCoalescerFailsTheBatchNotTheCoalescer(t *testing.T) {
	g := newGate()
	c := &coalescer[int, string]{fetch: g.fetch, limit: 1}
	ctx := context.Background()
	out := make(chan answer, 4)
	boom := errors.New("database down")
	lookupAsync(ctx, c, 1, out)
	<-g.started
	g.release <- boom
	if a := <-out; !errors.Is(a.err, boom) {
		t.Fatalf("lookup answered %+v, want the query's error", a)
	}

	c.fetch = func(context.Context, []int) (map[int]string, error) { panic("driver bug") }
	if _, _, err := c.get(ctx, 2); err == nil {
		t.Fatal("a panicking query answered without an error")
	}
	c.fetch = g.fetch
	lookupAsync(ctx, c, 3, out)
	<-g.started
	g.release <- nil
	if a := <-out; a.val != "v3" || a.err != nil {
		t.Fatalf("after a failure, lookup answered %+v", a)
	}
}

func TestCoalescerCallersGiveUpAlone(t *testing.T) {
	g := newGate()
	c := &coalescer[int, string]{fetch: g.fetch, limit: 1}
	out := make(chan answer, 4)

	// The leader runs the query in its own goroutine, for itself and for
	// whoever queued meanwhile. Its cancellation does not end that query
	// (the others would fail with it), but the query keeps its deadline.
	deadline := time.Now().Add(time.Hour)
	leaderCtx, cancelLeader := context.WithDeadline(context.Background(), deadline)
	lookupAsync(leaderCtx, c, 1, out)
	<-g.started
	cancelLeader()
	g.mu.Lock()
	qctx := g.ctxs[0]
	g.mu.Unlock()
	if qctx.Err() != nil {
		t.Fatalf("the query's context ended with its leader: %v", qctx.Err())
	}
	if d, ok := qctx.Deadline(); !ok || !d.Equal(deadline) {
		t.Errorf("the query's deadline is %v (%v), want the leader's %v", d, ok, deadline)
	}

	// A queued lookup whose caller gives up is left out of the next query.
	gone, cancelGone := context.WithCancel(context.Background())
	lookupAsync(gone, c, 2, out)
	lookupAsync(context.Background(), c, 3, out)
	waitQueued(t, c, 2)
	cancelGone()
	if a := <-out; a.key != 2 || !errors.Is(a.err, context.Canceled) {
		t.Fatalf("cancelled lookup answered %+v", a)
	}
	g.release <- nil
	if a := <-out; a.key != 1 {
		t.Fatalf("leader answered %+v", a)
	}
	if keys := <-g.started; !slices.Equal(keys, []int{3}) {
		t.Fatalf("next query for %v, want [3]", keys)
	}
	g.release <- nil
	if a := <-out; a.key != 3 || a.val != "v3" {
		t.Fatalf("lookup answered %+v", a)
	}
}

// TestGetSprocketAnswersLikeEntUnderLoad reads random sprockets (and
// missing ids) from many goroutines through the coalesced path, and
// compares every answer with ent's own Get, field for field, on both
// databases. A writer meanwhile changes one sprocket and reads it back:
// every read that starts after a write returns sees that write.
func TestGetSprocketAnswersLikeEntUnderLoad(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d string) {
		s := newService(t, d)
		ctx := context.Background()
		var ids []int
		for i := range 20 {
			sp, err := s.CreateSprocket(ctx, SprocketInput{Teeth: 10 + i, PitchDiameter: 1.5 + float64(i), OutsideDiameter: 2.25, Pitch: 0.1 * float64(i+1)})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, sp.ID)
		}
		// Every field is compared through its JSON form (the entities
		// also hold their client's functions, which never compare equal).
		fields := func(sp *ent.Sprocket) string {
			b, err := json.Marshal(sp)
			if err != nil {
				t.Fatal(err)
			}
			return string(b)
		}
		want := map[int]string{}
		for _, id := range ids {
			sp, err := s.client.Sprocket.Get(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			want[id] = fields(sp)
		}
		moving := ids[0]
		stop := make(chan struct{})
		var wg sync.WaitGroup
		errs := make(chan error, 64)
		for w := range 16 {
			wg.Go(func() {
				rng := rand.New(rand.NewPCG(uint64(w), 7))
				for n := 0; ; n++ {
					select {
					case <-stop:
						return
					default:
					}
					id := ids[rng.IntN(len(ids))]
					if rng.IntN(10) == 0 {
						id = -id // missing
					}
					sp, err := s.GetSprocket(ctx, id)
					switch {
					case id < 0:
						if apperr.CodeOf(err) != apperr.NotFound {
							errs <- fmt.Errorf("GetSprocket(%d) = %v, %v; want not found", id, sp, err)
							return
						}
					case err != nil:
						errs <- fmt.Errorf("GetSprocket(%d): %v", id, err)
						return
					case id != moving && fields(sp) != want[id]:
						errs <- fmt.Errorf("GetSprocket(%d) = %s, ent says %s", id, fields(sp), want[id])
						return
					}
				}
			})
		}
		for teeth := 100; teeth < 160; teeth++ {
			if _, err := s.PatchSprocket(ctx, moving, SprocketPatch{Teeth: &teeth}); err != nil {
				t.Fatal(err)
			}
			sp, err := s.GetSprocket(ctx, moving)
			if err != nil {
				t.Fatal(err)
			}
			if sp.Teeth != teeth {
				t.Fatalf("read after the write of teeth %d returned %d", teeth, sp.Teeth)
			}
		}
		// The entities are bound to the client like ent's own.
		sp, err := s.GetSprocket(ctx, moving)
		if err != nil {
			t.Fatal(err)
		}
		if sp, err = sp.Update().SetTeeth(7).Save(ctx); err != nil || sp.Teeth != 7 {
			t.Fatalf("updating a coalesced read's entity: %v, %v", sp, err)
		}
		close(stop)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	})
}

// TestCoalescerOutlivesACallerGoneBeforeItCame: a lookup whose caller has
// already given up when it arrives takes no query and leaves the slot free.
func TestCoalescerOutlivesACallerGoneBeforeItCame(t *testing.T) {
	g := newGate()
	c := &coalescer[int, string]{fetch: g.fetch, limit: 1}
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := c.get(gone, 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("a cancelled lookup answered %v", err)
	}
	out := make(chan answer, 1)
	lookupAsync(context.Background(), c, 2, out)
	select {
	case keys := <-g.started:
		if !slices.Equal(keys, []int{2}) {
			t.Fatalf("query for %v, want [2]", keys)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the coalescer started no query after a cancelled lookup")
	}
	g.release <- nil
	if a := <-out; a.val != "v2" || a.err != nil {
		t.Fatalf("lookup answered %+v", a)
	}
}
