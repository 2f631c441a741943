package core

import (
	"context"
	"errors"
	"fmt"

	"github.com/lib/pq"

	"github.com/sprocketapi/sprocket/ent/chartdata"
	"github.com/sprocketapi/sprocket/internal/apperr"
	"github.com/sprocketapi/sprocket/internal/database"
)

// MaxRecordBatch is the most points one RecordProduction call takes.
const MaxRecordBatch = 100000

// Notifier hears about points as they are recorded, and about deleted
// factories. It is called inside the writing transaction, so an
// implementation must deliver only once the transaction commits
// (PostgreSQL's NOTIFY does; an in-process one hooks the commit).
type Notifier interface {
	PointsRecorded(ctx context.Context, factoryID int, points []Point) error
	FactoryDeleted(ctx context.Context, factoryID int) error
}

// SetNotifier installs n; nil turns notifications off.
func (s *Service) SetNotifier(n Notifier) { s.notifier = n }

// RecordResult says what RecordProduction did.
type RecordResult struct {
	Inserted, Updated int
}

// RecordProduction adds points to factory id in one transaction. Without
// upsert, a time the factory already has fails the whole batch with a
// conflict; with upsert, such points replace the stored ones.
func (s *Service) RecordProduction(ctx context.Context, id int, points []Point, upsert bool) (RecordResult, error) {
	var res RecordResult
	if len(points) == 0 {
		return res, apperr.InvalidField("points", "points must not be empty.")
	}
	if len(points) > MaxRecordBatch {
		return res, apperr.InvalidField("points", "at most %d points a call; split the batch.", MaxRecordBatch)
	}
	if err := ValidatePoints("points", points); err != nil {
		return res, err
	}
	err := s.InTx(ctx, func(ctx context.Context) error {
		c := s.Client(ctx)
		// The factory's row is locked before anything is read, so that
		// writers of one factory run one after the other: each statement
		// (READ COMMITTED) then sees every point an earlier writer
		// committed, and the rollups recomputed below from chart_data are
		// exact whatever the interleaving. Writers of other factories go
		// on side by side. FOR NO KEY UPDATE is the lock the UPDATE of
		// series_version below takes anyway, taken first: it also makes
		// DeleteFactory (FOR UPDATE) wait for the batch, and two batches
		// can no longer deadlock on their rows. On SQLite, write
		// transactions begin IMMEDIATE: one writer at a time.
		lock := ""
		if s.postgres {
			lock = " FOR NO KEY UPDATE"
		}
		r, err := c.QueryContext(ctx, `SELECT id FROM factories WHERE id = $1`+lock, id)
		if err != nil {
			return classify(err, "")
		}
		ok := r.Next()
		if err := errors.Join(r.Err(), r.Close()); err != nil {
			return classify(err, "")
		}
		if !ok {
			return apperr.Errorf(apperr.NotFound, msgFactoryNotFound)
		}
		if s.postgres {
			res, err = s.recordPostgres(ctx, id, points, upsert)
		} else {
			res, err = s.recordPortable(ctx, id, points, upsert)
		}
		if err != nil {
			return err
		}
		if err := s.refreshRollups(ctx, id, points); err != nil {
			return err
		}
		if _, err := c.ExecContext(ctx, `UPDATE factories SET series_version = series_version + 1 WHERE id = $1`, id); err != nil {
			return classify(err, "")
		}
		if s.notifier != nil {
			return s.notifier.PointsRecorded(ctx, id, points)
		}
		return nil
	})
	if err != nil {
		return RecordResult{}, err
	}
	return res, nil
}

// recordPortable writes a batch with the statements both databases know:
// it looks up which times exist, then inserts or upserts in batches.
func (s *Service) recordPortable(ctx context.Context, id int, points []Point, upsert bool) (RecordResult, error) {
	var res RecordResult
	existing, err := s.existingTimes(ctx, id, points)
	if err != nil {
		return res, err
	}
	if len(existing) > 0 && !upsert {
		for i, p := range points {
			if existing[p.Time] {
				return res, conflictAt(i, p.Time)
			}
		}
	}
	res.Updated = len(existing)
	res.Inserted = len(points) - res.Updated
	return res, s.writePoints(ctx, id, points, upsert)
}

// errRacedAppend marks a unique violation met by a write whose probe had
// found its times free: a writer the factory lock did not hold off (none
// should be), so the transaction is run again (isTransient), and its probe
// then reports the collision as a conflict.
var errRacedAppend = errors.New("core: an append raced another writer")

func raced(err error) error {
	if isUniqueViolation(err) {
		return fmt.Errorf("%w: %w", errRacedAppend, err)
	}
	return err
}

// conflictAt is the error of an append over an existing time.
func conflictAt(i int, t int64) error {
	return &apperr.Error{Code: apperr.Conflict, Field: fmt.Sprintf("points[%d].time", i),
		Message: fmt.Sprintf("The factory already has a point at time %d; use mode UPSERT to replace it.", t)}
}

// existingTimes returns which of the points' times factory id already has.
func (s *Service) existingTimes(ctx context.Context, id int, points []Point) (map[int64]bool, error) {
	out := map[int64]bool{}
	const chunk = 1000
	for start := 0; start < len(points); start += chunk {
		end := min(start+chunk, len(points))
		times := make([]int64, 0, end-start)
		for _, p := range points[start:end] {
			times = append(times, p.Time)
		}
		var found []struct {
			Time int64 `json:"time"`
		}
		err := s.Client(ctx).ChartData.Query().
			Where(chartdata.FactoryID(id), chartdata.TimeIn(times...)).
			Select(chartdata.FieldTime).Scan(ctx, &found)
		if err != nil {
			return nil, classify(err, "")
		}
		for _, f := range found {
			out[f.Time] = true
		}
	}
	return out, nil
}

