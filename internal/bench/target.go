package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path"
	"slices"
	"strconv"
	"time"
)

// target is one server under test, with what the workloads need on it,
// found or created once and then kept.
type target struct {
	role    string // "primary" or "compare"
	c       *client
	graphql bool
	o       *runOptions
	state   *State
	st      *TargetState
	log     io.Writer

	sprocketIDs []int64
	small       *FactoryRef
	large       *FactoryRef
	generated   []seriesFactory
	genChecked  bool
}

// seriesFactory is a factory the series workloads read, with the data
// set's parameters.
type seriesFactory struct {
	ref   FactoryRef
	seed  uint64
	index int
}

func newTarget(ctx context.Context, role, url, token string, hc *http.Client, o *runOptions, st *State, log io.Writer) (*target, error) {
	c := newClient(url, token, hc)
	t := &target{role: role, c: c, o: o, state: st, st: st.target(c.base), log: log}
	var err error
	if t.graphql, err = c.hasGraphQL(ctx); err != nil {
		return nil, fmt.Errorf("%s %s: %w", role, c.base, err)
	}
	if !t.graphql {
		fmt.Fprintf(log, "%s %s: no GraphQL at /graphql; GraphQL workloads are skipped there\n", role, c.base)
	}
	return t, nil
}

func (t *target) save() error {
	if err := t.state.save(t.o.state); err != nil {
		return fmt.Errorf("writing the state file: %w", err)
	}
	return nil
}

// sprockets returns the ids of the target's sprockets, creating some
// through POST /v1/sprockets first when there are fewer than --sprockets.
func (t *target) sprockets(ctx context.Context) ([]int64, error) {
	if t.sprocketIDs != nil {
		return t.sprocketIDs, nil
	}
	ids, err := t.listSprockets(ctx)
	if err != nil {
		return nil, err
	}
	if missing := t.o.sprockets - len(ids); missing > 0 {
		fmt.Fprintf(t.log, "%s: creating %d sprockets\n", t.role, missing)
		for i := range missing {
			teeth := 10 + (len(ids)+i)%40
			body := fmt.Sprintf(`{"teeth":%d,"pitch_diameter":%d.5,"outside_diameter":%d.5,"pitch":1.0}`, teeth, teeth, teeth+2)
			if _, _, err := t.c.postJSON(ctx, "/v1/sprockets", []byte(body)); err != nil {
				return nil, fmt.Errorf("creating a sprocket: %w", err)
			}
		}
		if ids, err = t.listSprockets(ctx); err != nil {
			return nil, err
		}
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("GET /v1/sprockets lists no sprocket (use --sprockets 1 or more)")
	}
	t.sprocketIDs = ids
	return ids, nil
}

func (t *target) listSprockets(ctx context.Context) ([]int64, error) {
	var out struct {
		Sprockets []struct {
			ID int64 `json:"id"`
		} `json:"sprockets"`
	}
	if err := t.c.getJSON(ctx, "/v1/sprockets", &out); err != nil {
		return nil, err
	}
	ids := make([]int64, 0, len(out.Sprockets))
	for _, s := range out.Sprockets {
		ids = append(ids, s.ID)
	}
	return ids, nil
}

// The fixed factories of rest-factory-small and rest-factory-large: the
// same data on every server, so that two servers answer the same bytes.
const (
	smallIndex = 1000
	largeIndex = 1001
)

