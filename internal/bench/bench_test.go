package bench_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"entgo.io/ent/dialect"

	"github.com/sprocketapi/sprocket/app"
	"github.com/sprocketapi/sprocket/app/apptest"
	"github.com/sprocketapi/sprocket/internal/auth"
	"github.com/sprocketapi/sprocket/internal/bench"
	"github.com/sprocketapi/sprocket/internal/server"
	"github.com/sprocketapi/sprocket/internal/testdb"
)

// serverOptions shape a test server.
type serverOptions struct {
	restOnly bool   // no /graphql, like the legacy service
	token    string // writes and reads need this bearer token
}

// newServer is the real sprocketd router over a fresh database, served
// over HTTP, as internal/server's tests build it.
func newServer(t *testing.T, d string, so serverOptions) string {
	t.Helper()
	cfg := apptest.Config(t, nil)
	var opts app.Options
	if so.token != "" {
		tokens, err := auth.NewTokens(nil, []string{auth.Hash(so.token)})
		if err != nil {
			t.Fatal(err)
		}
		opts.Tokens, cfg.ProtectReads = tokens, true
	}
	a := apptest.New(t, cfg, testdb.Open(t, d), opts)
	h := a.Handler
	if so.restOnly {
		// The legacy service's surface: the router without /graphql.
		h = server.New(server.Deps{Config: cfg, Service: a.Service, Tokens: a.Tokens, ProtectReads: cfg.ProtectReads})
	}
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	return hs.URL
}

// sprocketbench runs the command line and returns its standard output.
func sprocketbench(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := bench.Run(context.Background(), args, &stdout, &stderr)
	if err != nil {
		t.Logf("sprocketbench %s: %v\nstderr:\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), err
}

func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	out, err := sprocketbench(t, args...)
	if err != nil {
		t.Fatalf("sprocketbench %s: %v", args[0], err)
	}
	return out
}

// legacyFactory GETs /v1/factories/{id}.
func legacyFactory(t *testing.T, base string, id int64) (times []int64, actual, goal []float64) {
	t.Helper()
	res, err := http.Get(fmt.Sprintf("%s/v1/factories/%d", base, id))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /v1/factories/%d: %s", id, res.Status)
	}
	var f struct {
		ChartData struct {
			Actual []float64 `json:"sprocket_production_actual"`
			Goal   []float64 `json:"sprocket_production_goal"`
			Time   []int64   `json:"time"`
		} `json:"chart_data"`
	}
	if err := json.NewDecoder(res.Body).Decode(&f); err != nil {
		t.Fatal(err)
	}
	return f.ChartData.Time, f.ChartData.Actual, f.ChartData.Goal
}

func readState(t *testing.T, path string) bench.State {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var st bench.State
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	return st
}

var allWorkloads = []string{
	"rest-sprocket-get", "rest-sprocket-list", "rest-factory-small", "rest-factory-large", "rest-read-own-write",
	"gql-series", "gql-series-day", "gql-dashboard", "gql-series-m4", "gql-series-lttb", "gql-series-first",
	"gql-series-last", "gql-series-day-m4", "gql-points", "gql-points-day", "gql-dashboard-m4", "gql-record", "fair-sprocket-get", "bulk-ingest",
}

