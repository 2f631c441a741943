package gqlhttp

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// numberLiterals keeps number literals that no Go number can hold from
// panicking. gqlparser validates Int and Float literals against their
// types' ranges, but not a literal given to a custom scalar (Int64, Time,
// Cursor) or to ID: 99999999999999999999999 passes validation, and then
// ast.Value.Value fails on it, which ast.Field.ArgumentMap turns into a
// panic. gqlgen calls ArgumentMap from its complexity calculation (before
// execution, outside any recover a field has) and again when it resolves
// the field.
//
// An operation with such a literal runs on a copy of its document in which
// each of them is a string literal with the same text. The scalar then
// refuses the text as it refuses any other value it cannot hold ("…" is out
// of range, "…" is not an integer), and the client gets the same
// BAD_USER_INPUT field error, with path and extensions.field, as for the
// same number sent in a variable. The cached document is never changed:
// the copy is the operation's own, and only the selections on the way to a
// bad literal are copied. It must run before the complexity limit.
type numberLiterals struct{}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = numberLiterals{}

func (numberLiterals) ExtensionName() string                   { return "NumberLiterals" }
func (numberLiterals) Validate(graphql.ExecutableSchema) error { return nil }

func (numberLiterals) MutateOperationContext(_ context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	if oc.Doc == nil || oc.Operation == nil {
		return nil
	}
	r := &literalRewriter{doc: oc.Doc, fragments: map[string]*ast.FragmentDefinition{}}
	set, changed := r.selectionSet(oc.Operation.SelectionSet)
	if !changed {
		return nil
	}
	op := *oc.Operation
	op.SelectionSet = set
	doc := *oc.Doc
	doc.Operations = make(ast.OperationList, len(oc.Doc.Operations))
	for i, o := range oc.Doc.Operations {
		if o == oc.Operation {
			o = &op
		}
		doc.Operations[i] = o
	}
	doc.Fragments = make(ast.FragmentDefinitionList, len(oc.Doc.Fragments))
	for i, f := range oc.Doc.Fragments {
		if def := r.fragments[f.Name]; def != nil {
			f = def
		}
		doc.Fragments[i] = f
	}
	oc.Doc, oc.Operation = &doc, &op
	return nil
}

// literalRewriter copies the parts of a document that lead to a number
// literal out of Go's range. fragments memoises the fragments met, by
// name: their copy, or nil when they needed none. Spreads of a copied
// fragment point at the copy (gqlgen's complexity walker follows the
// spread's Definition, its executor looks the name up in the document).
// Validation has refused fragment cycles; the nil entry written before
// descending stops one anyway.
type literalRewriter struct {
	doc       *ast.QueryDocument
	fragments map[string]*ast.FragmentDefinition
}

func (r *literalRewriter) fragment(name string) *ast.FragmentDefinition {
	if def, seen := r.fragments[name]; seen {
		return def
	}
	r.fragments[name] = nil
	f := r.doc.Fragments.ForName(name)
	if f == nil {
		return nil
	}
	set, changed := r.selectionSet(f.SelectionSet)
	if !changed {
		return nil
	}
	cp := *f
	cp.SelectionSet = set
	r.fragments[name] = &cp
	return &cp
}

func (r *literalRewriter) selectionSet(set ast.SelectionSet) (ast.SelectionSet, bool) {
	return rewriteEach(set, r.selection)
}

func (r *literalRewriter) selection(sel ast.Selection) (ast.Selection, bool) {
	switch s := sel.(type) {
	case *ast.Field:
		args, argsChanged := arguments(s.Arguments)
		set, setChanged := r.selectionSet(s.SelectionSet)
		if !argsChanged && !setChanged {
			return s, false
		}
		cp := *s
		cp.Arguments, cp.SelectionSet = args, set
		return &cp, true
	case *ast.InlineFragment:
		set, changed := r.selectionSet(s.SelectionSet)
		if !changed {
			return s, false
		}
		cp := *s
		cp.SelectionSet = set
		return &cp, true
	case *ast.FragmentSpread:
		def := r.fragment(s.Name)
		if def == nil {
			return s, false
		}
		cp := *s
		cp.Definition = def
		return &cp, true
	}
	return sel, false
}

func arguments(args ast.ArgumentList) (ast.ArgumentList, bool) {
	return rewriteEach(args, func(a *ast.Argument) (*ast.Argument, bool) {
		v, changed := literal(a.Value)
		if !changed {
			return a, false
		}
		cp := *a
		cp.Value = v
		return &cp, true
	})
}

// rewriteEach passes each item of items through rewrite. When one changes,
// it returns a new list of the rewritten items; otherwise items itself.
func rewriteEach[S ~[]E, E any](items S, rewrite func(E) (E, bool)) (S, bool) {
	var out S
	for i, it := range items {
		next, changed := rewrite(it)
		if changed && out == nil {
			out = make(S, len(items))
			copy(out, items[:i])
		}
		if out != nil {
			out[i] = next
		}
	}
	if out == nil {
		return items, false
	}
	return out, true
}

// literal returns v with its out-of-range numbers turned into strings.
func literal(v *ast.Value) (*ast.Value, bool) {
	if v == nil {
		return v, false
	}
	switch v.Kind {
	case ast.IntValue, ast.FloatValue:
		if _, err := v.Value(nil); err == nil {
			return v, false
		}
		cp := *v
		cp.Kind = ast.StringValue
		return &cp, true
	case ast.ListValue, ast.ObjectValue:
		out, changed := rewriteEach(v.Children, func(c *ast.ChildValue) (*ast.ChildValue, bool) {
			cv, changed := literal(c.Value)
			if !changed {
				return c, false
			}
			cp := *c
			cp.Value = cv
			return &cp, true
		})
		if !changed {
			return v, false
		}
		cp := *v
		cp.Children = out
		return &cp, true
	}
	return v, false
}
