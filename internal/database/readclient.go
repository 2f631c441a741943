package database

import (
	"context"

	"github.com/sprocketapi/sprocket/ent"
)

type readClientKey struct{}

// WithReadClient returns a context whose reads outside a transaction go
// to client (a hot standby's, chosen for the request by the replica
// router) instead of the primary's.
func WithReadClient(ctx context.Context, client *ent.Client) context.Context {
	return context.WithValue(ctx, readClientKey{}, client)
}

// ReadClient returns the client that ctx's reads are routed to, or nil for
// the primary.
func ReadClient(ctx context.Context) *ent.Client {
	c, _ := ctx.Value(readClientKey{}).(*ent.Client)
	return c
}
