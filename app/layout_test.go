package app_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoInternalPackageImportsTheSchema: dependencies point down. The
// packages under internal/ (the transports, the core, the database…)
// serve any schema and import none of graph/ (the schema, its resolvers,
// its generated code and models), directly or through another package;
// graph is put together with them here, in app, and nowhere else. `go
// list` reads the non-test imports, as the build does.
func TestNoInternalPackageImportsTheSchema(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps=false", "-f", `{{.ImportPath}}{{range .Deps}} {{.}}{{end}}`,
		"github.com/sprocketapi/sprocket/internal/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	const schema = "github.com/sprocketapi/sprocket/graph"
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) < 20 {
		t.Fatalf("go list listed %d packages under internal/:\n%s", len(lines), out)
	}
	for _, line := range lines {
		pkg, deps, _ := strings.Cut(line, " ")
		for dep := range strings.FieldsSeq(deps) {
			if dep == schema || strings.HasPrefix(dep, schema+"/") {
				t.Errorf("%s imports %s", pkg, dep)
			}
		}
	}
}
