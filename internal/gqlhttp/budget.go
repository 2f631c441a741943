package gqlhttp

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// CodeResponseTooLarge refuses an operation whose answer outgrew
// MaxResponseBytes; no data comes with it.
const CodeResponseTooLarge = "RESPONSE_TOO_LARGE"

// answerBudget stops an operation as soon as its answer outgrows limit
// bytes, while it resolves rather than after: every field adds its share
// when it has resolved and before gqlgen builds anything for it, so a
// list over the budget is never turned into values. The share is what
// the server holds for the field until the answer is written, measured
// (TestHostileRequestsStayWithinTheMemoryBudget): fieldOverhead for each
// field and each object of a list (gqlgen's field context, collected
// fields and marshaler), elemOverhead for each leaf of a list, plus the
// JSON of leaves. A point edge { node { time actual goal } } counts about
// 3.2 KB, a value of a series' columns about 40 bytes.
//
// Once over, the operation's context is cancelled (resolvers waiting on
// the database stop), the fields still to resolve fail at once without
// building anything, and the answer is one RESPONSE_TOO_LARGE error with
// "data": null. A mutation over the budget is rolled back (it failed). A
// subscription has the budget for each event.
//
// Every operation's share also comes out of pool, shared by all of them,
// so that many operations at once cannot hold more than pool bytes of
// answers: an operation that finds the pool empty fails the same way, with
// SERVICE_UNAVAILABLE (and Retry-After) instead.
type answerBudget struct {
	limit   int64
	pool    *answerPool
	pricing Pricing // the sizes of the schema's own scalars; nil: none
}

// answerPool is the bytes all operations' answers may hold at once.
type answerPool struct {
	limit int64
	used  atomic.Int64
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationInterceptor
	graphql.ResponseInterceptor
	graphql.FieldInterceptor
} = answerBudget{}

func (answerBudget) ExtensionName() string                   { return "AnswerBudget" }
func (answerBudget) Validate(graphql.ExecutableSchema) error { return nil }

// The measured costs of an answer's parts, besides their JSON.
const (
	fieldOverhead = 768
	elemOverhead  = 32
)

// budgetState is one operation's count.
type budgetState struct {
	limit    int64
	pool     *answerPool
	used     atomic.Int64
	exceeded atomic.Int32 // 0, overLimit or overPool
	cancel   context.CancelCauseFunc
}

const (
	overLimit = 1 + iota
	overPool
)

type budgetKey struct{}

// errOverBudget fails the fields resolved after the budget ran out; the
// response interceptor replaces every such error with one.
var errOverBudget = errors.New("graphql: the answer is over its budget")

// overBudgetPresented is the presenter's answer for errOverBudget; never
// shown, since the response interceptor replaces the errors.
var overBudgetPresented = codedError(CodeResponseTooLarge, "The answer is over its budget.")

// overBudgetError is the one error the client gets.
func overBudgetError(limit int64) *gqlerror.Error {
	return codedError(CodeResponseTooLarge, fmt.Sprintf(
		"The answer is larger than the limit of %d bytes; ask for fewer items (first/last, maxDataPoints, fewer aliases).", limit))
}

func (b answerBudget) InterceptOperation(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	if b.limit <= 0 {
		return next(ctx)
	}
	st := &budgetState{limit: b.limit, pool: b.pool}
	ctx, st.cancel = context.WithCancelCause(ctx)
	ctx = context.WithValue(ctx, budgetKey{}, st)
	handler := next(ctx)
	op := graphql.GetOperationContext(ctx).Operation
	if op != nil && op.Operation == ast.Subscription {
		return handler // cancelled with the subscription's own context
	}
	return func(ctx context.Context) *graphql.Response {
		defer st.cancel(nil)
		return handler(ctx)
	}
}

