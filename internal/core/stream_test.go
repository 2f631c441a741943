package core

import (
	"context"
	neturl "net/url"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"entgo.io/ent/dialect"

	"github.com/sprocketapi/sprocket/internal/apperr"
	"github.com/sprocketapi/sprocket/internal/database"
	"github.com/sprocketapi/sprocket/internal/testdb"
)

// streamed is a factory's series as a SeriesSink received it.
type streamed struct {
	ID      int
	N       int64
	Columns [3][]string // actual, goal, time
}

// collector is a SeriesSink that keeps everything, and checks the order
// of the calls.
type collector struct {
	t      *testing.T
	got    []streamed
	column int
	open   bool
}

func (c *collector) BeginFactory(id int, n int64) error {
	if c.open {
		c.t.Fatalf("factory %d begun inside another", id)
	}
	c.open, c.column = true, -1
	c.got = append(c.got, streamed{ID: id, N: n})
	return nil
}

func (c *collector) Column(col SeriesColumn) error {
	i := int(col)
	if !c.open || i != c.column+1 {
		c.t.Fatalf("column %d after %d", i, c.column)
	}
	c.column = i
	return nil
}

func (c *collector) Value(raw []byte) error {
	if !c.open || c.column < 0 {
		c.t.Fatal("a value outside a column")
	}
	f := &c.got[len(c.got)-1]
	f.Columns[c.column] = append(f.Columns[c.column], string(raw))
	return nil
}

func (c *collector) EndFactory() error {
	if !c.open || c.column != 2 {
		c.t.Fatalf("factory ended at column %d", c.column)
	}
	c.open = false
	return nil
}

// seriesOf streams one factory's series and returns it as numbers.
func seriesOf(t *testing.T, s *Service, id int) []Point {
	t.Helper()
	c := &collector{t: t}
	if err := s.StreamSeries(context.Background(), []int{id}, c); err != nil {
		t.Fatal(err)
	}
	if len(c.got) != 1 {
		t.Fatalf("%d factories streamed, want 1", len(c.got))
	}
	cols := c.got[0].Columns
	out := make([]Point, len(cols[2]))
	for i := range out {
		tm, err1 := strconv.ParseInt(cols[2][i], 10, 64)
		a, err2 := strconv.ParseFloat(cols[0][i], 64)
		g, err3 := strconv.ParseFloat(cols[1][i], 64)
		if err1 != nil || err2 != nil || err3 != nil || len(cols[0]) != len(out) || len(cols[1]) != len(out) {
			t.Fatalf("unreadable series %v", cols)
		}
		out[i] = Point{Time: tm, Actual: a, Goal: g}
	}
	return out
}

// TestStreamSeriesHandsOverEveryFactoryInOrder: every factory (those
// without points too) in id order with its point count, each column in
// time order.
func TestStreamSeriesHandsOverEveryFactoryInOrder(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d string) {
		s := newService(t, d)
		ctx := context.Background()
		var ids []int
		for i, pts := range [][]Point{
			{{Time: 30, Actual: 3, Goal: 1.5}, {Time: 10, Actual: 1, Goal: 0.5}},
			nil,
			{{Time: -5, Actual: 2, Goal: 2}},
			nil,
		} {
			f, err := s.CreateFactory(ctx, FactoryInput{Name: "F" + strconv.Itoa(i), Points: pts})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, f.ID)
		}
		c := &collector{t: t}
		if err := s.StreamSeries(ctx, nil, c); err != nil {
			t.Fatal(err)
		}
		want := []streamed{
			{ids[0], 2, [3][]string{{"1", "3"}, {"0.5", "1.5"}, {"10", "30"}}},
			{ids[1], 0, [3][]string{nil, nil, nil}},
			{ids[2], 1, [3][]string{{"2"}, {"2"}, {"-5"}}},
			{ids[3], 0, [3][]string{nil, nil, nil}},
		}
		if len(c.got) != len(want) {
			t.Fatalf("got %+v", c.got)
		}
		for i := range want {
			if c.got[i].ID != want[i].ID || c.got[i].N != want[i].N || !sameColumns(c.got[i].Columns, want[i].Columns) {
				t.Errorf("factory %d: got %+v, want %+v", i, c.got[i], want[i])
			}
		}
		// One factory: its point count comes first.
		c = &collector{t: t}
		if err := s.StreamSeries(ctx, []int{ids[0]}, c); err != nil || len(c.got) != 1 || c.got[0].N != 2 {
			t.Errorf("one factory: %+v %v", c.got, err)
		}
	})
}

