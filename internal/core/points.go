package core

import (
	"context"
	"errors"

	"entgo.io/ent/dialect/sql"
	"github.com/sprocketapi/sprocket/ent"

	"github.com/sprocketapi/sprocket/ent/chartdata"
	"github.com/sprocketapi/sprocket/ent/predicate"
	"github.com/sprocketapi/sprocket/internal/apperr"
)

// Point page limits.
const (
	DefaultPageSize = 100
	MaxPageSize     = 1000
)

// PointFilter narrows the points of a page; nil conditions are not applied.
type PointFilter struct {
	ActualGTE, ActualLTE, GoalGTE, GoalLTE *float64
	BelowGoal                              *bool
}

// none reports whether f filters nothing: then the daily rollups' counts
// hold the answer for whole days.
func (f PointFilter) none() bool {
	return f.ActualGTE == nil && f.ActualLTE == nil && f.GoalGTE == nil && f.GoalLTE == nil && f.BelowGoal == nil
}

// PointsQuery asks for a page of points in a window, in time order (newest
// first when Desc): the first First after cursor After, or the last Last
// before cursor Before. Cursors are point times.
type PointsQuery struct {
	Window
	Filter        PointFilter
	Desc          bool
	First, Last   *int
	After, Before *int64
	// SeriesVersion is the factory's series_version as the caller read
	// it (the factory row a GraphQL resolver holds), or 0 when it is not
	// known: given, the page's time bounds found for that version are
	// reused (see pageSpans).
	SeriesVersion int64
}

// where returns the predicates of the window and the filter.
func (p PointsQuery) where(id int) []predicate.ChartData {
	ps := []predicate.ChartData{chartdata.FactoryID(id)}
	if p.From != nil {
		ps = append(ps, chartdata.TimeGTE(*p.From))
	}
	if p.To != nil {
		ps = append(ps, chartdata.TimeLT(*p.To))
	}
	f := p.Filter
	if f.ActualGTE != nil {
		ps = append(ps, chartdata.ActualGTE(*f.ActualGTE))
	}
	if f.ActualLTE != nil {
		ps = append(ps, chartdata.ActualLTE(*f.ActualLTE))
	}
	if f.GoalGTE != nil {
		ps = append(ps, chartdata.GoalGTE(*f.GoalGTE))
	}
	if f.GoalLTE != nil {
		ps = append(ps, chartdata.GoalLTE(*f.GoalLTE))
	}
	if f.BelowGoal != nil {
		below := func(s *sql.Selector) { s.Where(sql.ColumnsLT(s.C(chartdata.FieldActual), s.C(chartdata.FieldGoal))) }
		if *f.BelowGoal {
			ps = append(ps, predicate.ChartData(below))
		} else {
			ps = append(ps, chartdata.Not(predicate.ChartData(below)))
		}
	}
	return ps
}

// PointsPage is a page of points in time order, and whether more exist
// beyond it in the direction of paging.
type PointsPage struct {
	Points               []Point
	HasNext, HasPrevious bool
}

// CheckPage is the one rule for the size of a page of any connection
// (points, factories, sprockets): first and last, when given, are from 0
// to MaxPageSize.
func CheckPage(first, last *int) error {
	for _, a := range []struct {
		name string
		v    *int
	}{{"first", first}, {"last", last}} {
		if a.v != nil && (*a.v < 0 || *a.v > MaxPageSize) {
			return apperr.InvalidField(a.name, "%s must be from 0 to %d.", a.name, MaxPageSize)
		}
	}
	return nil
}