// fixedFactory returns the small or large factory, reusing the one in
// the state file (or, on a GraphQL server, one found by its name) when it
// still has its points, else creating it: through createFactory and
// recordProduction where there is GraphQL, through POST /v1/factories
// where there is not.
func (t *target) fixedFactory(ctx context.Context, kind string, n int) (*FactoryRef, error) {
	slot, index := &t.st.Small, smallIndex
	cached := &t.small
	if kind == "large" {
		slot, index, cached = &t.st.Large, largeIndex, &t.large
	}
	if *cached != nil {
		return *cached, nil
	}
	name := fmt.Sprintf("sprocketbench %s, %d points", kind, n)
	if ref := *slot; ref != nil && ref.Points == n {
		ok, err := t.has(ctx, ref)
		if err != nil {
			return nil, err
		}
		if ok {
			*cached = ref
			return ref, nil
		}
	}
	if t.graphql {
		ref, err := t.findByName(ctx, name, n)
		if err != nil {
			return nil, err
		}
		if ref != nil {
			*slot, *cached = ref, ref
			return ref, t.save()
		}
	}
	fmt.Fprintf(t.log, "%s: creating the %s factory (%d points)\n", t.role, kind, n)
	ref := &FactoryRef{Name: name, Points: n, Start: defaultStart, StepSeconds: 60}
	s := ref.series(t.o.seed, index)
	if t.graphql {
		created, err := createFactory(ctx, t.c, name, ref.Start, ref.StepSeconds)
		if err != nil {
			return nil, err
		}
		ref.ID, ref.RowID = created.ID, created.RowID
		if err := fill(ctx, t.c, ref.ID, s, 0, n, t.o.batch); err != nil {
			return nil, err
		}
	} else {
		id, err := t.createLegacyFactory(ctx, s.legacyFactoryBody(name, n), n)
		if err != nil {
			return nil, err
		}
		ref.RowID = id
	}
	*slot, *cached = ref, ref
	return ref, t.save()
}

// has says whether the factory of ref is still there with its points.
func (t *target) has(ctx context.Context, ref *FactoryRef) (bool, error) {
	if t.graphql {
		var out struct {
			F *struct {
				Name    string `json:"name"`
				Summary struct {
					Count int `json:"count"`
				} `json:"summary"`
			} `json:"factoryByRowId"`
		}
		err := t.c.graphql(ctx, `query Has($id: Int64!) { factoryByRowId(rowId: $id) { name summary { count } } }`,
			map[string]any{"id": ref.RowID}, &out)
		if err != nil {
			return false, err
		}
		return out.F != nil && out.F.Name == ref.Name && out.F.Summary.Count == ref.Points, nil
	}
	n, err := t.legacyPoints(ctx, ref.RowID)
	if statusOf(err) == http.StatusNotFound {
		return false, nil
	}
	return err == nil && n == ref.Points, err
}

// findByName looks for a factory called name with n points.
func (t *target) findByName(ctx context.Context, name string, n int) (*FactoryRef, error) {
	var out struct {
		Factories struct {
			Edges []struct {
				Node struct {
					ID      string `json:"id"`
					RowID   int64  `json:"rowId"`
					Summary struct {
						Count     int       `json:"count"`
						FirstTime time.Time `json:"firstTime"`
					} `json:"summary"`
				} `json:"node"`
			} `json:"edges"`
		} `json:"factories"`
	}
	err := t.c.graphql(ctx, `query Find($name: String!) { factories(first: 10, where: {name: $name}) { edges { node { id rowId summary { count firstTime } } } } }`,
		map[string]any{"name": name}, &out)
	if err != nil {
		return nil, err
	}
	for _, e := range out.Factories.Edges {
		if e.Node.Summary.Count == n && e.Node.Summary.FirstTime.Equal(defaultStart) {
			return &FactoryRef{ID: e.Node.ID, RowID: e.Node.RowID, Name: name, Points: n, Start: defaultStart, StepSeconds: 60}, nil
		}
	}
	return nil, nil
}

// legacyPoints counts the points GET /v1/factories/{id} returns.
func (t *target) legacyPoints(ctx context.Context, id int64) (int, error) {
	var out struct {
		ChartData struct {
			Time []json.Number `json:"time"`
		} `json:"chart_data"`
	}
	if err := t.c.getJSON(ctx, fmt.Sprintf("/v1/factories/%d", id), &out); err != nil {
		return 0, err
	}
	return len(out.ChartData.Time), nil
}

