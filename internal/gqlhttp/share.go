package gqlhttp

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/sprocketapi/sprocket/internal/apperr"
)

// operationShare bounds the database connections one query can hold: gqlgen
// resolves sibling fields concurrently, so twenty aliases of a series
// would otherwise take twenty connections at once. At most conns of an
// operation's resolvers run at a time (each resolver uses one connection
// at a time; the loaders run inside the resolver that asks); the others
// wait for their turn until the operation's deadline. A mutation runs in
// one transaction, so one connection, and needs no share.
type operationShare struct {
	conns int
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationInterceptor
	graphql.FieldInterceptor
} = operationShare{}

func (operationShare) ExtensionName() string                   { return "OperationShare" }
func (operationShare) Validate(graphql.ExecutableSchema) error { return nil }

type shareKey struct{}

func (o operationShare) InterceptOperation(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	op := graphql.GetOperationContext(ctx).Operation
	if o.conns <= 0 || op == nil || op.Operation != ast.Query {
		return next(ctx)
	}
	return next(context.WithValue(ctx, shareKey{}, make(chan struct{}, o.conns)))
}

func (operationShare) InterceptField(ctx context.Context, next graphql.Resolver) (any, error) {
	turns, _ := ctx.Value(shareKey{}).(chan struct{})
	fc := graphql.GetFieldContext(ctx)
	if turns == nil || fc == nil || !fc.IsResolver {
		return next(ctx)
	}
	select {
	case turns <- struct{}{}:
	case <-ctx.Done():
		return nil, &apperr.Error{Code: apperr.Unavailable, Err: ctx.Err(),
			Message: "The operation ran out of time waiting for its share of the database; ask for less at once."}
	}
	defer func() { <-turns }()
	return next(ctx)
}
