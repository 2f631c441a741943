package core

import (
	"context"
	"fmt"
	"math"
	"strings"

	"entgo.io/ent/dialect/sql"

	"github.com/sprocketapi/sprocket/ent"
	"github.com/sprocketapi/sprocket/ent/chartdata"
	"github.com/sprocketapi/sprocket/ent/factory"
	"github.com/sprocketapi/sprocket/internal/apperr"
)

const msgFactoryNotFound = "Factory not found"

// Point is one production record: what a factory made (Actual) against its
// target (Goal) at Time.
type Point struct {
	Time   int64
	Actual float64
	Goal   float64
}

// Series is a factory's points in columns ordered by time, the shape of
// the /v1 chart_data and of chart libraries.
type Series struct {
	Time   []int64
	Actual []float64
	Goal   []float64
}

// Len returns the number of points.
func (s Series) Len() int { return len(s.Time) }

// FactoryInput is what a factory is created from.
type FactoryInput struct {
	// Name is optional: "Factory N" (N its id) when empty.
	Name   string
	Points []Point
}

// FactorySeries is a factory's id with its whole series.
type FactorySeries struct {
	ID     int
	Series Series
}

// ValidatePoints checks that every value is finite and that no time
// repeats; field paths are prefix[i].time and the like.
func ValidatePoints(prefix string, points []Point) error {
	seen := make(map[int64]int, len(points))
	for i, p := range points {
		if math.IsNaN(p.Actual) || math.IsInf(p.Actual, 0) {
			return apperr.InvalidField(fmt.Sprintf("%s[%d].actual", prefix, i), "actual must be a finite number.")
		}
		if math.IsNaN(p.Goal) || math.IsInf(p.Goal, 0) {
			return apperr.InvalidField(fmt.Sprintf("%s[%d].goal", prefix, i), "goal must be a finite number.")
		}
		if j, dup := seen[p.Time]; dup {
			return apperr.InvalidField(fmt.Sprintf("%s[%d].time", prefix, i),
				"Time values must be unique: %d appears at positions %d and %d.", p.Time, j, i)
		}
		seen[p.Time] = i
	}
	return nil
}

func validateName(name string) error {
	if len(name) > 200 {
		return apperr.InvalidField("name", "name must be at most 200 characters.")
	}
	if name != "" && strings.TrimSpace(name) == "" {
		return apperr.InvalidField("name", "name must not be blank.")
	}
	return nil
}

// CreateFactory validates in and adds a factory with its points in one
// transaction: either all of it is stored or none.
func (s *Service) CreateFactory(ctx context.Context, in FactoryInput) (*ent.Factory, error) {
	if err := validateName(in.Name); err != nil {
		return nil, err
	}
	if err := ValidatePoints("points", in.Points); err != nil {
		return nil, err
	}
	var f *ent.Factory
	err := s.InTx(ctx, func(ctx context.Context) error {
		c := s.Client(ctx)
		name := in.Name
		if name == "" {
			// The default name needs the id: insert, then name it.
			name = "Factory"
		}
		var err error
		if f, err = c.Factory.Create().SetName(name).Save(ctx); err != nil {
			return translate(err, "")
		}
		if in.Name == "" {
			if f, err = f.Update().SetName(fmt.Sprintf("Factory %d", f.ID)).Save(ctx); err != nil {
				return translate(err, "")
			}
		}
		if s.postgres && len(in.Points) > 0 {
			if _, err := s.recordPostgres(ctx, f.ID, in.Points, false); err != nil {
				return err
			}
		} else if err := s.writePoints(ctx, f.ID, in.Points, false); err != nil {
			return err
		}
		return s.refreshRollups(ctx, f.ID, in.Points)
	})
	if err != nil {
		return nil, err
	}
	return f, nil
}

// GetFactory returns one factory, or a NotFound error.
func (s *Service) GetFactory(ctx context.Context, id int) (*ent.Factory, error) {
	f, err := s.Client(ctx).Factory.Get(ctx, id)
	return f, translate(err, msgFactoryNotFound)
}

