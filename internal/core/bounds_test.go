package core

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/sprocketapi/sprocket/internal/apperr"
	"github.com/sprocketapi/sprocket/internal/testdb"
)

func TestTheDomainIsWhatAJavaScriptDateHolds(t *testing.T) {
	// JavaScript's Date holds ±8.64e15 ms: -271821-04-20T00:00:00Z to
	// +275760-09-13T00:00:00Z.
	if MinTime != -8.64e15/1000 || MaxTime != 8.64e15/1000 || MaxInterval != MaxTime-MinTime+1 {
		t.Errorf("MinTime %d, MaxTime %d, MaxInterval %d", MinTime, MaxTime, MaxInterval)
	}
	if got := time.Unix(MinTime, 0).UTC(); !got.Equal(time.Date(-271821, 4, 20, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("MinTime is %v", got)
	}
	if got := time.Unix(MaxTime, 0).UTC(); !got.Equal(time.Date(275760, 9, 13, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("MaxTime is %v", got)
	}
	if MinTimeText != "-271821-04-20T00:00:00Z" || MaxTimeText != "+275760-09-13T00:00:00Z" {
		t.Errorf("%s %s", MinTimeText, MaxTimeText)
	}
	// Every integer up to 2^53 is exact in a float64, and 2^53 is the
	// last such bound: 2^53+1 is not a float64.
	if MaxValue != 9007199254740992 || float64(MaxValue)-1 != 9007199254740991 || float64(MaxValue)+1 != float64(MaxValue) {
		t.Errorf("MaxValue %v", float64(MaxValue))
	}
	// A sum of 2^63 points of MaxValue, and its square, stay finite.
	if s := float64(MaxValue) * math.MaxInt64; math.IsInf(s*s, 0) {
		t.Errorf("sum %g", s)
	}
	// Every intermediate of the bucket arithmetic (Go and SQL) at the
	// extremes stays below 2^46, far inside int64.
	const limit = int64(1) << 46
	for _, from := range []int64{MinTime, -1, 0, 1, MaxTime} {
		for _, to := range []int64{MinTime, 0, MaxTime, MaxTime + 1} {
			for _, iv := range []int64{1, 7, 86400, MaxInterval / 2, MaxInterval - 1, MaxInterval} {
				off := floorDiv(from, iv) * iv
				for _, v := range []int64{
					off, to - off + iv - 1, (to - off + iv - 1) / iv, off + (to-off)/iv*iv + iv,
					to - ((to%iv)+iv)%iv, (to % iv) + iv, -floorDiv(-from, iv) * iv, niceInterval(iv),
				} {
					if v >= limit || v <= -limit {
						t.Fatalf("from %d to %d interval %d: %d", from, to, iv, v)
					}
				}
			}
		}
	}
}

// wantInvalid checks that err is a BAD_USER_INPUT about field whose
// message contains text.
func wantInvalid(t *testing.T, err error, field, text string) {
	t.Helper()
	e, ok := apperr.As(err)
	if !ok || e.Code != apperr.Invalid {
		t.Fatalf("want BAD_USER_INPUT on %s, got %v", field, err)
	}
	if e.Field != field {
		t.Errorf("field %q, want %q (%s)", e.Field, field, e.Message)
	}
	if !strings.Contains(e.Message, text) {
		t.Errorf("message %q does not say %q", e.Message, text)
	}
	if len(e.Message) > 300 {
		t.Errorf("message is %d bytes long", len(e.Message))
	}
}

func TestValidatePointsBounds(t *testing.T) {
	ok := []Point{
		{Time: MinTime, Actual: -MaxValue, Goal: MaxValue},
		{Time: MaxTime, Actual: MaxValue, Goal: -MaxValue},
		{Time: 0, Actual: 0, Goal: 0},
		// The legacy service's recorded values: 13-digit times, 2^53-1.
		{Time: 1611194818000, Actual: 2147483648, Goal: 9007199254740991},
		{Time: MaxTime - 1, Actual: -9007199254740991, Goal: 0.5},
		{Time: MinTime + 1, Actual: 1e15, Goal: -1e15},
	}
	if err := ValidatePoints("points", ok); err != nil {
		t.Fatalf("the edges of the domain are refused: %v", err)
	}
	bad := []struct {
		p           Point
		field, text string
	}{
		{Point{Time: MaxTime + 1}, "points[1].time", "+275760-09-13T00:00:00Z"},
		{Point{Time: MinTime - 1}, "points[1].time", "-271821-04-20T00:00:00Z"},
		{Point{Time: math.MaxInt64}, "points[1].time", "epoch seconds"},
		{Point{Time: math.MinInt64}, "points[1].time", "epoch seconds"},
		{Point{Time: 5, Actual: 1e308}, "points[1].actual", "from -9007199254740992 to 9007199254740992"},
		{Point{Time: 5, Actual: math.Nextafter(MaxValue, math.Inf(1))}, "points[1].actual", "±2^53"},
		{Point{Time: 5, Goal: math.Nextafter(-MaxValue, math.Inf(-1))}, "points[1].goal", "±2^53"},
		{Point{Time: 5, Goal: -1e16}, "points[1].goal", "from -9007199254740992 to 9007199254740992"},
		{Point{Time: 5, Goal: math.NaN()}, "points[1].goal", "finite"},
		{Point{Time: 5, Actual: math.Inf(-1)}, "points[1].actual", "finite"},
	}
	for _, c := range bad {
		err := ValidatePoints("points", []Point{{Time: 1}, c.p})
		wantInvalid(t, err, c.field, c.text)
	}
}

func TestValidateName(t *testing.T) {
	for _, ok := range []string{"", "Plant 1", strings.Repeat("é", MaxNameLength), strings.Repeat("工", MaxNameLength), "emoji 🏭"} {
		if err := validateName(ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	for _, c := range []struct{ name, text string }{
		{strings.Repeat("é", MaxNameLength+1), "at most 200 characters"},
		{strings.Repeat("a", MaxNameLength+1), "at most 200 characters"},
		{"a\x00b", "control characters"},
		{"line\nbreak", "control characters"},
		{"tab\there", "control characters"},
		{"del\x7f", "control characters"},
		{"c1\u0085", "control characters"},
		{"bad \xff utf-8", "valid UTF-8"},
		{"   ", "blank"},
	} {
		wantInvalid(t, validateName(c.name), "name", c.text)
	}
}

func TestSeriesArgsBounds(t *testing.T) {
	i64 := func(v int64) *int64 { return &v }
	n := func(v int) *int { return &v }
	for _, c := range []struct {
		w           Window
		mdp         *int
		iv          *int64
		field, text string
	}{
		{Window{}, nil, i64(math.MaxInt64), "interval", "from 1 to"},
		{Window{}, nil, i64(MaxInterval + 1), "interval", "from 1 to"},
		{Window{}, nil, i64(0), "interval", "from 1 to"},
		{Window{}, nil, i64(-1), "interval", "from 1 to"},
		{Window{}, nil, i64(math.MinInt64), "interval", "from 1 to"},
		{Window{}, n(0), nil, "maxDataPoints", "from 2 to"},
		{Window{}, n(1), nil, "maxDataPoints", "from 2 to"},
		{Window{}, n(math.MaxInt32), nil, "maxDataPoints", "from 2 to"},
		{Window{}, n(-5), nil, "maxDataPoints", "from 2 to"},
		{Window{}, n(10), i64(10), "interval", "not both"},
		{Window{From: i64(MinTime - 1)}, nil, nil, "from", "-271821-04-20T00:00:00Z"},
		{Window{From: i64(math.MinInt64)}, nil, nil, "from", "-271821-04-20T00:00:00Z"},
		{Window{From: i64(MaxTime + 1)}, nil, nil, "from", "+275760-09-13T00:00:00Z"},
		{Window{To: i64(MaxTime + 2)}, nil, nil, "to", "+275760-09-13T00:00:00Z"},
		{Window{To: i64(math.MaxInt64)}, nil, nil, "to", "+275760-09-13T00:00:00Z"},
		{Window{To: i64(MinTime - 1)}, nil, nil, "to", "-271821-04-20T00:00:00Z"},
	} {
		_, err := SeriesArgs(c.w, c.mdp, c.iv, "")
		wantInvalid(t, err, c.field, c.text)
	}
	q, err := SeriesArgs(Window{From: i64(MinTime), To: i64(MaxTime + 1)}, nil, i64(MaxInterval), AggSum)
	if err != nil || q.Interval != MaxInterval || q.Aggregate != AggSum {
		t.Fatalf("the widest query is refused: %+v %v", q, err)
	}
	q, err = SeriesArgs(Window{}, nil, nil, "")
	if err != nil || q.MaxDataPoints != DefaultDataPoints || q.Aggregate != AggAvg {
		t.Fatalf("defaults: %+v %v", q, err)
	}
	_, err = SeriesArgs(Window{}, nil, nil, Aggregate(strings.Repeat("X", 10000)))
	wantInvalid(t, err, "aggregate", "…")
}

// TestExtremePointsKeepEveryReadWorking: points at both ends of the time
// domain with the largest values, in one bucket and across all of it, are
// summed, averaged and bucketed without overflow by every read, on both
// databases, and every time a read reports lies in the domain.
func TestExtremePointsKeepEveryReadWorking(t *testing.T) {
	t.Parallel() // its own databases; no shared state
	testdb.Each(t, func(t *testing.T, d string) {
		s := newService(t, d)
		ctx := context.Background()
		pts := []Point{
			{Time: MinTime, Actual: MaxValue, Goal: -MaxValue},
			{Time: MinTime + 1, Actual: MaxValue, Goal: -MaxValue},
			{Time: 0, Actual: -MaxValue, Goal: MaxValue},
			{Time: MaxTime - 1, Actual: MaxValue, Goal: MaxValue},
			{Time: MaxTime, Actual: MaxValue, Goal: MaxValue},
		}
		f, err := s.CreateFactory(ctx, FactoryInput{Name: "edges", Points: pts})
		if err != nil {
			t.Fatal(err)
		}
		other, err := s.CreateFactory(ctx, FactoryInput{Points: []Point{{Time: 100, Actual: 1, Goal: 2}}})
		if err != nil {
			t.Fatal(err)
		}
		ids := []int{f.ID, other.ID}
		i64 := func(v int64) *int64 { return &v }
		n := func(v int) *int { return &v }
		windows := []Window{{}, {From: i64(MinTime)}, {To: i64(MaxTime + 1)}, {From: i64(MinTime), To: i64(MaxTime + 1)}, {From: i64(-1), To: i64(1)}}
		for _, w := range windows {
			for _, agg := range []Aggregate{AggAvg, AggMin, AggMax, AggSum, AggFirst, AggLast, AggM4} {
				for _, arg := range []struct {
					mdp *int
					iv  *int64
				}{{nil, nil}, {n(2), nil}, {n(MaxDataPoints), nil}, {nil, i64(MaxInterval)}, {nil, i64(MaxInterval / 2)}, {nil, i64(MaxInterval / 9000)}} {
					q, err := SeriesArgs(w, arg.mdp, arg.iv, agg)
					if err != nil {
						t.Fatalf("%s %+v: %v", w.Key(), arg, err)
					}
					res, err := s.Series(ctx, ids, q)
					if err != nil {
						t.Fatalf("series %s %s %+v: %v", w.Key(), agg, q, err)
					}
					r := res[f.ID]
					var count int64
					for i, e := range r.Epochs {
						if e < MinTime || e > MaxTime {
							t.Errorf("series %s %s: epoch %d outside the domain", w.Key(), agg, e)
						}
						count += r.Counts[i]
					}
					if r.HasWindow && (r.From < MinTime || r.To > MaxTime) {
						t.Errorf("series %s %s: window [%d, %d) outside the domain", w.Key(), agg, r.From, r.To)
					}
					if w.From == nil && w.To == nil && agg != AggM4 && count != int64(len(pts)) {
						t.Errorf("series %s %s %+v counts %d points, want %d", w.Key(), agg, q, count, len(pts))
					}
				}
			}
			sm, err := s.Summaries(ctx, ids, w)
			if err != nil {
				t.Fatalf("summary %s: %v", w.Key(), err)
			}
			if w.From == nil && w.To == nil {
				got := sm[f.ID]
				if got.Count != 5 || got.TotalActual != 3*MaxValue || got.TotalGoal != MaxValue {
					t.Errorf("summary %+v", got)
				}
			}
		}
		for _, w := range windows {
			if _, err := s.Points(ctx, f.ID, PointsQuery{Window: w}); err != nil {
				t.Errorf("points %s: %v", w.Key(), err)
			}
		}
	})
}

// TestOutOfDomainPointsAreRefusedAndChangeNothing: the write paths refuse
// values outside the domain before anything is stored.
func TestOutOfDomainPointsAreRefusedAndChangeNothing(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d string) {
		s := newService(t, d)
		ctx := context.Background()
		f, err := s.CreateFactory(ctx, FactoryInput{Name: "ok", Points: []Point{{Time: 3600, Actual: 1e308 / 1e293, Goal: 1}}})
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.RecordProduction(ctx, f.ID, []Point{{Time: 3601, Actual: 1e308, Goal: 1}, {Time: 3602, Actual: 1e308, Goal: 1}}, false)
		wantInvalid(t, err, "points[0].actual", "±2^53")
		_, err = s.RecordProduction(ctx, f.ID, []Point{{Time: 1, Actual: 1, Goal: 1}, {Time: math.MaxInt64, Actual: 1, Goal: 1}}, true)
		wantInvalid(t, err, "points[1].time", "+275760-09-13T00:00:00Z")
		_, err = s.CreateFactory(ctx, FactoryInput{Points: []Point{{Time: math.MinInt64}}})
		wantInvalid(t, err, "points[0].time", "-271821-04-20T00:00:00Z")
		_, err = s.CreateFactory(ctx, FactoryInput{Name: "a\x00b"})
		wantInvalid(t, err, "name", "control characters")
		if n := s.client.ChartData.Query().CountX(ctx); n != 1 {
			t.Errorf("%d points stored, want 1", n)
		}
		if n := s.client.Factory.Query().CountX(ctx); n != 1 {
			t.Errorf("%d factories stored, want 1", n)
		}
		if _, err := s.CreateFactory(ctx, FactoryInput{Name: strings.Repeat("é", MaxNameLength)}); err != nil {
			t.Errorf("200 × é refused: %v", err)
		}
	})
}
