package dashboard_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sprocketapi/sprocket/internal/database"
	"github.com/sprocketapi/sprocket/internal/replica"
	"github.com/sprocketapi/sprocket/internal/testdb"
)

// TestDashboardReadsItsOwnWritesFromALaggingStandby: with read replicas,
// the dashboard sends back the newest Sprocket-LSN its writes were
// answered, also after a reload of the tab, so that a sprocket it just
// edited is not read back stale from a standby that applies commits three
// seconds late; a position the server refuses is forgotten and the
// operation sent again.
func TestDashboardReadsItsOwnWritesFromALaggingStandby(t *testing.T) {
	if testing.Short() {
		t.Skip("long: drives headless Chromium against a PostgreSQL primary and standby")
	}
	ctx := context.Background()
	c := testdb.NewCluster(t, "recovery_min_apply_delay = '3s'")
	db, err := database.Open(ctx, c.PrimaryURL, database.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	set, err := replica.Open(ctx, db, c.StandbyURLs, replica.Options{
		MaxLag: 30 * time.Second, Wait: 200 * time.Millisecond, Interval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(set.Close)
	runCtx, stop := context.WithCancel(ctx)
	t.Cleanup(stop)
	go set.Run(runCtx)
	f := newFixtureOn(t, db, set, nil, true)
	c.WaitReplayed(t) // the migrations and the seed data

	b := newBrowser(t, f.host, 60*time.Second)
	b.Do("opening the dashboard", chromedp.Navigate(f.url+"/"))
	b.Poll("the cards and the catalogue", `window.__dashboard?.ready === true && __dashboard.sprocketsState() === 'ready'`, 15*time.Second)
	if o := f.ops.named("Sprockets"); len(o) != 1 || o[0].LSN != "" {
		b.Failf("the first catalogue request %+v: a new tab has no position to send", o)
	}

	// Edit sprocket 1 through its form; the answer names the position.
	b.Click(`#sprocket-table tr[data-row-id="1"] button`)
	b.Poll("the edit form of sprocket 1", `document.activeElement === document.querySelector('#edit-1-teeth')`, 2*time.Second)
	b.setField(`#edit-1-teeth`, "77")
	b.Click(`#edit-1-form button[type="submit"]`)
	b.Poll("sprocket 1 saved", `!document.querySelector('#edit-1-form') &&
		document.querySelector('#sprocket-table tr[data-row-id="1"]').cells[1].textContent === '77'`, 5*time.Second)
	update := f.ops.named("UpdateSprocket")
	if len(update) != 1 || update[0].Answered == "" {
		b.Failf("UpdateSprocket requests %+v, want one answered with a Sprocket-LSN", update)
	}
	wrote := update[0].Answered

	// Without the position, a read now is served stale by the standby:
	// what the dashboard must not show.
	var s struct {
		Teeth int `json:"teeth"`
	}
	f.getJSON(t, "/v1/sprockets/1", &s)
	if s.Teeth == 77 {
		t.Fatalf("a read without the position saw the edit: the standby does not lag, and this test could not fail")
	}

	// A reload reads the catalogue with the position, and shows the edit.
	b.Do("reloading the tab", chromedp.Reload())
	b.Poll("the catalogue after the reload", `window.__dashboard?.ready === true && __dashboard.sprocketsState() === 'ready'`, 15*time.Second)
	if got := eval[string](b, `document.querySelector('#sprocket-table tr[data-row-id="1"]').cells[1].textContent`); got != "77" {
		b.Failf("after the reload sprocket 1 shows %s teeth, want the 77 just saved", got)
	}
	reads := f.ops.named("Sprockets")
	if last := reads[len(reads)-1]; last.LSN != wrote {
		b.Failf("the catalogue request after the reload sent Sprocket-LSN %q, want %q, the write's", last.LSN, wrote)
	}
	for _, o := range f.ops.named("Dashboard")[1:] {
		if o.LSN != wrote {
			b.Failf("a Dashboard request after the write sent Sprocket-LSN %q, want %q", o.LSN, wrote)
		}
	}

	// A position the server refuses (ahead of the primary: kept from
	// another database, say) is dropped, and the page still loads.
	b.Do("keeping a position from elsewhere", chromedp.Evaluate[chromedp.Void](`sessionStorage.setItem('sprocket.dashboard.lsn', 'FFFFFF/0')`))
	before := len(f.ops.all())
	b.ExpectProblems("status of 400 (Bad Request)") // Chromium logs each refused request
	b.Do("reloading the tab", chromedp.Reload())
	b.Poll("the catalogue after the reload", `window.__dashboard?.ready === true && __dashboard.sprocketsState() === 'ready' && __dashboard.factoriesState() === 'ready'`, 15*time.Second)
	refused, resent := 0, 0
	for _, o := range f.ops.all()[before:] {
		switch o.LSN {
		case "FFFFFF/0":
			refused++
		case "":
			resent++
		}
	}
	if refused == 0 || resent < refused {
		b.Failf("after the reload: %d requests with the refused position, %d sent again without one; want each refused one sent again", refused, resent)
	}
	if got := eval[string](b, `sessionStorage.getItem('sprocket.dashboard.lsn') ?? ''`); strings.EqualFold(got, "FFFFFF/0") {
		b.Failf("the refused position is still kept: %q", got)
	}
	b.Finish()
}
