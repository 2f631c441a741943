package core

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/sprocketapi/sprocket/ent"
	"github.com/sprocketapi/sprocket/ent/factory"
)

// FactoryIDs returns every factory id in order.
func (s *Service) FactoryIDs(ctx context.Context) ([]int, error) {
	ids, err := s.Client(ctx).Factory.Query().Order(ent.Asc(factory.FieldID)).IDs(ctx)
	return ids, translate(err, "")
}

// RawPoint is a point as the database's text: time, actual and goal each
// in the form the database prints them, which is valid JSON for the finite
// numbers the core stores (it refuses NaN and infinities). The slices are
// valid only during the callback.
type RawPoint struct {
	Time, Actual, Goal []byte
}

// ScanRawPoints is ScanPoints without parsing: it hands over the numbers
// as the driver read them, for answers that only copy them out (the /v1
// series). Parsing and re-formatting were most of the cost of a large
// series.
func (s *Service) ScanRawPoints(ctx context.Context, ids []int, fn func(factoryID int, p RawPoint) error) error {
	var b strings.Builder
	b.WriteString(`SELECT factory_id, "time", actual, goal FROM chart_data`)
	args := make([]any, len(ids))
	if len(ids) == 1 {
		b.WriteString(` WHERE factory_id = $1`)
		args[0] = ids[0]
	} else if ids != nil {
		b.WriteString(` WHERE factory_id IN (`)
		for i, id := range ids {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "$%d", i+1)
			args[i] = id
		}
		b.WriteString(`)`)
	}
	b.WriteString(` ORDER BY factory_id, "time"`)
	rows, err := s.Client(ctx).QueryContext(ctx, b.String(), args...)
	if err != nil {
		return translate(err, "")
	}
	defer rows.Close()
	var fid int
	var p RawPoint
	for rows.Next() {
		if err := rows.Scan(&fid, (*sql.RawBytes)(&p.Time), (*sql.RawBytes)(&p.Actual), (*sql.RawBytes)(&p.Goal)); err != nil {
			return translate(err, "")
		}
		if err := fn(fid, p); err != nil {
			return err
		}
	}
	return translate(rows.Err(), "")
}

// SeriesVersion returns the version of factory id's series: it changes in
// every transaction that writes the factory's points, so a copy of the
// series made after reading version v holds at least what v holds.
func (s *Service) SeriesVersion(ctx context.Context, id int) (int64, error) {
	f, err := s.Client(ctx).Factory.Query().Where(factory.ID(id)).Select(factory.FieldSeriesVersion).Only(ctx)
	if err != nil {
		return 0, translate(err, msgFactoryNotFound)
	}
	return f.SeriesVersion, nil
}
