// Package graph is the GraphQL schema and its resolvers: gqlgen's
// resolvers over the ent client and the shared core. A resolver converts
// its arguments and calls the core (or runs a generated ent query for the
// connections); the chart fields of many factories share one core call
// through the per-operation loaders (loader.go). Serving the schema over
// HTTP is internal/gqlhttp's, which knows nothing of this package: the
// schema hands it its pricing and its extensions.
package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"

	"github.com/sprocketapi/sprocket/graph/generated"
	"github.com/sprocketapi/sprocket/internal/core"
	"github.com/sprocketapi/sprocket/internal/live"
)

// Resolver holds the dependencies of every resolver.
type Resolver struct {
	Service *core.Service
	// Live serves subscriptions; nil refuses them.
	Live Live
}

// Live delivers recorded points to subscribers.
type Live interface {
	// Subscribe returns the points recorded for the factory from now on,
	// a batch per committed write, until ctx ends (then the channel is
	// closed). A batch with Err ends the subscription with that error.
	Subscribe(ctx context.Context, factoryID int) (<-chan live.Batch, error)
}

// NewSchema returns the executable schema over svc; hub serves its
// subscriptions (nil refuses them).
func NewSchema(svc *core.Service, hub Live) graphql.ExecutableSchema {
	return generated.NewExecutableSchema(generated.Config{Resolvers: &Resolver{Service: svc, Live: hub}})
}

// Extensions are the schema's own gqlgen extensions, which the server
// must use: each operation's chart loaders (the no-N+1 guarantee of the
// chart fields), and the coded end of a subscription.
func Extensions() []graphql.HandlerExtension {
	return []graphql.HandlerExtension{StreamEnds{}, Loaders{}}
}
