package core

import (
	"context"
	"math"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/sprocketapi/sprocket/internal/testdb"
)

// naiveSeries computes a series in Go from all the points, the way the
// SQL must: aligned buckets, empty ones left out.
func naiveSeries(points []Point, q SeriesQuery, from, to int64) SeriesResult {
	off, iv, _ := q.bucketing(from, to)
	res := SeriesResult{HasWindow: true, From: from, To: to, Interval: iv, Aggregate: q.Aggregate}
	byBucket := map[int64][]Point{}
	var keys []int64
	for _, p := range points {
		if p.Time < from || p.Time >= to {
			continue
		}
		b := off + (p.Time-off)/iv*iv
		if _, ok := byBucket[b]; !ok {
			keys = append(keys, b)
		}
		byBucket[b] = append(byBucket[b], p)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	for _, k := range keys {
		ps := byBucket[k]
		sort.Slice(ps, func(i, j int) bool { return ps[i].Time < ps[j].Time })
		add := func(t int64, a, g float64, n int64) {
			res.Epochs = append(res.Epochs, t)
			res.Actual = append(res.Actual, a)
			res.Goal = append(res.Goal, g)
			res.Counts = append(res.Counts, n)
		}
		n := int64(len(ps))
		switch q.Aggregate {
		case AggAvg, AggSum, AggMin, AggMax:
			var sa, sg float64
			mina, ming, maxa, maxg := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
			for _, p := range ps {
				sa += p.Actual
				sg += p.Goal
				mina, maxa = math.Min(mina, p.Actual), math.Max(maxa, p.Actual)
				ming, maxg = math.Min(ming, p.Goal), math.Max(maxg, p.Goal)
			}
			switch q.Aggregate {
			case AggAvg:
				add(k, sa/float64(n), sg/float64(n), n)
			case AggSum:
				add(k, sa, sg, n)
			case AggMin:
				add(k, mina, ming, n)
			case AggMax:
				add(k, maxa, maxg, n)
			}
		case AggFirst:
			add(k, ps[0].Actual, ps[0].Goal, n)
		case AggLast:
			add(k, ps[n-1].Actual, ps[n-1].Goal, n)
		case AggM4, AggLTTB:
			pick := map[int64]Point{ps[0].Time: ps[0], ps[n-1].Time: ps[n-1]}
			lo, hi := ps[0], ps[0]
			for _, p := range ps {
				if p.Actual < lo.Actual {
					lo = p
				}
				if p.Actual > hi.Actual {
					hi = p
				}
			}
			pick[lo.Time], pick[hi.Time] = lo, hi
			var ts []int64
			for t := range pick {
				ts = append(ts, t)
			}
			sort.Slice(ts, func(i, j int) bool { return ts[i] < ts[j] })
			for _, t := range ts {
				add(t, pick[t].Actual, pick[t].Goal, 1)
			}
		}
	}
	if q.Aggregate == AggLTTB {
		// MinMaxLTTB: plain LTTB over the M4 preselection.
		keep := q.MaxDataPoints
		if q.Interval != 0 {
			keep = int((to - off + iv - 1) / iv)
		}
		pts := make([]Point, len(res.Epochs))
		for i := range pts {
			pts[i] = Point{Time: res.Epochs[i], Actual: res.Actual[i], Goal: res.Goal[i]}
		}
		kept := plainLTTB(pts, max(2, keep))
		res.Epochs, res.Actual, res.Goal, res.Counts = nil, nil, nil, nil
		for _, p := range kept {
			res.Epochs = append(res.Epochs, p.Time)
			res.Actual = append(res.Actual, p.Actual)
			res.Goal = append(res.Goal, p.Goal)
			res.Counts = append(res.Counts, 1)
		}
	}
	return res
}

func nearlyEqual(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Abs(a[i]-b[i]) > 1e-9*math.Max(1, math.Abs(a[i])) {
			return false
		}
	}
	return true
}

