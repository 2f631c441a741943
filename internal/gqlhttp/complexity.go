package gqlhttp

import (
	"context"
	"math"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"golang.org/x/sync/semaphore"
)

// costLimit refuses, before execution, operations whose cost is over
// limit. The cost counts what an operation can return, with one rule:
//
//	cost(field) = (1 + cost of its selections) × the list size it can return
//
// The list size of the schema's own fields comes from its Pricing (1 when
// it prices none); that of introspection's lists is the largest such list
// in the schema: __Schema.types and directives their number; __Type.fields,
// inputFields, enumValues, interfaces and possibleTypes, and the args of
// fields and directives, the largest such list of any type or field.
//
// Each alias is a field of its own, and __schema and __type cost like any
// other field. A field of an interface type costs as its costliest
// implementation (the selections that apply to it). Introspection's lists
// are counted at their largest, so the cost bounds the answer from above
// (the costs of GraphiQL's introspection query and of the dashboard's
// queries are in TestCosts).
//
// gqlgen's own walker (extension.ComplexityLimit with the generated
// Complexity functions) cannot do this: it skips __schema altogether, and
// no complexity function is asked for the fields of the introspection
// types. The refusal has the code COMPLEXITY_LIMIT_EXCEEDED.
type costLimit struct {
	limit   int
	pricing Pricing
	bounds  *introspectionBounds
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = (*costLimit)(nil)

func (*costLimit) ExtensionName() string { return "CostLimit" }

func (c *costLimit) Validate(es graphql.ExecutableSchema) error {
	c.bounds = boundsOf(es.Schema())
	return nil
}

func (c *costLimit) MutateOperationContext(_ context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	if oc.Doc == nil || oc.Operation == nil {
		return nil
	}
	cost := operationCost(oc.Operation, oc.Variables, c.bounds, c.pricing)
	oc.Stats.SetExtension(costStats, cost)
	if cost <= c.limit {
		return nil
	}
	e := gqlerror.Errorf("The operation costs %d, more than the limit of %d: each field costs 1 plus its selections, "+
		"times the number of items it can return (first/last, maxDataPoints, ids).", cost, c.limit)
	e.Extensions = map[string]any{"code": CodeComplexityLimit, "cost": cost, "limit": c.limit}
	if p := oc.Operation.Position; p != nil {
		e.Locations = []gqlerror.Location{{Line: p.Line, Column: p.Column}}
	}
	return e
}

// costStats names the operation's cost in its stats.
const costStats = "Cost"

// costShare bounds the cost of the queries and mutations that run at
// once, server-wide, to capacity (GRAPHQL_COST_IN_FLIGHT): the answer
// budget stops an answer, but the rows behind it are read first, so
// sixteen dashboards at once would hold sixteen dashboards' rows. An
// operation that costs cheap or less runs at once; a costlier one waits
// for its turn (weighted by its cost, at most capacity) until its
// deadline, then fails with SERVICE_UNAVAILABLE (and Retry-After).
// Subscriptions do not wait: their events are small.
type costShare struct {
	sem      *semaphore.Weighted
	capacity int64
}

// cheap is the cost under which an operation never waits.
const cheap = 10_000

var _ interface {
	graphql.HandlerExtension
	graphql.OperationInterceptor
} = costShare{}

func (costShare) ExtensionName() string                   { return "CostShare" }
func (costShare) Validate(graphql.ExecutableSchema) error { return nil }

func (c costShare) InterceptOperation(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	oc := graphql.GetOperationContext(ctx)
	cost, _ := oc.Stats.GetExtension(costStats).(int)
	if c.sem == nil || cost < cheap || oc.Operation == nil || oc.Operation.Operation == ast.Subscription {
		return next(ctx)
	}
	weight := min(int64(cost), c.capacity)
	if err := c.sem.Acquire(ctx, weight); err != nil {
		e := codedError(CodeUnavailable, "The server is busy with costly operations; try again shortly.")
		return graphql.OneShot(&graphql.Response{Errors: gqlerror.List{e}})
	}
	handler := next(ctx)
	return func(ctx context.Context) *graphql.Response {
		defer c.sem.Release(weight)
		return handler(ctx)
	}
}

// operationCost is the cost of op (see costLimit) with the variables vars
// and the list sizes of pricing (nil: none). A schema without a definition
// for a field's type (which validation refuses) counts the field as 1.
func operationCost(op *ast.OperationDefinition, vars map[string]any, b *introspectionBounds, pricing Pricing) int {
	w := costWalker{vars: vars, b: b, pricing: pricing, memo: map[costKey]int{}, active: map[costKey]bool{}}
	var root *ast.Definition
	switch op.Operation {
	case ast.Mutation:
		root = b.schema.Mutation
	case ast.Subscription:
		root = b.schema.Subscription
	default:
		root = b.schema.Query
	}
	return w.set(op.SelectionSet, root)
}

type costKey struct{ fragment, on string }

type costWalker struct {
	vars    map[string]any
	b       *introspectionBounds
	pricing Pricing
	memo    map[costKey]int // fragment spread on a type: its cost
	active  map[costKey]bool
}

// set is the cost of a selection set on the concrete type on (or on the
// abstract type itself when it has no implementation).
func (w costWalker) set(set ast.SelectionSet, on *ast.Definition) int {
	total := 0
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			total = addCost(total, w.field(s))
		case *ast.InlineFragment:
			if w.applies(s.TypeCondition, on) {
				total = addCost(total, w.set(s.SelectionSet, on))
			}
		case *ast.FragmentSpread:
			def := s.Definition
			if def == nil || !w.applies(def.TypeCondition, on) {
				continue
			}
			key := costKey{s.Name, ""}
			if on != nil {
				key.on = on.Name
			}
			if c, ok := w.memo[key]; ok {
				total = addCost(total, c)
				continue
			}
			if w.active[key] { // a cycle, which validation refuses
				continue
			}
			w.active[key] = true
			c := w.set(def.SelectionSet, on)
			delete(w.active, key)
			w.memo[key] = c
			total = addCost(total, c)
		}
	}
	return total
}

