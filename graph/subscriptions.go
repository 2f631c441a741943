package graph

import (
	"context"
	"sync"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
)

// StreamEnds lets a subscription end with a coded error on every
// transport: its resolver records why the stream ended (endStream) before
// closing its channel, and where gqlgen would then end the stream (a plain
// complete, which tells the client nothing) the client gets one more
// result carrying the error: a subscriber that fell behind
// (SUBSCRIBER_TOO_SLOW) or whose factory was deleted (NOT_FOUND). The
// stream then completes.
type StreamEnds struct{}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationInterceptor
	graphql.ResponseInterceptor
} = StreamEnds{}

type streamEndKey struct{}

// streamEnd holds why a subscription ended, until it is reported.
type streamEnd struct {
	mu  sync.Mutex
	err error
}

func (StreamEnds) ExtensionName() string                   { return "StreamEnds" }
func (StreamEnds) Validate(graphql.ExecutableSchema) error { return nil }

// InterceptOperation implements graphql.OperationInterceptor.
func (StreamEnds) InterceptOperation(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	if oc := graphql.GetOperationContext(ctx); oc.Operation == nil || oc.Operation.Operation != ast.Subscription {
		return next(ctx)
	}
	return next(context.WithValue(ctx, streamEndKey{}, &streamEnd{}))
}

// InterceptResponse implements graphql.ResponseInterceptor.
func (StreamEnds) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	resp := next(ctx)
	if resp != nil {
		return resp
	}
	end, _ := ctx.Value(streamEndKey{}).(*streamEnd)
	if end == nil {
		return nil
	}
	end.mu.Lock()
	err := end.err
	end.err = nil
	end.mu.Unlock()
	if err == nil {
		return nil
	}
	graphql.AddError(ctx, err) // through the error presenter: its code
	return &graphql.Response{Errors: graphql.GetErrors(ctx)}
}

// endStream records err as why the subscription of ctx ends; its resolver
// then closes its channel.
func endStream(ctx context.Context, err error) {
	if end, _ := ctx.Value(streamEndKey{}).(*streamEnd); end != nil {
		end.mu.Lock()
		end.err = err
		end.mu.Unlock()
	}
}
