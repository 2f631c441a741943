package bench

import (
	"encoding/json"
	"math"
	"strconv"
	"time"
)

// series describes one factory's synthetic production: point k is at
// start + k·step, with a daily shape (night shifts make less than the day
// shift), a weekly swell and noise. Every point is a pure function of
// (seed, index, k), so batches can be built in any order, concurrently,
// and the same flags always give the same data.
type series struct {
	seed  uint64
	index int   // the factory's number in the data set
	start int64 // epoch seconds of point 0
	step  int64 // seconds between points
}

const day = 86400

// point returns point k's time (epoch seconds), actual and goal.
func (s series) point(k int) (t int64, actual, goal float64) {
	t = s.start + int64(k)*s.step
	base := 40 + 7*float64(s.index%9)
	tod := float64(((t%day)+day)%day) / day // 0 at midnight UTC
	shape := 0.6 - 0.4*math.Cos(2*math.Pi*tod)
	goal = math.Round(base * shape)
	week := float64(((t/day)%7+7)%7) / 7
	swell := 0.97 - 0.05*math.Cos(2*math.Pi*week)
	actual = goal*swell + 0.08*base*s.noise(k)
	actual = math.Round(max(actual, 0)*100) / 100
	return t, actual, goal
}

// noise is a standard normal deviate for point k (Box–Muller over two
// hashes), deterministic in (seed, index, k).
func (s series) noise(k int) float64 {
	h := splitmix(s.seed ^ uint64(s.index)<<40 ^ uint64(k))
	u1 := (float64(h>>11) + 0.5) / (1 << 53)
	u2 := float64(splitmix(h)>>11) / (1 << 53)
	return math.Sqrt(-2*math.Log(u1)) * math.Cos(2*math.Pi*u2)
}

func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// appendPointsJSON appends points [from, from+n) as a JSON array of
// PointInput objects. Built by hand: at 10,000 points a batch,
// encoding/json would cost the harness more CPU than the server spends
// parsing, on the same machine.
func (s series) appendPointsJSON(b []byte, from, n int) []byte {
	b = append(b, '[')
	for k := from; k < from+n; k++ {
		if k > from {
			b = append(b, ',')
		}
		t, a, g := s.point(k)
		b = append(b, `{"time":"`...)
		b = time.Unix(t, 0).UTC().AppendFormat(b, time.RFC3339)
		b = append(b, `","actual":`...)
		b = strconv.AppendFloat(b, a, 'f', -1, 64)
		b = append(b, `,"goal":`...)
		b = strconv.AppendFloat(b, g, 'f', -1, 64)
		b = append(b, '}')
	}
	return append(b, ']')
}

// recordQuery appends points through the service's bulk path.
const recordQuery = `mutation Record($id: ID!, $points: [PointInput!]!, $mode: RecordMode) { recordProduction(factoryId: $id, points: $points, mode: $mode) { inserted updated } }`

var recordQueryJSON = mustJSONString(recordQuery)

// appendRecordBody appends a recordProduction request body for points
// [from, from+n) of s to factory id, in APPEND mode.
func (s series) appendRecordBody(b []byte, id string, from, n int) []byte {
	b = append(b, `{"query":`...)
	b = append(b, recordQueryJSON...)
	b = append(b, `,"operationName":"Record","variables":{"id":`...)
	b = appendJSONString(b, id)
	b = append(b, `,"mode":"APPEND","points":`...)
	b = s.appendPointsJSON(b, from, n)
	return append(b, "}}"...)
}

// legacyFactoryBody is a POST /v1/factories body holding points [0, n).
func (s series) legacyFactoryBody(name string, n int) []byte {
	b := make([]byte, 0, 40*n+200)
	b = append(b, `{"factory":{"name":`...)
	b = appendJSONString(b, name)
	b = append(b, `,"chart_data":{"sprocket_production_actual":[`...)
	for k := range n {
		if k > 0 {
			b = append(b, ',')
		}
		_, a, _ := s.point(k)
		b = strconv.AppendFloat(b, a, 'f', -1, 64)
	}
	b = append(b, `],"sprocket_production_goal":[`...)
	for k := range n {
		if k > 0 {
			b = append(b, ',')
		}
		_, _, g := s.point(k)
		b = strconv.AppendFloat(b, g, 'f', -1, 64)
	}
	b = append(b, `],"time":[`...)
	for k := range n {
		if k > 0 {
			b = append(b, ',')
		}
		t, _, _ := s.point(k)
		b = strconv.AppendInt(b, t, 10)
	}
	return append(b, "]}}}"...)
}

func mustJSONString(s string) []byte {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err)
	}
	return b
}

func appendJSONString(b []byte, s string) []byte { return append(b, mustJSONString(s)...) }
