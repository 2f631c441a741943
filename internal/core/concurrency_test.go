package core

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sprocketapi/sprocket/ent/rollup"
	"github.com/sprocketapi/sprocket/internal/apperr"
	"github.com/sprocketapi/sprocket/internal/testdb"
)

// bucketAgg is the aggregate a rollup row must hold for its bucket.
type bucketAgg struct {
	n                      int64
	sa, sg                 float64
	mina, maxa, ming, maxg float64
	tmin, tmax             int64
	// The first and last point's values, and the earliest time of the
	// smallest and largest actual and goal.
	fa, fg, la, lg             float64
	tmina, tmaxa, tming, tmaxg int64
	// The goal at tmina and at tmaxa.
	gmina, gmaxa float64
}

// aggregateBuckets computes, from raw points, what every rollup of width
// wd must say.
func aggregateBuckets(points []Point, wd int64) map[int64]*bucketAgg {
	want := map[int64]*bucketAgg{}
	for _, p := range points {
		b := bucketStart(p.Time, wd)
		a := want[b]
		if a == nil {
			a = &bucketAgg{mina: math.Inf(1), ming: math.Inf(1), maxa: math.Inf(-1), maxg: math.Inf(-1), tmin: math.MaxInt64, tmax: math.MinInt64}
			want[b] = a
		}
		// The earliest time wins among equal extremes.
		earliest := func(tm *int64, val, best float64, better bool) bool {
			if better || (val == best && p.Time < *tm) {
				*tm = p.Time
				return true
			}
			return false
		}
		if earliest(&a.tmina, p.Actual, a.mina, a.n == 0 || p.Actual < a.mina) {
			a.gmina = p.Goal
		}
		if earliest(&a.tmaxa, p.Actual, a.maxa, a.n == 0 || p.Actual > a.maxa) {
			a.gmaxa = p.Goal
		}
		earliest(&a.tming, p.Goal, a.ming, a.n == 0 || p.Goal < a.ming)
		earliest(&a.tmaxg, p.Goal, a.maxg, a.n == 0 || p.Goal > a.maxg)
		if p.Time < a.tmin {
			a.fa, a.fg = p.Actual, p.Goal
		}
		if p.Time > a.tmax {
			a.la, a.lg = p.Actual, p.Goal
		}
		a.n++
		a.sa += p.Actual
		a.sg += p.Goal
		a.mina, a.maxa = math.Min(a.mina, p.Actual), math.Max(a.maxa, p.Actual)
		a.ming, a.maxg = math.Min(a.ming, p.Goal), math.Max(a.maxg, p.Goal)
		a.tmin, a.tmax = min(a.tmin, p.Time), max(a.tmax, p.Time)
	}
	return want
}

// checkRollups fails t unless every rollup of factory id, of every width,
// equals the aggregate of points (the factory's stored points).
func checkRollups(t *testing.T, s *Service, id int, points []Point) {
	t.Helper()
	ctx := context.Background()
	for _, wd := range rollupWidths {
		want := aggregateBuckets(points, wd)
		got, err := s.client.Rollup.Query().Where(rollup.FactoryID(id), rollup.Width(int(wd))).All(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("factory %d width %d: %d rollups, want %d", id, wd, len(got), len(want))
		}
		for _, r := range got {
			a := want[r.Bucket]
			if a == nil || r.N != a.n || r.SumActual != a.sa || r.SumGoal != a.sg || r.MinActual != a.mina ||
				r.MaxActual != a.maxa || r.MinGoal != a.ming || r.MaxGoal != a.maxg || r.MinTime != a.tmin || r.MaxTime != a.tmax ||
				r.FirstActual != a.fa || r.FirstGoal != a.fg || r.LastActual != a.la || r.LastGoal != a.lg ||
				r.MinActualTime != a.tmina || r.MaxActualTime != a.tmaxa || r.MinGoalTime != a.tming || r.MaxGoalTime != a.tmaxg ||
				r.MinActualGoal != a.gmina || r.MaxActualGoal != a.gmaxa {
				t.Fatalf("factory %d width %d bucket %d: got %+v, want %+v", id, wd, r.Bucket, r, a)
			}
		}
	}
}

// call is one RecordProduction a writer made.
type call struct {
	factory int
	upsert  bool
	points  []Point
	err     error
}

