package core

import (
	"context"
	"fmt"
)

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
