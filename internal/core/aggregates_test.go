package core

import (
	"context"
	"math"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/sprocketapi/sprocket/internal/testdb"
)

// plainLTTB is Largest-Triangle-Three-Buckets over every point (in time
// order), written apart from the service's: the first and last points are
// kept; the others are cut by index into m-2 buckets, bucket i holding
// [1+i*(n-2)/(m-2), 1+(i+1)*(n-2)/(m-2)); from each bucket it keeps the
// point with the largest triangle (the point kept before it, the point,
// the mean of the next bucket or the last point), the earliest on a tie.
func plainLTTB(ps []Point, m int) []Point {
	n := len(ps)
	if n <= m {
		return append([]Point(nil), ps...)
	}
	if m == 2 {
		return []Point{ps[0], ps[n-1]}
	}
	buckets := make([][]Point, m-2)
	for i := range buckets {
		buckets[i] = ps[1+i*(n-2)/(m-2) : 1+(i+1)*(n-2)/(m-2)]
	}
	t0 := ps[0].Time
	out := []Point{ps[0]}
	for i, b := range buckets {
		next := ps[n-1:]
		if i+1 < len(buckets) {
			next = buckets[i+1]
		}
		var cx, cy float64
		for _, p := range next {
			cx += float64(p.Time - t0)
			cy += p.Actual
		}
		cx, cy = cx/float64(len(next)), cy/float64(len(next))
		a := out[len(out)-1]
		ax := float64(a.Time - t0)
		kept, best := b[0], -1.0
		for _, p := range b {
			if area := math.Abs((ax-cx)*(p.Actual-a.Actual) - (ax-float64(p.Time-t0))*(cy-a.Actual)); area > best {
				kept, best = p, area
			}
		}
		out = append(out, kept)
	}
	return append(out, ps[n-1])
}

func sortedPoints(all map[int64]Point) []Point {
	ps := make([]Point, 0, len(all))
	for _, p := range all {
		ps = append(ps, p)
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].Time < ps[j].Time })
	return ps
}

// checkSeries fails t unless the service's series of factory id for q
// equals naiveSeries over the points, the factory's stored points.
func checkSeries(t *testing.T, s *Service, id int, points []Point, q SeriesQuery, label string) {
	t.Helper()
	got, err := s.Series(context.Background(), []int{id}, q)
	if err != nil {
		t.Fatalf("%s: %v", label, err)
	}
	nq := q
	if err := nq.normalize(); err != nil {
		t.Fatal(err)
	}
	want := naiveSeries(points, nq, *q.From, *q.To)
	g := got[id]
	if g.Err != nil || g.Interval != want.Interval || len(g.Epochs) != len(want.Epochs) || !nearlyEqual(g.Actual, want.Actual) || !nearlyEqual(g.Goal, want.Goal) {
		t.Fatalf("%s %s interval %d [%d, %d):\n got %v %v %v\nwant %v %v %v", label, q.Aggregate, g.Interval, *q.From, *q.To,
			g.Epochs, g.Actual, g.Goal, want.Epochs, want.Actual, want.Goal)
	}
	for i := range g.Epochs {
		if g.Epochs[i] != want.Epochs[i] || g.Counts[i] != want.Counts[i] {
			t.Fatalf("%s %s: value %d at %d (count %d), want %d (count %d)", label, q.Aggregate, i, g.Epochs[i], g.Counts[i], want.Epochs[i], want.Counts[i])
		}
	}
	if q.Interval == 0 && ((q.Aggregate == AggM4 && len(g.Epochs) > max(8, nq.MaxDataPoints)) || (q.Aggregate == AggLTTB && len(g.Epochs) > nq.MaxDataPoints)) {
		t.Fatalf("%s %s: %d values for maxDataPoints %d", label, q.Aggregate, len(g.Epochs), nq.MaxDataPoints)
	}
}

