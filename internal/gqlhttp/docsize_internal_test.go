package gqlhttp

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"

	"github.com/sprocketapi/sprocket/graph"
)

// TestDocumentBytesIsRealistic: for documents of several shapes, parsed
// and validated as the executor does, documentBytes is close to the heap
// each holds: at least three quarters of it (it is a budget's charge), at
// most twice.
func TestDocumentBytesIsRealistic(t *testing.T) {
	schema := graph.NewSchema(nil, nil).Schema()
	shapes := map[string]func(tag int) string{
		"the dashboard's query": func(tag int) string {
			return fmt.Sprintf("%s\n# %d", dashboardQuery(t, "DASHBOARD"), tag)
		},
		"300 aliases with arguments": func(tag int) string {
			var b strings.Builder
			fmt.Fprintf(&b, "query Q%d { ", tag)
			for i := range 300 {
				fmt.Fprintf(&b, "a%d: factories(first: %d, orderBy: {field: NAME, direction: ASC}) { totalCount } ", i, i+1)
			}
			return b.String() + "}"
		},
		"a 64 KiB comment": func(tag int) string {
			return fmt.Sprintf("{ __typename } # %d %s", tag, strings.Repeat("c", 64<<10))
		},
		"a 16 KiB string literal": func(tag int) string {
			return fmt.Sprintf(`{ node(id: "%d%s") { id } }`, tag, strings.Repeat(`\u0041`, 4<<10))
		},
	}
	for name, shape := range shapes {
		t.Run(name, func(t *testing.T) {
			const n = 100
			before := heapAlloc()
			srcs := make([]string, n)
			for i := range srcs {
				srcs[i] = shape(i)
			}
			docs := make([]*ast.QueryDocument, n)
			for i, src := range srcs {
				doc, err := parser.ParseQuery(&ast.Source{Input: src})
				if err != nil {
					t.Fatal(err)
				}
				if errs := validator.ValidateWithRules(schema, doc, validationRules()); len(errs) > 0 {
					t.Fatal(errs)
				}
				docs[i] = doc
			}
			srcs = nil
			held := (int64(heapAlloc()) - int64(before)) / n
			runtime.KeepAlive(docs)
			charged := documentBytes(docs[0])
			t.Logf("%d bytes of source: %d held, %d charged", len(docs[0].Position.Src.Input), held, charged)
			if charged < held*3/4 || charged > 2*held {
				t.Errorf("charged %d bytes for a document that holds %d", charged, held)
			}
		})
	}
}

func heapAlloc() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
