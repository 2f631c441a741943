package core

import (
	"context"
	"fmt"
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
	for _, d := range testdb.Dialects {
		b.Run(testdb.Name(d), func(b *testing.B) {
			s := New(testdb.Open(b, d).Client(), d)
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
}

// BenchmarkRecordProductionUpsert measures upserts: batches of 10,000
// points, half over stored points and half new.
func BenchmarkRecordProductionUpsert(b *testing.B) {
	for _, d := range testdb.Dialects {
		b.Run(testdb.Name(d), func(b *testing.B) {
			s := New(testdb.Open(b, d).Client(), d)
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
}

// BenchmarkSeries measures a 1,000-bucket series over a 200,000-point
// factory, and a one-day window of per-minute data.
func BenchmarkSeries(b *testing.B) {
	for _, d := range testdb.Dialects {
		b.Run(testdb.Name(d), func(b *testing.B) {
			s := New(testdb.Open(b, d).Client(), d)
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