// TestGenStoresTheDataSetAndRunMeasuresEveryWorkload drives a real server
// on each database: gen's factories are really there, point for point;
// every workload runs without an error; the JSON has the documented
// fields; a second server yields ratios, or is skipped for the GraphQL
// workloads when it has no GraphQL.
func TestGenStoresTheDataSetAndRunMeasuresEveryWorkload(t *testing.T) {
	if testing.Short() {
		t.Skip("long: loads servers on both databases and runs every workload")
	}
	testdb.Each(t, func(t *testing.T, d string) {
		primary := newServer(t, d, serverOptions{})
		// On SQLite the compare server is a second full one; on
		// PostgreSQL it speaks /v1 only, like the legacy service.
		restOnlyCompare := d == dialect.Postgres
		compare := newServer(t, dialect.SQLite, serverOptions{restOnly: restOnlyCompare})
		state := filepath.Join(t.TempDir(), "state.json")

		out := mustRun(t, "gen", "--url", primary, "--factories", "3", "--points", "2000",
			"--batch", "700", "--seed", "7", "--state", state)
		if !strings.Contains(out, "points/s") || !strings.Contains(out, "rowIds:") {
			t.Errorf("gen printed no rate or rowIds:\n%s", out)
		}
		st := readState(t, state)
		g := st.Targets[primary].Generated
		if g == nil || len(g.Factories) != 3 {
			t.Fatalf("state file: %+v", st)
		}
		for _, f := range g.Factories {
			if !strings.Contains(out, fmt.Sprint(f.RowID)) {
				t.Errorf("gen did not print rowId %d", f.RowID)
			}
			times, actual, goal := legacyFactory(t, primary, f.RowID)
			if len(times) != 2000 || len(actual) != 2000 || len(goal) != 2000 {
				t.Fatalf("factory %d has %d points, want 2000", f.RowID, len(times))
			}
			if times[0] != 1704067200 || times[1999] != 1704067200+1999*60 {
				t.Errorf("factory %d spans %d–%d, want per-minute from 2024-01-01", f.RowID, times[0], times[1999])
			}
			// The daily shape: the goal at noon is above the one at midnight.
			if goal[720] <= goal[0] {
				t.Errorf("factory %d: goal at noon %v, at midnight %v", f.RowID, goal[720], goal[0])
			}
		}

		args := []string{"run", "--url", primary, "--compare-url", compare, "--state", state,
			"--clients", "4", "--duration", "300ms", "--warmup", "50ms", "--large-points", "5000", "--json"}
		if d == dialect.Postgres && hasPgbench() {
			args = append(args, "--pgbench-dsn", testdb.AdminURL())
		}
		out = mustRun(t, args...)

		var rep bench.Report
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatalf("run --json printed no JSON: %v\n%s", err, out)
		}
		checkDocumentedFields(t, out)
		if rep.Clients != 4 || rep.Machine.CPUs < 1 || rep.Primary != primary || rep.Compare != compare {
			t.Errorf("report header: %+v", rep)
		}
		for _, w := range allWorkloads {
			for _, target := range []string{"primary", "compare"} {
				i := slices.IndexFunc(rep.Results, func(r bench.Result) bool { return r.Workload == w && r.Target == target })
				if i < 0 {
					t.Errorf("%s on %s: no result", w, target)
					continue
				}
				r := rep.Results[i]
				needsGraphQL := strings.HasPrefix(w, "gql-") || w == "bulk-ingest" || w == "fair-sprocket-get"
				if target == "compare" && restOnlyCompare && needsGraphQL {
					if r.Skipped == "" {
						t.Errorf("%s on the /v1-only server: not skipped: %+v", w, r)
					}
					continue
				}
				if r.Requests == 0 || r.Errors != 0 || r.Failed != "" || r.Skipped != "" {
					t.Errorf("%s on %s: %d requests, %d errors, failed %q, skipped %q, samples %q",
						w, target, r.Requests, r.Errors, r.Failed, r.Skipped, r.ErrorSamples)
				}
				if r.ReqPerSec <= 0 || r.P50Ms <= 0 || r.P50Ms > r.P90Ms || r.P90Ms > r.P99Ms || r.P99Ms > r.MaxMs || r.BytesPerSec <= 0 {
					t.Errorf("%s on %s: implausible figures %+v", w, target, r)
				}
				if b := r.Background; w == "fair-sprocket-get" && (b == nil || b.HostileClients != 8 || b.HostileRequests == 0 ||
					b.HostileOutcomes["ok"] == 0 || b.HealthChecks == 0 || b.HealthFailures != 0) {
					t.Errorf("%s on %s: background %+v", w, target, b)
				}
				if (w == "gql-record" || w == "bulk-ingest") && (r.PointsPerSec <= 0 || r.Points%100 != 0) {
					t.Errorf("%s on %s: %d points, %v points/s", w, target, r.Points, r.PointsPerSec)
				}
			}
		}
		wantRatios := allWorkloads
		if restOnlyCompare {
			wantRatios = allWorkloads[:5] // the REST ones
		}
		for _, w := range wantRatios {
			i := slices.IndexFunc(rep.Ratios, func(r bench.Ratio) bool { return r.Workload == w })
			if i < 0 || rep.Ratios[i].Throughput <= 0 || rep.Ratios[i].P50 <= 0 {
				t.Errorf("%s: no ratio in %+v", w, rep.Ratios)
			}
		}
		if len(rep.Ratios) != len(wantRatios) {
			t.Errorf("%d ratios, want %d: %+v", len(rep.Ratios), len(wantRatios), rep.Ratios)
		}
		if d == dialect.Postgres && hasPgbench() {
			if pg := rep.Pgbench; pg == nil || pg.TPS <= 0 || pg.RestSprocketGetRatio <= 0 {
				t.Errorf("pgbench: %+v", rep.Pgbench)
			}
		}

		// The harness's own factories are kept for the next run (the
		// large one was made through POST /v1/factories on the /v1-only
		// server); the scratch ones of the writing workloads are gone.
		st = readState(t, state)
		for _, base := range []string{primary, compare} {
			ts := st.Targets[base]
			if ts == nil || ts.Small == nil || ts.Large == nil {
				t.Fatalf("%s: no small or large factory in the state file", base)
			}
			if times, _, _ := legacyFactory(t, base, ts.Large.RowID); len(times) != 5000 {
				t.Errorf("%s: the large factory has %d points, want 5000", base, len(times))
			}
		}
		if n := countFactories(t, primary); n != 3+2 {
			t.Errorf("the primary server has %d factories after the run, want gen's 3, small and large", n)
		}
	})
}