func sameColumns(a, b [3][]string) bool {
	for i := range a {
		if len(a[i]) != len(b[i]) {
			return false
		}
		for j := range a[i] {
			// The databases print whole floats differently ("1" or "1.0").
			x, _ := strconv.ParseFloat(a[i][j], 64)
			y, _ := strconv.ParseFloat(b[i][j], 64)
			if x != y {
				return false
			}
		}
	}
	return true
}

// discard is a SeriesSink that keeps nothing but counts.
type discard struct{ values int64 }

func (d *discard) BeginFactory(int, int64) error { return nil }
func (d *discard) Column(SeriesColumn) error     { return nil }
func (d *discard) Value([]byte) error            { d.values++; return nil }
func (d *discard) EndFactory() error             { return nil }

// TestStreamingEveryFactoryHoldsLittleWhateverTheSize: the answer of
// every factory, one of them four times the column threshold, is
// streamed with the heap's peak growth far below what holding one large
// factory's goal and time columns would take (about 30 MB here): memory
// follows the threshold, not the series. The peak is sampled while the
// stream runs.
func TestStreamingEveryFactoryHoldsLittleWhateverTheSize(t *testing.T) {
	if testing.Short() {
		t.Skip("long: writes a million points on each database")
	}
	testdb.Each(t, func(t *testing.T, d string) {
		s := newService(t, d)
		ctx := context.Background()
		const large = 4 * columnsFrom
		for i, n := range []int{3, large, 5} {
			pts := make([]Point, n)
			for j := range pts {
				pts[j] = Point{Time: int64(j) * 60, Actual: float64(j%1000) + 0.25, Goal: float64(j % 977)}
			}
			if _, err := s.CreateFactory(ctx, FactoryInput{Name: "F" + strconv.Itoa(i), Points: pts}); err != nil {
				t.Fatal(err)
			}
		}
		runtime.GC()
		var base runtime.MemStats
		runtime.ReadMemStats(&base)
		var peak atomic.Uint64
		stop := make(chan struct{})
		sampled := make(chan struct{})
		go func() {
			defer close(sampled)
			var m runtime.MemStats
			for {
				select {
				case <-stop:
					return
				case <-time.After(2 * time.Millisecond):
				}
				runtime.ReadMemStats(&m)
				if m.HeapInuse > peak.Load() {
					peak.Store(m.HeapInuse)
				}
			}
		}()
		sink := &discard{}
		err := s.StreamSeries(ctx, nil, sink)
		close(stop)
		<-sampled
		if err != nil {
			t.Fatal(err)
		}
		if sink.values != 3*(3+large+5) {
			t.Fatalf("%d values streamed, want %d", sink.values, 3*(3+large+5))
		}
		growth := int64(peak.Load()) - int64(base.HeapInuse)
		t.Logf("heap in use grew by %.1f MB at its peak", float64(growth)/(1<<20))
		if growth > 16<<20 {
			t.Fatalf("heap in use grew by %d bytes while streaming, want under 16 MB", growth)
		}
	})
}

