package core

import (
	"context"
	"fmt"

	"entgo.io/ent/dialect/sql"
	"github.com/sprocketapi/sprocket/ent"
	"github.com/sprocketapi/sprocket/ent/chartdata"
	"github.com/sprocketapi/sprocket/ent/factory"
	"github.com/sprocketapi/sprocket/internal/apperr"
)

// MaxRecordBatch is the most points one RecordProduction call takes.
const MaxRecordBatch = 100000

// Notifier hears about points as they are recorded. It is called inside
// the writing transaction, so an implementation must deliver only once the
// transaction commits (PostgreSQL's NOTIFY does; an in-process one hooks
// the commit).
type Notifier interface {
	PointsRecorded(ctx context.Context, factoryID int, points []Point) error
}

// SetNotifier installs n; nil turns notifications off.
func (s *Service) SetNotifier(n Notifier) { s.notifier = n }

// RecordResult says what RecordProduction did.
type RecordResult struct {
	Inserted, Updated int
}

// RecordProduction adds points to factory id in one transaction. Without
// upsert, a time the factory already has fails the whole batch with a
// conflict; with upsert, such points replace the stored ones.
func (s *Service) RecordProduction(ctx context.Context, id int, points []Point, upsert bool) (RecordResult, error) {
	var res RecordResult
	if len(points) == 0 {
		return res, apperr.InvalidField("points", "points must not be empty.")
	}
	if len(points) > MaxRecordBatch {
		return res, apperr.InvalidField("points", "at most %d points a call; split the batch.", MaxRecordBatch)
	}
	if err := ValidatePoints("points", points); err != nil {
		return res, err
	}
	err := s.InTx(ctx, func(ctx context.Context) error {
		c := s.Client(ctx)
		// No lock is needed: a concurrent batch with the same time, or a
		// concurrent delete of the factory, fails on the unique index or
		// the foreign key and rolls this one back as a conflict.
		ok, err := c.Factory.Query().Where(factory.ID(id)).Exist(ctx)
		if err != nil {
			return translate(err, "")
		}
		if !ok {
			return apperr.Errorf(apperr.NotFound, msgFactoryNotFound)
		}
		existing, err := s.existingTimes(ctx, id, points)
		if err != nil {
			return err
		}
		if len(existing) > 0 && !upsert {
			for i, p := range points {
				if existing[p.Time] {
					return &apperr.Error{Code: apperr.Conflict, Field: fmt.Sprintf("points[%d].time", i),
						Message: fmt.Sprintf("The factory already has a point at time %d; use mode UPSERT to replace it.", p.Time)}
				}
			}
		}
		res.Updated = len(existing)
		res.Inserted = len(points) - res.Updated
		if upsert {
			err = s.upsertPoints(ctx, id, points)
		} else {
			err = s.insertPoints(ctx, id, points)
		}
		if err != nil {
			return err
		}
		if _, err := c.Factory.UpdateOneID(id).Save(ctx); err != nil { // touches updated_at
			return translate(err, "")
		}
		if s.notifier != nil {
			return s.notifier.PointsRecorded(ctx, id, points)
		}
		return nil
	})
	if err != nil {
		return RecordResult{}, err
	}
	return res, nil
}

// existingTimes returns which of the points' times factory id already has.
func (s *Service) existingTimes(ctx context.Context, id int, points []Point) (map[int64]bool, error) {
	out := map[int64]bool{}
	const chunk = 1000
	for start := 0; start < len(points); start += chunk {
		end := min(start+chunk, len(points))
		times := make([]int64, 0, end-start)
		for _, p := range points[start:end] {
			times = append(times, p.Time)
		}
		var found []struct {
			Time int64 `json:"time"`
		}
		err := s.Client(ctx).ChartData.Query().
			Where(chartdata.FactoryID(id), chartdata.TimeIn(times...)).
			Select(chartdata.FieldTime).Scan(ctx, &found)
		if err != nil {
			return nil, translate(err, "")
		}
		for _, f := range found {
			out[f.Time] = true
		}
	}
	return out, nil
}

// upsertPoints inserts points, replacing the values of times that exist.
func (s *Service) upsertPoints(ctx context.Context, factoryID int, points []Point) error {
	c := s.Client(ctx)
	for start := 0; start < len(points); start += insertBatch {
		end := min(start+insertBatch, len(points))
		builders := make([]*ent.ChartDataCreate, 0, end-start)
		for _, p := range points[start:end] {
			builders = append(builders, c.ChartData.Create().
				SetFactoryID(factoryID).SetTime(p.Time).SetActual(p.Actual).SetGoal(p.Goal))
		}
		err := c.ChartData.CreateBulk(builders...).
			OnConflict(sql.ConflictColumns(chartdata.FieldFactoryID, chartdata.FieldTime)).
			Update(func(u *ent.ChartDataUpsert) {
				u.UpdateActual()
				u.UpdateGoal()
			}).
			Exec(ctx)
		if err != nil {
			return translate(err, "")
		}
	}
	return nil
}
