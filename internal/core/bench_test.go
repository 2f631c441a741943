package core

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/sprocketapi/sprocket/internal/testdb"
)

func benchPoints(n int, start int64) []Point {
	pts := make([]Point, n)
	for i := range pts {
		pts[i] = Point{Time: start + int64(i)*60, Actual: float64(i % 97), Goal: 50}
	}
	return pts
}

// BenchmarkRecordProduction measures bulk ingest: batches of 10,000
// points appended to one factory.
func BenchmarkRecordProduction(b *testing.B) {
	testdb.EachBench(b, func(b *testing.B, d string) {
		s := newBenchService(b, d)
		ctx := context.Background()
		f, err := s.CreateFactory(ctx, FactoryInput{})
		if err != nil {
			b.Fatal(err)
		}
		const batch = 10000
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := s.RecordProduction(ctx, f.ID, benchPoints(batch, int64(i)*batch*60), false); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "points/s")
	})
}

// BenchmarkRecordProductionConcurrent measures ingest by 4 writers at once,
// each appending batches of 10,000 points: into 4 factories (each its own
// lock: they must not serialise) or all into one (they take turns).
func BenchmarkRecordProductionConcurrent(b *testing.B) {
	for _, d := range testdb.Dialects {
		for _, shared := range []bool{false, true} {
			name := testdb.Name(d) + "/4-factories"
			if shared {
				name = testdb.Name(d) + "/1-factory"
			}
			b.Run(name, func(b *testing.B) {
				s := newBenchService(b, d)
				ctx := context.Background()
				const writers, batch = 4, 10000
				ids := make([]int, writers)
				for w := range ids {
					f, err := s.CreateFactory(ctx, FactoryInput{})
					if err != nil {
						b.Fatal(err)
					}
					ids[w] = f.ID
					if shared {
						ids[w] = ids[0]
					}
				}
				var next atomic.Int64
				b.ResetTimer()
				var wg sync.WaitGroup
				for w := range writers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for {
							i := next.Add(1) - 1
							if i >= int64(b.N) {
								return
							}
							if _, err := s.RecordProduction(ctx, ids[w], benchPoints(batch, i*batch*60), false); err != nil {
								b.Error(err)
								return
							}
						}
					}()
				}
				wg.Wait()
				b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "points/s")
			})
		}
	}
}

// BenchmarkRecordProductionUpsert measures upserts: batches of 10,000
// points, half over stored points and half new.
func BenchmarkRecordProductionUpsert(b *testing.B) {
	testdb.EachBench(b, func(b *testing.B, d string) {
		s := newBenchService(b, d)
		ctx := context.Background()
		const batch = 10000
		f, err := s.CreateFactory(ctx, FactoryInput{Points: benchPoints(batch/2, 0)})
		if err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			start := int64(i) * batch / 2 * 60
			res, err := s.RecordProduction(ctx, f.ID, benchPoints(batch, start), true)
			if err != nil {
				b.Fatal(err)
			}
			if res.Updated != batch/2 || res.Inserted != batch/2 {
				b.Fatalf("%+v, want half updated and half inserted", res)
			}
		}
		b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "points/s")
	})
}

// BenchmarkSeries measures a 1,000-bucket series over a 200,000-point
// factory, and a one-day window of per-minute data.
func BenchmarkSeries(b *testing.B) {
	testdb.EachBench(b, func(b *testing.B, d string) {
		s := newBenchService(b, d)
		ctx := context.Background()
		f, err := s.CreateFactory(ctx, FactoryInput{Points: benchPoints(200000, 1_700_000_000)})
		if err != nil {
			b.Fatal(err)
		}
		lo := int64(1_700_000_000 + 100000*60)
		hi := lo + 86400
		for _, c := range []struct {
			name string
			q    SeriesQuery
		}{
			{"whole-1000", SeriesQuery{MaxDataPoints: 1000}},
			{"day-500", SeriesQuery{Window: Window{From: &lo, To: &hi}, MaxDataPoints: 500}},
			{"whole-m4-1000", SeriesQuery{MaxDataPoints: 1000, Aggregate: AggM4}},
		} {
			b.Run(c.name, func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					res, err := s.Series(ctx, []int{f.ID}, c.q)
					if err != nil || len(res[f.ID].Epochs) == 0 {
						b.Fatal(err)
					}
				}
			})
		}
	})
}

// benchFactory creates a factory of n per-minute points from start,
// recorded in batches of MaxRecordBatch.
func benchFactory(b *testing.B, s *Service, n int, start int64) int {
	ctx := context.Background()
	f, err := s.CreateFactory(ctx, FactoryInput{Points: benchPoints(min(n, MaxRecordBatch), start)})
	if err != nil {
		b.Fatal(err)
	}
	for done := MaxRecordBatch; done < n; done += MaxRecordBatch {
		pts := benchPoints(min(n-done, MaxRecordBatch), start+int64(done)*60)
		if _, err := s.RecordProduction(ctx, f.ID, pts, false); err != nil {
			b.Fatal(err)
		}
	}
	return f.ID
}

// BenchmarkSeriesM4 measures the aggregates that choose points, through
// the rollups: M4 and LTTB of 1,000 values over a 1,000,000-point factory,
// M4 of at most 500 values over one day of it, and a dashboard of 20
// factories of 50,000 points with 500 M4 values each.
func BenchmarkSeriesM4(b *testing.B) {
	testdb.EachBench(b, func(b *testing.B, d string) {
		s := newBenchService(b, d)
		ctx := context.Background()
		const start = 1_700_000_000
		big := benchFactory(b, s, 1_000_000, start)
		small := make([]int, 20)
		for i := range small {
			small[i] = benchFactory(b, s, 50_000, start)
		}
		lo := int64(start + 500_000*60 + 1234)
		hi := lo + 86400
		for _, c := range []struct {
			name string
			ids  []int
			q    SeriesQuery
		}{
			{"m4-1000", []int{big}, SeriesQuery{MaxDataPoints: 1000, Aggregate: AggM4}},
			{"lttb-1000", []int{big}, SeriesQuery{MaxDataPoints: 1000, Aggregate: AggLTTB}},
			{"day-m4-500", []int{big}, SeriesQuery{Window: Window{From: &lo, To: &hi}, MaxDataPoints: 500, Aggregate: AggM4}},
			{"dashboard-20x500-m4", small, SeriesQuery{MaxDataPoints: 500, Aggregate: AggM4}},
		} {
			b.Run(c.name, func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					res, err := s.Series(ctx, c.ids, c.q)
					if err != nil || len(res[c.ids[0]].Epochs) == 0 {
						b.Fatal(err)
					}
				}
			})
		}
	})
}

func BenchmarkValidatePoints(b *testing.B) {
	pts := benchPoints(100000, 0)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := ValidatePoints("points", pts); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(pts))/b.Elapsed().Seconds(), "points/s")
}

var _ = fmt.Sprint
