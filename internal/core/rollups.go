package core

import (
	"context"
	"fmt"
	"sort"
	"strings"
)

// Rollup widths, in seconds, coarsest first. A series whose bucket
// interval is a multiple of a width reads that width's rollups for the
// whole buckets of its window and raw points only for the partial buckets
// at its edges.
var rollupWidths = []int64{86400, 3600}

// bucketStart is the start of the width-second bucket holding t.
func bucketStart(t, width int64) int64 { return floorDiv(t, width) * width }

// refreshRollups recomputes every rollup bucket that holds one of the
// given times: the finest width from the raw points, each coarser one from
// the finer rollups it is made of (a day from its 24 hours: the same
// aggregates, reading a few dozen rows instead of every point of the day
// again). It runs in the writer's transaction, so rollups are exact
// whenever points are visible. Contiguous buckets are refreshed by one
// statement.
func (s *Service) refreshRollups(ctx context.Context, factoryID int, points []Point) error {
	if len(points) == 0 {
		return nil
	}
	const run = `factory_id = $2 AND "time" >= CAST($3 AS BIGINT) AND "time" < CAST($4 AS BIGINT)`
	fromPoints := rollupRefreshSQL(run)
	if s.postgres {
		fromPoints = rollupRefreshPostgresSQL(run)
	}
	c := s.Client(ctx)
	for i := len(rollupWidths) - 1; i >= 0; i-- { // finest first
		w := rollupWidths[i]
		query := fromPoints
		if i < len(rollupWidths)-1 {
			query = rollupFromFinerSQL(rollupWidths[i+1])
		}
		for _, run := range bucketRuns(points, w) {
			if _, err := c.ExecContext(ctx, query, w, factoryID, run[0], run[1]); err != nil {
				return classify(err, "")
			}
		}
	}
	return nil
}

// bucketRuns returns the runs [from, to) of contiguous width-second buckets
// that hold the points' times, in order.
func bucketRuns(points []Point, width int64) [][2]int64 {
	starts := make([]int64, 0, 16)
	seen := map[int64]bool{}
	for _, p := range points {
		b := bucketStart(p.Time, width)
		if !seen[b] {
			seen[b] = true
			starts = append(starts, b)
		}
	}
	sort.Slice(starts, func(i, j int) bool { return starts[i] < starts[j] })
	var runs [][2]int64
	for i := 0; i < len(starts); {
		j := i
		for j+1 < len(starts) && starts[j+1] == starts[j]+width {
			j++
		}
		runs = append(runs, [2]int64{starts[i], starts[j] + width})
		i = j + 1
	}
	return runs
}

