package api_test

import (
	"bytes"
	"slices"
	"testing"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/sprocketapi/sprocket/api"
	"github.com/sprocketapi/sprocket/graph/generated"
	"github.com/sprocketapi/sprocket/internal/sdl"
)

// TestTheSchemaFileIsTheExecutableSchema: the committed SDL is what the
// server executes (go generate writes it; CI's drift check and this test
// both fail when it is stale).
func TestTheSchemaFileIsTheExecutableSchema(t *testing.T) {
	want := sdl.Render(generated.NewExecutableSchema(generated.Config{}).Schema())
	if !bytes.Equal(api.SchemaGraphQL, want) {
		t.Fatal("api/schema.graphql differs from the executable schema: run go generate ./...")
	}
}

// TestEveryElementOfTheSchemaIsDescribed walks the published SDL: every
// type, field, argument, input field and enum value has a description, so
// GraphiQL's docs pane and generated clients are never bare.
func TestEveryElementOfTheSchemaIsDescribed(t *testing.T) {
	s := loadSDL(t, api.SchemaGraphQL)
	if missing := sdl.Undescribed(s); len(missing) > 0 {
		slices.Sort(missing)
		t.Fatalf("%d elements of api/schema.graphql have no description:\n%v", len(missing), missing)
	}
}

// TestUndescribedElementsAreFound: the walk reports each kind of element
// that lacks a description (so the test above can fail).
func TestUndescribedElementsAreFound(t *testing.T) {
	s := loadSDL(t, []byte(`
"Described." type Query { "Described." a("Described." x: Int, y: Int): Int b: E }
enum E { "Described." ONE TWO }
input I { "Described." p: Int q: Int }
type Bare { "Described." z: Int }
`))
	got := sdl.Undescribed(s)
	slices.Sort(got)
	want := []string{"Bare", "E", "E.TWO", "I", "I.q", "Query.a(y:)", "Query.b"}
	if !slices.Equal(got, want) {
		t.Fatalf("undescribed: got %v, want %v", got, want)
	}
}

func loadSDL(t *testing.T, src []byte) *ast.Schema {
	t.Helper()
	s, err := gqlparser.LoadSchema(&ast.Source{Name: "schema.graphql", Input: string(src)})
	if err != nil {
		t.Fatal(err)
	}
	return s
}
