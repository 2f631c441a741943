package bench

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"
)

type runOptions struct {
	url, compareURL     string
	token, compareToken string
	state               string
	clients             int
	duration, warmup    time.Duration
	timeout             time.Duration
	workloads           []workload
	json                bool
	smallPoints         int
	largePoints         int
	sprockets           int
	batch               int
	ingestBatch         int
	seed                uint64
	pgbenchDSN          string
	hostileClients      int
	hostileQuery        string
}

func parseRun(args []string, stderr io.Writer) (*runOptions, error) {
	o := &runOptions{}
	fs := flag.NewFlagSet("sprocketbench run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.url, "url", "http://127.0.0.1:8080", "base URL of the server under test")
	fs.StringVar(&o.compareURL, "compare-url", "", "base URL of a second server to run the same workloads against (ratios compare/primary)")
	fs.StringVar(&o.token, "token", "", "bearer token for writes (a server with API_TOKENS)")
	fs.StringVar(&o.compareToken, "compare-token", "", "bearer token for the compare server (default: --token)")
	fs.StringVar(&o.state, "state", "bench-state.json", "state file written by gen; run adds the factories it creates")
	fs.IntVar(&o.clients, "clients", 8, "concurrent clients")
	fs.DurationVar(&o.duration, "duration", 5*time.Second, "measured time per workload and server")
	fs.DurationVar(&o.warmup, "warmup", time.Second, "unmeasured warm-up before each measurement")
	fs.DurationVar(&o.timeout, "timeout", time.Minute, "timeout of one HTTP request")
	list := fs.String("workloads", "all", "comma-separated workloads, or all: "+joinNames())
	fs.BoolVar(&o.json, "json", false, "print the results as JSON instead of a table")
	fs.IntVar(&o.smallPoints, "small-points", 1000, "points of the rest-factory-small factory")
	fs.IntVar(&o.largePoints, "large-points", 100000, "points of the rest-factory-large factory")
	fs.IntVar(&o.sprockets, "sprockets", 100, "sprockets the server should have (missing ones are created)")
	fs.IntVar(&o.batch, "batch", maxBatch, "points per recordProduction call when the harness fills a factory")
	fs.IntVar(&o.ingestBatch, "ingest-batch", 10000, "points per recordProduction call of bulk-ingest")
	fs.Uint64Var(&o.seed, "seed", 1, "seed of the harness's data and random choices")
	fs.IntVar(&o.hostileClients, "hostile-clients", 8, "fair-sprocket-get: clients that loop --hostile-query meanwhile")
	fs.StringVar(&o.hostileQuery, "hostile-query", hostileQuery, "fair-sprocket-get: the expensive GraphQL query, with variable $id (Int64!) the largest factory's row id")
	fs.StringVar(&o.pgbenchDSN, "pgbench-dsn", "", "postgres:// URL: also run pgbench -S with the same clients and duration, and print the ratio to rest-sprocket-get")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: sprocketbench run [flags]\n\nDrives the server(s) with concurrent clients; workloads:")
		for _, w := range workloads {
			fmt.Fprintf(stderr, "  %-20s %s\n", w.name, w.about)
		}
		fmt.Fprintln(stderr, "\nflags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("run: unexpected arguments %q", fs.Args())
	}
	var err error
	if o.workloads, err = selectWorkloads(*list); err != nil {
		return nil, fmt.Errorf("run: %w", err)
	}
	if o.compareToken == "" {
		o.compareToken = o.token
	}
	var errs []error
	if o.clients < 1 {
		errs = append(errs, errors.New("--clients must be at least 1"))
	}
	if o.duration <= 0 {
		errs = append(errs, errors.New("--duration must be positive"))
	}
	if o.warmup < 0 {
		errs = append(errs, errors.New("--warmup must not be negative"))
	}
	if o.smallPoints < 1 || o.largePoints < 1 {
		errs = append(errs, errors.New("--small-points and --large-points must be at least 1"))
	}
	if o.batch < 1 || o.batch > maxBatch || o.ingestBatch < 1 || o.ingestBatch > maxBatch {
		errs = append(errs, fmt.Errorf("--batch and --ingest-batch must be from 1 to %d", maxBatch))
	}
	if o.hostileClients < 0 {
		errs = append(errs, errors.New("--hostile-clients must not be negative"))
	}
	if o.sprockets < 0 {
		errs = append(errs, errors.New("--sprockets must not be negative"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("run: %w", err)
	}
	return o, nil
}

func joinNames() string { return strings.Join(workloadNames(), ", ") }

// run drives the workloads against the primary server and, with
// --compare-url, the compare server: each workload against one, then the
// other, so that both see the same machine state as far as possible.
func run(ctx context.Context, o *runOptions, stdout, stderr io.Writer) error {
	st, err := loadState(o.state)
	if err != nil {
		return err
	}
	hc := newHTTPClient(o.clients, o.timeout)
	rep := &Report{
		Started:         time.Now().UTC().Truncate(time.Second),
		Machine:         machine(),
		Clients:         o.clients,
		DurationSeconds: o.duration.Seconds(),
		WarmupSeconds:   o.warmup.Seconds(),
		Primary:         normalizeURL(o.url),
		Compare:         normalizeURL(o.compareURL),
	}
	targets := []*target{}
	primary, err := newTarget(ctx, "primary", o.url, o.token, hc, o, st, stderr)
	if err != nil {
		return err
	}
	targets = append(targets, primary)
	if o.compareURL != "" {
		compare, err := newTarget(ctx, "compare", o.compareURL, o.compareToken, hc, o, st, stderr)
		if err != nil {
			return err
		}
		targets = append(targets, compare)
	}

	failed := 0
	for _, w := range o.workloads {
		var pair []Result
		for _, t := range targets {
			r := runOne(ctx, w, t, o, stderr)
			if r.Failed != "" {
				failed++
			}
			rep.Results = append(rep.Results, r)
			pair = append(pair, r)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if len(pair) == 2 {
			if ratio, ok := ratioOf(pair[0], pair[1]); ok {
				rep.Ratios = append(rep.Ratios, ratio)
			}
		}
	}

	if o.pgbenchDSN != "" {
		pg := &PgbenchResult{Clients: o.clients}
		res, err := pgbench(ctx, o.pgbenchDSN, o.clients, o.duration, stderr)
		switch {
		case errors.Is(err, errNoPgbench):
			pg.Skipped = err.Error()
		case err != nil:
			return err
		default:
			pg = res
		}
		for _, r := range rep.Results {
			if r.Workload == "rest-sprocket-get" && r.Target == "primary" && r.Requests > 0 && pg.TPS > 0 {
				pg.RestSprocketGetRatio = r.ReqPerSec / pg.TPS
			}
		}
		rep.Pgbench = pg
	}

	if o.json {
		err = writeJSON(stdout, rep)
	} else {
		err = writeTable(stdout, rep)
	}
	if err != nil {
		return err
	}
	if failed > 0 {
		return fmt.Errorf("run: %d workload(s) could not be set up (see \"failed\")", failed)
	}
	return nil
}

// runOne prepares, measures and cleans up one workload on one target.
func runOne(ctx context.Context, w workload, t *target, o *runOptions, log io.Writer) Result {
	r := Result{Workload: w.name, Target: t.role, URL: t.c.base, Clients: o.clients}
	if w.graphql && !t.graphql {
		r.Skipped = "no GraphQL at /graphql"
		fmt.Fprintf(log, "%-8s %-19s skipped: %s\n", t.role, w.name, r.Skipped)
		return r
	}
	p, err := w.prepare(ctx, t)
	if err != nil {
		r.Failed = "set-up: " + err.Error()
		fmt.Fprintf(log, "%-8s %-19s failed: %s\n", t.role, w.name, r.Failed)
		return r
	}
	reads := t.c.scrapeReplicaReads(ctx)
	m := measure(ctx, p, o.clients, o.warmup, o.duration, o.seed)
	r.fillStandby(reads, t.c.scrapeReplicaReads(ctx))
	if p.cleanup != nil {
		// Cleaning up may take a while (deleting what bulk-ingest wrote);
		// it gets its own deadline, not the per-request one.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Minute)
		if err := p.cleanup(cctx); err != nil {
			fmt.Fprintf(log, "%-8s %-19s clean-up: %v\n", t.role, w.name, err)
		}
		cancel()
	}
	r.fill(m)
	if p.background != nil {
		r.Background = p.background()
		b := r.Background
		fmt.Fprintf(log, "%-8s %-19s beside: %d hostile clients, %d requests %v; health %d checks, %d failed, slowest %s\n",
			t.role, w.name, b.HostileClients, b.HostileRequests, b.HostileOutcomes, b.HealthChecks, b.HealthFailures, fmtMs(b.HealthMaxMs))
	}
	fmt.Fprintf(log, "%-8s %-19s %7d requests  %9.1f req/s  p50 %-9s p99 %-9s errors %d\n",
		t.role, w.name, r.Requests, r.ReqPerSec, fmtMs(r.P50Ms), fmtMs(r.P99Ms), r.Errors)
	if r.StandbyReads != nil {
		fmt.Fprintf(log, "%-8s %-19s reads served by standbys %d, by the primary %d\n", t.role, w.name, *r.StandbyReads, *r.PrimaryReads)
	}
	for _, s := range r.ErrorSamples {
		fmt.Fprintf(log, "         %-19s error: %s\n", "", s)
	}
	return r
}