// rollupFromFinerSQL is the statement that recomputes the rollups of width
// $1 of factory $2 whose buckets start in [$3, $4) from the rollups of
// width finer (which divides $1) inside them: counts and sums add up, the
// extremes are the extremes of the parts, the first and last points are
// those of the parts with the earliest and latest times, and the time of
// the smallest (largest) actual or goal is the earliest such time among the
// parts that hold that value — what rollupRefreshSQL computes from the
// points, with the same ties. A bucket whose parts are all gone keeps its
// row only if it had points (no point is ever removed from a factory that
// lives).
func rollupFromFinerSQL(finer int64) string {
	part := func(col, cond string) string {
		return `(SELECT h.` + col + ` FROM rollups h WHERE h.factory_id = g.fid AND h.width = ` + fmt.Sprint(finer) +
			` AND h.bucket >= g.b AND h.bucket < g.b + $1 AND ` + cond + `)`
	}
	pick := func(tcol, vcol, val string) string {
		return `(SELECT MIN(h.` + tcol + `) FROM rollups h WHERE h.factory_id = g.fid AND h.width = ` + fmt.Sprint(finer) +
			` AND h.bucket >= g.b AND h.bucket < g.b + $1 AND h.` + vcol + ` = g.` + val + `)`
	}
	// The goal at the chosen time of the smallest (largest) actual: that
	// of the part that holds it.
	goalAt := func(gcol, tcol, vcol, val string) string {
		return `(SELECT h.` + gcol + ` FROM rollups h WHERE h.factory_id = g.fid AND h.width = ` + fmt.Sprint(finer) +
			` AND h.bucket >= g.b AND h.bucket < g.b + $1 AND h.` + vcol + ` = g.` + val + ` AND h.` + tcol + ` = ` + pick(tcol, vcol, val) + `)`
	}
	return `WITH g AS (SELECT factory_id AS fid, bucket - (((bucket % $1) + $1) % $1) AS b, SUM(n) AS n, ` +
		`SUM(sum_actual) AS sa, SUM(sum_goal) AS sg, MIN(min_actual) AS mina, MAX(max_actual) AS maxa, ` +
		`MIN(min_goal) AS ming, MAX(max_goal) AS maxg, MIN(min_time) AS tmin, MAX(max_time) AS tmax ` +
		`FROM rollups WHERE factory_id = $2 AND width = ` + fmt.Sprint(finer) + ` AND bucket >= CAST($3 AS BIGINT) AND bucket < CAST($4 AS BIGINT) ` +
		`GROUP BY factory_id, b) ` +
		rollupInsertHead +
		part("first_actual", "h.min_time = g.tmin") + `, ` + part("first_goal", "h.min_time = g.tmin") + `, ` +
		part("last_actual", "h.max_time = g.tmax") + `, ` + part("last_goal", "h.max_time = g.tmax") + `, ` +
		pick("min_actual_time", "min_actual", "mina") + `, ` + pick("max_actual_time", "max_actual", "maxa") + `, ` +
		pick("min_goal_time", "min_goal", "ming") + `, ` + pick("max_goal_time", "max_goal", "maxg") + `, ` +
		goalAt("min_actual_goal", "min_actual_time", "min_actual", "mina") + `, ` + goalAt("max_actual_goal", "max_actual_time", "max_actual", "maxa") + ` ` +
		`FROM g WHERE true ` + rollupUpsertTail
}

// rollupRefreshSQL is the statement that recomputes, from chart_data, every
// rollup of width $1 over the points that match where (which may use $2 on),
// whole buckets at a time; SQLite runs it, and the migration that added the
// first/last and extreme-time columns backfilled them with it (where: true).
// Each bucket's first and last point are the points at its MIN and MAX
// time; the time of its smallest (largest) actual or goal is the earliest
// time that holds that value, and the goal at the smallest (largest)
// actual is the goal at that time. The subqueries are range scans of the
// (factory_id, time) index within the bucket's points.
// rollupRefreshPostgresSQL computes the same in one scan.
func rollupRefreshSQL(where string) string {
	pick := func(col, val string) string {
		return `(SELECT MIN(c."time") FROM chart_data c WHERE c.factory_id = g.fid AND c."time" >= g.tmin AND c."time" <= g.tmax AND c.` + col + ` = g.` + val + `)`
	}
	at := func(col, t string) string {
		return `(SELECT c.` + col + ` FROM chart_data c WHERE c.factory_id = g.fid AND c."time" = g.` + t + `)`
	}
	// g0 aggregates each bucket; g adds the times of its smallest and
	// largest actual, once (MATERIALIZED: inlined, each would be computed
	// again where the goal at that time is read).
	return `WITH g0 AS (SELECT factory_id AS fid, "time" - ((("time" % $1) + $1) % $1) AS b, COUNT(*) AS n, ` +
		`SUM(actual) AS sa, SUM(goal) AS sg, MIN(actual) AS mina, MAX(actual) AS maxa, MIN(goal) AS ming, MAX(goal) AS maxg, ` +
		`MIN("time") AS tmin, MAX("time") AS tmax FROM chart_data WHERE ` + where + ` GROUP BY factory_id, b), ` +
		`g AS MATERIALIZED (SELECT g.*, ` + pick("actual", "mina") + ` AS tmina, ` + pick("actual", "maxa") + ` AS tmaxa FROM g0 AS g) ` +
		rollupInsertHead +
		at("actual", "tmin") + `, ` + at("goal", "tmin") + `, ` + at("actual", "tmax") + `, ` + at("goal", "tmax") + `, ` +
		`tmina, tmaxa, ` + pick("goal", "ming") + `, ` + pick("goal", "maxg") + `, ` +
		// The goal at the time of the smallest and the largest actual.
		at("goal", "tmina") + `, ` + at("goal", "tmaxa") + ` ` +
		// WHERE true: without it SQLite would read ON CONFLICT as a join's ON.
		`FROM g WHERE true ` +
		rollupUpsertTail
}