// recordPostgres writes the batch in one statement. The usual append lies
// wholly after (or before) the stored series: then no time can collide,
// and the points are copied into chart_data with COPY. Otherwise one
// INSERT … SELECT … FROM unnest(…) ON CONFLICT takes the columns as three
// arrays: on append, existing times are skipped by the statement and
// reported as a conflict (which rolls the transaction back); on upsert,
// the statement also counts the batch's times stored before it ran.
// (COPY cannot skip or replace rows; copying into a staging table and
// inserting from it was measured slower than the arrays:
// BenchmarkRecordProductionUpsert, figures in docs/performance.md.)
func (s *Service) recordPostgres(ctx context.Context, id int, points []Point, upsert bool) (RecordResult, error) {
	var res RecordResult
	c := s.Client(ctx)
	if !upsert {
		lo, hi := points[0].Time, points[0].Time
		for _, p := range points {
			lo, hi = min(lo, p.Time), max(hi, p.Time)
		}
		r, err := c.QueryContext(ctx, `SELECT 1 FROM chart_data WHERE factory_id = $1 AND "time" BETWEEN $2 AND $3 LIMIT 1`, id, lo, hi)
		if err != nil {
			return res, classify(err, "")
		}
		clash := r.Next()
		if err := errors.Join(r.Err(), r.Close()); err != nil {
			return res, classify(err, "")
		}
		if !clash {
			if err := copyPoints(ctx, id, points); err != nil {
				return res, classify(raced(err), "")
			}
			res.Inserted = len(points)
			return res, nil
		}
	}
	times := make(pq.Int64Array, len(points))
	actual := make(pq.Float64Array, len(points))
	goal := make(pq.Float64Array, len(points))
	for i, p := range points {
		times[i], actual[i], goal[i] = p.Time, p.Actual, p.Goal
	}
	const insert = `INSERT INTO chart_data (factory_id, "time", actual, goal) ` +
		`SELECT $1, u.t, u.a, u.g FROM unnest(CAST($2 AS bigint[]), CAST($3 AS double precision[]), CAST($4 AS double precision[])) AS u(t, a, g) `
	if upsert {
		// Which points replaced stored ones: RETURNING (xmax = 0) would
		// say, but PostgreSQL refuses system columns in the RETURNING of a
		// partitioned table (chart_data is one), so the statement also
		// counts the batch's times stored before it ran (a CTE sees the
		// snapshot from before the INSERT; the factory's lock keeps other
		// writers out).
		// The batch's times that are stored are found by a semi-join of
		// the array with chart_data, within the batch's span as
		// constants: "time" = ANY(the array) makes the planner expand the
		// array into one partition-pruning step per element (its cost:
		// docs/performance.md, "Pages of points and small writes, mended").
		lo, hi := points[0].Time, points[0].Time
		for _, p := range points {
			lo, hi = min(lo, p.Time), max(hi, p.Time)
		}
		rows, err := c.QueryContext(ctx, `WITH stored AS (SELECT COUNT(*) AS n FROM unnest(CAST($2 AS bigint[])) AS s(t) `+
			`WHERE EXISTS (SELECT 1 FROM chart_data c WHERE c.factory_id = $1 AND c."time" >= CAST($5 AS BIGINT) `+
			`AND c."time" <= CAST($6 AS BIGINT) AND c."time" = s.t)), `+
			`written AS (`+insert+`ON CONFLICT (factory_id, "time") DO UPDATE SET actual = EXCLUDED.actual, goal = EXCLUDED.goal RETURNING 1) `+
			`SELECT (SELECT n FROM stored), (SELECT COUNT(*) FROM written)`,
			id, times, actual, goal, lo, hi)
		if err != nil {
			return res, classify(err, "")
		}
		defer rows.Close()
		var stored, written int
		if rows.Next() {
			if err := rows.Scan(&stored, &written); err != nil {
				return res, classify(err, "")
			}
		}
		if err := rows.Err(); err != nil {
			return res, classify(err, "")
		}
		res.Updated, res.Inserted = stored, written-stored
		return res, nil
	}
	rows, err := c.QueryContext(ctx, insert+`ON CONFLICT (factory_id, "time") DO NOTHING RETURNING "time"`,
		id, times, actual, goal)
	if err != nil {
		return res, classify(err, "")
	}
	defer rows.Close()
	written := make(map[int64]bool, len(points))
	for rows.Next() {
		var t int64
		if err := rows.Scan(&t); err != nil {
			return res, classify(err, "")
		}
		written[t] = true
	}
	if err := rows.Err(); err != nil {
		return res, classify(err, "")
	}
	if len(written) < len(points) {
		for i, p := range points {
			if !written[p.Time] {
				return res, conflictAt(i, p.Time)
			}
		}
	}
	res.Inserted = len(points)
	return res, nil
}

// copyPoints streams points of factory id into chart_data with COPY, in the transaction that ctx carries: no
// statement to parse and no arrays to build, and rows go to the server as
// they are encoded (lib/pq sends them in 64 kB messages).
func copyPoints(ctx context.Context, id int, points []Point) error {
	sqlTx := database.SQLTx(ctx)
	if sqlTx == nil {
		return errors.New("core: copyPoints needs a transaction begun by InTx on database.NewDriver")
	}
	st, err := sqlTx.PrepareContext(ctx, `COPY chart_data (factory_id, "time", actual, goal) FROM STDIN`)
	if err != nil {
		return err
	}
	for _, p := range points {
		if _, err := st.ExecContext(ctx, id, p.Time, p.Actual, p.Goal); err != nil {
			_ = st.Close()
			return err
		}
	}
	if _, err := st.ExecContext(ctx); err != nil {
		_ = st.Close()
		return err
	}
	return st.Close()
}
