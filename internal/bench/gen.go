package bench

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
)

// maxBatch is the most points a recordProduction call carries over
// GraphQL under the server's default budget (GRAPHQL_MAX_VARIABLE_VALUES:
// 4 values a point, see docs/operations.md#limits).
const maxBatch = 10000

var defaultStart = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

type genOptions struct {
	url, token, state string
	factories, points int
	step              time.Duration
	start             time.Time
	batch             int
	seed              uint64
	concurrency       int
	timeout           time.Duration
}

func parseGen(args []string, stderr io.Writer) (genOptions, error) {
	o := genOptions{}
	fs := flag.NewFlagSet("sprocketbench gen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.url, "url", "http://127.0.0.1:8080", "base URL of the server")
	fs.StringVar(&o.token, "token", "", "bearer token for writes (a server with API_TOKENS)")
	fs.StringVar(&o.state, "state", "bench-state.json", "state file where the created factories are recorded for run")
	fs.IntVar(&o.factories, "factories", 20, "number of factories to create")
	fs.IntVar(&o.points, "points", 20000, "points per factory")
	fs.DurationVar(&o.step, "step", time.Minute, "time between points (whole seconds)")
	start := fs.String("start", defaultStart.Format(time.RFC3339), "time of the first point (RFC 3339)")
	fs.IntVar(&o.batch, "batch", maxBatch, fmt.Sprintf("points per recordProduction call (at most %d)", maxBatch))
	fs.Uint64Var(&o.seed, "seed", 1, "seed of the generated values: the same seed gives the same data")
	fs.IntVar(&o.concurrency, "concurrency", 4, "factories filled at the same time")
	fs.DurationVar(&o.timeout, "timeout", 5*time.Minute, "timeout of one HTTP request")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: sprocketbench gen [flags]\n\nCreates factories with createFactory and fills them with recordProduction batches.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("gen: unexpected arguments %q", fs.Args())
	}
	var err error
	if o.start, err = time.Parse(time.RFC3339, *start); err != nil {
		return o, fmt.Errorf("gen: --start: %v", err)
	}
	var errs []error
	if o.factories < 1 {
		errs = append(errs, errors.New("--factories must be at least 1"))
	}
	if o.points < 1 {
		errs = append(errs, errors.New("--points must be at least 1"))
	}
	if o.step < time.Second || o.step%time.Second != 0 {
		errs = append(errs, errors.New("--step must be a whole number of seconds, at least 1s"))
	}
	if o.start.Nanosecond() != 0 {
		errs = append(errs, errors.New("--start must be a whole second"))
	}
	if o.batch < 1 || o.batch > maxBatch {
		errs = append(errs, fmt.Errorf("--batch must be from 1 to %d", maxBatch))
	}
	if o.concurrency < 1 {
		errs = append(errs, errors.New("--concurrency must be at least 1"))
	}
	if err := errors.Join(errs...); err != nil {
		return o, fmt.Errorf("gen: %w", err)
	}
	o.start = o.start.UTC()
	return o, nil
}

// gen creates the data set and records it in the state file.
func gen(ctx context.Context, o genOptions, stdout, stderr io.Writer) error {
	c := newClient(o.url, o.token, newHTTPClient(o.concurrency, o.timeout))
	ok, err := c.hasGraphQL(ctx)
	if err != nil {
		return fmt.Errorf("gen: %w", err)
	}
	if !ok {
		return fmt.Errorf("gen: %s serves no GraphQL at /graphql; gen writes through createFactory and recordProduction", c.base)
	}
	st, err := loadState(o.state)
	if err != nil {
		return err
	}

	refs := make([]FactoryRef, o.factories)
	var mu sync.Mutex // serialises progress lines
	began := time.Now()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(o.concurrency)
	for i := range o.factories {
		g.Go(func() error {
			t0 := time.Now()
			name := fmt.Sprintf("sprocketbench %d/%d seed %d", i+1, o.factories, o.seed)
			ref, err := createFactory(gctx, c, name, o.start, int64(o.step/time.Second))
			if err != nil {
				return err
			}
			s := ref.series(o.seed, i)
			if err := fill(gctx, c, ref.ID, s, 0, o.points, o.batch); err != nil {
				return fmt.Errorf("factory %d (rowId %d): %w", i+1, ref.RowID, err)
			}
			ref.Points = o.points
			refs[i] = ref
			d := time.Since(t0)
			mu.Lock()
			fmt.Fprintf(stderr, "factory %d/%d: rowId %d, %d points in %s (%s points/s)\n",
				i+1, o.factories, ref.RowID, o.points, round(d), num(float64(o.points)/d.Seconds()))
			mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return fmt.Errorf("gen: %w", err)
	}
	elapsed := time.Since(began)
	total := o.factories * o.points

	ts := st.target(c.base)
	ts.Generated = &Generated{Seed: o.seed, Start: o.start, StepSeconds: int64(o.step / time.Second), Points: o.points, Factories: refs}
	if err := st.save(o.state); err != nil {
		return fmt.Errorf("gen: writing the state file: %w", err)
	}
	ids := make([]string, len(refs))
	for i, r := range refs {
		ids[i] = fmt.Sprint(r.RowID)
	}
	fmt.Fprintf(stdout, "generated %d factories × %d points = %d points in %s: %s points/s ingested (batches of %d, %d factories at a time)\n",
		o.factories, o.points, total, round(elapsed), num(float64(total)/elapsed.Seconds()), o.batch, o.concurrency)
	fmt.Fprintf(stdout, "rowIds: %s\n", strings.Join(ids, " "))
	if o.state != "" {
		fmt.Fprintf(stdout, "state: %s\n", o.state)
	}
	return nil
}

const createFactoryQuery = `mutation CreateFactory($name: String!) { createFactory(input: {name: $name}) { id rowId name } }`

// createFactory creates an empty factory through GraphQL.
func createFactory(ctx context.Context, c *client, name string, start time.Time, step int64) (FactoryRef, error) {
	var out struct {
		CreateFactory struct {
			ID    string `json:"id"`
			RowID int64  `json:"rowId"`
			Name  string `json:"name"`
		} `json:"createFactory"`
	}
	if err := c.graphql(ctx, createFactoryQuery, map[string]any{"name": name}, &out); err != nil {
		return FactoryRef{}, fmt.Errorf("createFactory %q: %w", name, err)
	}
	f := out.CreateFactory
	return FactoryRef{ID: f.ID, RowID: f.RowID, Name: f.Name, Start: start, StepSeconds: step}, nil
}

const deleteFactoryQuery = `mutation DeleteFactory($id: ID!) { deleteFactory(id: $id) }`

func deleteFactory(ctx context.Context, c *client, id string) error {
	return c.graphql(ctx, deleteFactoryQuery, map[string]any{"id": id}, nil)
}

// fill records points [from, from+n) of s into factory id, batch points
// a call, in order.
func fill(ctx context.Context, c *client, id string, s series, from, n, batch int) error {
	var body []byte
	for k := from; k < from+n; k += batch {
		m := min(batch, from+n-k)
		body = s.appendRecordBody(body[:0], id, k, m)
		var out struct {
			RecordProduction struct {
				Inserted int `json:"inserted"`
				Updated  int `json:"updated"`
			} `json:"recordProduction"`
		}
		if err := c.graphqlRaw(ctx, body, &out); err != nil {
			return fmt.Errorf("recordProduction of points %d–%d: %w", k, k+m-1, err)
		}
		if got := out.RecordProduction.Inserted; got != m {
			return fmt.Errorf("recordProduction of points %d–%d inserted %d, not %d", k, k+m-1, got, m)
		}
	}
	return nil
}
