package core

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"

	"entgo.io/ent/dialect/sql"
	"github.com/sprocketapi/sprocket/ent"

	"github.com/sprocketapi/sprocket/ent/chartdata"
	"github.com/sprocketapi/sprocket/ent/predicate"
	"github.com/sprocketapi/sprocket/internal/apperr"
)

// The raw SQL here is written once for both databases: "$n" placeholders
// (lib/pq needs them; SQLite reads them as parameters bound in order of
// first use, so each query introduces them in ascending order), "time"
// quoted, and every integer parameter cast to BIGINT so that SQLite divides
// integers as integers.

// Window is a half-open interval of epoch seconds [From, To); a nil bound
// is open.
type Window struct {
	From, To *int64
}

// Validate checks that the window lies in the time domain (from within
// [MinTime, MaxTime]; to, being exclusive, may also be MaxTime+1, the end
// of the domain) and is not inverted.
func (w Window) Validate() error {
	if w.From != nil && (*w.From < MinTime || *w.From > MaxTime) {
		return apperr.InvalidField("from", "from must be from %s to %s (epoch seconds %d to %d).", MinTimeText, MaxTimeText, MinTime, MaxTime)
	}
	if w.To != nil && (*w.To < MinTime || *w.To > MaxTime+1) {
		return apperr.InvalidField("to", "to must be from %s to %s (epoch seconds %d to %d).", MinTimeText, MaxTimeText, MinTime, MaxTime)
	}
	if w.From != nil && w.To != nil && *w.To <= *w.From {
		return apperr.InvalidField("to", "to must be after from.")
	}
	return nil
}

// Aggregate says how the points of a bucket become one value.
type Aggregate string

// The aggregates.
const (
	AggAvg   Aggregate = "AVG"
	AggMin   Aggregate = "MIN"
	AggMax   Aggregate = "MAX"
	AggSum   Aggregate = "SUM"
	AggFirst Aggregate = "FIRST"
	AggLast  Aggregate = "LAST"
	AggM4    Aggregate = "M4"
	AggLTTB  Aggregate = "LTTB"
)

// Series limits.
const (
	DefaultDataPoints = 1000
	MaxDataPoints     = 10000
)

// SeriesQuery asks for a downsampled series: at most MaxDataPoints values,
// or buckets of Interval seconds when Interval is set.
type SeriesQuery struct {
	Window
	MaxDataPoints int
	Interval      int64
	Aggregate     Aggregate
}

// SeriesResult is a downsampled series in columns.
type SeriesResult struct {
	// HasWindow is false when the series is empty and no window was given.
	// To is exclusive, except at the end of the time domain: a window that
	// reaches past MaxTime reports MaxTime, so that every time a result
	// holds is in the domain (and a GraphQL Time).
	HasWindow bool
	From, To  int64
	Interval  int64
	Aggregate Aggregate
	Epochs    []int64
	Actual    []float64
	Goal      []float64
	Counts    []int64
	// Err is this factory's own failure, when its stored range alone
	// makes the query impossible (an interval that cuts it into too many
	// buckets) or a value of its series is not finite (DataOutOfRange):
	// the other factories of the call still get their series.
	Err error
}

// Summary is the totals and extremes of a window.
type Summary struct {
	Count                int64
	TotalActual          float64
	TotalGoal            float64
	FirstTime, LastTime  *int64
	MinActual, MaxActual *float64
	MinGoal, MaxGoal     *float64
	Attainment           *float64
	// Err is DataOutOfRange when a value of this factory's summary is
	// not finite; the other factories of the call still get theirs.
	Err error
}

// finite reports whether every value is a finite number: aggregates of
// stored values beyond today's bounds can come back infinite (SQLite sums
// to ±Inf where PostgreSQL fails), and JSON has no number for them.
func finite(values ...float64) bool {
	for _, v := range values {
		if math.IsInf(v, 0) || math.IsNaN(v) {
			return false
		}
	}
	return true
}

// finitePtrs is finite for the non-nil values.
func finitePtrs(ps ...*float64) bool {
	for _, p := range ps {
		if p != nil && !finite(*p) {
			return false
		}
	}
	return true
}

func (q *SeriesQuery) normalize() error {
	if err := q.Window.Validate(); err != nil {
		return err
	}
	if q.Aggregate == "" {
		q.Aggregate = AggAvg
	}
	switch q.Aggregate {
	case AggAvg, AggMin, AggMax, AggSum, AggFirst, AggLast, AggM4, AggLTTB:
	default:
		return apperr.InvalidField("aggregate", "unknown aggregate %s.", apperr.Quote(string(q.Aggregate)))
	}
	if q.Interval != 0 && q.MaxDataPoints != 0 {
		return apperr.InvalidField("interval", "give maxDataPoints or interval, not both.")
	}
	// Interval 0 and MaxDataPoints 0 mean "not given"; SeriesArgs refuses
	// an explicit 0.
	if q.Interval < 0 || q.Interval > MaxInterval {
		return apperr.InvalidField("interval", "interval must be from 1 to %d seconds (the span of the time domain).", MaxInterval)
	}
	if q.Interval == 0 {
		if q.MaxDataPoints == 0 {
			q.MaxDataPoints = DefaultDataPoints
		}
		if q.MaxDataPoints < 2 || q.MaxDataPoints > MaxDataPoints {
			return apperr.InvalidField("maxDataPoints", "maxDataPoints must be from 2 to %d.", MaxDataPoints)
		}
	}
	return nil
}

