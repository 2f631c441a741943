package core

import (
	"context"
	"fmt"
	"strings"

	"entgo.io/ent/dialect/sql"

	"github.com/sprocketapi/sprocket/internal/apperr"
)

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

// floorDiv divides rounding toward minus infinity.
func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
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