// rollupRefreshPostgresSQL is rollupRefreshSQL in one grouped scan of the
// points, for PostgreSQL: each value that the SQLite statement finds with a
// subquery is the smallest or largest of an array ordered as the rule
// says, compared element by element. The first point is the smallest
// [time, actual, goal] and the last the largest; the smallest actual at
// its earliest time, with the goal there, is the smallest [actual, time,
// goal], and the largest actual at its earliest time the largest [actual,
// -time, goal]; likewise [goal, time] and [goal, -time]. Times fit a
// double exactly (|time| <= MaxTime < 2^53). Besides reading each point
// once instead of probing the index ten times a bucket, it names
// chart_data once: on a partitioned table each subquery would be planned
// over the refreshed run's months on every write.
func rollupRefreshPostgresSQL(where string) string {
	const t = `CAST("time" AS DOUBLE PRECISION)`
	return `WITH g AS (SELECT factory_id AS fid, "time" - ((("time" % $1) + $1) % $1) AS b, COUNT(*) AS n, ` +
		`SUM(actual) AS sa, SUM(goal) AS sg, MIN(actual) AS mina, MAX(actual) AS maxa, MIN(goal) AS ming, MAX(goal) AS maxg, ` +
		`MIN("time") AS tmin, MAX("time") AS tmax, ` +
		`MIN(ARRAY[` + t + `, actual, goal]) AS firstp, MAX(ARRAY[` + t + `, actual, goal]) AS lastp, ` +
		`MIN(ARRAY[actual, ` + t + `, goal]) AS lowa, MAX(ARRAY[actual, -` + t + `, goal]) AS higha, ` +
		`MIN(ARRAY[goal, ` + t + `]) AS lowg, MAX(ARRAY[goal, -` + t + `]) AS highg ` +
		`FROM chart_data WHERE ` + where + ` GROUP BY factory_id, b) ` +
		rollupInsertHead +
		`firstp[2], firstp[3], lastp[2], lastp[3], CAST(lowa[2] AS BIGINT), CAST(-higha[2] AS BIGINT), ` +
		`CAST(lowg[2] AS BIGINT), CAST(-highg[2] AS BIGINT), lowa[3], higha[3] ` +
		`FROM g WHERE true ` + rollupUpsertTail
}

// rollupInsertHead inserts the rollups of width $1 computed in g (fid, b,
// n, sa, sg, mina, maxa, ming, maxg, tmin, tmax); the statement adds the
// first/last values and the extremes' times, in that order.
const rollupInsertHead = `INSERT INTO rollups (factory_id, width, bucket, n, sum_actual, sum_goal, min_actual, max_actual, min_goal, max_goal, min_time, max_time, ` +
	`first_actual, first_goal, last_actual, last_goal, min_actual_time, max_actual_time, min_goal_time, max_goal_time, min_actual_goal, max_actual_goal) ` +
	`SELECT fid, CAST($1 AS BIGINT), b, n, sa, sg, mina, maxa, ming, maxg, tmin, tmax, `

