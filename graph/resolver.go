// Package graph is the GraphQL API: gqlgen resolvers over the ent client
// and the shared core. Resolvers stay thin: a generated ent query or one
// core call each.
package graph

import (
	"context"

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
