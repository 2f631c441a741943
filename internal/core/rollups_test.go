package core

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/sprocketapi/sprocket/internal/testdb"
)

// TestRollupsStayExactAsPointsArrive is a property test on random data:
// after random appends and upserts (which replace values, so that a
// bucket's min or max can move back), every rollup equals the aggregate of
// its raw points, and series read through rollups equal series computed
// from the raw points.
func TestRollupsStayExactAsPointsArrive(t *testing.T) {
	t.Parallel() // its own databases; no shared state
	testdb.Each(t, func(t *testing.T, d string) {
		s := newService(t, d)
		ctx := context.Background()
		rng := rand.New(rand.NewPCG(7, uint64(len(d))))
		f, err := s.CreateFactory(ctx, FactoryInput{})
		if err != nil {
			t.Fatal(err)
		}
		all := map[int64]Point{}
		const span = 60 * 86400
		base := int64(-5 * 86400) // negative times too
		for op := 0; op < 25; op++ {
			var batch []Point
			seen := map[int64]bool{}
			upsert := op%3 == 2
			for len(batch) < 50+rng.IntN(400) {
				tm := base + rng.Int64N(span)
				if upsert && len(all) > 0 && rng.IntN(2) == 0 {
					for k := range all { // an existing time, to replace
						tm = k
						break
					}
				}
				if seen[tm] || (!upsert && all[tm] != (Point{})) {
					continue
				}
				seen[tm] = true
				batch = append(batch, Point{Time: tm, Actual: float64(rng.IntN(1000)), Goal: float64(rng.IntN(1000))})
			}
			if _, err := s.RecordProduction(ctx, f.ID, batch, upsert); err != nil {
				t.Fatalf("op %d: %v", op, err)
			}
			for _, p := range batch {
				all[p.Time] = p
			}
		}
		// Every rollup is the aggregate of its points.
		stored := make([]Point, 0, len(all))
		for _, p := range all {
			stored = append(stored, p)
		}
		checkRollups(t, s, f.ID, stored)
		// Summaries through rollups equal summaries of the raw points,
		// for open and closed windows.
		for trial := 0; trial < 20; trial++ {
			var w Window
			if trial%4 != 0 {
				lo := base - 86400 + rng.Int64N(span)
				hi := lo + 1 + rng.Int64N(span)
				w.From = &lo
				if trial%4 != 1 {
					w.To = &hi
				}
			}
			got, err := s.Summaries(ctx, []int{f.ID}, w)
			if err != nil {
				t.Fatal(err)
			}
			var n int64
			var sa, sg float64
			tmin, tmax := int64(math.MaxInt64), int64(math.MinInt64)
			mina := math.Inf(1)
			for _, p := range all {
				if (w.From != nil && p.Time < *w.From) || (w.To != nil && p.Time >= *w.To) {
					continue
				}
				n++
				sa += p.Actual
				sg += p.Goal
				tmin, tmax = min(tmin, p.Time), max(tmax, p.Time)
				mina = math.Min(mina, p.Actual)
			}
			g := got[f.ID]
			if g.Count != n || g.TotalActual != sa || g.TotalGoal != sg ||
				(n > 0 && (*g.FirstTime != tmin || *g.LastTime != tmax || *g.MinActual != mina)) {
				t.Fatalf("summary trial %d %s: got %+v, want n=%d sa=%v first=%d last=%d", trial, w.Key(), g, n, sa, tmin, tmax)
			}
		}
		// Series through rollups equal series from raw points.
		points := make([]Point, 0, len(all))
		for _, p := range all {
			points = append(points, p)
		}
		for trial := 0; trial < 30; trial++ {
			q := SeriesQuery{Aggregate: []Aggregate{AggAvg, AggMin, AggMax, AggSum}[trial%4]}
			q.Interval = []int64{3600, 7200, 86400, 3 * 86400}[rng.IntN(4)]
			lo := base - 86400 + rng.Int64N(span)
			hi := lo + 1 + rng.Int64N(span)
			q.From, q.To = &lo, &hi
			got, err := s.Series(ctx, []int{f.ID}, q)
			if err != nil {
				if q.Interval == 3600 && (hi-lo)/3600 > MaxDataPoints {
					continue
				}
				t.Fatal(err)
			}
			nq := q
			_ = nq.normalize()
			want := naiveSeries(points, nq, lo, hi)
			g := got[f.ID]
			if len(g.Epochs) != len(want.Epochs) || !nearlyEqual(g.Actual, want.Actual) || !nearlyEqual(g.Goal, want.Goal) {
				t.Fatalf("trial %d %s interval %d [%d, %d):\n got %v %v\nwant %v %v", trial, q.Aggregate, q.Interval, lo, hi, g.Epochs, g.Actual, want.Epochs, want.Actual)
			}
			for i := range g.Epochs {
				if g.Epochs[i] != want.Epochs[i] || g.Counts[i] != want.Counts[i] {
					t.Fatalf("trial %d: bucket %d differs", trial, i)
				}
			}
		}
	})
}

// TestAutomaticIntervalsAreWholeUnits checks what the documentation says
// of automatic intervals, for every window: an interval is never smaller
// than asked, and it is whole days, whole hours (under a day), whole
// minutes (under an hour) or a divisor of a minute.
func TestAutomaticIntervalsAreWholeUnits(t *testing.T) {
	whole := func(n int64) bool {
		switch {
		case n < 60:
			return n > 0 && 60%n == 0
		case n < 3600:
			return n%60 == 0
		case n < 86400:
			return n%3600 == 0
		}
		return n%86400 == 0
	}
	for iv := int64(1); iv <= 3*86400; iv++ {
		if n := niceInterval(iv); n < iv || !whole(n) {
			t.Fatalf("niceInterval(%d) = %d", iv, n)
		}
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := 0; trial < 20000; trial++ {
		from := rng.Int64N(2*MaxTime) - MaxTime
		to := from + 1 + rng.Int64N(min(MaxTime-from, int64(1)<<(1+rng.IntN(44))))
		q := SeriesQuery{Window: Window{From: &from, To: &to}, MaxDataPoints: 2 + rng.IntN(MaxDataPoints-1),
			Aggregate: []Aggregate{AggAvg, AggM4, AggLTTB}[trial%3]}
		_, iv, err := q.bucketing(from, to)
		if err != nil || !whole(iv) {
			t.Fatalf("window [%d, %d) with %d values: interval %d (%v)", from, to, q.MaxDataPoints, iv, err)
		}
	}
}
