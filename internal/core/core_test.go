package core

import (
	"context"
	"errors"
	"testing"

	"github.com/sprocketapi/sprocket/internal/apperr"
	"github.com/sprocketapi/sprocket/internal/testdb"
)

func newService(t *testing.T, d string) *Service {
	t.Helper()
	db := testdb.Open(t, d)
	return New(db.Client(), db.SQL, d)
}

func newBenchService(b *testing.B, d string) *Service {
	b.Helper()
	db := testdb.Open(b, d)
	return New(db.Client(), db.SQL, d)
}

// TestAFailedWriteLeavesNothing: a factory whose points fail at the
// database half-way through the batches is not stored at all.
func TestAFailedWriteLeavesNothing(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d string) {
		s := newService(t, d)
		ctx := context.Background()
		points := make([]Point, insertBatch+10)
		for i := range points {
			points[i] = Point{Time: int64(i), Actual: 1, Goal: 2}
		}
		// A duplicate in the second batch, past validation: only the
		// unique index can catch it, after the first batch is written.
		points[len(points)-1].Time = 0
		err := s.InTx(ctx, func(ctx context.Context) error {
			f, err := s.Client(ctx).Factory.Create().SetName("half").Save(ctx)
			if err != nil {
				return err
			}
			return s.writePoints(ctx, f.ID, points, false)
		})
		if apperr.CodeOf(err) != apperr.Conflict {
			t.Fatalf("want a conflict, got %v", err)
		}
		if n := s.client.Factory.Query().CountX(ctx); n != 0 {
			t.Errorf("%d factories left behind", n)
		}
		if n := s.client.ChartData.Query().CountX(ctx); n != 0 {
			t.Errorf("%d points left behind", n)
		}
	})
}

func TestInTxRollsBackOnError(t *testing.T) {
	s := newService(t, testdb.Dialects[0])
	ctx := context.Background()
	boom := errors.New("boom")
	err := s.InTx(ctx, func(ctx context.Context) error {
		if _, err := s.CreateSprocket(ctx, SprocketInput{Teeth: 1, PitchDiameter: 1, OutsideDiameter: 1, Pitch: 1}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("got %v", err)
	}
	if n := s.client.Sprocket.Query().CountX(ctx); n != 0 {
		t.Errorf("rolled-back sprocket is stored: %d", n)
	}
}

func TestCreateFactoryNamesItAfterItsID(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d string) {
		s := newService(t, d)
		ctx := context.Background()
		f1, err := s.CreateFactory(ctx, FactoryInput{})
		if err != nil {
			t.Fatal(err)
		}
		f2, err := s.CreateFactory(ctx, FactoryInput{Name: "Plant 9", Points: []Point{{Time: 5, Actual: 1, Goal: 1}}})
		if err != nil {
			t.Fatal(err)
		}
		if f1.Name != "Factory 1" || f2.Name != "Plant 9" {
			t.Errorf("names %q, %q", f1.Name, f2.Name)
		}
		if _, err := s.SeriesVersion(ctx, 99); apperr.CodeOf(err) != apperr.NotFound {
			t.Errorf("missing factory: %v", err)
		}
	})
}

func TestValidatePointsNamesTheFieldAtFault(t *testing.T) {
	err := ValidatePoints("points", []Point{{Time: 1}, {Time: 2}, {Time: 1}})
	e, ok := apperr.As(err)
	if !ok || e.Field != "points[2].time" || e.Code != apperr.Invalid {
		t.Fatalf("got %#v", err)
	}
}
