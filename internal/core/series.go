package core

import (
	"context"
	"fmt"
	"strings"

	"github.com/sprocketapi/sprocket/internal/apperr"
)

// The raw SQL here is written once for both databases: "$n" placeholders
// (lib/pq needs them; SQLite reads them as parameters bound in order of
// first use, so each query introduces them in ascending order), "time"
// quoted, and every integer parameter cast to BIGINT so that SQLite divides
// integers as integers.

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