// checkDocumentedFields checks the JSON keys the README documents, by
// name, so that renaming a field breaks this test and not a user's script.
func checkDocumentedFields(t *testing.T, out string) {
	t.Helper()
	var raw map[string]any
	if err := json.Unmarshal([]byte(out), &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"started", "machine", "clients", "duration_seconds", "warmup_seconds", "primary", "results", "ratios"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("JSON has no %q", k)
		}
	}
	for _, r := range raw["results"].([]any) {
		r := r.(map[string]any)
		if r["skipped"] != nil {
			continue
		}
		for _, k := range []string{"workload", "target", "url", "requests", "req_per_sec", "p50_ms", "p90_ms", "p99_ms", "max_ms", "errors", "bytes_per_sec"} {
			if _, ok := r[k]; !ok {
				t.Errorf("result %v has no %q", r["workload"], k)
			}
		}
		if w := r["workload"]; (w == "bulk-ingest" || w == "gql-record") && r["points_per_sec"] == nil {
			t.Errorf("%v has no points_per_sec", w)
		}
	}
	for _, r := range raw["ratios"].([]any) {
		for _, k := range []string{"workload", "throughput", "p50"} {
			if _, ok := r.(map[string]any)[k]; !ok {
				t.Errorf("ratio has no %q", k)
			}
		}
	}
}

func countFactories(t *testing.T, base string) int {
	t.Helper()
	res, err := http.Get(base + "/v1/factories")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out struct {
		Factories []json.RawMessage `json:"factories"`
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return len(out.Factories)
}

func hasPgbench() bool {
	_, err := exec.LookPath("pgbench")
	return err == nil
}

// TestRunPrintsATable: without --json, a table with a column per figure.
func TestRunPrintsATable(t *testing.T) {
	base := newServer(t, dialect.SQLite, serverOptions{})
	out := mustRun(t, "run", "--url", base, "--state", "", "--workloads", "rest-sprocket-get, gql-dashboard",
		"--clients", "2", "--duration", "100ms", "--warmup", "0s", "--large-points", "3000")
	lines := strings.Split(out, "\n")
	header := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, "workload") })
	if header < 0 {
		t.Fatalf("no table header:\n%s", out)
	}
	for _, col := range []string{"requests", "req/s", "p50", "p90", "p99", "max", "errors", "bytes/s", "points/s"} {
		if !strings.Contains(lines[header], col) {
			t.Errorf("header has no %q: %s", col, lines[header])
		}
	}
	for _, w := range []string{"rest-sprocket-get", "gql-dashboard"} {
		if !slices.ContainsFunc(lines, func(l string) bool { return strings.HasPrefix(l, w+" ") }) {
			t.Errorf("no row for %s:\n%s", w, out)
		}
	}
	if !strings.Contains(out, "machine: ") {
		t.Errorf("no machine line:\n%s", out)
	}
}

// TestRunRefusesAnUnknownWorkload names the unknown one and lists the
// known ones, before it talks to any server.
func TestRunRefusesAnUnknownWorkload(t *testing.T) {
	_, err := sprocketbench(t, "run", "--url", "http://127.0.0.1:1", "--state", "", "--workloads", "rest-sprocket-get,no-such-workload")
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range append([]string{"no-such-workload"}, allWorkloads...) {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

// TestTheTokenGoesWithEveryRequest: against a server whose reads and
// writes need a token, gen fails without --token and works with it.
func TestTheTokenGoesWithEveryRequest(t *testing.T) {
	const token = "a-long-enough-bench-token"
	base := newServer(t, dialect.SQLite, serverOptions{token: token})
	state := filepath.Join(t.TempDir(), "state.json")
	if _, err := sprocketbench(t, "gen", "--url", base, "--factories", "1", "--points", "10", "--state", state); err == nil {
		t.Error("gen without a token worked against a server that needs one")
	}
	mustRun(t, "gen", "--url", base, "--factories", "1", "--points", "10", "--state", state, "--token", token)
	out := mustRun(t, "run", "--url", base, "--state", state, "--token", token, "--json", "--workloads", "rest-sprocket-get,gql-record",
		"--clients", "2", "--duration", "100ms", "--warmup", "0s")
	var rep bench.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	for _, r := range rep.Results {
		if r.Requests == 0 || r.Errors != 0 {
			t.Errorf("%s: %d requests, %d errors %q", r.Workload, r.Requests, r.Errors, r.ErrorSamples)
		}
	}
}

// TestPgbenchReportsTPSAndDropsItsDatabase needs the pgbench binary.
func TestPgbenchReportsTPSAndDropsItsDatabase(t *testing.T) {
	if !hasPgbench() {
		t.Fatal("pgbench is required (Debian: apt-get install -y postgresql-contrib, or the postgresql server package)")
	}
	out := mustRun(t, "pgbench", "--dsn", testdb.AdminURL(), "--clients", "2", "--duration", "1s", "--json")
	var res bench.PgbenchResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if res.TPS <= 0 || res.Clients != 2 || res.Seconds != 1 {
		t.Errorf("pgbench: %+v", res)
	}
	db, err := sql.Open("postgres", testdb.AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM pg_database WHERE datname LIKE 'sprocketbench_pgbench_` + fmt.Sprint(os.Getpid()) + `_%'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d scratch databases left behind", n)
	}
}

// TestMain silences the GraphQL handler's default-logger lines, which would
// bury a failure's output under thousands of them.
func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.DiscardHandler))
	os.Exit(m.Run())
}
