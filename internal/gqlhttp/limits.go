package gqlhttp

import (
	"context"
	"iter"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// depthLimit refuses operations whose selections nest deeper than limit
// fields (gqlgen has no such extension). A root field is at depth 1;
// fragments count as the fields they contain. The introspection fields
// __schema and __type are exempt: GraphiQL's introspection query nests its
// type references about ten deep, and gqlparser's MaxIntrospectionDepth
// rule already bounds them. The refusal's code is DEPTH_LIMIT_EXCEEDED.
type depthLimit struct {
	limit int
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = depthLimit{}

func (depthLimit) ExtensionName() string                   { return "DepthLimit" }
func (depthLimit) Validate(graphql.ExecutableSchema) error { return nil }

func (d depthLimit) MutateOperationContext(_ context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	w := depthWalker{doc: oc.Doc, memo: map[string]int{}, active: map[string]bool{}}
	depth := w.selectionSet(oc.Operation.SelectionSet)
	if depth <= d.limit {
		return nil
	}
	e := gqlerror.Errorf("The operation nests fields %d deep, more than the limit of %d.", depth, d.limit)
	e.Extensions = map[string]any{"code": CodeDepthLimit}
	if p := oc.Operation.Position; p != nil {
		e.Locations = []gqlerror.Location{{Line: p.Line, Column: p.Column}}
	}
	return e
}

// depthWalker measures selection sets. A fragment's depth does not depend on
// where it is spread, so each is measured once (memo): fragments spread in
// fragments cannot blow the walk up exponentially. active guards against
// cycles, which validation refuses anyway.
type depthWalker struct {
	doc    *ast.QueryDocument
	memo   map[string]int
	active map[string]bool
}

func (w depthWalker) selectionSet(set ast.SelectionSet) int {
	deepest := 0
	for _, sel := range set {
		var d int
		switch s := sel.(type) {
		case *ast.Field:
			if s.Name == "__schema" || s.Name == "__type" {
				continue
			}
			d = 1 + w.selectionSet(s.SelectionSet)
		case *ast.InlineFragment:
			d = w.selectionSet(s.SelectionSet)
		case *ast.FragmentSpread:
			d = w.fragment(s)
		}
		deepest = max(deepest, d)
	}
	return deepest
}

func (w depthWalker) fragment(s *ast.FragmentSpread) int {
	if d, ok := w.memo[s.Name]; ok {
		return d
	}
	if w.active[s.Name] {
		return 0
	}
	def := s.Definition
	if def == nil && w.doc != nil {
		def = w.doc.Fragments.ForName(s.Name)
	}
	if def == nil {
		return 0
	}
	w.active[s.Name] = true
	d := w.selectionSet(def.SelectionSet)
	delete(w.active, s.Name)
	w.memo[s.Name] = d
	return d
}

// noIntrospection refuses operations that select __schema or __type when
// introspection is off, before execution and with the validation code, as
// Apollo does. Without it gqlgen executes them and fails the field with an
// uncoded "introspection disabled", which would read as an internal error.
type noIntrospection struct{}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = noIntrospection{}

func (noIntrospection) ExtensionName() string                   { return "NoIntrospection" }
func (noIntrospection) Validate(graphql.ExecutableSchema) error { return nil }

func (noIntrospection) MutateOperationContext(_ context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	// The meta-fields exist on the query root only, so the root selection
	// set and the fragments spread into it are all there is to look at.
	var f *ast.Field
	for root := range rootFields(oc.Doc, oc.Operation.SelectionSet) {
		if root.Name == "__schema" || root.Name == "__type" {
			f = root
			break
		}
	}
	if f == nil {
		return nil
	}
	e := gqlerror.Errorf("Introspection is disabled on this server.")
	e.Extensions = map[string]any{"code": CodeValidationFailed}
	if f.Position != nil {
		e.Locations = []gqlerror.Location{{Line: f.Position.Line, Column: f.Position.Column}}
	}
	return e
}

// rootFields yields the fields of the root selection set set, with inline
// fragments and the fragments spread into it expanded (each spread once),
// in document order. doc, which may be nil, holds the fragments whose
// spreads have no Definition.
func rootFields(doc *ast.QueryDocument, set ast.SelectionSet) iter.Seq[*ast.Field] {
	return func(yield func(*ast.Field) bool) {
		seen := map[string]bool{}
		var walk func(ast.SelectionSet) bool
		walk = func(set ast.SelectionSet) bool {
			for _, sel := range set {
				switch s := sel.(type) {
				case *ast.Field:
					if !yield(s) {
						return false
					}
				case *ast.InlineFragment:
					if !walk(s.SelectionSet) {
						return false
					}
				case *ast.FragmentSpread:
					if seen[s.Name] {
						continue
					}
					seen[s.Name] = true
					def := s.Definition
					if def == nil && doc != nil {
						def = doc.Fragments.ForName(s.Name)
					}
					if def != nil && !walk(def.SelectionSet) {
						return false
					}
				}
			}
			return true
		}
		walk(set)
	}
}