// rollupUpsertTail replaces a stored rollup with the one just computed.
const rollupUpsertTail = `ON CONFLICT (factory_id, width, bucket) DO UPDATE SET n = excluded.n, sum_actual = excluded.sum_actual, ` +
	`sum_goal = excluded.sum_goal, min_actual = excluded.min_actual, max_actual = excluded.max_actual, ` +
	`min_goal = excluded.min_goal, max_goal = excluded.max_goal, min_time = excluded.min_time, max_time = excluded.max_time, ` +
	`first_actual = excluded.first_actual, first_goal = excluded.first_goal, last_actual = excluded.last_actual, ` +
	`last_goal = excluded.last_goal, min_actual_time = excluded.min_actual_time, max_actual_time = excluded.max_actual_time, ` +
	`min_goal_time = excluded.min_goal_time, max_goal_time = excluded.max_goal_time, ` +
	`min_actual_goal = excluded.min_actual_goal, max_actual_goal = excluded.max_actual_goal`

// rollupWidthFor returns the coarsest rollup width that divides interval,
// or 0 when none does (the series then reads raw points).
func rollupWidthFor(interval int64) int64 {
	for _, w := range rollupWidths {
		if interval%w == 0 {
			return w
		}
	}
	return 0
}

// niceInterval rounds an interval up to whole days, hours or minutes (the
// largest unit it reaches), or under a minute to a divisor of a minute (1,
// 2, 3, 4, 5, 6, 10, 12, 15, 20 or 30 seconds), so that buckets line up
// with the minutes, and from an hour on with the rollups, and read well on
// a time axis.
func niceInterval(iv int64) int64 {
	for _, unit := range []int64{86400, 3600, 60} {
		if iv >= unit {
			return (iv + unit - 1) / unit * unit
		}
	}
	for _, d := range []int64{1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30} {
		if iv <= d {
			return d
		}
	}
	return 60
}

// rollupWindow is one factory's series window [from, to) split for a
// rollup read: raw points in [from, rollupFrom) and [rollupTo, to), whole
// rollups of the given width in [rollupFrom, rollupTo). origin and
// interval are the series' bucketing (see seriesWindow).
type rollupWindow struct {
	factoryID, origin, interval, from, to, rollupFrom, rollupTo, width int64
}

func splitWindow(w seriesWindow, width int64) rollupWindow {
	rollupFrom := -floorDiv(-w.from, width) * width // ceil to a multiple of width
	rollupTo := floorDiv(w.to, width) * width
	if rollupFrom >= rollupTo {
		rollupFrom, rollupTo = w.to, w.to // too short for a whole bucket: all raw
	}
	return rollupWindow{w.factoryID, w.origin, w.interval, w.from, w.to, rollupFrom, rollupTo, width}
}

// edgeBranchesUpTo is the number of windows up to which rollupParts reads
// each window's edge points by a statement branch of its own.
const edgeBranchesUpTo = 64

