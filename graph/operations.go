package graph

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/99designs/gqlgen/graphql"

	"github.com/sprocketapi/sprocket/internal/telemetry"
)

// operations logs each GraphQL operation with its name, type, outcome and
// duration (the access log line only knows "/graphql"), and counts it in
// the metrics. The outcome is "ok" or the first error's code.
type operations struct {
	metrics *telemetry.Metrics
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationInterceptor
	graphql.ResponseInterceptor
} = operations{}

type loggedKey struct{}

// InterceptOperation implements graphql.OperationInterceptor: it gives the
// operation a flag so that it is logged once.
func (operations) InterceptOperation(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	return next(context.WithValue(ctx, loggedKey{}, new(atomic.Bool)))
}

func (operations) ExtensionName() string                   { return "Operations" }
func (operations) Validate(graphql.ExecutableSchema) error { return nil }

// InterceptResponse implements graphql.ResponseInterceptor. A subscription
// answers many times; it is logged and counted at its first answer.
func (o operations) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	if !graphql.HasOperationContext(ctx) {
		return next(ctx)
	}
	oc := graphql.GetOperationContext(ctx)
	resp := next(ctx)
	if logged, ok := ctx.Value(loggedKey{}).(*atomic.Bool); !ok || logged.Swap(true) {
		return resp
	}
	name := oc.OperationName
	if name == "" {
		name = "anonymous"
	}
	typ := "unknown"
	if oc.Operation != nil {
		typ = string(oc.Operation.Operation)
	}
	outcome := "ok"
	if resp != nil && len(resp.Errors) > 0 {
		outcome = "error"
		if code, ok := resp.Errors[0].Extensions["code"].(string); ok {
			outcome = code
		}
	}
	if o.metrics != nil {
		o.metrics.Operations.WithLabelValues(name, typ, outcome).Inc()
	}
	slog.LogAttrs(ctx, slog.LevelInfo, "graphql",
		slog.String("operation", name),
		slog.String("type", typ),
		slog.String("outcome", outcome),
		slog.Duration("duration", time.Since(oc.Stats.OperationStart)),
	)
	return resp
}
