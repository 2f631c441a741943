package gqlhttp

import (
	"context"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
)

// operationDeadline gives every query and mutation a deadline: over POST
// and GET the request's (the server's middleware sets it), over a
// WebSocket or server-sent events, which escape the request deadline so
// that subscriptions can stay open, its own timeout. A client cannot lift
// the deadline of a query by sending it on a stream.
type operationDeadline struct {
	timeout time.Duration
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationInterceptor
} = operationDeadline{}

func (operationDeadline) ExtensionName() string                   { return "OperationDeadline" }
func (operationDeadline) Validate(graphql.ExecutableSchema) error { return nil }

func (d operationDeadline) InterceptOperation(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	op := graphql.GetOperationContext(ctx).Operation
	if _, has := ctx.Deadline(); has || d.timeout <= 0 || op == nil || op.Operation == ast.Subscription {
		return next(ctx)
	}
	// The executor resolves with the context given to next, so the
	// deadline set here is the one every resolver sees.
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	handler := next(ctx)
	return func(ctx context.Context) *graphql.Response {
		defer cancel()
		return handler(ctx)
	}
}