// FactorySeriesByID returns the whole series of factory id ordered by time,
// or a NotFound error when there is no such factory.
func (s *Service) FactorySeriesByID(ctx context.Context, id int) (Series, error) {
	// No transaction: under SQLite's immediate locking it would queue this
	// read behind every writer. A factory deleted between the two
	// statements reads as an empty series, which is what it has become.
	ok, err := s.Client(ctx).Factory.Query().Where(factory.ID(id)).Exist(ctx)
	if err != nil {
		return Series{}, translate(err, "")
	}
	if !ok {
		return Series{}, apperr.Errorf(apperr.NotFound, msgFactoryNotFound)
	}
	all, err := s.seriesOf(ctx, []int{id})
	return all[id], err
}

// ListFactorySeries returns every factory ordered by id with its series, in
// two statements whatever the number of factories.
func (s *Service) ListFactorySeries(ctx context.Context) ([]FactorySeries, error) {
	ids, err := s.Client(ctx).Factory.Query().Order(ent.Asc(factory.FieldID)).IDs(ctx)
	if err != nil {
		return nil, translate(err, "")
	}
	series, err := s.seriesOf(ctx, nil)
	if err != nil {
		return nil, err
	}
	out := make([]FactorySeries, len(ids))
	for i, id := range ids {
		out[i] = FactorySeries{ID: id, Series: series[id]}
	}
	return out, nil
}

// seriesOf loads the series of the given factories (all when ids is nil),
// ordered by time, in one statement.
func (s *Service) seriesOf(ctx context.Context, ids []int) (map[int]Series, error) {
	q := s.Client(ctx).ChartData.Query().
		Order(ent.Asc(chartdata.FieldFactoryID), ent.Asc(chartdata.FieldTime))
	if ids != nil {
		q = q.Where(chartdata.FactoryIDIn(ids...))
	}
	var rows []struct {
		FactoryID int     `json:"factory_id"`
		Time      int64   `json:"time"`
		Actual    float64 `json:"actual"`
		Goal      float64 `json:"goal"`
	}
	if err := q.Select(chartdata.FieldFactoryID, chartdata.FieldTime, chartdata.FieldActual, chartdata.FieldGoal).
		Scan(ctx, &rows); err != nil {
		return nil, translate(err, "")
	}
	out := make(map[int]Series)
	for _, r := range rows {
		sr := out[r.FactoryID]
		sr.Time = append(sr.Time, r.Time)
		sr.Actual = append(sr.Actual, r.Actual)
		sr.Goal = append(sr.Goal, r.Goal)
		out[r.FactoryID] = sr
	}
	return out, nil
}

// insertBatch is how many points one INSERT carries: 4 parameters a row
// stays under SQLite's 32766 and PostgreSQL's 65535 bound parameters.
const insertBatch = 4000

// writePoints adds points to factory id with multi-row INSERTs; with
// upsert, points at existing times replace the stored values. It must run
// inside a transaction (the caller's) so that a failure leaves nothing.
func (s *Service) writePoints(ctx context.Context, factoryID int, points []Point, upsert bool) error {
	c := s.Client(ctx)
	for start := 0; start < len(points); start += insertBatch {
		end := min(start+insertBatch, len(points))
		builders := make([]*ent.ChartDataCreate, 0, end-start)
		for _, p := range points[start:end] {
			builders = append(builders, c.ChartData.Create().
				SetFactoryID(factoryID).SetTime(p.Time).SetActual(p.Actual).SetGoal(p.Goal))
		}
		bulk := c.ChartData.CreateBulk(builders...)
		var err error
		if upsert {
			err = bulk.OnConflict(sql.ConflictColumns(chartdata.FieldFactoryID, chartdata.FieldTime)).
				Update(func(u *ent.ChartDataUpsert) {
					u.UpdateActual()
					u.UpdateGoal()
				}).Exec(ctx)
		} else {
			err = bulk.Exec(ctx)
		}
		if err != nil {
			return translate(err, "")
		}
	}
	return nil
}
