package graph

import (
	"context"
	"errors"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/sprocketapi/sprocket/internal/core"
)

// transactioner runs each mutation operation in one transaction of the
// core (the resolvers' core calls find it in the context): committed when
// the whole operation succeeds, rolled back when any field fails. It
// replaces entgql.Transactioner, whose errors lose their cause, so that a
// database outage at BEGIN still reads SERVICE_UNAVAILABLE.
type transactioner struct {
	svc *core.Service
}

var _ interface {
	graphql.HandlerExtension
	graphql.ResponseInterceptor
} = transactioner{}

func (transactioner) ExtensionName() string                   { return "Transactioner" }
func (transactioner) Validate(graphql.ExecutableSchema) error { return nil }

var errRollback = errors.New("graphql: the mutation failed; rolling back")

func (t transactioner) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	if !graphql.HasOperationContext(ctx) {
		return next(ctx)
	}
	if op := graphql.GetOperationContext(ctx).Operation; op == nil || op.Operation != ast.Mutation {
		return next(ctx)
	}
	var resp *graphql.Response
	err := t.svc.InTx(ctx, func(ctx context.Context) error {
		resp = next(ctx)
		if resp != nil && len(resp.Errors) > 0 {
			return errRollback
		}
		return nil
	})
	switch {
	case err == nil, errors.Is(err, errRollback):
		return resp
	case resp == nil:
		// BEGIN failed: nothing ran.
		return &graphql.Response{Errors: gqlerror.List{presentError(ctx, err)}}
	default:
		// COMMIT failed: nothing was written, whatever the fields said.
		return &graphql.Response{Errors: gqlerror.List{presentError(ctx, err)}}
	}
}
