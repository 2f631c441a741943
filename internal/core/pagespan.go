package core

import (
	"context"

	"entgo.io/ent/dialect/sql"
	"github.com/sprocketapi/sprocket/ent"
)

// scanInSpans runs a page's scan on PostgreSQL by spans of time with
// constant bounds (pageSpan), so that each statement is planned over the
// months it may read: first the span that holds need points, matching a
// value filter or not. Without a filter that is the page. With one the
// daily rollups cannot say where need matching points end, so the scan
// goes on over spans sixteen times as long as the last, up to the last stored
// time in the page's bounds, until it has need points (one statement
// bounded by the window alone is planned over every month of the window:
// docs/performance.md, "Pages of points with a value filter"). scan reads
// the next points in [lo, hi), at most limit, and says how many it found.
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
