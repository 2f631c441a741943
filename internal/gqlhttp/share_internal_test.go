package gqlhttp

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/sprocketapi/sprocket/internal/apperr"
)

// TestAQueryHoldsAtMostItsShareOfConnections: of twenty resolvers of one
// query run at once (as gqlgen runs sibling fields), at most the share run
// together; plain fields are not held back; a resolver still waiting at
// the deadline is SERVICE_UNAVAILABLE.
func TestAQueryHoldsAtMostItsShareOfConnections(t *testing.T) {
	const share = 3
	ext := operationShare{conns: share}
	ctx := graphql.WithOperationContext(context.Background(),
		&graphql.OperationContext{Operation: &ast.OperationDefinition{Operation: ast.Query}})
	var opCtx context.Context
	ext.InterceptOperation(ctx, func(ctx context.Context) graphql.ResponseHandler {
		opCtx = ctx
		return nil
	})
	var now, peak atomic.Int32
	resolve := func(ctx context.Context) (any, error) {
		n := now.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(20 * time.Millisecond)
		now.Add(-1)
		return nil, nil
	}
	field := func(resolver bool) context.Context {
		return graphql.WithFieldContext(opCtx, &graphql.FieldContext{IsResolver: resolver})
	}
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := ext.InterceptField(field(true), resolve); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if p := peak.Load(); p != share {
		t.Fatalf("at most %d resolvers at once, want %d", p, share)
	}

	// The share is full: a plain field goes through, a resolver waits
	// until the deadline.
	turns := opCtx.Value(shareKey{}).(chan struct{})
	for range share {
		turns <- struct{}{}
	}
	if _, err := ext.InterceptField(field(false), func(context.Context) (any, error) { return 1, nil }); err != nil {
		t.Fatalf("a plain field waited: %v", err)
	}
	short, cancel := context.WithTimeout(field(true), 50*time.Millisecond)
	defer cancel()
	if _, err := ext.InterceptField(short, resolve); apperr.CodeOf(err) != apperr.Unavailable {
		t.Fatalf("a resolver past its deadline: %v, want SERVICE_UNAVAILABLE", err)
	}
	// A mutation has no share.
	mctx := graphql.WithOperationContext(context.Background(),
		&graphql.OperationContext{Operation: &ast.OperationDefinition{Operation: ast.Mutation}})
	ext.InterceptOperation(mctx, func(ctx context.Context) graphql.ResponseHandler {
		if ctx.Value(shareKey{}) != nil {
			t.Error("a mutation got a share")
		}
		return nil
	})
}