// rollupParts returns, for windows that share one rollup width, the WITH
// clause that defines parts(fid, off, iv, t, n, sa, sg, mina, maxa, ming,
// maxg, tmin, tmax): one row per raw edge point or whole rollup bucket of
// each window, which aggregate into exact results for any bucket that is a
// union of rollup buckets. With points, parts also has fa, fg, la, lg (the
// values of the first and last point), tmina and tmaxa (the earliest time
// of the smallest and largest actual), which FIRST, LAST and M4 need; with
// extremes (M4), also gmina and gmaxa (the goal at those times).
func rollupParts(wins []rollupWindow, points, extremes bool) (string, []any) {
	var b strings.Builder
	args := make([]any, 0, 8*len(wins))
	b.WriteString(`WITH w(fid, off, iv, lo, hi, a, b, wd) AS (VALUES `)
	for i, w := range wins {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(")
		// The CTE's columns: w(fid, off, iv, lo, hi, a, b, wd).
		for j, v := range []int64{w.factoryID, w.origin, w.interval, w.from, w.to, w.rollupFrom, w.rollupTo, w.width} {
			if j > 0 {
				b.WriteString(", ")
			}
			args = append(args, v)
			fmt.Fprintf(&b, "CAST($%d AS BIGINT)", len(args))
		}
		b.WriteString(")")
	}
	// The factories and the width are also given as constants: with them
	// the planner sees how few rows each side has and walks the indexes
	// instead of scanning the tables (PostgreSQL estimates joins on a
	// VALUES list poorly).
	var in strings.Builder
	in.WriteString("(")
	for i, w := range wins {
		if i > 0 {
			in.WriteString(", ")
		}
		args = append(args, w.factoryID)
		fmt.Fprintf(&in, "$%d", len(args))
	}
	in.WriteString(")")
	args = append(args, wins[0].width)
	width := fmt.Sprintf("$%d", len(args))
	cols, rawExtra, rollupExtra := "", "", ""
	if points {
		cols = `, fa, fg, la, lg, tmina, tmaxa`
		rawExtra = `, c.actual, c.goal, c.actual, c.goal, c."time", c."time"`
		rollupExtra = `, r.first_actual, r.first_goal, r.last_actual, r.last_goal, r.min_actual_time, r.max_actual_time`
	}
	if extremes {
		cols += `, gmina, gmaxa`
		rawExtra += `, c.goal, c.goal`
		rollupExtra += `, r.min_actual_goal, r.max_actual_goal`
	}
	raw := `SELECT w.fid, w.off, w.iv, c."time", 1, c.actual, c.goal, c.actual, c.actual, c.goal, c.goal, c."time", c."time"` + rawExtra + ` ` +
		`FROM chart_data c JOIN w ON c.factory_id = w.fid WHERE c.factory_id IN ` + in.String() + ` AND `
	b.WriteString(`), parts(fid, off, iv, t, n, sa, sg, mina, maxa, ming, maxg, tmin, tmax` + cols + `) AS (`)
	if len(wins) > edgeBranchesUpTo {
		b.WriteString(raw + `c."time" >= w.lo AND c."time" < w.a UNION ALL `)
		b.WriteString(raw + `c."time" >= w.b AND c."time" < w.hi UNION ALL `)
	} else {
		// Each window's edges as their own range scans with the bounds
		// as parameters: the planner then knows they hold at most a
		// bucket's points (joined to w it guesses a large share of the
		// table, and plans the rest of the statement, hash tables and
		// sorts, for millions of rows). The parameters are w's.
		for i, w := range wins {
			p := func(col int) string { return fmt.Sprintf("CAST($%d AS BIGINT)", 8*i+col+1) }
			sel := `SELECT ` + p(0) + `, ` + p(1) + `, ` + p(2) + `, c."time", 1, c.actual, c.goal, c.actual, c.actual, c.goal, c.goal, c."time", c."time"` +
				rawExtra + ` FROM chart_data c WHERE c.factory_id = ` + p(0) + ` AND `
			if w.from < w.rollupFrom {
				b.WriteString(sel + `c."time" >= ` + p(3) + ` AND c."time" < ` + p(5) + ` UNION ALL `)
			}
			if w.rollupTo < w.to {
				b.WriteString(sel + `c."time" >= ` + p(6) + ` AND c."time" < ` + p(4) + ` UNION ALL `)
			}
		}
	}
	b.WriteString(`SELECT w.fid, w.off, w.iv, r.bucket, r.n, r.sum_actual, r.sum_goal, r.min_actual, r.max_actual, ` +
		`r.min_goal, r.max_goal, r.min_time, r.max_time` + rollupExtra + ` FROM rollups r JOIN w ON r.factory_id = w.fid AND r.width = w.wd ` +
		`WHERE r.factory_id IN ` + in.String() + ` AND r.width = CAST(` + width + ` AS BIGINT) AND r.bucket >= w.a AND r.bucket < w.b) `)
	return b.String(), args
}
