package gqlhttp

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
//
// A mutation whose transaction failed transiently (a deadlock, a
// serialisation failure, the primary lost before COMMIT: core.IsTransient)
// is executed again from its
// first field in a new transaction, within core.InTx's bounded attempts:
// nothing of the failed attempt was committed, and its answer is dropped.
// That is why this is an operation interceptor: each call of next builds a
// fresh execution of the operation, with its own response context (and
// the extensions after this one, such as the loaders, their own state).
type transactioner struct {
	tx      Transactor
	present func(context.Context, error) *gqlerror.Error
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationInterceptor
	graphql.FieldInterceptor
} = transactioner{}

// CodeNotExecuted marks a root field of a mutation that was not run
// because an earlier one failed: the operation is rolled back whole, so
// running it would only have failed in an aborted transaction.
const CodeNotExecuted = "NOT_EXECUTED"

// attempt is the state of one execution of a mutation.
type attempt struct{ failed bool }

type attemptKey struct{}

func (transactioner) ExtensionName() string                   { return "Transactioner" }
func (transactioner) Validate(graphql.ExecutableSchema) error { return nil }

// errRollback ends the transaction of a mutation some field of which
// failed; it wraps a transient cause when there is one, so that InTx runs
// the operation again.
var errRollback = errors.New("graphql: the mutation failed; rolling back")

func (t transactioner) InterceptOperation(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	op := graphql.GetOperationContext(ctx).Operation
	if op == nil || op.Operation != ast.Mutation {
		return next(ctx)
	}
	// The first execution is built now, as the executor expects (it
	// takes the context its caller resolves with from this call).
	first := next(ctx)
	return func(ctx context.Context) *graphql.Response {
		handler := first
		var resp *graphql.Response
		err := t.tx.InTx(ctx, func(txCtx context.Context) error {
			txCtx = context.WithValue(txCtx, attemptKey{}, &attempt{})
			if handler == nil {
				handler = next(txCtx) // a new attempt
			}
			resp = handler(txCtx)
			handler = nil
			if resp == nil || len(resp.Errors) == 0 {
				return nil
			}
			for _, e := range resp.Errors {
				if e != nil && core.IsTransient(e) {
					return errors.Join(errRollback, e)
				}
			}
			return errRollback
		})
		switch {
		case err == nil, errors.Is(err, errRollback):
			return resp
		default:
			// BEGIN or COMMIT failed, or the attempts ran out: the
			// fields' answers are void (a COMMIT whose connection was
			// lost may have stored the mutation; its error says so).
			return &graphql.Response{Errors: gqlerror.List{t.present(ctx, err)}}
		}
	}
}

// InterceptField skips the root fields of a mutation after one has failed
// (mutation fields run one after another, in order).
func (transactioner) InterceptField(ctx context.Context, next graphql.Resolver) (any, error) {
	a, _ := ctx.Value(attemptKey{}).(*attempt)
	fc := graphql.GetFieldContext(ctx)
	if a == nil || fc == nil || fc.Object != "Mutation" {
		return next(ctx)
	}
	if a.failed {
		e := codedError(CodeNotExecuted, "Not run: an earlier field of this mutation failed, and the mutation was rolled back whole.")
		e.Path = fc.Path()
		return nil, e
	}
	res, err := next(ctx)
	if err != nil {
		a.failed = true
	}
	return res, err
}