// TestPointAggregatesThroughRollupsEqualRawPoints is a property test of
// FIRST, LAST, M4 and LTTB read through rollups, on both databases: dense
// per-minute data with few distinct values (so extremes tie, and the
// earliest of equal points must win in the rollups as in the raw
// computation), appended and then upserted over stored points (moving
// buckets' first, last, smallest and largest points), and series over
// random windows whose buckets are whole hours or days equal the series
// computed from the raw points.
func TestPointAggregatesThroughRollupsEqualRawPoints(t *testing.T) {
	t.Parallel() // its own databases; no shared state
	testdb.Each(t, func(t *testing.T, d string) {
		s := newService(t, d)
		ctx := context.Background()
		rng := rand.New(rand.NewPCG(11, uint64(len(d))))
		f, err := s.CreateFactory(ctx, FactoryInput{})
		if err != nil {
			t.Fatal(err)
		}
		all := map[int64]Point{}
		base := int64(-2 * 86400) // negative times too
		const minutes = 6 * 1440
		for op := 0; op < 12; op++ {
			upsert := op >= 4
			var batch []Point
			seen := map[int64]bool{}
			for len(batch) < 300+rng.IntN(1500) {
				tm := base + 60*rng.Int64N(minutes) + rng.Int64N(3) // mostly on the minute
				if seen[tm] || (!upsert && all[tm] != (Point{})) {
					continue
				}
				seen[tm] = true
				batch = append(batch, Point{Time: tm, Actual: float64(rng.IntN(3)), Goal: float64(rng.IntN(3))})
			}
			if _, err := s.RecordProduction(ctx, f.ID, batch, upsert); err != nil {
				t.Fatalf("op %d: %v", op, err)
			}
			for _, p := range batch {
				all[p.Time] = p
			}
			// After every write, the rollups hold exact first, last and
			// extreme points.
			checkRollups(t, s, f.ID, sortedPoints(all))
		}
		points := sortedPoints(all)
		viaRollups := 0
		for trial := 0; trial < 60; trial++ {
			q := SeriesQuery{Aggregate: []Aggregate{AggFirst, AggLast, AggM4, AggLTTB}[trial%4]}
			lo := base - 3600 + rng.Int64N(minutes*60)
			hi := lo + 1 + rng.Int64N(minutes*60)
			if trial%2 == 0 {
				q.Interval = []int64{3600, 7200, 86400}[rng.IntN(3)]
			} else {
				q.MaxDataPoints = 2 + rng.IntN(60)
			}
			q.From, q.To = &lo, &hi
			nq := q
			_ = nq.normalize()
			off, iv, _ := nq.bucketing(lo, hi)
			if rollupWidthFor(iv) > 0 && splitWindow(seriesWindow{int64(f.ID), off, lo, hi, iv}, rollupWidthFor(iv)).rollupFrom < hi {
				viaRollups++
			}
			checkSeries(t, s, f.ID, points, q, "trial")
		}
		if viaRollups < 20 {
			t.Fatalf("only %d of 60 trials read rollups", viaRollups)
		}
	})
}

// TestLTTBMatchesPlainLTTBOverRawPoints checks the LTTB aggregate against
// a plain LTTB over every raw point of small series, on both databases:
// where the M4 preselection keeps every point of the window, the two are
// the same points; always, LTTB keeps at most maxDataPoints stored points
// at their own times, the window's first and last among them.
func TestLTTBMatchesPlainLTTBOverRawPoints(t *testing.T) {
	t.Parallel() // its own databases; no shared state
	testdb.Each(t, func(t *testing.T, d string) {
		s := newService(t, d)
		ctx := context.Background()
		rng := rand.New(rand.NewPCG(5, 8))
		var pts []Point
		tm := int64(1_700_000_000)
		for i := 0; i < 600; i++ {
			tm += 60
			if rng.IntN(10) == 0 {
				tm += 60 * rng.Int64N(30) // gaps
			}
			y := 50 + 30*math.Sin(float64(i)/15) + float64(rng.IntN(10))
			if rng.IntN(60) == 0 {
				y += 200 // spikes
			}
			pts = append(pts, Point{Time: tm, Actual: math.Round(y), Goal: 60})
		}
		f, err := s.CreateFactory(ctx, FactoryInput{Points: pts})
		if err != nil {
			t.Fatal(err)
		}
		stored := map[int64]Point{}
		for _, p := range pts {
			stored[p.Time] = p
		}
		same := 0
		for trial := 0; trial < 40; trial++ {
			m := 2 + rng.IntN(300)
			i := rng.IntN(len(pts) / 2)
			j := i + 1 + rng.IntN(len(pts)-i-1)
			lo, hi := pts[i].Time, pts[j].Time+1
			q := SeriesQuery{Window: Window{From: &lo, To: &hi}, MaxDataPoints: m, Aggregate: AggLTTB}
			checkSeries(t, s, f.ID, pts, q, "lttb") // MinMaxLTTB as defined
			got, err := s.Series(ctx, []int{f.ID}, q)
			if err != nil {
				t.Fatal(err)
			}
			g := got[f.ID]
			if len(g.Epochs) > m || g.Epochs[0] != lo || g.Epochs[len(g.Epochs)-1] != hi-1 {
				t.Fatalf("trial %d: %d points from %d to %d for m=%d over [%d, %d)", trial, len(g.Epochs), g.Epochs[0], g.Epochs[len(g.Epochs)-1], m, lo, hi)
			}
			for k, e := range g.Epochs {
				if p, ok := stored[e]; !ok || p.Actual != g.Actual[k] || p.Goal != g.Goal[k] {
					t.Fatalf("trial %d: value %d (%d, %v) is not a stored point", trial, k, e, g.Actual[k])
				}
			}
			window := pts[i : j+1]
			nq := q
			_ = nq.normalize()
			_, iv, _ := nq.bucketing(lo, hi)
			full := SeriesQuery{Window: q.Window, Interval: iv, Aggregate: AggM4}
			if m4 := naiveSeries(pts, full, lo, hi); len(m4.Epochs) != len(window) {
				continue // the preselection dropped points
			}
			same++
			want := plainLTTB(window, m)
			if len(want) != len(g.Epochs) {
				t.Fatalf("trial %d: %d points, plain LTTB over the raw points keeps %d", trial, len(g.Epochs), len(want))
			}
			for k, p := range want {
				if g.Epochs[k] != p.Time || g.Actual[k] != p.Actual {
					t.Fatalf("trial %d: point %d is %d, plain LTTB keeps %d", trial, k, g.Epochs[k], p.Time)
				}
			}
		}
		if same < 10 {
			t.Fatalf("only %d trials had a lossless preselection", same)
		}
	})
}
