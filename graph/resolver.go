// Package graph is the GraphQL API: gqlgen resolvers over the ent client
// and the shared core. Resolvers stay thin: a generated ent query or one
// core call each.
package graph

import (
	"github.com/sprocketapi/sprocket/ent"
	"github.com/sprocketapi/sprocket/internal/core"
)

// Resolver holds the dependencies of every resolver.
type Resolver struct {
	Client  *ent.Client
	Service *core.Service
}