func (b answerBudget) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	st, _ := ctx.Value(budgetKey{}).(*budgetState)
	if st == nil {
		return next(ctx)
	}
	resp := next(ctx)
	// Each response (each event of a subscription) has the whole budget.
	used := st.used.Swap(0)
	if st.pool != nil {
		st.pool.used.Add(-used)
	}
	exceeded := st.exceeded.Swap(0)
	if resp == nil {
		return nil
	}
	switch {
	case exceeded == overPool:
		e := codedError(CodeUnavailable, "The server is building too many large answers at once; try again shortly.")
		return &graphql.Response{Errors: gqlerror.List{e}, Extensions: resp.Extensions}
	case exceeded == overLimit || int64(len(resp.Data)) > st.limit:
		return &graphql.Response{Errors: gqlerror.List{overBudgetError(st.limit)}, Extensions: resp.Extensions}
	}
	return resp
}

func (b answerBudget) InterceptField(ctx context.Context, next graphql.Resolver) (any, error) {
	st, _ := ctx.Value(budgetKey{}).(*budgetState)
	if st == nil {
		return next(ctx)
	}
	if st.exceeded.Load() != 0 {
		return nil, errOverBudget
	}
	res, err := next(ctx)
	share := int64(fieldOverhead + 4)
	if fc := graphql.GetFieldContext(ctx); fc != nil {
		share += int64(len(fc.Field.Alias))
	}
	if err == nil {
		share += answerShare(res, b.pricing)
	}
	over := 0
	if st.used.Add(share) > st.limit {
		over = overLimit
	}
	if st.pool != nil && st.pool.used.Add(share) > st.pool.limit && over == 0 {
		over = overPool
	}
	if over != 0 {
		if st.exceeded.CompareAndSwap(0, int32(over)) {
			st.cancel(errOverBudget)
		}
		return nil, errOverBudget
	}
	return res, err
}

// answerShare is what a resolved value adds besides fieldOverhead: the
// JSON of a leaf, the brackets of an object; for a list, the JSON and
// elemOverhead of each leaf element, or fieldOverhead for each object
// (whose fields count as they resolve). pricing sizes the schema's own
// scalars (nil: none).
func answerShare(v any, pricing Pricing) int64 {
	var scratch [32]byte
	switch x := v.(type) {
	case nil:
		return 4
	case string:
		return int64(len(x)) + 2
	case *string:
		if x == nil {
			return 4
		}
		return int64(len(*x)) + 2
	case bool, *bool:
		return 5
	case int, int32, int64, uint, uint32, *int, *int64:
		return 20
	case float64, float32, *float64:
		return 24
	case time.Time, *time.Time:
		return 29
	case []float64:
		n := int64(2)
		for _, f := range x {
			n += int64(len(strconv.AppendFloat(scratch[:0], f, 'g', -1, 64))) + 1 + elemOverhead
		}
		return n
	case []int64:
		n := int64(2)
		for _, i := range x {
			n += int64(len(strconv.AppendInt(scratch[:0], i, 10))) + 1 + elemOverhead
		}
		return n
	}
	rv := reflect.ValueOf(v)
	if n := valueSize(rv.Type(), pricing); n > 0 {
		return n
	}
	for rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return 4
		}
		rv = rv.Elem()
	}
	switch rv.Kind() {
	case reflect.Slice, reflect.Array:
		n := int64(rv.Len())
		if n == 0 {
			return 2
		}
		if leaf := elemShare(rv.Type().Elem(), pricing); leaf > 0 {
			return 2 + n*(1+elemOverhead+leaf)
		}
		return 2 + n*(1+fieldOverhead)
	case reflect.String:
		return int64(rv.Len()) + 2
	case reflect.Bool:
		return 5
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return 20
	case reflect.Float32, reflect.Float64:
		return 24
	}
	return 2 // an object: its fields count as they resolve
}

// elemShare is the JSON of one element of a list of leaves (time, enum,
// string, number, a scalar of the schema's), or 0 for objects.
func elemShare(t reflect.Type, pricing Pricing) int64 {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == reflect.TypeFor[time.Time]() {
		return 29
	}
	if n := valueSize(t, pricing); n > 0 {
		return n
	}
	switch t.Kind() {
	case reflect.String:
		return 32
	case reflect.Bool:
		return 5
	case reflect.Float32, reflect.Float64:
		return 24
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return 20
	}
	return 0
}

// valueSize is pricing's size of a value of type t or of what t points to,
// nil or not; 0 without pricing.
func valueSize(t reflect.Type, pricing Pricing) int64 {
	if pricing == nil {
		return 0
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return pricing.ValueSize(t)
}
