package gqlhttp

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/sprocketapi/sprocket/internal/replica"
)

// readRouter sends the reads of each query operation to a hot standby of
// set (see replica.Set.RouteRead: one that has replayed what the client
// must see), and answers a successful mutation with the primary's log
// position after it, as extensions.lsn (and, over HTTP, the
// replica.Header the server adds), for the client to send with its next
// reads. Subscriptions stay on the primary, where LISTEN is.
//
// It comes before the transactioner, so that a mutation's position is
// read after its commit.
type readRouter struct {
	set *replica.Set
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationInterceptor
} = readRouter{}

func (readRouter) ExtensionName() string                   { return "ReadRouter" }
func (readRouter) Validate(graphql.ExecutableSchema) error { return nil }

func (r readRouter) InterceptOperation(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	op := graphql.GetOperationContext(ctx).Operation
	switch {
	case op == nil:
		return next(ctx)
	case op.Operation == ast.Query:
		return next(r.set.RouteRead(ctx))
	case op.Operation == ast.Mutation:
		handler := next(ctx)
		return func(ctx context.Context) *graphql.Response {
			resp := handler(ctx)
			if resp == nil || len(resp.Errors) > 0 {
				return resp
			}
			if l := r.set.Wrote(ctx); l != 0 {
				if resp.Extensions == nil {
					resp.Extensions = map[string]any{}
				}
				resp.Extensions["lsn"] = l.String()
			}
			return resp
		}
	}
	return next(ctx)
}