// createLegacyFactory POSTs a factory to /v1/factories and learns its id
// from the answer's "id", else its Location header, else (the legacy
// service says only "Factory created") the newest factory with n points.
func (t *target) createLegacyFactory(ctx context.Context, body []byte, n int) (int64, error) {
	res, answer, err := t.c.postJSON(ctx, "/v1/factories", body)
	if err != nil {
		return 0, fmt.Errorf("creating a factory: %w", err)
	}
	var out struct {
		ID int64 `json:"id"`
	}
	if json.Unmarshal(answer, &out) == nil && out.ID > 0 {
		return out.ID, nil
	}
	if loc := res.Header.Get("Location"); loc != "" {
		if id, err := strconv.ParseInt(path.Base(loc), 10, 64); err == nil {
			return id, nil
		}
	}
	var list struct {
		Factories []struct {
			ID        int64 `json:"id"`
			ChartData struct {
				Time []json.Number `json:"time"`
			} `json:"chart_data"`
		} `json:"factories"`
	}
	if err := t.c.getJSON(ctx, "/v1/factories", &list); err != nil {
		return 0, err
	}
	var best int64
	for _, f := range list.Factories {
		if len(f.ChartData.Time) == n && f.ID > best {
			best = f.ID
		}
	}
	if best == 0 {
		return 0, fmt.Errorf("created a factory of %d points but cannot find it in GET /v1/factories", n)
	}
	return best, nil
}

// seriesFactories returns the factories the series workloads read: the
// data set of the last gen against this target when it is still there,
// else the large factory.
func (t *target) seriesFactories(ctx context.Context) ([]seriesFactory, error) {
	if t.genChecked {
		return t.generated, nil
	}
	if g := t.st.Generated; g != nil && t.graphql {
		var ok []seriesFactory
		for i, ref := range g.Factories {
			var out struct {
				F *struct {
					Name string `json:"name"`
				} `json:"factoryByRowId"`
			}
			err := t.c.graphql(ctx, `query Has($id: Int64!) { factoryByRowId(rowId: $id) { name } }`, map[string]any{"id": ref.RowID}, &out)
			if err != nil {
				return nil, err
			}
			if out.F != nil && out.F.Name == ref.Name {
				ok = append(ok, seriesFactory{ref: ref, seed: g.Seed, index: i})
			}
		}
		if len(ok) < len(g.Factories) {
			fmt.Fprintf(t.log, "%s: %d of the %d generated factories in the state file are gone\n", t.role, len(g.Factories)-len(ok), len(g.Factories))
		}
		t.generated = ok
	}
	if len(t.generated) == 0 {
		fmt.Fprintf(t.log, "%s: no generated data set (run sprocketbench gen --url %s); the series workloads read the large factory\n", t.role, t.c.base)
		large, err := t.fixedFactory(ctx, "large", t.o.largePoints)
		if err != nil {
			return nil, err
		}
		t.generated = []seriesFactory{{ref: *large, seed: t.o.seed, index: largeIndex}}
	}
	t.genChecked = true
	return t.generated, nil
}

// scratchFactories creates n empty factories for a writing workload.
func (t *target) scratchFactories(ctx context.Context, workload string, n int) ([]FactoryRef, error) {
	refs := make([]FactoryRef, 0, n)
	stamp := time.Now().UTC().Format("20060102T150405.000")
	for i := range n {
		ref, err := createFactory(ctx, t.c, fmt.Sprintf("sprocketbench %s %s client %d", workload, stamp, i), defaultStart, 60)
		if err != nil {
			t.deleteFactories(ctx, refs)
			return nil, err
		}
		refs = append(refs, ref)
	}
	return refs, nil
}

func (t *target) deleteFactories(ctx context.Context, refs []FactoryRef) error {
	var first error
	for _, r := range slices.Backward(refs) {
		if err := deleteFactory(ctx, t.c, r.ID); err != nil && first == nil {
			first = fmt.Errorf("deleting scratch factory %d: %w", r.RowID, err)
		}
	}
	return first
}
