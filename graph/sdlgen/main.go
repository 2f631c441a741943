// Command sdlgen writes the published GraphQL schema (api/schema.graphql)
// from the executable schema; `go generate ./...` runs it after gqlgen
// (ent/generate.go), and CI fails when the committed file differs.
//
//	go run ./graph/sdlgen -o api/schema.graphql
package main

import (
	"flag"
	"log"
	"os"

	"github.com/sprocketapi/sprocket/graph"
	"github.com/sprocketapi/sprocket/internal/sdl"
)

func main() {
	out := flag.String("o", "api/schema.graphql", "the file to write")
	flag.Parse()
	schema := graph.NewSchema(nil, nil).Schema()
	if err := os.WriteFile(*out, sdl.Render(schema), 0o644); err != nil {
		log.Fatalf("sdl: %v", err)
	}
}