// Every point a call writes carries the call's number in its value (actual
// = call*1000 + position), so a stored point names the call it came from.
const pointsPerCallMax = 1000

// TestConcurrentWritersKeepChartDataExact is the concurrency property of
// the write path, on both databases: writers append and upsert random,
// overlapping batches (interleaved within one hour and one day, as
// dashboards' feeds do) into a few factories at once, some of them inside
// a transaction held open for a while. Afterwards, whatever the
// interleaving:
//   - every call either succeeded or failed with CONFLICT (an append over a
//     stored time), never another error: deadlocks and races are the
//     service's to absorb;
//   - every point of a successful call is stored, once; no point of a
//     failed call is (a failed call changed nothing);
//   - every rollup equals the aggregate of the stored points, and the
//     summary count, the points count and a day series' counts equal the
//     number of stored rows.
//
// Run it with -race too (.ci/run does).
func TestConcurrentWritersKeepChartDataExact(t *testing.T) {
	t.Parallel() // its own databases; no shared state
	testdb.Each(t, func(t *testing.T, d string) {
		s := newService(t, d)
		ctx := context.Background()
		const factories, writers, opsPerWriter = 3, 8, 16
		ids := make([]int, factories)
		for i := range ids {
			f, err := s.CreateFactory(ctx, FactoryInput{})
			if err != nil {
				t.Fatal(err)
			}
			ids[i] = f.ID
		}
		// Times fall in two days, mostly in a few busy hours, so that
		// batches land in the same rollup buckets all the time.
		const base = int64(1_700_006_400) // a midnight, UTC
		busy := []int64{base + 3*3600, base + 3*3600 + 1800, base + 86400 + 7*3600}
		var seq atomic.Int64
		var mu sync.Mutex
		calls := map[int64]*call{}
		var wg sync.WaitGroup
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(uint64(w), 42))
				for op := range opsPerWriter {
					c := &call{factory: ids[rng.IntN(factories)], upsert: rng.IntN(2) == 0}
					n := seq.Add(1)
					size := 1 + rng.IntN(300)
					seen := map[int64]bool{}
					switch rng.IntN(3) {
					case 0: // interleaved strides, as in a feed split among writers
						start := busy[rng.IntN(len(busy))]
						for i := range size {
							tm := start + int64(i*writers+w)*2
							c.points = append(c.points, Point{Time: tm})
						}
					case 1: // anywhere in a busy hour
						start := busy[rng.IntN(len(busy))]
						for len(c.points) < size {
							tm := start + rng.Int64N(3600)
							if !seen[tm] {
								seen[tm] = true
								c.points = append(c.points, Point{Time: tm})
							}
						}
					default: // anywhere in the two days
						for len(c.points) < size {
							tm := base + rng.Int64N(2*86400)
							if !seen[tm] {
								seen[tm] = true
								c.points = append(c.points, Point{Time: tm})
							}
						}
					}
					for i := range c.points {
						c.points[i].Actual = float64(n*pointsPerCallMax + int64(i))
						c.points[i].Goal = float64(rng.IntN(500))
					}
					if op%3 == 2 {
						// A long write: the batch's transaction stays
						// open while others write into the same hours.
						c.err = s.InTx(ctx, func(ctx context.Context) error {
							if _, err := s.RecordProduction(ctx, c.factory, c.points, c.upsert); err != nil {
								return err
							}
							time.Sleep(time.Duration(20+rng.IntN(60)) * time.Millisecond)
							return nil
						})
					} else {
						_, c.err = s.RecordProduction(ctx, c.factory, c.points, c.upsert)
					}
					mu.Lock()
					calls[n] = c
					mu.Unlock()
				}
			}()
		}
		wg.Wait()

		acked := 0
		for n, c := range calls {
			switch {
			case c.err == nil:
				acked++
			case c.upsert || apperr.CodeOf(c.err) != apperr.Conflict:
				t.Errorf("call %d (upsert %v, %d points): %v", n, c.upsert, len(c.points), c.err)
			}
		}
		if acked < len(calls)/3 {
			t.Fatalf("only %d of %d calls succeeded: the workload does not exercise the writers", acked, len(calls))
		}
		t.Logf("%d calls, %d acknowledged", len(calls), acked)

		for _, id := range ids {
			stored := storedPoints(t, s, id)
			at := make(map[int64]Point, len(stored))
			for _, p := range stored {
				if _, dup := at[p.Time]; dup {
					t.Fatalf("factory %d: time %d stored twice", id, p.Time)
				}
				at[p.Time] = p
				n, i := int64(p.Actual)/pointsPerCallMax, int(int64(p.Actual)%pointsPerCallMax)
				c := calls[n]
				if c == nil || c.err != nil || c.factory != id || i >= len(c.points) || c.points[i].Time != p.Time || c.points[i].Goal != p.Goal {
					t.Fatalf("factory %d: stored point %+v comes from no acknowledged call", id, p)
				}
			}
			for n, c := range calls {
				if c.err != nil || c.factory != id {
					continue
				}
				for _, p := range c.points {
					if _, ok := at[p.Time]; !ok {
						t.Fatalf("factory %d: call %d was acknowledged but its time %d is not stored", id, n, p.Time)
					}
				}
			}
			checkRollups(t, s, id, stored)
			sum, err := s.Summaries(ctx, []int{id}, Window{})
			if err != nil {
				t.Fatal(err)
			}
			count, err := s.CountPoints(ctx, id, PointsQuery{})
			if err != nil {
				t.Fatal(err)
			}
			from, to := base, base+2*86400
			series, err := s.Series(ctx, []int{id}, SeriesQuery{Window: Window{From: &from, To: &to}, Interval: 86400, Aggregate: AggSum})
			if err != nil {
				t.Fatal(err)
			}
			var inSeries int64
			for _, c := range series[id].Counts {
				inSeries += c
			}
			if got := int64(len(stored)); sum[id].Count != got || count != got || inSeries != got {
				t.Fatalf("factory %d: summary count %d, points count %d, day series count %d; %d rows stored",
					id, sum[id].Count, count, inSeries, got)
			}
		}
	})
}

