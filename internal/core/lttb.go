package core

import "math"

// LTTB is MinMaxLTTB (Van Der Donckt et al., 2023) over a series' actual
// values: a preselection keeps the M4 points of maxDataPoints buckets (the
// first, last, smallest and largest actual of each, read from the rollups
// for whole buckets), then Largest-Triangle-Three-Buckets (Steinarsson,
// 2013) chooses at most maxDataPoints of them, in Go. With an interval, the
// preselection uses that interval and LTTB keeps as many points as the
// window has buckets.

// lttbIndexes returns the indexes of the points that Largest-Triangle-
// Three-Buckets keeps when it reduces the points (ts[i], ys[i]), in time
// order, to at most m of them (m >= 2). The first and last points are
// always kept. The n-2 points between them are cut by index into m-2
// buckets, bucket i holding [1+i*(n-2)/(m-2), 1+(i+1)*(n-2)/(m-2)) in
// integer arithmetic; from each bucket, in order, it keeps the point that
// makes the largest triangle with the point kept last and the mean of the
// next bucket (for the last bucket, the last point). Among equal areas the
// earliest point wins. With n <= m every point is kept.
func lttbIndexes(ts []int64, ys []float64, m int) []int {
	n := len(ts)
	if n <= m || n <= 2 {
		out := make([]int, n)
		for i := range out {
			out[i] = i
		}
		return out
	}
	if m < 3 {
		return []int{0, n - 1}
	}
	x := func(i int) float64 { return float64(ts[i] - ts[0]) }
	bound := func(i int) int { return 1 + int(int64(i)*int64(n-2)/int64(m-2)) }
	out := make([]int, 0, m)
	out = append(out, 0)
	a := 0
	for i := 0; i < m-2; i++ {
		lo, hi := bound(i), bound(i+1)
		nlo, nhi := hi, bound(i+2)
		if i == m-3 {
			nlo, nhi = n-1, n
		}
		var cx, cy float64
		for j := nlo; j < nhi; j++ {
			cx += x(j)
			cy += ys[j]
		}
		cx /= float64(nhi - nlo)
		cy /= float64(nhi - nlo)
		ax, ay := x(a), ys[a]
		best, pick := -1.0, lo
		for j := lo; j < hi; j++ {
			area := math.Abs((ax-cx)*(ys[j]-ay) - (ax-x(j))*(cy-ay))
			if area > best {
				best, pick = area, j
			}
		}
		out = append(out, pick)
		a = pick
	}
	return append(out, n-1)
}

// applyLTTB reduces r, a series of points in time order, to at most m
// points with lttbIndexes.
func applyLTTB(r SeriesResult, m int) SeriesResult {
	idx := lttbIndexes(r.Epochs, r.Actual, m)
	if len(idx) == len(r.Epochs) {
		return r
	}
	out := r
	out.Epochs, out.Actual, out.Goal, out.Counts = make([]int64, len(idx)), make([]float64, len(idx)), make([]float64, len(idx)), make([]int64, len(idx))
	for k, i := range idx {
		out.Epochs[k], out.Actual[k], out.Goal[k], out.Counts[k] = r.Epochs[i], r.Actual[i], r.Goal[i], r.Counts[i]
	}
	return out
}
