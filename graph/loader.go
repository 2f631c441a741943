package graph

import (
	"context"
	"fmt"
	"reflect"
	"sync"

	"github.com/99designs/gqlgen/graphql"

	"github.com/sprocketapi/sprocket/ent"
	"github.com/sprocketapi/sprocket/internal/core"
)

// Chart fields (series, summary) are computed for every factory of a
// result at once, so that a dashboard query for 50 factories costs the
// same statements as one for a single factory. The first sibling to
// resolve a field with given arguments loads it for all of them; the
// others read the result. The siblings are found in the result of the
// enclosing field, which gqlgen keeps in the field context, whatever its
// type (see siblingFactories).

type loadersKey struct{}

// batches is the per-operation cache of batched loads.
type batches struct {
	mu sync.Mutex
	m  map[string]*batch
	// found holds, by enclosing field, the factories its result holds:
	// each field's result is searched once, not once per factory in it.
	found map[*graphql.FieldContext]*factorySet
}

// factorySet is the factories of one field's result, in order.
type factorySet struct {
	ids []int
	has map[int]bool
	key string // ids, formatted for batch keys
}

// factoriesIn returns the factories that fc's result holds.
func (bs *batches) factoriesIn(fc *graphql.FieldContext) *factorySet {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	if set, ok := bs.found[fc]; ok {
		return set
	}
	set := &factorySet{has: map[int]bool{}}
	collectFactories(reflect.ValueOf(fc.Result), 0, func(x *ent.Factory) {
		set.ids = append(set.ids, x.ID)
		set.has[x.ID] = true
	})
	set.key = fmt.Sprint(set.ids)
	bs.found[fc] = set
	return set
}

type batch struct {
	once sync.Once
	res  any
	err  error
	// errs are the errors of single factories, when the batch failed on
	// data and was loaded again one factory at a time.
	errs map[int]error
}

// Loaders is the gqlgen extension that gives each operation its cache.
type Loaders struct{}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationInterceptor
} = Loaders{}

// ExtensionName implements graphql.HandlerExtension.
func (Loaders) ExtensionName() string { return "ChartLoaders" }

// Validate implements graphql.HandlerExtension.
func (Loaders) Validate(graphql.ExecutableSchema) error { return nil }

// InterceptOperation implements graphql.OperationInterceptor.
func (Loaders) InterceptOperation(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	return next(context.WithValue(ctx, loadersKey{}, &batches{m: map[string]*batch{}, found: map[*graphql.FieldContext]*factorySet{}}))
}

// siblingFactories returns the set of the factories resolved together
// with f: every factory in the result of the nearest enclosing field whose
// result holds f and others (a list, a connection's edges), or f alone. The
// results are searched by their shape, not their type, so that any field
// that returns factories batches their chart fields, a new one included.
func siblingFactories(ctx context.Context, bs *batches, f *ent.Factory) *factorySet {
	for fc := graphql.GetFieldContext(ctx); fc != nil; fc = fc.Parent {
		if fc.Result == nil || fc.Result == any(f) {
			continue
		}
		if set := bs.factoriesIn(fc); set.has[f.ID] && len(set.ids) > 1 {
			return set
		}
	}
	return &factorySet{ids: []int{f.ID}, key: fmt.Sprint([]int{f.ID})}
}

var factoryType = reflect.TypeFor[*ent.Factory]()

// maxResultDepth bounds the search of a result for factories: a
// connection's edges are at depth 3 (connection, edges, edge).
const maxResultDepth = 4

// collectFactories calls found for every *ent.Factory in v: v itself, or
// the elements and exported fields of lists, pointers, interfaces and
// structs down to maxResultDepth (not inside a factory: its loaded edges
// are not its siblings).
func collectFactories(v reflect.Value, depth int, found func(*ent.Factory)) {
	if !v.IsValid() || depth > maxResultDepth {
		return
	}
	if v.Type() == factoryType {
		if !v.IsNil() {
			found(v.Interface().(*ent.Factory))
		}
		return
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			collectFactories(v.Elem(), depth, found)
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			collectFactories(v.Index(i), depth+1, found)
		}
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			if t.Field(i).IsExported() {
				collectFactories(v.Field(i), depth+1, found)
			}
		}
	}
}

// loadFor returns load's result for f, calling load once per operation
// for all of f's siblings with the same field and arguments.
func loadFor[T any](ctx context.Context, f *ent.Factory, key string, load func(ids []int) (map[int]T, error)) (T, error) {
	var zero T
	bs, _ := ctx.Value(loadersKey{}).(*batches)
	if bs == nil {
		res, err := load([]int{f.ID})
		return res[f.ID], err
	}
	sibs := siblingFactories(ctx, bs, f)
	ids := sibs.ids
	key += "|" + sibs.key
	bs.mu.Lock()
	b, ok := bs.m[key]
	if !ok {
		b = &batch{}
		bs.m[key] = b
	}
	bs.mu.Unlock()
	b.once.Do(func() {
		res, err := load(ids)
		if err != nil && len(ids) > 1 && core.IsDataOutOfRange(err) {
			res, b.errs, err = loadEach(ids, load)
		}
		b.res, b.err = res, err
	})
	if b.err != nil {
		return zero, b.err
	}
	if err := b.errs[f.ID]; err != nil {
		return zero, err
	}
	return b.res.(map[int]T)[f.ID], nil
}

// loadEach isolates the factories whose stored data fails a batch: one
// factory's values out of range (SQLSTATE 22003 when PostgreSQL sums
// them) fail the statement of all its siblings. It loads the factories
// one at a time, so that the others get their data and only the failing
// ones an error of their own. Any other error fails them all, as the
// batch would have. It costs one statement a factory, on this path only.
func loadEach[T any](ids []int, load func(ids []int) (map[int]T, error)) (map[int]T, map[int]error, error) {
	res := make(map[int]T, len(ids))
	errs := map[int]error{}
	for _, id := range ids {
		one, err := load([]int{id})
		switch {
		case err == nil:
			res[id] = one[id]
		case core.IsDataOutOfRange(err):
			errs[id] = err
		default:
			return nil, nil, err
		}
	}
	return res, errs, nil
}