// SeriesArgs builds and checks a SeriesQuery from optional arguments as a
// transport receives them (nil: not given), so that every bound of a
// series request is checked here, once: maxDataPoints from 2 to
// MaxDataPoints, interval from 1 to MaxInterval seconds, not both, the
// window in the time domain. The query it returns has its defaults filled.
func SeriesArgs(w Window, maxDataPoints *int, interval *int64, agg Aggregate) (SeriesQuery, error) {
	q := SeriesQuery{Window: w, Aggregate: agg}
	if maxDataPoints != nil {
		if *maxDataPoints == 0 {
			return q, apperr.InvalidField("maxDataPoints", "maxDataPoints must be from 2 to %d.", MaxDataPoints)
		}
		q.MaxDataPoints = *maxDataPoints
	}
	if interval != nil {
		if *interval == 0 {
			return q, apperr.InvalidField("interval", "interval must be from 1 to %d seconds (the span of the time domain).", MaxInterval)
		}
		q.Interval = *interval
	}
	return q, q.normalize()
}

// MaxValues is the most values series q (as SeriesArgs returns it)
// answers for one factory, whatever its points: maxDataPoints, or with an
// interval one more bucket than the window holds whole (buckets are
// aligned to multiples of the interval; an open end is the end of the
// time domain), at most MaxDataPoints. M4 answers up to four values a
// bucket: with maxDataPoints it cuts the window into a quarter as many
// buckets, at least two. The GraphQL cost limit charges it before the
// series is read.
func (q SeriesQuery) MaxValues() int {
	perBucket := 1
	if q.Aggregate == AggM4 {
		perBucket = 4
	}
	if q.Interval == 0 {
		return max(q.MaxDataPoints, 2*perBucket)
	}
	from, to := MinTime, MaxTime
	if q.From != nil {
		from = *q.From
	}
	if q.To != nil {
		to = *q.To
	}
	if to <= from {
		return 1
	}
	return perBucket * int(min((to-from)/q.Interval+2, MaxDataPoints))
}

// floorDiv divides rounding toward minus infinity.
func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// bucketing returns the aligned bucket origin and the interval for one
// factory's window [from, to).
func (q SeriesQuery) bucketing(from, to int64) (offset, interval int64, err error) {
	buckets := int64(q.MaxDataPoints)
	if q.Aggregate == AggM4 {
		buckets = max(2, buckets/4)
	}
	// LTTB preselects the M4 points of maxDataPoints buckets (see lttb.go).
	interval = q.Interval
	if interval == 0 {
		span := to - from
		// One bucket fewer than allowed absorbs the alignment of the first.
		interval = niceInterval(max(1, (span+buckets-2)/(buckets-1)))
	}
	offset = floorDiv(from, interval) * interval
	if n := (to - offset + interval - 1) / interval; q.Interval != 0 && n > MaxDataPoints {
		return 0, 0, apperr.InvalidField("interval",
			"interval %d s cuts the window into %d buckets; at most %d are allowed.", interval, n, MaxDataPoints)
	}
	return offset, interval, nil
}

