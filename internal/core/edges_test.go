package core

import (
	"context"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/sprocketapi/sprocket/internal/testdb"
)

// TestSeriesOfManyFactoriesEqualEachFactorysOwn: past edgeBranchesUpTo
// windows, rollupParts reads the windows' edge points by a join instead of
// a branch each; either way each factory's series through rollups is the
// one it gets alone, for every aggregate that reads the edges.
func TestSeriesOfManyFactoriesEqualEachFactorysOwn(t *testing.T) {
	t.Parallel() // its own databases; no shared state
	testdb.Each(t, func(t *testing.T, d string) {
		s := newService(t, d)
		ctx := context.Background()
		rng := rand.New(rand.NewPCG(11, 13))
		const base = int64(1_700_006_400) // a multiple of a day
		ids := make([]int, edgeBranchesUpTo+6)
		for i := range ids {
			var pts []Point
			for tm := base + rng.Int64N(3600); tm < base+3*86400; tm += 300 + rng.Int64N(900) {
				pts = append(pts, Point{Time: tm, Actual: float64(rng.IntN(4)), Goal: float64(rng.IntN(4))})
			}
			f, err := s.CreateFactory(ctx, FactoryInput{Points: pts})
			if err != nil {
				t.Fatal(err)
			}
			ids[i] = f.ID
		}
		lo, hi := base+5000, base+3*86400-7000 // partial hours at both edges
		for _, agg := range []Aggregate{AggAvg, AggFirst, AggLast, AggM4, AggLTTB} {
			for _, many := range [][]int{ids, ids[:3]} {
				q := SeriesQuery{Window: Window{From: &lo, To: &hi}, Interval: 3600, Aggregate: agg}
				all, err := s.Series(ctx, many, q)
				if err != nil {
					t.Fatal(err)
				}
				for _, id := range many {
					one, err := s.Series(ctx, []int{id}, q)
					if err != nil {
						t.Fatal(err)
					}
					if !reflect.DeepEqual(all[id], one[id]) || len(one[id].Epochs) == 0 {
						t.Fatalf("%s, %d factories: factory %d got %+v, alone %+v", agg, len(many), id, all[id], one[id])
					}
				}
			}
		}
	})
}
