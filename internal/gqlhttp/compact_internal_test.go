package gqlhttp

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"

	"github.com/sprocketapi/sprocket/graph"
)

func testCompactor() compactor {
	schema := graph.NewSchema(nil, nil).Schema()
	return compactor{schema: schema, tokenLimit: DefaultTokenLimit}
}

// TestCompactKeepsWhatTheOperationNeeds: the selected operation and the
// fragments it spreads, printed without comments, descriptions or the
// other operations, with its own variables only; string literals (block
// strings and escapes too) keep their values.
func TestCompactKeepsWhatTheOperationNeeds(t *testing.T) {
	c := testCompactor()
	query := `# a comment of the document
query Other { ...Names }
fragment Names on Query { sprockets(first: 1) { totalCount } }
"A description of the subscription"
subscription Live($f: ID!) {
  # a comment in the selection
  productionRecorded(factoryId: $f) { ...P epoch }
}
fragment P on Point { actual goal }
query Literals { node(id: """a "block" \"""
 string""") { id } escaped: node(id: "tab\tquote\"é\u00e9") { id } }
` + "# " + strings.Repeat("padding ", 4096)
	p := &graphql.RawParams{Query: query, OperationName: "Live",
		Variables: map[string]any{"f": "RmFjdG9yeTox", "other": strings.Repeat("x", 1<<16)}}
	if !c.compact(p) {
		t.Fatal("a valid document was not compacted")
	}
	want := "subscription Live($f: ID!) {\nproductionRecorded(factoryId: $f) {\n...P\nepoch\n}\n}\nfragment P on Point {\nactual\ngoal\n}"
	if p.Query != want || p.OperationName != "Live" || len(p.Variables) != 1 || p.Variables["f"] != "RmFjdG9yeTox" {
		t.Errorf("compacted to %q, %q, %v", p.Query, p.OperationName, p.Variables)
	}

	p = &graphql.RawParams{Query: query, OperationName: "Literals"}
	if !c.compact(p) {
		t.Fatal("not compacted")
	}
	original, _ := parser.ParseQuery(&ast.Source{Input: query})
	compacted, err := parser.ParseQuery(&ast.Source{Input: p.Query})
	if err != nil {
		t.Fatalf("%s: %v", p.Query, err)
	}
	values := func(doc *ast.QueryDocument) []string {
		var out []string
		for _, sel := range doc.Operations.ForName("Literals").SelectionSet {
			out = append(out, sel.(*ast.Field).Arguments[0].Value.Raw)
		}
		return out
	}
	if got, want := values(compacted), values(original); len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("literals %q, want %q (from %s)", got, want, p.Query)
	}
}

// TestCompactLeavesWhatItCannotVouchFor as sent: a document that does not
// parse or validate (its errors must point into the client's text), an
// unknown operation, and a persisted query whose hash does not match; a
// matching hash is checked and dropped.
func TestCompactLeavesWhatItCannotVouchFor(t *testing.T) {
	c := testCompactor()
	pad := " # " + strings.Repeat("c", 1<<15)
	for name, p := range map[string]*graphql.RawParams{
		"a syntax error":      {Query: "{ __typename " + pad},
		"a validation error":  {Query: "{ noSuchField }" + pad},
		"an unknown name":     {Query: "query A { __typename }" + pad, OperationName: "B"},
		"a wrong APQ hash":    {Query: "{ __typename }" + pad, Extensions: map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": "00"}}},
		"an APQ version of 2": {Query: "{ __typename }" + pad, Extensions: map[string]any{"persistedQuery": map[string]any{"version": 2}}},
	} {
		before := p.Query
		if c.compact(p) || p.Query != before {
			t.Errorf("%s: compacted to %.80q", name, p.Query)
		}
	}
	q := "{ __typename }" + pad
	sum := sha256.Sum256([]byte(q))
	p := &graphql.RawParams{Query: q, Extensions: map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": hex.EncodeToString(sum[:])}}}
	if !c.compact(p) || p.Query != "query {\n__typename\n}" || p.Extensions != nil {
		t.Errorf("a matching APQ hash: %q, %v", p.Query, p.Extensions)
	}
}
