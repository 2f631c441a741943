package gqlhttp

import (
	"context"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
)

// TestStreamedOperationsGetADeadline: a query or mutation that arrives
// without a deadline (over a WebSocket or server-sent events) gets the
// operation timeout; a subscription does not, and a request deadline is
// kept as it is.
func TestStreamedOperationsGetADeadline(t *testing.T) {
	ext := operationDeadline{timeout: time.Second}
	run := func(ctx context.Context, op ast.Operation) (time.Time, bool) {
		ctx = graphql.WithOperationContext(ctx, &graphql.OperationContext{Operation: &ast.OperationDefinition{Operation: op}})
		var seen context.Context
		h := ext.InterceptOperation(ctx, func(ctx context.Context) graphql.ResponseHandler {
			seen = ctx
			return func(context.Context) *graphql.Response { return &graphql.Response{} }
		})
		h(seen)
		return seen.Deadline()
	}
	for _, op := range []ast.Operation{ast.Query, ast.Mutation} {
		if dl, ok := run(context.Background(), op); !ok || time.Until(dl) > time.Second {
			t.Errorf("%s without a deadline: got %v %v, want one within 1 s", op, dl, ok)
		}
	}
	if _, ok := run(context.Background(), ast.Subscription); ok {
		t.Error("a subscription got a deadline")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	if dl, _ := run(ctx, ast.Query); time.Until(dl) < 59*time.Minute {
		t.Errorf("the request's deadline was replaced: %v", dl)
	}
}