// Points returns a page of factory id's points, keyset-paginated on time
// (unique within a factory), so any page costs one index range scan.
func (s *Service) Points(ctx context.Context, id int, p PointsQuery) (PointsPage, error) {
	if err := p.Window.Validate(); err != nil {
		return PointsPage{}, err
	}
	if p.First != nil && p.Last != nil {
		return PointsPage{}, apperr.InvalidField("first", "give first or last, not both.")
	}
	if err := CheckPage(p.First, p.Last); err != nil {
		return PointsPage{}, err
	}
	ctx, done, err := s.bulk(ctx)
	if err != nil {
		return PointsPage{}, err
	}
	defer done()
	n := DefaultPageSize
	backward := p.Last != nil
	switch {
	case p.First != nil:
		n = *p.First
	case p.Last != nil:
		n = *p.Last
	}
	q := s.Client(ctx).ChartData.Query().Where(p.where(id)...)
	// "after" is beyond the cursor in the page's order, "before" short of it.
	beyond, short := chartdata.TimeGT, chartdata.TimeLT
	if p.Desc {
		beyond, short = chartdata.TimeLT, chartdata.TimeGT
	}
	if p.After != nil {
		q = q.Where(beyond(*p.After))
	}
	if p.Before != nil {
		q = q.Where(short(*p.Before))
	}
	// Scanning from the far end serves last/before; the page is put back
	// in its order below.
	if p.Desc != backward {
		q = q.Order(ent.Desc(chartdata.FieldTime))
	} else {
		q = q.Order(ent.Asc(chartdata.FieldTime))
	}
	var rows []pointRow
	// scan appends to rows the next points of the page's scan, at most
	// limit of them, in [lo, hi) when bounded; it returns how many.
	scan := func(bounded bool, lo, hi int64, limit int) (int, error) {
		q := q.Clone()
		if bounded {
			q = q.Where(chartdata.TimeGTE(lo), chartdata.TimeLT(hi))
		}
		var got []pointRow
		if err := q.Limit(limit).Select(chartdata.FieldTime, chartdata.FieldActual, chartdata.FieldGoal).Scan(ctx, &got); err != nil {
			return 0, classify(err, "")
		}
		rows = append(rows, got...)
		return len(got), nil
	}
	if s.postgres {
		err = s.scanInSpans(ctx, id, p, n+1, func(lo, hi int64, limit int) (int, error) { return scan(true, lo, hi, limit) })
	} else {
		_, err = scan(false, 0, 0, n+1)
	}
	if err != nil {
		return PointsPage{}, err
	}
	var page PointsPage
	more := len(rows) > n
	if more {
		rows = rows[:n]
	}
	page.Points = make([]Point, len(rows))
	for i, r := range rows {
		j := i
		if backward {
			j = len(rows) - 1 - i
		}
		page.Points[j] = Point(r)
	}
	if backward {
		page.HasPrevious = more
		page.HasNext = p.Before != nil
	} else {
		page.HasNext = more
		page.HasPrevious = p.After != nil
	}
	return page, nil
}

// pointRow is a point as a page's statement reads it.
type pointRow struct {
	Time   int64   `json:"time"`
	Actual float64 `json:"actual"`
	Goal   float64 `json:"goal"`
}

// CountPoints counts factory id's points in the page's window and filter.
// Without a value filter the count is read as Summaries reads it: whole
// days from the daily rollups, the window's edges from raw points, so it
// costs a day's points at most, not the factory's (docs/performance.md,
// "Counts of points from the rollups"). A value filter counts the raw
// points.
func (s *Service) CountPoints(ctx context.Context, id int, p PointsQuery) (int64, error) {
	if err := p.Window.Validate(); err != nil {
		return 0, err
	}
	ctx, done, err := s.bulk(ctx)
	if err != nil {
		return 0, err
	}
	defer done()
	if p.Filter.none() {
		with, args := rollupParts([]rollupWindow{wholeDays(id, p.Window)}, false, false)
		var n sql.NullInt64
		rows, err := s.Client(ctx).QueryContext(ctx, with+`SELECT SUM(n) FROM parts`, args...)
		if err != nil {
			return 0, classify(err, "")
		}
		if rows.Next() {
			err = rows.Scan(&n)
		}
		if err = errors.Join(err, rows.Err(), rows.Close()); err != nil {
			return 0, classify(err, "")
		}
		return n.Int64, nil
	}
	q := s.Client(ctx).ChartData.Query().Where(p.where(id)...)
	if s.postgres {
		// Bounded by the first and last stored times in the window (from
		// the daily rollups, as a page's scan is), the count is planned
		// over the months they span only.
		sp, err := s.pageSpan(ctx, id, PointsQuery{Window: p.Window, SeriesVersion: p.SeriesVersion}, 1)
		if err != nil || sp.from >= sp.to {
			return 0, err
		}
		q = q.Where(chartdata.TimeGTE(sp.from), chartdata.TimeLT(sp.to))
	}
	n, err := q.Count(ctx)
	return int64(n), classify(err, "")
}
