package gqlhttp

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/99designs/gqlgen/graphql"

	"github.com/sprocketapi/sprocket/internal/config"
	"github.com/sprocketapi/sprocket/internal/telemetry"
)

// operations logs each GraphQL operation with its name, type, outcome and
// duration (the access log line only knows "/graphql"), and counts it in
// the metrics. The outcome is "ok" or the first error's code.
type operations struct {
	metrics *telemetry.Metrics
	// names are the operation names counted under their own label value
	// (metricNames); the log line always has the client's name.
	names map[string]bool
}

// KnownOperations are the operation names that the metrics count under
// their own name: those the built-in dashboard
// (internal/web/dashboard/src) and GraphiQL's default tabs
// (internal/web/graphiql) send, and GraphiQL's introspection. Every other
// name a client sends is counted as "other", so that clients cannot
// create Prometheus series at will; GRAPHQL_METRIC_OPERATIONS adds names.
var KnownOperations = []string{
	// Dashboard.
	"Dashboard", "DashboardLatest", "Zoom", "Sprockets", "CreateSprocket", "UpdateSprocket", "Live",
	// GraphiQL tabs (Dashboard, Sprockets and Live too).
	"Points", "Record",
	// GraphiQL's schema fetch.
	"IntrospectionQuery",
}

// The operation label values that are not operation names.
const (
	operationAnonymous = "anonymous" // no operationName and no name in the document
	operationOther     = "other"     // a name neither known nor configured
)

// MaxMetricOperations caps how many names GRAPHQL_METRIC_OPERATIONS may
// add (internal/config owns the number and refuses a longer list).
const MaxMetricOperations = config.MaxMetricOperations

// metricNames is the set of operation label values besides "anonymous"
// and "other": KnownOperations and extra.
func metricNames(extra []string) map[string]bool {
	names := make(map[string]bool, len(KnownOperations)+len(extra))
	for _, n := range KnownOperations {
		names[n] = true
	}
	for i, n := range extra {
		if i == MaxMetricOperations {
			break
		}
		names[n] = true
	}
	return names
}

// metricLabel is the operation label value of an operation named name.
func (o operations) metricLabel(name string) string {
	switch {
	case name == "":
		return operationAnonymous
	case o.names[name]:
		return name
	default:
		return operationOther
	}
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
	if name == "" && oc.Operation != nil {
		name = oc.Operation.Name // the document's one operation, named there
	}
	label := o.metricLabel(name)
	if name == "" {
		name = operationAnonymous
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
		o.metrics.Operations.WithLabelValues(label, typ, outcome).Inc()
	}
	slog.LogAttrs(ctx, slog.LevelInfo, "graphql",
		slog.String("operation", name),
		slog.String("type", typ),
		slog.String("outcome", outcome),
		slog.Duration("duration", time.Since(oc.Stats.OperationStart)),
	)
	return resp
}
