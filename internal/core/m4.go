package core

import (
	"context"
	"sort"
)

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