// TestADownloadsStatementsFollowItsDeadline: PostgreSQL connections carry
// statement_timeout = DB_TIMEOUT, but a download's deadline may be longer
// (DOWNLOAD_TIMEOUT): the snapshot it reads from sets the server's limit
// to the request's own. Here the pool's limit (100 ms) is far shorter
// than streaming 600,000 points takes; the stream's 1-minute deadline
// lets it finish.
func TestADownloadsStatementsFollowItsDeadline(t *testing.T) {
	if testing.Short() {
		t.Skip("long: streams 600,000 points")
	}
	url := testdb.URL(t, dialect.Postgres)
	setup := testdb.OpenURL(t, url, 4)
	s := New(setup.Client(), setup.SQL, dialect.Postgres)
	ctx := context.Background()
	pts := make([]Point, 600_000)
	for i := range pts {
		pts[i] = Point{Time: int64(i) * 60, Actual: float64(i % 1000), Goal: 1}
	}
	f, err := s.CreateFactory(ctx, FactoryInput{Points: pts})
	if err != nil {
		t.Fatal(err)
	}
	db, err := database.Open(ctx, url, database.Options{MaxConns: 4, StatementTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	short := New(db.Client(), db.SQL, dialect.Postgres)
	// Without a deadline of its own, the pool's limit applies.
	if err := short.StreamSeries(ctx, []int{f.ID}, &discard{}); apperr.CodeOf(err) != apperr.Unavailable {
		t.Fatalf("without a deadline: %v, want the pool's statement_timeout (SERVICE_UNAVAILABLE)", err)
	}
	dctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	sink := &discard{}
	if err := short.StreamSeries(dctx, []int{f.ID}, sink); err != nil {
		t.Fatalf("with a 1-minute deadline: %v", err)
	}
	if sink.values != 3*600_000 {
		t.Fatalf("%d values, want %d", sink.values, 3*600_000)
	}
}

// resettable is a collector that can take back what it was handed, until
// it says it has passed something on.
type resettable struct {
	*collector
	passedOn bool
	resets   int
}

func (r *resettable) Reset() bool {
	if r.passedOn {
		return false
	}
	r.resets++
	r.got, r.open = nil, false
	return true
}

// TestADownloadAStandbyFailsIsReadAgainOnThePrimary: a download routed to
// a standby whose link is gone (here the same PostgreSQL behind a proxy
// that refuses connections) is read again on the primary when its sink
// has passed nothing on, and fails as SERVICE_UNAVAILABLE otherwise.
func TestADownloadAStandbyFailsIsReadAgainOnThePrimary(t *testing.T) {
	url := testdb.URL(t, dialect.Postgres)
	primary := testdb.OpenURL(t, url, 4)
	s := New(primary.Client(), primary.SQL, dialect.Postgres)
	ctx := context.Background()
	f, err := s.CreateFactory(ctx, FactoryInput{Points: []Point{{Time: 10, Actual: 1, Goal: 2}, {Time: 20, Actual: 3, Goal: 4}}})
	if err != nil {
		t.Fatal(err)
	}
	u, _ := neturl.Parse(url)
	proxy := testdb.NewProxy(t, u.Host)
	standby, err := database.Open(ctx, proxy.Via(url), database.Options{MaxConns: 2, Lazy: true})
	if err != nil {
		t.Fatal(err)
	}
	defer standby.Close()
	var failed atomic.Int32
	routed := database.WithReader(ctx, &database.Reader{Client: standby.Client(), SQL: standby.SQL,
		Failed: func(ctx context.Context, err error) bool {
			failed.Add(1)
			return ctx.Err() == nil && IsUnavailable(err)
		}})
	// Through the link, while it holds.
	sink := &resettable{collector: &collector{t: t}}
	if err := s.StreamSeries(routed, []int{f.ID}, sink); err != nil || sink.resets != 0 || len(sink.got) != 1 || sink.got[0].N != 2 {
		t.Fatalf("through the proxy: %v, %d resets, %+v", err, sink.resets, sink.got)
	}
	proxy.Cut()
	sink = &resettable{collector: &collector{t: t}}
	if err := s.StreamSeries(routed, []int{f.ID}, sink); err != nil {
		t.Fatalf("with the standby gone: %v", err)
	}
	if sink.resets != 1 || failed.Load() != 1 || len(sink.got) != 1 || !sameColumns(sink.got[0].Columns, [3][]string{{"1", "3"}, {"2", "4"}, {"10", "20"}}) {
		t.Fatalf("with the standby gone: %d resets, %d failures, %+v", sink.resets, failed.Load(), sink.got)
	}
	// A sink that has passed something on cannot be read again; nor can
	// one that cannot take anything back.
	for _, sink := range []SeriesSink{&resettable{collector: &collector{t: t}, passedOn: true}, &collector{t: t}} {
		if err := s.StreamSeries(routed, []int{f.ID}, sink); apperr.CodeOf(err) != apperr.Unavailable {
			t.Errorf("%T: %v, want SERVICE_UNAVAILABLE", sink, err)
		}
	}
}
