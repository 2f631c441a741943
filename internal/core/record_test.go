package core

import (
	"context"
	"testing"

	"github.com/sprocketapi/sprocket/internal/apperr"
	"github.com/sprocketapi/sprocket/internal/testdb"
)

func TestRecordProductionAppendsOrUpserts(t *testing.T) {
	for _, d := range testdb.Dialects {
		t.Run(testdb.Name(d), func(t *testing.T) {
			s := newService(t, d)
			ctx := context.Background()
			f, err := s.CreateFactory(ctx, FactoryInput{Points: []Point{{Time: 10, Actual: 1, Goal: 1}}})
			if err != nil {
				t.Fatal(err)
			}
			res, err := s.RecordProduction(ctx, f.ID, []Point{{Time: 20, Actual: 2, Goal: 2}, {Time: 30, Actual: 3, Goal: 3}}, false)
			if err != nil || res != (RecordResult{Inserted: 2}) {
				t.Fatalf("append: %+v %v", res, err)
			}
			// Appending an existing time fails the whole batch.
			_, err = s.RecordProduction(ctx, f.ID, []Point{{Time: 40, Actual: 4, Goal: 4}, {Time: 10, Actual: 9, Goal: 9}}, false)
			if e, ok := apperr.As(err); !ok || e.Code != apperr.Conflict || e.Field != "points[1].time" {
				t.Fatalf("append over an existing time: %v", err)
			}
			if got := seriesOf(t, s, f.ID); len(got) != 3 {
				t.Fatalf("the failed batch left %d points, want 3", len(got))
			}
			res, err = s.RecordProduction(ctx, f.ID, []Point{{Time: 10, Actual: 9, Goal: 8}, {Time: 40, Actual: 4, Goal: 4}}, true)
			if err != nil || res != (RecordResult{Inserted: 1, Updated: 1}) {
				t.Fatalf("upsert: %+v %v", res, err)
			}
			if got := seriesOf(t, s, f.ID); len(got) != 4 || got[0] != (Point{Time: 10, Actual: 9, Goal: 8}) || got[3].Time != 40 {
				t.Errorf("after upsert: %+v", got)
			}
			for _, bad := range [][]Point{nil, {{Time: 1, Actual: 1, Goal: 1}, {Time: 1, Actual: 2, Goal: 2}}} {
				if _, err := s.RecordProduction(ctx, f.ID, bad, false); apperr.CodeOf(err) != apperr.Invalid {
					t.Errorf("%v: got %v", bad, err)
				}
			}
			if _, err := s.RecordProduction(ctx, f.ID+100, []Point{{Time: 1}}, false); apperr.CodeOf(err) != apperr.NotFound {
				t.Errorf("unknown factory: %v", err)
			}
		})
	}
}