// Series computes the downsampled series of each factory in ids, with one
// statement for the window extents when the window is open and one for the
// buckets, whatever the number of factories.
func (s *Service) Series(ctx context.Context, ids []int, q SeriesQuery) (map[int]SeriesResult, error) {
	if err := q.normalize(); err != nil {
		return nil, err
	}
	ctx, done, err := s.bulk(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	out := make(map[int]SeriesResult, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var wins []seriesWindow
	keep := map[int]int{} // LTTB: how many points each factory keeps
	addWin := func(id int, from, to int64) error {
		off, iv, err := q.bucketing(from, to)
		if err != nil {
			return err
		}
		out[id] = SeriesResult{HasWindow: true, From: from, To: min(to, MaxTime), Interval: iv, Aggregate: q.Aggregate}
		wins = append(wins, seriesWindow{factoryID: int64(id), origin: off, from: from, to: to, interval: iv})
		keep[id] = q.MaxDataPoints
		if q.Interval != 0 {
			keep[id] = int((to - off + iv - 1) / iv)
		}
		return nil
	}
	if q.From != nil && q.To != nil {
		for _, id := range ids {
			if err := addWin(id, *q.From, *q.To); err != nil {
				return nil, err
			}
		}
	} else {
		ext, err := s.extents(ctx, ids, q.Window)
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			e, ok := ext[id]
			if !ok {
				// No data in an open window.
				res := SeriesResult{Aggregate: q.Aggregate, Interval: max(1, q.Interval)}
				if q.From != nil {
					res.HasWindow, res.From, res.To = true, *q.From, *q.From
				} else if q.To != nil {
					t := min(*q.To, MaxTime)
					res.HasWindow, res.From, res.To = true, t, t
				}
				out[id] = res
				continue
			}
			from, to := e[0], e[1]+1
			if q.From != nil {
				from = *q.From
			}
			if q.To != nil {
				to = *q.To
			}
			if err := addWin(id, from, to); err != nil {
				// The window came from this factory's data: its
				// failure is its own.
				out[id] = SeriesResult{Err: err}
			}
		}
	}
	if len(wins) == 0 {
		return out, nil
	}

	agg := q.Aggregate
	if agg == AggLTTB {
		agg = AggM4 // the preselection
	}
	if err := s.seriesPoints(ctx, out, wins, agg); err != nil {
		return nil, err
	}
	if q.Aggregate == AggLTTB {
		for id, m := range keep {
			out[id] = applyLTTB(out[id], max(2, m))
		}
	}
	for id, r := range out {
		if r.Err == nil && (!finite(r.Actual...) || !finite(r.Goal...)) {
			out[id] = SeriesResult{Err: DataOutOfRangeError(fmt.Errorf("factory %d: a series value is not finite", id))}
		}
	}
	return out, nil
}

// seriesPoints computes the series of every window with aggregate agg
// (not LTTB) into out: from whole rollup buckets and the raw points at the
// windows' edges when every window's interval is a multiple of a rollup
// width, else from raw points.
func (s *Service) seriesPoints(ctx context.Context, out map[int]SeriesResult, wins []seriesWindow, agg Aggregate) error {
	if wd := commonRollupWidth(wins); wd > 0 {
		return s.seriesFromRollups(ctx, out, wins, wd, agg)
	}
	var cte strings.Builder
	args := make([]any, 0, 5*len(wins))
	cte.WriteString(`WITH w(fid, off, lo, hi, iv) AS (VALUES `)
	for i, w := range wins {
		if i > 0 {
			cte.WriteString(", ")
		}
		n := len(args)
		fmt.Fprintf(&cte, "(CAST($%d AS BIGINT), CAST($%d AS BIGINT), CAST($%d AS BIGINT), CAST($%d AS BIGINT), CAST($%d AS BIGINT))", n+1, n+2, n+3, n+4, n+5)
		args = append(args, w.factoryID, w.origin, w.from, w.to, w.interval) // w(fid, off, lo, hi, iv)
	}
	cte.WriteString(`) `)
	// On PostgreSQL the span of all windows bounds the scans of
	// chart_data as constants too, so that they are planned over the
	// partitions (months) it overlaps only.
	span := func(string) string { return "" }
	if s.postgres {
		lo, hi := windowSpan(wins)
		args = append(args, lo, hi)
		n := len(args)
		span = func(alias string) string {
			return fmt.Sprintf(` AND %s."time" >= CAST($%d AS BIGINT) AND %s."time" < CAST($%d AS BIGINT)`, alias, n-1, alias, n)
		}
	}
	from := ` FROM chart_data c JOIN w ON c.factory_id = w.fid WHERE c."time" >= w.lo AND c."time" < w.hi` + span("c") + ` `
	const bucket = `(c."time" - w.off) / w.iv`
	var query string
	switch agg {
	case AggAvg, AggMin, AggMax, AggSum:
		fn := string(agg)
		query = cte.String() + `SELECT c.factory_id, w.off + ` + bucket + ` * w.iv AS t, ` +
			fn + `(c.actual), ` + fn + `(c.goal), COUNT(*)` + from +
			`GROUP BY c.factory_id, w.off, w.iv, ` + bucket + ` ORDER BY c.factory_id, t`
	case AggFirst, AggLast:
		pick := "MIN"
		if agg == AggLast {
			pick = "MAX"
		}
		query = cte.String() + `, g AS (SELECT c.factory_id AS fid, w.off + ` + bucket + ` * w.iv AS t, ` +
			pick + `(c."time") AS pt, COUNT(*) AS n` + from + `GROUP BY c.factory_id, w.off, w.iv, ` + bucket + `) ` +
			`SELECT g.fid, g.t, p.actual, p.goal, g.n FROM g JOIN chart_data p ON p.factory_id = g.fid AND p."time" = g.pt` + span("p") + ` ORDER BY g.fid, g.t`
	case AggM4:
		// The points stream out in any order and each bucket's four are
		// chosen here: no sorts, no window functions.
		return s.m4FromPoints(ctx, out, cte.String()+`SELECT c.factory_id, `+bucket+`, c."time", c.actual, c.goal`+from, args)
	}
	return s.scanSeries(ctx, out, query, args)
}

// extents returns the first and last time of each factory's points within
// w, for the factories that have any. The whole days of the window come
// from the daily rollups (the first and the last day that holds points),
// only its partial days at the edges from raw points, and every read of
// chart_data is a range scan of the (factory_id, time) index between
// bounds given as parameters: on PostgreSQL, where chart_data is
// partitioned by month, the planner then prunes the partitions outside
// them (a MIN over a factory's whole series would plan and probe every
// partition). The first edge, day or edge that holds points gives the
// first time, and the last the last time: the rollups are exact.
func (s *Service) extents(ctx context.Context, ids []int, w Window) (map[int][2]int64, error) {
	day := rollupWidths[0]
	lo, hi := MinTime, MaxTime+1
	if w.From != nil {
		lo = *w.From
	}
	if w.To != nil {
		hi = *w.To
	}
	if hi <= lo {
		return map[int][2]int64{}, nil
	}
	a := -floorDiv(-lo, day) * day // the first whole day
	b := floorDiv(hi, day) * day   // the end of the last whole day
	if a >= b {
		a, b = hi, hi // no whole day: the window is all edge
	}
	var sb strings.Builder
	args := make([]any, 0, len(ids)+5)
	sb.WriteString(`WITH v(id) AS (VALUES `)
	for i, id := range ids {
		if i > 0 {
			sb.WriteString(", ")
		}
		args = append(args, id)
		fmt.Fprintf(&sb, "(CAST($%d AS BIGINT))", len(args))
	}
	// The bounds are numbered as they first appear (SQLite numbers $N
	// parameters in that order).
	vals := []int64{1: lo, 2: a, 3: b, 4: hi, 5: day}
	placed := map[int]string{}
	p := func(k int) string {
		if ph, ok := placed[k]; ok {
			return ph
		}
		args = append(args, vals[k])
		placed[k] = fmt.Sprintf("CAST($%d AS BIGINT)", len(args))
		return placed[k]
	}
	raw := func(agg, from, to string) string {
		return `(SELECT ` + agg + `(c."time") FROM chart_data c WHERE c.factory_id = v.id AND c."time" >= ` + from + ` AND c."time" < ` + to + `)`
	}
	days := func(col, order string) string {
		return `(SELECT r.` + col + ` FROM rollups r WHERE r.factory_id = v.id AND r.width = ` + p(5) + ` AND r.bucket >= ` + p(2) +
			` AND r.bucket < ` + p(3) + ` AND r.n > 0 ORDER BY r.bucket ` + order + ` LIMIT 1)`
	}
	sb.WriteString(`) SELECT v.id, COALESCE(` + raw("MIN", p(1), p(2)) + `, ` + days("min_time", "ASC") + `, ` + raw("MIN", p(3), p(4)) + `), ` +
		`COALESCE(` + raw("MAX", p(3), p(4)) + `, ` + days("max_time", "DESC") + `, ` + raw("MAX", p(1), p(2)) + `) FROM v`)
	rows, err := s.Client(ctx).QueryContext(ctx, sb.String(), args...)
	if err != nil {
		return nil, classify(err, "")
	}
	defer rows.Close()
	out := make(map[int][2]int64, len(ids))
	for rows.Next() {
		var id int
		var lo, hi sql.NullInt64
		if err := rows.Scan(&id, &lo, &hi); err != nil {
			return nil, classify(err, "")
		}
		if lo.Valid && hi.Valid {
			out[id] = [2]int64{lo.Int64, hi.Int64}
		}
	}
	return out, classify(rows.Err(), "")
}

// wholeDays is factory id's window w for rollupParts: whole days from the
// daily rollups, the edges of the window from raw points; an open bound is
// a far sentinel.
func wholeDays(id int, w Window) rollupWindow {
	const far = int64(1) << 62
	lo, hi := -far, far
	if w.From != nil {
		lo = *w.From
	}
	if w.To != nil {
		hi = *w.To
	}
	return splitWindow(seriesWindow{factoryID: int64(id), interval: 1, from: lo, to: hi}, rollupWidths[0])
}

// Summaries computes the summary of each factory in ids over w in one
// statement.
func (s *Service) Summaries(ctx context.Context, ids []int, w Window) (map[int]Summary, error) {
	if err := w.Validate(); err != nil {
		return nil, err
	}
	ctx, done, err := s.bulk(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	out := make(map[int]Summary, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	wins := make([]rollupWindow, len(ids))
	for i, id := range ids {
		wins[i] = wholeDays(id, w)
	}
	with, args := rollupParts(wins, false, false)
	query := with + `SELECT fid, SUM(n), SUM(sa), SUM(sg), MIN(tmin), MAX(tmax), MIN(mina), MAX(maxa), MIN(ming), MAX(maxg) FROM parts`
	rows, err := s.Client(ctx).QueryContext(ctx, query+` GROUP BY fid`, args...)
	if err != nil {
		return nil, classify(err, "")
	}
	defer rows.Close()
	for rows.Next() {
		var id int
		var sm Summary
		var first, last int64
		var minA, maxA, minG, maxG float64
		if err := rows.Scan(&id, &sm.Count, &sm.TotalActual, &sm.TotalGoal, &first, &last, &minA, &maxA, &minG, &maxG); err != nil {
			return nil, classify(err, "")
		}
		sm.FirstTime, sm.LastTime = &first, &last
		sm.MinActual, sm.MaxActual, sm.MinGoal, sm.MaxGoal = &minA, &maxA, &minG, &maxG
		if sm.TotalGoal != 0 {
			att := sm.TotalActual / sm.TotalGoal
			sm.Attainment = &att
		}
		if !finite(sm.TotalActual, sm.TotalGoal) || !finitePtrs(sm.Attainment, sm.MinActual, sm.MaxActual, sm.MinGoal, sm.MaxGoal) {
			sm = Summary{Err: DataOutOfRangeError(fmt.Errorf("factory %d: a summary value is not finite", id))}
		}
		out[id] = sm
	}
	if err := rows.Err(); err != nil {
		return nil, classify(err, "")
	}
	for _, id := range ids {
		if _, ok := out[id]; !ok {
			out[id] = Summary{}
		}
	}
	return out, nil
}

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

// scanInSpans runs a page's scan on PostgreSQL by spans of time with
// constant bounds (pageSpan), so that each statement is planned over the
// months it may read: first the span that holds need points, matching a
// value filter or not. Without a filter that is the page. With one the
// daily rollups cannot say where need matching points end, so the scan
// goes on over spans sixteen times as long as the last, up to the last stored
// time in the page's bounds, until it has need points. (One statement
// bounded by the window alone planned every month: 20 ms against 3 ms for
// the ten first points below goal of a 229-month factory.) scan reads the
// next points in [lo, hi), at most limit, and says how many it found.
func (s *Service) scanInSpans(ctx context.Context, id int, p PointsQuery, need int, scan func(lo, hi int64, limit int) (int, error)) error {
	sp, err := s.pageSpan(ctx, id, p, need)
	if err != nil || sp.lo >= sp.hi {
		return err
	}
	got, err := scan(sp.lo, sp.hi, need)
	if err != nil || p.Filter.none() {
		return err
	}
	asc := p.Desc == (p.Last != nil)
	lo, hi := sp.lo, sp.hi
	for width := max(hi-lo, 1); got < need; width = min(16*width, MaxTime) {
		if asc {
			if hi >= sp.to {
				return nil
			}
			lo, hi = hi, min(hi+width, sp.to)
		} else {
			if lo <= sp.from {
				return nil
			}
			lo, hi = max(lo-width, sp.from), lo
		}
		m, err := scan(lo, hi, need-got)
		if err != nil {
			return err
		}
		got += m
	}
	return nil
}

// scanBounds is [lo, hi), the times a page may hold: its window and
// cursors ("after" is beyond in the page's order, "before" short of it).
func scanBounds(p PointsQuery) (lo, hi int64) {
	lo, hi = MinTime, MaxTime+1
	if p.From != nil {
		lo = max(lo, *p.From)
	}
	if p.To != nil {
		hi = min(hi, *p.To)
	}
	up := !p.Desc // the page's order is ascending
	for _, c := range []struct {
		t      *int64
		beyond bool
	}{{p.After, true}, {p.Before, false}} {
		if c.t == nil {
			continue
		}
		if c.beyond == up {
			lo = max(lo, *c.t+1)
		} else {
			hi = min(hi, *c.t)
		}
	}
	return lo, hi
}

// span is what pageSpan finds: [lo, hi) holds the first points of a
// page's scan, and [from, to) every stored point the page's bounds hold
// (both empty when there is none).
type span struct{ lo, hi, from, to int64 }

// pageSpan returns the times [lo, hi) that hold the first need points of
// the page's scan (from its window and cursors, in the order it scans;
// points matching p's value filter or not: the rollups count them all),
// found in the daily rollups: the scan's first stored time and the day at
// which the days after the first hold need points; and [from, to), the
// first and last stored times in the page's bounds. Bounded by constants,
// the page's statement is planned over the partitions (months) of
// chart_data it may read only, not every month (PostgreSQL).
func (s *Service) pageSpan(ctx context.Context, id int, p PointsQuery, need int) (span, error) {
	lo, hi := scanBounds(p)
	if lo >= hi {
		return span{lo, lo, lo, lo}, nil
	}
	day := rollupWidths[0]
	// The scan runs up from lo unless it serves a descending page forward
	// or an ascending one backward (last/before).
	asc := p.Desc == (p.Last != nil)
	key := spanKey{id: id, lo: lo, hi: hi, need: need, asc: asc}
	// Inside a transaction the version may be one that is rolled back
	// and given again to other points: no reuse there.
	reuse := ent.TxFromContext(ctx) == nil
	if reuse && p.SeriesVersion != 0 {
		key.version = p.SeriesVersion
		if sp, ok := s.pageSpans.Get(key); ok {
			return sp, nil
		}
	}
	// edge: the scan's first stored time, from the first (last) day that
	// overlaps [lo, hi) and holds points; far, its last, from the last
	// (first) such day. reach: the day at which the days
	// wholly inside [lo, hi), counted in the scan's order, hold need
	// points (a day that also holds points outside can only end the count
	// where it changes nothing).
	dayLo := floorDiv(lo, day) * day
	edge, far, order, back, countFrom, countTo := `min_time`, `max_time`, `ASC`, `DESC`, dayLo+1, hi
	if !asc {
		edge, far, order, back, countFrom, countTo = `max_time`, `min_time`, `DESC`, `ASC`, dayLo, floorDiv(hi-1, day)*day
	}
	args := []any{id, day, dayLo, hi, countFrom, countTo, need}
	// Each day counted holds a point at least: need days at most, read in
	// order along the index.
	reach := `(SELECT x.bucket FROM (SELECT bucket, SUM(n) OVER (ORDER BY bucket ` + order + `) AS c FROM (SELECT bucket, n FROM rollups ` +
		`WHERE factory_id = $1 AND width = $2 AND bucket >= $5 AND bucket < $6 ORDER BY bucket ` + order + ` LIMIT $7) d) x ` +
		`WHERE x.c >= $7 ORDER BY x.bucket ` + order + ` LIMIT 1)`
	// The factory's series_version comes from the same snapshot as the
	// bounds, so that they are remembered under the version they hold for.
	days := func(col, order string) string {
		return `(SELECT ` + col + ` FROM rollups WHERE factory_id = $1 AND width = $2 ` +
			`AND bucket >= $3 AND bucket < $4 AND n > 0 ORDER BY bucket ` + order + ` LIMIT 1)`
	}
	rows, err := s.Client(ctx).QueryContext(ctx, `SELECT (SELECT series_version FROM factories WHERE id = $1), `+
		days(edge, order)+`, `+days(far, back)+`, `+reach, args...)
	if err != nil {
		return span{}, classify(err, "")
	}
	defer rows.Close()
	var version, first, farthest, reached sql.NullInt64
	if rows.Next() {
		if err := rows.Scan(&version, &first, &farthest, &reached); err != nil {
			return span{}, classify(err, "")
		}
	}
	if err := rows.Err(); err != nil {
		return span{}, classify(err, "")
	}
	sp := span{lo: lo, hi: hi, from: lo, to: hi}
	switch {
	case !first.Valid:
		sp = span{lo, lo, lo, lo} // no point in [lo, hi)
	case asc:
		sp.from, sp.to = max(lo, first.Int64), min(hi, farthest.Int64+1)
		sp.lo = sp.from
		if reached.Valid {
			sp.hi = min(hi, reached.Int64+day)
		}
	default:
		sp.from, sp.to = max(lo, farthest.Int64), min(hi, first.Int64+1)
		sp.hi = sp.to
		if reached.Valid {
			sp.lo = max(lo, reached.Int64)
		}
	}
	sp.hi = max(sp.lo, sp.hi)
	sp.to = max(sp.from, sp.to)
	if reuse && version.Valid && version.Int64 != 0 {
		key.version = version.Int64
		s.pageSpans.Add(key, sp)
	}
	return sp, nil
}

// pageSpanCacheSize is how many pages' time bounds (pageSpan's answers)
// the service remembers, least recently used first out: about 100 bytes
// each.
const pageSpanCacheSize = 4096

// spanKey is what pageSpan's answer depends on: the factory and the
// version of its series (series_version, which every write of its points
// and every retention drop changes in the writing transaction), and the
// page's bounds, order and size. Version
// 0, which factories that were never written and rows written before the
// column existed share, is never remembered. Only PostgreSQL remembers
// bounds, whose identity sequence never gives a deleted factory's id to
// another.
type spanKey struct {
	id      int
	version int64
	lo, hi  int64
	need    int
	asc     bool
}

// CountPoints counts factory id's points in the page's window and filter.
// Without a value filter the count is read as Summaries reads it: whole
// days from the daily rollups, the window's edges from raw points, so it
// costs a day's points at most, not the factory's (a count of 10,000,000
// points took 1.5 to 2.7 s on PostgreSQL). A value filter counts the raw
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

// Key identifies the window in cache keys.
func (w Window) Key() string {
	k := func(p *int64) string {
		if p == nil {
			return "-"
		}
		return fmt.Sprint(*p)
	}
	return k(w.From) + ".." + k(w.To)
}

// seriesWindow is one factory's series: the window [from, to) cut into
// buckets of interval seconds from origin (a multiple of interval at or
// before from).
type seriesWindow struct{ factoryID, origin, from, to, interval int64 }

// commonRollupWidth returns the rollup width that every window's interval
// is a multiple of, or 0.
func commonRollupWidth(wins []seriesWindow) int64 {
	var wd int64
	for _, w := range wins {
		x := rollupWidthFor(w.interval)
		if x == 0 {
			return 0
		}
		if wd == 0 || x < wd {
			wd = x
		}
	}
	// The smallest width found divides every interval only if each is a
	// multiple of it; widths are multiples of one another, so it does.
	return wd
}

// windowSpan returns the smallest [lo, hi) that holds every window.
func windowSpan(wins []seriesWindow) (lo, hi int64) {
	lo, hi = wins[0].from, wins[0].to
	for _, w := range wins[1:] {
		lo, hi = min(lo, w.from), max(hi, w.to)
	}
	return lo, hi
}

// seriesFromRollups computes a series from whole rollup buckets and the
// raw points at the windows' edges, in one statement. FIRST and LAST take
// the values of the part (rollup bucket or edge point) with the earliest
// or latest time; M4 picks, in each series bucket, the first and last point
// and the earliest time of the smallest and largest actual over its parts
// (exactly the points the raw computation picks): see m4FromRollups.
func (s *Service) seriesFromRollups(ctx context.Context, out map[int]SeriesResult, wins []seriesWindow, wd int64, agg Aggregate) error {
	rws := make([]rollupWindow, len(wins))
	for i, w := range wins {
		rws[i] = splitWindow(w, wd)
	}
	points := agg == AggFirst || agg == AggLast || agg == AggM4
	with, args := rollupParts(rws, points, agg == AggM4)
	const bucket = `off + (t - off) / iv * iv`
	const part = `PARTITION BY fid, off, iv, (t - off) / iv`
	var query string
	switch agg {
	case AggFirst, AggLast:
		cols, order := `fa, fg`, `tmin`
		if agg == AggLast {
			cols, order = `la, lg`, `tmax DESC`
		}
		query = with + `, b AS (SELECT fid, ` + bucket + ` AS bt, ` + cols + `, ROW_NUMBER() OVER (` + part + ` ORDER BY ` + order + `) AS r, ` +
			`SUM(n) OVER (` + part + `) AS bn FROM parts) SELECT fid, bt, ` + cols + `, bn FROM b WHERE r = 1 ORDER BY fid, bt`
	case AggM4:
		return s.m4FromRollups(ctx, out, with, args)
	default:
		var cols string
		switch agg {
		case AggAvg:
			cols = `SUM(sa) / SUM(n), SUM(sg) / SUM(n)`
		case AggSum:
			cols = `SUM(sa), SUM(sg)`
		case AggMin:
			cols = `MIN(mina), MIN(ming)`
		case AggMax:
			cols = `MAX(maxa), MAX(maxg)`
		}
		query = with + `SELECT fid, ` + bucket + ` AS bt, ` + cols + `, SUM(n) FROM parts ` +
			`GROUP BY fid, off, iv, (t - off) / iv ORDER BY fid, bt`
	}
	return s.scanSeries(ctx, out, query, args)
}

// m4FromPoints computes M4 from raw points: query returns (factory,
// bucket number, time, actual, goal) rows, in any order. Each bucket keeps
// its first and last point and the earliest of its smallest and of its
// largest actual, as the raw definition does.
func (s *Service) m4FromPoints(ctx context.Context, out map[int]SeriesResult, query string, args []any) error {
	type key struct {
		fid int
		k   int64
	}
	buckets := map[key]*[4]Point{}
	rows, err := s.Client(ctx).QueryContext(ctx, query, args...)
	if err != nil {
		return classify(err, "")
	}
	defer rows.Close()
	for rows.Next() {
		var k key
		var p Point
		if err := rows.Scan(&k.fid, &k.k, &p.Time, &p.Actual, &p.Goal); err != nil {
			return classify(err, "")
		}
		b := buckets[k]
		if b == nil {
			buckets[k] = &[4]Point{p, p, p, p}
			continue
		}
		if p.Time < b[0].Time {
			b[0] = p
		}
		if p.Time > b[1].Time {
			b[1] = p
		}
		if p.Actual < b[2].Actual || (p.Actual == b[2].Actual && p.Time < b[2].Time) {
			b[2] = p
		}
		if p.Actual > b[3].Actual || (p.Actual == b[3].Actual && p.Time < b[3].Time) {
			b[3] = p
		}
	}
	if err := rows.Err(); err != nil {
		return classify(err, "")
	}
	keys := make([]key, 0, len(buckets))
	for k := range buckets {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].fid != keys[j].fid {
			return keys[i].fid < keys[j].fid
		}
		return keys[i].k < keys[j].k
	})
	for _, k := range keys {
		appendM4(out, k.fid, *buckets[k])
	}
	return nil
}

// appendM4 appends to factory fid's series the distinct points of one
// bucket's M4 choice, in time order.
func appendM4(out map[int]SeriesResult, fid int, pts [4]Point) {
	sel := pts[:0] // pts is a copy: overwritten in place as it is read
	for _, p := range pts {
		dup := false
		for _, q := range sel {
			if q.Time == p.Time {
				dup = true
				break
			}
		}
		if !dup {
			sel = append(sel, p)
		}
	}
	for i := 1; i < len(sel); i++ { // insertion sort of at most four
		for j := i; j > 0 && sel[j].Time < sel[j-1].Time; j-- {
			sel[j], sel[j-1] = sel[j-1], sel[j]
		}
	}
	r := out[fid]
	for _, p := range sel {
		r.Epochs = append(r.Epochs, max(p.Time, MinTime))
		r.Actual = append(r.Actual, p.Actual)
		r.Goal = append(r.Goal, p.Goal)
		r.Counts = append(r.Counts, 1)
	}
	out[fid] = r
}

// m4FromRollups computes M4 over the parts defined by with: one grouping
// finds each series bucket's first and last time and its smallest and
// largest actual, a second one over the parts joined to their bucket takes
// the first and last point's values (carried by the parts) and the earliest
// time of each extreme (ties: the earliest time wins, as over raw points),
// and a third the goal at that time, which the part holding it carries (a
// rollup keeps the goal at its extremes' times): chart_data is read for the
// edge points only. Each bucket comes back as one row; its up to four
// points are put in time order here.
func (s *Service) m4FromRollups(ctx context.Context, out map[int]SeriesResult, with string, args []any) error {
	rows, err := s.Client(ctx).QueryContext(ctx, m4Query(with, s.postgres), args...)
	if err != nil {
		return classify(err, "")
	}
	defer rows.Close()
	for rows.Next() {
		var fid int
		var pts [4]Point
		if err := rows.Scan(&fid, &pts[0].Time, &pts[0].Actual, &pts[0].Goal, &pts[1].Time, &pts[1].Actual, &pts[1].Goal,
			&pts[2].Time, &pts[2].Actual, &pts[2].Goal, &pts[3].Time, &pts[3].Actual, &pts[3].Goal); err != nil {
			return classify(err, "")
		}
		appendM4(out, fid, pts)
	}
	return classify(rows.Err(), "")
}

// m4Query is the statement of m4FromRollups over the parts defined by
// with: one row per series bucket, (fid, then time, actual and goal of its
// first point, its last point, the earliest point of its smallest actual
// and that of its largest actual), in order.
func m4Query(with string, postgres bool) string {
	// PostgreSQL takes the goal with the earliest time in the same
	// grouping: the smallest [time, goal] array among the parts that hold
	// the extreme (times up to 8.64e12 are exact in a double). SQLite has
	// no arrays: it joins the one part that holds each chosen time.
	goals := ""
	final := `SELECT h.fid, h.f, h.fa, h.fg, h.l, h.la, h.lg, h.tn, h.mn, n.gmina, h.tx, h.mx, x.gmaxa FROM h ` +
		`JOIN q n ON n.fid = h.fid AND n.k = h.k AND n.tmina = h.tn AND n.mina = h.mn ` +
		`JOIN q x ON x.fid = h.fid AND x.k = h.k AND x.tmaxa = h.tx AND x.maxa = h.mx`
	if postgres {
		goals = `, (MIN(ARRAY[CAST(p.tmina AS double precision), p.gmina]) FILTER (WHERE p.mina = g.mn))[2] AS gn, ` +
			`(MIN(ARRAY[CAST(p.tmaxa AS double precision), p.gmaxa]) FILTER (WHERE p.maxa = g.mx))[2] AS gx`
		final = `SELECT h.fid, h.f, h.fa, h.fg, h.l, h.la, h.lg, h.tn, h.mn, h.gn, h.tx, h.mx, h.gx FROM h`
	}
	// q is parts narrowed to what the choice needs, computed once and
	// kept (narrow, it fits in PostgreSQL's work_mem; SQLite, told
	// MATERIALIZED, no longer recomputes it for each bucket it joins).
	// The goal at each extreme's chosen time comes from the one part that
	// holds that time (n, x; the rollups keep it), so chart_data is not
	// read again.
	return with + `, q AS MATERIALIZED (SELECT fid, (t - off) / iv AS k, tmin, tmax, mina, maxa, fa, fg, la, lg, tmina, tmaxa, gmina, gmaxa FROM parts), ` +
		`g AS (SELECT fid, k, MIN(tmin) AS f, MAX(tmax) AS l, MIN(mina) AS mn, MAX(maxa) AS mx FROM q GROUP BY fid, k), ` +
		`h AS (SELECT g.fid, g.k, MIN(g.f) AS f, MIN(g.l) AS l, MIN(g.mn) AS mn, MIN(g.mx) AS mx, ` +
		`MAX(CASE WHEN p.tmin = g.f THEN p.fa END) AS fa, MAX(CASE WHEN p.tmin = g.f THEN p.fg END) AS fg, ` +
		`MAX(CASE WHEN p.tmax = g.l THEN p.la END) AS la, MAX(CASE WHEN p.tmax = g.l THEN p.lg END) AS lg, ` +
		`MIN(CASE WHEN p.mina = g.mn THEN p.tmina END) AS tn, MIN(CASE WHEN p.maxa = g.mx THEN p.tmaxa END) AS tx` +
		goals + ` ` +
		`FROM g JOIN q p ON p.fid = g.fid AND p.k = g.k AND (p.tmin = g.f OR p.tmax = g.l OR p.mina = g.mn OR p.maxa = g.mx) ` +
		`GROUP BY g.fid, g.k) ` + final + ` ORDER BY h.fid, h.k`
}

// scanSeries reads (factory, time, actual, goal, count) rows into out.
func (s *Service) scanSeries(ctx context.Context, out map[int]SeriesResult, query string, args []any) error {
	rows, err := s.Client(ctx).QueryContext(ctx, query, args...)
	if err != nil {
		return classify(err, "")
	}
	defer rows.Close()
	for rows.Next() {
		var fid int
		var t, n int64
		var a, g float64
		if err := rows.Scan(&fid, &t, &a, &g, &n); err != nil {
			return classify(err, "")
		}
		r := out[fid]
		// A bucket aligned before the start of the time domain holds
		// points from MinTime on only; it is reported from there.
		r.Epochs = append(r.Epochs, max(t, MinTime))
		r.Actual = append(r.Actual, a)
		r.Goal = append(r.Goal, g)
		r.Counts = append(r.Counts, n)
		out[fid] = r
	}
	return classify(rows.Err(), "")
}