// TestSeriesEqualsComputingFromRawPoints checks the SQL downsampling
// against a plain Go computation on random data, for every aggregate, on
// both databases.
func TestSeriesEqualsComputingFromRawPoints(t *testing.T) {
	t.Parallel() // its own databases; no shared state
	testdb.Each(t, func(t *testing.T, d string) {
		s := newService(t, d)
		ctx := context.Background()
		rng := rand.New(rand.NewPCG(1, 2))
		data := map[int][]Point{}
		var ids []int
		for f := 0; f < 4; f++ {
			seen := map[int64]bool{}
			var pts []Point
			for len(pts) < 300+f*50 {
				tm := rng.Int64N(100000) - 20000 // negative times too
				if seen[tm] {
					continue
				}
				seen[tm] = true
				// Integral values keep the reference sums exact.
				pts = append(pts, Point{Time: tm, Actual: float64(rng.IntN(100)), Goal: float64(rng.IntN(100))})
			}
			fa, err := s.CreateFactory(ctx, FactoryInput{Points: pts})
			if err != nil {
				t.Fatal(err)
			}
			data[fa.ID], ids = pts, append(ids, fa.ID)
		}
		empty, _ := s.CreateFactory(ctx, FactoryInput{})
		ids = append(ids, empty.ID)
		for trial := 0; trial < 48; trial++ {
			q := SeriesQuery{Aggregate: []Aggregate{AggAvg, AggMin, AggMax, AggSum, AggFirst, AggLast, AggM4, AggLTTB}[trial%8]}
			if trial%3 == 0 {
				q.Interval = 1 + rng.Int64N(5000)
			} else {
				q.MaxDataPoints = 2 + rng.IntN(200)
			}
			if trial%4 != 0 {
				lo := rng.Int64N(80000) - 25000
				hi := lo + 1 + rng.Int64N(60000)
				q.From, q.To = &lo, &hi
			}
			got, err := s.Series(ctx, ids, q)
			if err != nil {
				t.Fatalf("trial %d %+v: %v", trial, q, err)
			}
			for _, id := range ids {
				pts := data[id]
				from, to := int64(0), int64(0)
				if q.From != nil {
					from, to = *q.From, *q.To
				} else if len(pts) > 0 {
					from, to = math.MaxInt64, math.MinInt64
					for _, p := range pts {
						from, to = min(from, p.Time), max(to, p.Time+1)
					}
				}
				g := got[id]
				if len(pts) == 0 && q.From == nil {
					if g.HasWindow || len(g.Epochs) != 0 {
						t.Errorf("trial %d: empty factory got %+v", trial, g)
					}
					continue
				}
				nq := q
				_ = nq.normalize()
				want := naiveSeries(pts, nq, from, to)
				if g.Interval != want.Interval || g.From != want.From || g.To != want.To ||
					len(g.Epochs) != len(want.Epochs) || !nearlyEqual(g.Actual, want.Actual) || !nearlyEqual(g.Goal, want.Goal) {
					t.Fatalf("trial %d %s factory %d:\n got %+v\nwant %+v", trial, q.Aggregate, id, g, want)
				}
				for i := range g.Epochs {
					if g.Epochs[i] != want.Epochs[i] || g.Counts[i] != want.Counts[i] {
						t.Fatalf("trial %d %s: bucket %d: got %d/%d want %d/%d", trial, q.Aggregate, i, g.Epochs[i], g.Counts[i], want.Epochs[i], want.Counts[i])
					}
				}
				limit := nq.MaxDataPoints
				if q.Interval == 0 && len(g.Epochs) > limit {
					t.Errorf("trial %d: %d values for maxDataPoints %d", trial, len(g.Epochs), limit)
				}
			}
		}
	})
}

func TestSummariesAndPoints(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d string) {
		s := newService(t, d)
		ctx := context.Background()
		var pts []Point
		for i := int64(0); i < 250; i++ {
			pts = append(pts, Point{Time: i * 60, Actual: float64(i), Goal: 100})
		}
		f, err := s.CreateFactory(ctx, FactoryInput{Points: pts})
		if err != nil {
			t.Fatal(err)
		}
		lo, hi := int64(600), int64(1200)
		sm, err := s.Summaries(ctx, []int{f.ID, f.ID + 1}, Window{From: &lo, To: &hi})
		if err != nil {
			t.Fatal(err)
		}
		got := sm[f.ID]
		if got.Count != 10 || got.TotalActual != 145 || got.TotalGoal != 1000 || *got.FirstTime != 600 || *got.LastTime != 1140 || math.Abs(*got.Attainment-0.145) > 1e-12 {
			t.Errorf("summary %+v", got)
		}
		if none := sm[f.ID+1]; none.Count != 0 || none.Attainment != nil {
			t.Errorf("summary of a factory without points: %+v", none)
		}
		// Walk all pages forward, then backward.
		var fwd []int64
		page := PointsQuery{}
		for {
			n := 100
			page.First = &n
			res, err := s.Points(ctx, f.ID, page)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range res.Points {
				fwd = append(fwd, p.Time)
			}
			if !res.HasNext {
				break
			}
			last := res.Points[len(res.Points)-1].Time
			page.After = &last
		}
		if len(fwd) != 250 || !sort.SliceIsSorted(fwd, func(i, j int) bool { return fwd[i] < fwd[j] }) {
			t.Errorf("forward paging returned %d points", len(fwd))
		}
		n := 7
		before := int64(600)
		res, err := s.Points(ctx, f.ID, PointsQuery{Last: &n, Before: &before})
		if err != nil || len(res.Points) != 7 || res.Points[0].Time != 180 || res.Points[6].Time != 540 || !res.HasPrevious {
			t.Errorf("backward page %+v %v", res, err)
		}
		// Newest first, filtered, in pages of 40: actual >= 100 leaves
		// the points 100..249.
		minActual := 100.0
		var desc []int64
		dp := PointsQuery{Desc: true, Filter: PointFilter{ActualGTE: &minActual}}
		for {
			n := 40
			dp.First = &n
			res, err := s.Points(ctx, f.ID, dp)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range res.Points {
				desc = append(desc, p.Time)
			}
			if !res.HasNext {
				break
			}
			last := res.Points[len(res.Points)-1].Time
			dp.After = &last
		}
		if len(desc) != 150 || desc[0] != 249*60 || desc[149] != 100*60 || !sort.SliceIsSorted(desc, func(i, j int) bool { return desc[i] > desc[j] }) {
			t.Errorf("descending filtered paging: %d points, first %v", len(desc), desc[:min(3, len(desc))])
		}
		if n, err := s.CountPoints(ctx, f.ID, dp); err != nil || n != 150 {
			t.Errorf("count with filter: %d %v", n, err)
		}
		yes := true
		if n, _ := s.CountPoints(ctx, f.ID, PointsQuery{Filter: PointFilter{BelowGoal: &yes}}); n != 100 {
			t.Errorf("points below goal: %d, want 100", n)
		}
		big := MaxPageSize + 1
		if _, err := s.Points(ctx, f.ID, PointsQuery{First: &big}); err == nil {
			t.Error("a page over the maximum was accepted")
		}
	})
}
