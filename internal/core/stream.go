package core

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/sprocketapi/sprocket/ent"
	"github.com/sprocketapi/sprocket/ent/factory"
)

// SeriesSink receives factories' series column by column: for each
// factory, every actual value, then every goal, then every time, each
// column in time order. Numbers come as the database prints them, which is
// valid JSON for the finite numbers the core stores; raw is valid only
// during the call.
type SeriesSink interface {
	// BeginFactory starts factory id's series of n points (-1: unknown
	// in advance).
	BeginFactory(id int, n int64) error
	// Column starts column c: 0 actual, 1 goal, 2 time.
	Column(c int) error
	// Value is the next number of the current column.
	Value(raw []byte) error
	// EndFactory ends the current factory.
	EndFactory() error
}

// columnsFrom is the series size from which, on PostgreSQL, one factory is
// read column by column from one snapshot (three passes over the index,
// nothing held between columns) instead of in one pass that keeps the goal
// and time columns until the actual values are out.
const columnsFrom = 250_000

// StreamSeries hands the series of the given factories (nil: every
// factory, in id order; factories without points included) to sink, with
// memory bounded by the largest series held, never by the whole answer.
func (s *Service) StreamSeries(ctx context.Context, ids []int, sink SeriesSink) error {
	ctx, done, err := s.bulk(ctx)
	if err != nil {
		return err
	}
	defer done()
	filter := ids != nil
	if filter {
		ids = slices.Sorted(slices.Values(ids)) // the order of the scan
	} else {
		var err error
		if ids, err = s.Client(ctx).Factory.Query().Order(ent.Asc(factory.FieldID)).IDs(ctx); err != nil {
			return translate(err, "")
		}
	}
	var n int64 = -1
	if len(ids) == 1 {
		var err error
		if n, err = s.PointCount(ctx, ids[0]); err != nil {
			return err
		}
		if s.postgres && n >= columnsFrom {
			return s.streamColumns(ctx, ids[0], n, sink)
		}
	}
	return s.streamRows(ctx, ids, filter, n, sink)
}

// heldColumn is a column kept until its turn: the values back to back,
// and where each ends.
type heldColumn struct {
	data []byte
	ends []int
}

func (h *heldColumn) add(raw []byte) {
	h.data = append(h.data, raw...)
	h.ends = append(h.ends, len(h.data))
}

func (h *heldColumn) emit(sink SeriesSink) error {
	start := 0
	for _, end := range h.ends {
		if err := sink.Value(h.data[start:end]); err != nil {
			return err
		}
		start = end
	}
	h.data, h.ends = h.data[:0], h.ends[:0]
	return nil
}

// streamRows reads the points of the factories in order (only theirs when
// filter is set, else every point) in one pass ordered by factory and
// time, passing on the actual values as they come and holding goals and
// times until each factory's end. n is the point count of a single
// factory, or -1.
func (s *Service) streamRows(ctx context.Context, order []int, filter bool, n int64, sink SeriesSink) error {
	if len(order) == 0 {
		return nil
	}
	var b strings.Builder
	b.WriteString(`SELECT factory_id, "time", actual, goal FROM chart_data`)
	var args []any
	if filter {
		ids := order
		b.WriteString(` WHERE factory_id IN (`)
		for i, id := range ids {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "$%d", i+1)
			args = append(args, id)
		}
		b.WriteString(`)`)
	}
	b.WriteString(` ORDER BY factory_id, "time"`)
	rows, err := s.Client(ctx).QueryContext(ctx, b.String(), args...)
	if err != nil {
		return translate(err, "")
	}
	defer rows.Close()

	var goals, times heldColumn
	next, open := 0, false // order[next] is the factory being written
	begin := func() error {
		open = true
		if err := sink.BeginFactory(order[next], n); err != nil {
			return err
		}
		return sink.Column(0)
	}
	end := func() error {
		for c, col := range []*heldColumn{&goals, &times} {
			if err := sink.Column(c + 1); err != nil {
				return err
			}
			if err := col.emit(sink); err != nil {
				return err
			}
		}
		open = false
		next++
		return sink.EndFactory()
	}
	// closeUpTo ends the open factory and writes the empty ones ordered
	// before factory id (all that remain when id < 0).
	closeUpTo := func(id int) error {
		for next < len(order) && (id < 0 || order[next] < id) {
			if !open {
				if err := begin(); err != nil {
					return err
				}
			}
			if err := end(); err != nil {
				return err
			}
		}
		return nil
	}
	var fid int
	var t, a, g sql.RawBytes
	for rows.Next() {
		if err := rows.Scan(&fid, &t, &a, &g); err != nil {
			return translate(err, "")
		}
		if !open || order[next] != fid {
			if err := closeUpTo(fid); err != nil {
				return err
			}
			if next >= len(order) || order[next] != fid {
				continue // a factory created after the id list was read
			}
			if err := begin(); err != nil {
				return err
			}
		}
		if err := sink.Value(a); err != nil {
			return err
		}
		goals.add(g)
		times.add(t)
	}
	if err := rows.Err(); err != nil {
		return translate(err, "")
	}
	return closeUpTo(-1)
}

// streamColumns reads factory id column by column from one REPEATABLE
// READ, READ ONLY snapshot. PostgreSQL only: SQLite would hold its write
// lock for the whole read.
func (s *Service) streamColumns(ctx context.Context, id int, n int64, sink SeriesSink) error {
	tx, err := s.client.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return translate(err, "")
	}
	defer tx.Rollback() //nolint:errcheck // read only: nothing to keep
	if err := sink.BeginFactory(id, n); err != nil {
		return err
	}
	for c, col := range []string{"actual", "goal", `"time"`} {
		if err := sink.Column(c); err != nil {
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
			if err := sink.Value(raw); err != nil {
				rows.Close()
				return err
			}
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return translate(err, "")
		}
	}
	return sink.EndFactory()
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
