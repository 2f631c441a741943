package main

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/sprocketapi/sprocket/internal/bench"
	"github.com/sprocketapi/sprocket/internal/testdb"
)

// TestWritesSurviveAFailover runs sprocketd on a pg_auto_failover
// formation (testdb.NewFormation: the monitor's QuickDetection settings)
// through DATABASE_URL as `pg_autoctl show uri` prints it (and
// DATABASE_READ_URL, the same hosts preferring a standby), with four
// writers writing without pause (bench.RunFailover: points over GraphQL,
// sprockets over /v1) through a planned failover, the loss of the new
// primary's node (its keeper and PostgreSQL killed), and that node's
// return. Each time: no answer but an acknowledgement or a 503 with
// Retry-After (never a 500), every acknowledged write stored exactly once
// and no write stored twice, the longest time between acknowledged writes
// within its bound, and a subscription opened before either delivers a
// point recorded after the event or ends with a coded error. Once the old
// primary follows the new one, reads go to it again.
func TestWritesSurviveAFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("long: a pg_auto_failover formation through two failovers (about a minute)")
	}
	f := testdb.NewFormation(t)
	base := start(t, map[string]string{"ENV": "testing", "DATABASE_URL": f.URL, "DATABASE_READ_URL": f.ReadURL,
		"DATABASE_READ_CHECK_INTERVAL": "1s", "DB_TIMEOUT": "10s"})
	ctx := context.Background()
	opts := func(tag int) bench.FailoverOptions {
		return bench.FailoverOptions{URL: base, Stored: f.URL, Writers: 4, Before: 2 * time.Second, After: 2 * time.Second,
			Within: time.Minute, Tag: tag}
	}
	check := func(t *testing.T, rep bench.FailoverReport, gapBound time.Duration) {
		t.Helper()
		b, _ := json.Marshal(rep)
		t.Logf("%s", b)
		if rep.Failed > 0 {
			t.Errorf("%d of %d writes failed otherwise than 503 with Retry-After: %q", rep.Failed, rep.Writes, rep.FailedSamples)
		}
		if rep.Lost > 0 || rep.Duplicated > 0 || rep.Invented > 0 {
			t.Errorf("%d acknowledged writes lost, %d stored twice, %d invented", rep.Lost, rep.Duplicated, rep.Invented)
		}
		if rep.Acknowledged < 20 {
			t.Errorf("only %d writes acknowledged", rep.Acknowledged)
		}
		if gap := time.Duration(rep.LongestGapSeconds * float64(time.Second)); gap > gapBound {
			t.Errorf("the longest gap between acknowledged writes was %v (from %.1f s after the event began), over %v", gap, rep.GapStartSeconds, gapBound)
		}
		if rep.Subscription != "received" && (len(rep.Subscription) < len("ended X") || rep.Subscription[:6] != "ended ") {
			t.Errorf("the subscription opened before the event: %s; want a point recorded after it, or a coded error", rep.Subscription)
		}
	}

	// shown: /readyz and /metrics name the node the monitor has as
	// primary, taking writes since the event began at the earliest.
	shown := func(t *testing.T, began time.Time) {
		t.Helper()
		i, err := f.Primary(ctx)
		if err != nil || i < 0 {
			t.Fatalf("primary %d: %v", i, err)
		}
		want := f.NodeAddr(i)
		var ready struct {
			Message      string
			Primary      string
			PrimarySince time.Time `json:"primary_since"`
		}
		eventually(t, 10*time.Second, "/readyz names "+want, func() bool {
			res, err := http.Get(base + "/readyz")
			if err != nil {
				return false
			}
			defer res.Body.Close()
			return res.StatusCode == http.StatusOK && json.NewDecoder(res.Body).Decode(&ready) == nil && ready.Primary == want
		})
		if ready.Message != "ready" || ready.PrimarySince.Before(began) {
			t.Errorf("/readyz: %+v, want the primary taking writes since %v at the earliest", ready, began)
		}
		if v := metric(t, base, `sprocket_database_primary{node="`+want+`"}`); v != 1 {
			t.Errorf("sprocket_database_primary of %s: %v", want, v)
		}
		if v := metric(t, base, "sprocket_database_writable_since_seconds"); v < float64(began.Unix()) {
			t.Errorf("sprocket_database_writable_since_seconds %v, before the event (%d)", v, began.Unix())
		}
		if metric(t, base, "sprocket_database_writable") != 1 || metric(t, base, "sprocket_database_primary_changes_total") < 1 {
			t.Errorf("metrics after the failover:\n%s", metricsText(t, base))
		}
	}

	var lost int
	t.Run("planned failover", func(t *testing.T) {
		began := time.Now()
		rep, err := bench.RunFailover(ctx, opts(1), "pg_autoctl perform failover", f.PerformFailover)
		if err != nil {
			t.Fatalf("%v\n%s", err, f.Logs())
		}
		check(t, rep, 5*time.Second)
		shown(t, began)
	})
	t.Run("primary lost", func(t *testing.T) {
		primary, err := f.Primary(ctx)
		if err != nil || primary < 0 {
			t.Fatalf("primary %d: %v", primary, err)
		}
		lost = primary
		began := time.Now()
		rep, err := bench.RunFailover(ctx, opts(2), "the primary's node killed", func(ctx context.Context) error {
			if err := f.Kill(primary); err != nil {
				return err
			}
			return f.WaitWritable(ctx, 1-primary)
		})
		if err != nil {
			t.Fatalf("%v\n%s", err, f.Logs())
		}
		// The event lasts until the monitor has promoted the standby:
		// pg_auto_failover's own detection and promotion.
		check(t, rep, time.Duration(rep.EventSeconds*float64(time.Second))+10*time.Second)
		shown(t, began)
	})
	t.Run("old primary returns", func(t *testing.T) {
		rep, err := bench.RunFailover(ctx, opts(3), "the old primary's node restarted", func(ctx context.Context) error {
			if err := f.Restart(lost); err != nil {
				return err
			}
			_, err := f.WaitStable(ctx)
			return err
		})
		if err != nil {
			t.Fatalf("%v\n%s", err, f.Logs())
		}
		check(t, rep, 5*time.Second)
		// DATABASE_READ_URL, the formation's hosts with
		// target_session_attrs=prefer-standby, reaches the standby
		// again: the old primary, now following the new one.
		eventually(t, 30*time.Second, "the standby is up", func() bool { return metric(t, base, standbyUp) == 1 })
	})
}
