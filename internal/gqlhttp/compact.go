package gqlhttp

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/formatter"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"
)

// compactAbove is the size of a streamed operation's message (a WebSocket
// subscribe, an SSE request body) above which it runs on its compact form.
// Smaller ones, all that real clients send, run as sent.
const compactAbove = 16 << 10

// compactor makes an operation sent over a WebSocket or server-sent events
// keep only what it needs to run, since it may run for days: gqlgen's
// transports hold the message, the query text and its parsed document for
// as long as the operation runs, and a subscription of one field may come
// in a document of a megabyte (other operations, unused fragments,
// comments, descriptions) with variables the operation does not declare.
//
// An operation whose message is larger than compactAbove, whose document
// parses and validates, is rewritten before the executor sees it: its
// query becomes the selected operation and the fragments it spreads,
// printed without comments, descriptions or indentation; its
// variables are the ones the operation declares; its extensions are
// dropped (an automatic persisted query's hash, checked first, no longer
// matches the text, so the query is not registered; APQ keeps no document
// that large anyway). A document that does not parse or validate is left
// as sent, so that its errors point into the text the client wrote; it is
// not held, since it does not run.
//
// The operation then runs as the same operation would have; only the
// locations of errors raised while it runs point into the compact text.
type compactor struct {
	schema     *ast.Schema
	tokenLimit int
}

// compact rewrites p as above, and reports whether it did.
func (c compactor) compact(p *graphql.RawParams) bool {
	if p.Query == "" {
		return false // a persisted query's hash: APQ holds only small ones
	}
	doc, err := parser.ParseQueryWithTokenLimit(&ast.Source{Input: p.Query}, c.tokenLimit)
	if err != nil || doc == nil {
		return false
	}
	op := doc.Operations.ForName(p.OperationName)
	if op == nil || !persistedHashMatches(p) {
		return false
	}
	if errs := validator.ValidateWithRules(c.schema, doc, validationRules()); len(errs) > 0 {
		return false
	}
	var b strings.Builder
	formatter.NewFormatter(&b, formatter.WithCompacted(), formatter.WithIndent(""), formatter.WithoutDescription()).
		FormatQueryDocument(&ast.QueryDocument{Operations: ast.OperationList{op}, Fragments: spreadFragments(doc, op)})
	p.Query = strings.TrimSpace(b.String())
	p.OperationName = op.Name
	if len(p.Variables) > 0 {
		declared := make(map[string]any, len(op.VariableDefinitions))
		for _, v := range op.VariableDefinitions {
			if x, ok := p.Variables[v.Variable]; ok {
				declared[v.Variable] = x
			}
		}
		p.Variables = declared
	}
	p.Extensions = nil
	return true
}

// persistedHashMatches reports whether p carries no persisted query
// extension, or one whose hash is its query's: a wrong hash is left for
// gqlgen's extension to refuse.
func persistedHashMatches(p *graphql.RawParams) bool {
	ext, ok := p.Extensions["persistedQuery"]
	if !ok {
		return true
	}
	m, _ := ext.(map[string]any)
	hash, _ := m["sha256Hash"].(string)
	if fmt.Sprint(m["version"]) != "1" {
		return false // gqlgen's extension refuses it
	}
	sum := sha256.Sum256([]byte(p.Query))
	return hash == hex.EncodeToString(sum[:])
}

// spreadFragments is the fragments of doc that op spreads, directly or
// through other fragments, in the document's order.
func spreadFragments(doc *ast.QueryDocument, op *ast.OperationDefinition) ast.FragmentDefinitionList {
	used := map[string]bool{}
	var walk func(ast.SelectionSet)
	walk = func(set ast.SelectionSet) {
		for _, sel := range set {
			switch s := sel.(type) {
			case *ast.Field:
				walk(s.SelectionSet)
			case *ast.InlineFragment:
				walk(s.SelectionSet)
			case *ast.FragmentSpread:
				if used[s.Name] {
					continue
				}
				used[s.Name] = true
				if f := doc.Fragments.ForName(s.Name); f != nil {
					walk(f.SelectionSet)
				}
			}
		}
	}
	walk(op.SelectionSet)
	var out ast.FragmentDefinitionList
	for _, f := range doc.Fragments {
		if used[f.Name] {
			out = append(out, f)
		}
	}
	return out
}
