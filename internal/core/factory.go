package core

import (
	"context"
	"fmt"

	"entgo.io/ent/dialect/sql"

	"github.com/sprocketapi/sprocket/ent"
	"github.com/sprocketapi/sprocket/ent/chartdata"
)

const msgFactoryNotFound = "Factory not found"

// Point is one production record: what a factory made (Actual) against its
// target (Goal) at Time.
type Point struct {
	Time   int64
	Actual float64
	Goal   float64
}

// FactoryInput is what a factory is created from.
type FactoryInput struct {
	// Name is optional: "Factory N" (N its id) when empty.
	Name   string
	Points []Point
}

// CreateFactory validates in and adds a factory with its points in one
// transaction: either all of it is stored or none.
func (s *Service) CreateFactory(ctx context.Context, in FactoryInput) (*ent.Factory, error) {
	if err := in.Validate(); err != nil {
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
			return classify(err, "")
		}
		if in.Name == "" {
			if f, err = f.Update().SetName(fmt.Sprintf("Factory %d", f.ID)).Save(ctx); err != nil {
				return classify(err, "")
			}
		}
		// A new factory's points cannot collide with stored ones (and
		// ValidatePoints refused repeated times): on PostgreSQL they are
		// copied straight in.
		if s.postgres && len(in.Points) > 0 {
			if err := copyPoints(ctx, f.ID, in.Points); err != nil {
				return classify(err, "")
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
	return f, classify(err, msgFactoryNotFound)
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
			return classify(err, "")
		}
	}
	return nil
}
