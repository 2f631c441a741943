package gqlhttp

import (
	"unsafe"

	"github.com/vektah/gqlparser/v2/ast"
)

// documentBytes estimates the heap a parsed and validated document holds:
// its source text (names and comments are slices of it), and each node
// with its position. It is what the query cache charges a document, and
// part of what a streamed operation is charged (TestDocumentBytesIsRealistic
// compares it with the heap documents hold).
func documentBytes(doc *ast.QueryDocument) int64 {
	if doc == nil {
		return 0
	}
	s := docSizer{sources: map[*ast.Source]bool{}}
	s.n += int64(unsafe.Sizeof(*doc))
	s.position(doc.Position)
	s.comments(doc.Comment)
	s.slice(len(doc.Operations), ptrSize)
	for _, op := range doc.Operations {
		s.n += int64(unsafe.Sizeof(*op))
		s.position(op.Position)
		s.comments(op.Comment)
		s.variables(op.VariableDefinitions)
		s.directives(op.Directives)
		s.selections(op.SelectionSet)
	}
	s.slice(len(doc.Fragments), ptrSize)
	for _, f := range doc.Fragments {
		s.n += int64(unsafe.Sizeof(*f))
		s.position(f.Position)
		s.comments(f.Comment)
		s.variables(f.VariableDefinition)
		s.directives(f.Directives)
		s.selections(f.SelectionSet)
	}
	// Allocations are rounded up to the allocator's size classes.
	return s.n + s.n/8
}

const (
	ptrSize       = int64(unsafe.Sizeof(uintptr(0)))
	interfaceSize = 2 * ptrSize
	positionSize  = int64(unsafe.Sizeof(ast.Position{}))
)

type docSizer struct {
	n       int64
	sources map[*ast.Source]bool
}

// slice counts the backing array of a slice of n elements of size each.
func (s *docSizer) slice(n int, size int64) {
	s.n += int64(n) * size
}

func (s *docSizer) position(p *ast.Position) {
	if p == nil {
		return
	}
	s.n += positionSize
	if p.Src != nil && !s.sources[p.Src] {
		s.sources[p.Src] = true
		s.n += int64(unsafe.Sizeof(*p.Src)) + int64(len(p.Src.Input)) + int64(len(p.Src.Name))
	}
}

func (s *docSizer) comments(g *ast.CommentGroup) {
	if g == nil {
		return
	}
	s.n += int64(unsafe.Sizeof(*g))
	s.slice(len(g.List), ptrSize)
	for _, c := range g.List {
		s.n += int64(unsafe.Sizeof(*c))
		s.position(c.Position)
	}
}

func (s *docSizer) variables(vars ast.VariableDefinitionList) {
	s.slice(len(vars), ptrSize)
	for _, v := range vars {
		s.n += int64(unsafe.Sizeof(*v))
		s.position(v.Position)
		s.comments(v.Comment)
		for t := v.Type; t != nil; t = t.Elem {
			s.n += int64(unsafe.Sizeof(*t))
			s.position(t.Position)
		}
		s.value(v.DefaultValue)
		s.directives(v.Directives)
	}
}

func (s *docSizer) directives(dirs ast.DirectiveList) {
	s.slice(len(dirs), ptrSize)
	for _, d := range dirs {
		s.n += int64(unsafe.Sizeof(*d))
		s.position(d.Position)
		s.arguments(d.Arguments)
	}
}

func (s *docSizer) arguments(args ast.ArgumentList) {
	s.slice(len(args), ptrSize)
	for _, a := range args {
		s.n += int64(unsafe.Sizeof(*a))
		s.position(a.Position)
		s.comments(a.Comment)
		s.value(a.Value)
	}
}

func (s *docSizer) value(v *ast.Value) {
	if v == nil {
		return
	}
	s.n += int64(unsafe.Sizeof(*v))
	s.position(v.Position)
	s.comments(v.Comment)
	if v.Kind == ast.StringValue || v.Kind == ast.BlockValue {
		s.n += int64(len(v.Raw)) // unescaped: a copy of its own
	}
	s.slice(len(v.Children), ptrSize)
	for _, c := range v.Children {
		s.n += int64(unsafe.Sizeof(*c))
		s.position(c.Position)
		s.comments(c.Comment)
		s.value(c.Value)
	}
}

func (s *docSizer) selections(set ast.SelectionSet) {
	s.slice(len(set), interfaceSize)
	for _, sel := range set {
		switch x := sel.(type) {
		case *ast.Field:
			s.n += int64(unsafe.Sizeof(*x))
			s.position(x.Position)
			s.comments(x.Comment)
			s.arguments(x.Arguments)
			s.directives(x.Directives)
			s.selections(x.SelectionSet)
		case *ast.InlineFragment:
			s.n += int64(unsafe.Sizeof(*x))
			s.position(x.Position)
			s.comments(x.Comment)
			s.directives(x.Directives)
			s.selections(x.SelectionSet)
		case *ast.FragmentSpread:
			s.n += int64(unsafe.Sizeof(*x))
			s.position(x.Position)
			s.comments(x.Comment)
			s.directives(x.Directives)
		}
	}
}