// storedPoints reads factory id's rows straight from chart_data.
func storedPoints(t *testing.T, s *Service, id int) []Point {
	t.Helper()
	rows, err := s.client.QueryContext(context.Background(),
		`SELECT "time", actual, goal FROM chart_data WHERE factory_id = $1 ORDER BY "time"`, id)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []Point
	for rows.Next() {
		var p Point
		if err := rows.Scan(&p.Time, &p.Actual, &p.Goal); err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestTransientFailuresAreRetriedThenUnavailable: InTx runs a transaction
// that failed with a deadlock again, and one that keeps failing ends as
// SERVICE_UNAVAILABLE, never as an internal error; a transaction that is
// not its own (the caller's) is not retried.
func TestTransientFailuresAreRetriedThenUnavailable(t *testing.T) {
	s := newService(t, testdb.Dialects[0])
	ctx := context.Background()
	deadlock := fmt.Errorf("wrapped: %w", stateError("40P01"))
	runs := 0
	err := s.InTx(ctx, func(ctx context.Context) error {
		runs++
		if runs < 3 {
			return classify(deadlock, "")
		}
		return nil
	})
	if err != nil || runs != 3 {
		t.Fatalf("after two deadlocks: err %v, %d runs; want success on the third", err, runs)
	}
	runs = 0
	err = s.InTx(ctx, func(ctx context.Context) error {
		runs++
		return classify(deadlock, "")
	})
	if apperr.CodeOf(err) != apperr.Unavailable || runs != txAttempts {
		t.Fatalf("a lasting deadlock: %v after %d runs; want SERVICE_UNAVAILABLE after %d", err, runs, txAttempts)
	}
	runs = 0
	err = s.InTx(ctx, func(ctx context.Context) error {
		return s.InTx(ctx, func(ctx context.Context) error {
			runs++
			if runs == 1 {
				return classify(deadlock, "")
			}
			return nil
		})
	})
	if err != nil || runs != 2 {
		t.Fatalf("nested: err %v after %d runs; want the outer transaction run again", err, runs)
	}
	for state, code := range map[string]apperr.Code{"57014": apperr.Unavailable, "40001": apperr.Unavailable, "23505": apperr.Conflict, "25006": apperr.Unavailable} {
		if got := apperr.CodeOf(classify(stateError(state), "")); got != code {
			t.Errorf("SQLSTATE %s: %s, want %s", state, got, code)
		}
	}
}

// TestAWriteHeldOpenDoesNotHideItsPointsFromTheNext is the second
// form, made deterministic: a batch's transaction stays open while another
// batch writes into the same hour. The second must see the first's points
// when it computes the rollups (it waits for the first to commit), so the
// hour's rollup counts both.
func TestAWriteHeldOpenDoesNotHideItsPointsFromTheNext(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d string) {
		s := newService(t, d)
		ctx := context.Background()
		f, err := s.CreateFactory(ctx, FactoryInput{})
		if err != nil {
			t.Fatal(err)
		}
		recorded, release := make(chan struct{}), make(chan struct{})
		first := make(chan error, 1)
		go func() {
			first <- s.InTx(ctx, func(ctx context.Context) error {
				if _, err := s.RecordProduction(ctx, f.ID, []Point{{Time: 3600, Actual: 1, Goal: 1}}, false); err != nil {
					return err
				}
				close(recorded)
				<-release
				return nil
			})
		}()
		<-recorded
		second := make(chan error, 1)
		go func() {
			_, err := s.RecordProduction(ctx, f.ID, []Point{{Time: 3601, Actual: 2, Goal: 2}}, false)
			second <- err
		}()
		time.Sleep(300 * time.Millisecond) // the second writer is under way, or waiting
		close(release)
		if err := <-first; err != nil {
			t.Fatal(err)
		}
		if err := <-second; err != nil {
			t.Fatal(err)
		}
		checkRollups(t, s, f.ID, []Point{{Time: 3600, Actual: 1, Goal: 1}, {Time: 3601, Actual: 2, Goal: 2}})
	})
}

