package graph

import (
	"encoding/json"
	"math"
	"reflect"
	"strconv"

	"github.com/sprocketapi/sprocket/graph/gid"
	"github.com/sprocketapi/sprocket/graph/model"
	"github.com/sprocketapi/sprocket/internal/core"
)

// Pricing is this schema's part of the GraphQL cost limit and answer
// budget (gqlhttp.Pricing). The list size of a field is 1 for every field
// but these:
//
//   - factories, sprockets and Factory.points: first, else last, else the
//     default page (core.DefaultPageSize);
//   - nodes: the number of ids;
//   - Factory.series: the most values its arguments can answer
//     (core.SeriesQuery.MaxValues: maxDataPoints, default
//     core.DefaultDataPoints, or the buckets interval cuts [from, to)
//     into, at most core.MaxDataPoints; four a bucket for M4);
//   - arguments that the resolver refuses (first over core.MaxPageSize,
//     interval 0) make the size 1: nothing comes back.
//
// A global ID (gid.ID) is counted as 48 bytes of JSON.
type Pricing struct{}

// ListSize implements gqlhttp.Pricing.
func (Pricing) ListSize(parent, field string, arg func(name string) any) (int, bool) {
	switch parent + "." + field {
	case "Query.factories", "Query.sprockets", "Factory.points":
		return pageCost(intArg(arg("first")), intArg(arg("last"))), true
	case "Query.nodes":
		v := arg("ids")
		if rv := reflect.ValueOf(v); v != nil && (rv.Kind() == reflect.Slice || rv.Kind() == reflect.Array) {
			return max(1, rv.Len()), true
		}
		return 1, true
	case "Factory.series":
		return seriesSize(arg), true
	}
	return 0, false
}

// ValueSize implements gqlhttp.Pricing.
func (Pricing) ValueSize(t reflect.Type) int64 {
	if t == reflect.TypeFor[gid.ID]() {
		return 48
	}
	return 0
}

// pageCost is the size of a page asked with first and last (nil: not
// given), as the connections' resolvers cut it; at least 1, so that every
// field costs something. A size the resolver refuses costs 1.
func pageCost(first, last *int64) int {
	n := int64(core.DefaultPageSize)
	for _, v := range []*int64{first, last} {
		if v != nil && (*v < 0 || *v > core.MaxPageSize) {
			return 1 // core.CheckPage refuses it
		}
	}
	switch {
	case first != nil && last != nil:
		n = min(*first, *last)
	case first != nil:
		n = *first
	case last != nil:
		n = *last
	}
	return int(max(1, n))
}

// seriesSize is the number of values a series can have (core's
// SeriesQuery.MaxValues of its arguments); arguments that the resolver
// refuses cost 1.
func seriesSize(arg func(string) any) int {
	var win core.Window
	if t, ok := timeArg(arg("from")); ok {
		win.From = &t
	}
	if t, ok := timeArg(arg("to")); ok {
		win.To = &t
	}
	var points *int
	if p := intArg(arg("maxDataPoints")); p != nil {
		if *p < math.MinInt32 || *p > math.MaxInt32 {
			return 1
		}
		n := int(*p)
		points = &n
	}
	agg, _ := arg("aggregate").(string)
	q, err := core.SeriesArgs(win, points, intArg(arg("interval")), core.Aggregate(agg))
	if err != nil {
		return 1
	}
	return q.MaxValues()
}

// intArg reads a whole-number argument; nil when absent or not a number.
func intArg(v any) *int64 {
	var n int64
	switch v := v.(type) {
	case int64:
		n = v
	case int:
		n = int64(v)
	case float64:
		if v != math.Trunc(v) || math.Abs(v) > 1<<62 {
			return nil
		}
		n = int64(v)
	case json.Number:
		x, err := strconv.ParseInt(string(v), 10, 64)
		if err != nil {
			return nil
		}
		n = x
	case string: // Int64 literals the number rewrite turned into text
		x, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil
		}
		n = x
	default:
		return nil
	}
	return &n
}

// timeArg reads a Time argument as epoch seconds.
func timeArg(v any) (int64, bool) {
	s, ok := v.(string)
	if !ok {
		return 0, false
	}
	t, err := model.ParseTime(s)
	if err != nil {
		return 0, false
	}
	return t.Unix(), true
}
