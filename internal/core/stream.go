package core

import (
	"context"
	"database/sql"
	"errors"
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

// PointCount returns how many points factory id has, from its daily
// rollups (a few hundred rows for years of data, not a scan of points).
func (s *Service) PointCount(ctx context.Context, id int) (int64, error) {
	var n sql.NullInt64
	rows, err := s.Client(ctx).QueryContext(ctx, `SELECT SUM(n) FROM rollups WHERE factory_id = $1 AND width = $2`, id, rollupWidths[0])
	if err != nil {
		return 0, translate(err, "")
	}
	defer rows.Close()
	if rows.Next() {
		if err := rows.Scan(&n); err != nil {
			return 0, translate(err, "")
		}
	}
	return n.Int64, translate(rows.Err(), "")
}

// ScanSeriesColumns streams factory id's series column by column (every
// actual value, then every goal, then every time, each in time order) as
// the database prints the numbers, from one snapshot: a REPEATABLE READ,
// READ ONLY transaction. Nothing is held in memory between the columns;
// the price is three passes over the index. PostgreSQL only (SQLite would
// hold its write lock for the whole read).
func (s *Service) ScanSeriesColumns(ctx context.Context, id int, begin func(column int) error, value func(raw []byte) error) error {
	if !s.postgres {
		return fmt.Errorf("core: ScanSeriesColumns needs PostgreSQL")
	}
	tx, err := s.client.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return translate(err, "")
	}
	defer tx.Rollback() //nolint:errcheck // read only: nothing to keep
	for i, col := range []string{"actual", "goal", `"time"`} {
		if err := begin(i); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT `+col+` FROM chart_data WHERE factory_id = $1 ORDER BY "time"`, id)
		if err != nil {
			return translate(err, "")
		}
		var raw sql.RawBytes
		for rows.Next() {
			if err := rows.Scan(&raw); err != nil {
				rows.Close()
				return translate(err, "")
			}
			if err := value(raw); err != nil {
				rows.Close()
				return err
			}
		}
		err = errors.Join(rows.Err(), rows.Close())
		if err != nil {
			return translate(err, "")
		}
	}
	return nil
}

// Postgres reports whether the Service was told it speaks PostgreSQL.
func (s *Service) Postgres() bool { return s.postgres }