// stateError is a driver error with a SQLSTATE, as lib/pq's are.
type stateError string

func (e stateError) Error() string    { return "sqlstate " + string(e) }
func (e stateError) SQLState() string { return string(e) }

// TestAStatementCancelledAtItsDeadlineIsUnavailable: lib/pq cancels a
// running statement when its context's deadline passes, and PostgreSQL
// answers 57014; the core says SERVICE_UNAVAILABLE, as for any deadline.
func TestAStatementCancelledAtItsDeadlineIsUnavailable(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d string) {
		s := newService(t, d)
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		// A statement that runs for seconds on either database.
		slow := `WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < 100000000) SELECT COUNT(*) FROM r`
		rows, err := s.client.QueryContext(ctx, slow)
		if err == nil {
			for rows.Next() {
			}
			err = rows.Err()
			rows.Close()
		}
		if err == nil {
			t.Fatal("the statement finished within its deadline")
		}
		if got := Classify(err); apperr.CodeOf(got) != apperr.Unavailable {
			t.Fatalf("%v: classified as %v, want SERVICE_UNAVAILABLE", err, got)
		}
	})
}

// TestOneFactorysRangeFailsOnlyItsOwnSeries: with an interval and no
// window, each factory's window is its own stored range; the factory
// whose range that interval cuts into too many buckets gets an error of
// its own, and the others of the same call their series.
func TestOneFactorysRangeFailsOnlyItsOwnSeries(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d string) {
		s := newService(t, d)
		ctx := context.Background()
		small, err := s.CreateFactory(ctx, FactoryInput{Points: []Point{{Time: 0, Actual: 1, Goal: 1}, {Time: 120, Actual: 2, Goal: 2}}})
		if err != nil {
			t.Fatal(err)
		}
		wide, err := s.CreateFactory(ctx, FactoryInput{Points: []Point{{Time: 0, Actual: 1, Goal: 1}, {Time: 10 * 365 * 86400, Actual: 2, Goal: 2}}})
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.Series(ctx, []int{small.ID, wide.ID}, SeriesQuery{Interval: 60, Aggregate: AggSum})
		if err != nil {
			t.Fatalf("the call failed as a whole: %v", err)
		}
		if r := got[small.ID]; r.Err != nil || len(r.Counts) != 2 || r.Counts[0] != 1 || r.Counts[1] != 1 {
			t.Errorf("the small factory: %+v", r)
		}
		if e, ok := apperr.As(got[wide.ID].Err); !ok || e.Code != apperr.Invalid || e.Field != "interval" {
			t.Errorf("the wide factory: %+v, want its own BAD_USER_INPUT on interval", got[wide.ID])
		}
	})
}
