//go:build ignore

// entc.go generates the ent data layer and, through entgql, the GraphQL
// schema of the ent types. It runs from the module root so that the schema
// path it writes and the one gqlgen.yml names are the same text (entgql
// compares them to decide whether to emit built-in scalars).
package main

import (
	"log"
	"os"

	"entgo.io/contrib/entgql"
	"entgo.io/ent/entc"
	"entgo.io/ent/entc/gen"

	"github.com/sprocketapi/sprocket/internal/entgen"
)

func main() {
	if err := os.Chdir(".."); err != nil {
		log.Fatalf("entc: %v", err)
	}
	ex, err := entgql.NewExtension(
		entgql.WithSchemaGenerator(),
		entgql.WithSchemaPath("graph/ent.graphqls"),
		entgql.WithConfigPath("gqlgen.yml"),
		entgql.WithWhereInputs(true),
		entgql.WithNodeDescriptor(false),
		// Every element gets a description (the published SDL has none
		// without one): internal/entgen/describe.go.
		entgql.WithSchemaHook(entgen.DescribeGraphQL),
	)
	if err != nil {
		log.Fatalf("entc: creating entgql extension: %v", err)
	}
	cfg := &gen.Config{
		Features: []gen.Feature{
			gen.FeatureVersionedMigration,
			gen.FeatureExecQuery,
			gen.FeatureUpsert,
			gen.FeatureLock,
			gen.FeatureIntercept,
		},
	}
	// What ent/ needs beyond ent's own API is generated from templates
	// kept outside it (internal/entgen), never written by hand there.
	if err := entc.Generate("./ent/schema", cfg, entc.Extensions(ex), entc.TemplateFiles("internal/entgen/bind.tmpl")); err != nil {
		log.Fatalf("entc: running ent codegen: %v", err)
	}
}