// applies reports whether a fragment on condition applies to on.
func (w costWalker) applies(condition string, on *ast.Definition) bool {
	if condition == "" || on == nil || condition == on.Name {
		return true
	}
	cond := w.b.schema.Types[condition]
	if cond == nil {
		return false
	}
	if on.IsAbstractType() { // no implementation to choose
		return true
	}
	for _, t := range w.b.schema.GetPossibleTypes(cond) {
		if t.Name == on.Name {
			return true
		}
	}
	return false
}

func (w costWalker) field(f *ast.Field) int {
	if f.Definition == nil {
		return 1
	}
	children := 0
	if len(f.SelectionSet) > 0 {
		t := w.b.schema.Types[f.Definition.Type.Name()]
		switch {
		case t == nil:
		case t.IsAbstractType():
			possible := w.b.schema.GetPossibleTypes(t)
			if len(possible) == 0 {
				children = w.set(f.SelectionSet, t)
			}
			for _, p := range possible {
				children = max(children, w.set(f.SelectionSet, p))
			}
		default:
			children = w.set(f.SelectionSet, t)
		}
	}
	parent := ""
	if f.ObjectDefinition != nil {
		parent = f.ObjectDefinition.Name
	}
	return mulCost(addCost(1, children), w.listSize(parent, f))
}

// listSize is how many items the field f of the type parent can return.
func (w costWalker) listSize(parent string, f *ast.Field) int {
	if w.pricing != nil {
		if n, ok := w.pricing.ListSize(parent, f.Name, func(name string) any { return w.arg(f, name) }); ok {
			return n
		}
	}
	if n, ok := w.b.lists[parent+"."+f.Name]; ok {
		return n
	}
	return 1
}

// arg is the value of the argument name of f, with the variables; nil when
// it is absent or cannot be read.
func (w costWalker) arg(f *ast.Field, name string) (v any) {
	a := f.Arguments.ForName(name)
	if a == nil || a.Value == nil {
		return nil
	}
	defer func() {
		if recover() != nil {
			v = nil
		}
	}()
	v, err := a.Value.Value(w.vars)
	if err != nil {
		return nil
	}
	return v
}

// introspectionBounds are the list sizes of introspection, from the
// schema: lists maps "__Type.fields" and the like to the longest such list.
type introspectionBounds struct {
	schema *ast.Schema
	lists  map[string]int
}

func boundsOf(s *ast.Schema) *introspectionBounds {
	fields, inputFields, enumValues, interfaces, possibleTypes, args := 1, 1, 1, 1, 1, 1
	for _, t := range s.Types {
		switch t.Kind {
		case ast.InputObject:
			inputFields = max(inputFields, len(t.Fields))
		case ast.Enum:
			enumValues = max(enumValues, len(t.EnumValues))
		default:
			fields = max(fields, len(t.Fields))
		}
		interfaces = max(interfaces, len(t.Interfaces))
		if t.IsAbstractType() {
			possibleTypes = max(possibleTypes, len(s.GetPossibleTypes(t)))
		}
		for _, f := range t.Fields {
			args = max(args, len(f.Arguments))
		}
	}
	for _, d := range s.Directives {
		args = max(args, len(d.Arguments))
	}
	return &introspectionBounds{schema: s, lists: map[string]int{
		"__Schema.types":       max(1, len(s.Types)),
		"__Schema.directives":  max(1, len(s.Directives)),
		"__Type.fields":        fields,
		"__Type.inputFields":   inputFields,
		"__Type.enumValues":    enumValues,
		"__Type.interfaces":    interfaces,
		"__Type.possibleTypes": possibleTypes,
		"__Field.args":         args,
		"__Directive.args":     args,
	}}
}

func addCost(a, b int) int {
	if a > math.MaxInt-b {
		return math.MaxInt
	}
	return a + b
}

func mulCost(a, b int) int {
	if a != 0 && b > math.MaxInt/a {
		return math.MaxInt
	}
	return a * b
}
