package dashboard_test

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sprocketapi/sprocket/internal/core"
)

// TestDashboardDrawsASpikeAmongAMillionPoints loads a factory of
// spikePoints per-minute points of which exactly one is a spike, and opens
// the dashboard over its whole range: the chart draws M4 by default, and
// the spike is among the values uPlot was given to draw, at its own time,
// with the y axis reaching it. Switching the line to AVG refetches with
// that aggregate, and the average hides the spike (which is why M4 is the
// default).
func TestDashboardDrawsASpikeAmongAMillionPoints(t *testing.T) {
	if testing.Short() {
		t.Skip("long: a million points and headless Chromium")
	}
	const spikePoints = 1_000_000
	ctx := context.Background()
	f := newFixture(t, nil, false)
	fa, err := f.svc.CreateFactory(ctx, core.FactoryInput{Name: "Spiky"})
	if err != nil {
		t.Fatal(err)
	}
	start := int64(1_704_067_200)
	spikeAt := start + 60*int64(spikePoints*7/13)
	loaded := time.Now()
	batch := make([]core.Point, 0, core.MaxRecordBatch)
	for i := 0; i < spikePoints; i++ {
		tm := start + 60*int64(i)
		actual := 100 + float64(i%17) // a busy line between 100 and 116
		if tm == spikeAt {
			actual = 5000
		}
		batch = append(batch, core.Point{Time: tm, Actual: actual, Goal: 110})
		if len(batch) == cap(batch) || i == spikePoints-1 {
			if _, err := f.svc.RecordProduction(ctx, fa.ID, batch, false); err != nil {
				t.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	t.Logf("%d points recorded in %v", spikePoints, time.Since(loaded).Round(time.Millisecond))

	b := newBrowser(t, f.host, 60*time.Second)
	b.Do("opening the dashboard", chromedp.Navigate(f.url+"/"))
	b.Poll("the card", `window.__dashboard?.ready === true && __dashboard.factoriesState() === 'ready'`, 30*time.Second)
	type peak struct {
		Points     int      `json:"points"`
		Plotted    int      `json:"plotted"`
		PeakActual *float64 `json:"peakActual"`
		PeakEpoch  *float64 `json:"peakEpoch"`
		YMax       *float64 `json:"yMax"`
		Count      int      `json:"count"`
	}
	snap := func() peak { return eval[[]peak](b, `__dashboard.charts()`)[0] }
	if a := eval[string](b, `__dashboard.aggregate()`); a != "M4" {
		b.Failf("the dashboard draws %q by default, want M4", a)
	}
	dash := f.ops.named("Dashboard")
	if len(dash) != 1 || dash[0].Variables["aggregate"] != "M4" || dash[0].Variables["from"] != nil {
		b.Failf("Dashboard requests %+v; want one over the whole range with aggregate M4", dash)
	}
	c := snap()
	if c.Count != spikePoints || c.Plotted == 0 || c.Plotted > 10000 {
		b.Failf("card %+v: want a summary of %d points and at most 10,000 values drawn", c, spikePoints)
	}
	if c.PeakActual == nil || *c.PeakActual != 5000 || c.PeakEpoch == nil || int64(*c.PeakEpoch) != spikeAt || c.YMax == nil || *c.YMax < 5000 {
		b.Failf("full-range M4 chart: highest value drawn %v at %v (y axis to %v); want the spike 5000 at %d", c.PeakActual, c.PeakEpoch, c.YMax, spikeAt)
	}
	t.Logf("M4: %d of %d points drawn, the spike among them", c.Plotted, spikePoints)

	// The control: AVG refetches, and the average hides the spike.
	b.Do("choosing the average", chromedp.Evaluate[chromedp.Void](`(() => { const s = document.querySelector('#aggregate');
		s.value = 'AVG'; s.dispatchEvent(new Event('change', {bubbles: true})); })()`))
	b.Poll("the AVG refetch", `__dashboard.aggregate() === 'AVG' && __dashboard.factoriesState() === 'ready'`, 30*time.Second)
	dash = f.ops.named("Dashboard")
	if len(dash) != 2 || dash[1].Variables["aggregate"] != "AVG" {
		b.Failf("Dashboard requests after choosing AVG: %+v", dash)
	}
	b.Poll("the AVG chart", `__dashboard.charts()[0].peakActual !== null && __dashboard.charts()[0].peakActual < 1000`, 10*time.Second)
	t.Logf("AVG: highest value drawn %v", *snap().PeakActual)
	b.Finish()
}
