package graph

import (
	"math"
	"strconv"
	"time"

	"github.com/sprocketapi/sprocket/graph/gid"
	"github.com/sprocketapi/sprocket/graph/model"
	"github.com/sprocketapi/sprocket/internal/apperr"
	"github.com/sprocketapi/sprocket/internal/core"
)

// epochTime is the GraphQL Time of epoch seconds.
func epochTime(sec int64) time.Time { return time.Unix(sec, 0).UTC() }

// window turns optional from/to times into epoch seconds: from rounds
// down and to rounds up to the second, so the window covers what was
// asked.
func window(from, to *time.Time) core.Window {
	var w core.Window
	if from != nil {
		f := from.Unix()
		w.From = &f
	}
	if to != nil {
		t := to.Unix()
		if to.Nanosecond() != 0 {
			t++
		}
		w.To = &t
	}
	return w
}

// pointsIn converts input points; a point's time must be a whole second.
// Its errors name the field as the core does ("points[3].time");
// the transport's error presenter makes that an argument path.
func pointsIn(in []model.PointInput) ([]core.Point, error) {
	out := make([]core.Point, len(in))
	for i, p := range in {
		if p.Time.Nanosecond() != 0 {
			return nil, apperr.InvalidField("points["+strconv.Itoa(i)+"].time", "time must be a whole second.")
		}
		out[i] = core.Point{Time: p.Time.Unix(), Actual: p.Actual, Goal: p.Goal}
	}
	return out, nil
}

func pointOut(p core.Point) *model.Point {
	return &model.Point{Time: epochTime(p.Time), Epoch: p.Time, Actual: p.Actual, Goal: p.Goal}
}

// rowID checks that a global id names a row of typ.
func rowID(field string, id gid.ID, typ string) (int, error) {
	n, err := id.Of(typ)
	if err != nil {
		return 0, apperr.InvalidField(field, "%s", err.Error())
	}
	return n, nil
}

// int64ToInt narrows a rowId argument; a value beyond int range names no row.
func int64ToInt(v int64) (int, bool) {
	if v < 1 || v > math.MaxInt {
		return 0, false
	}
	return int(v), true
}
