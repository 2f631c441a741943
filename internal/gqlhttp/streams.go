package gqlhttp

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/sprocketapi/sprocket/internal/config"
	"github.com/sprocketapi/sprocket/internal/live"
	"github.com/sprocketapi/sprocket/internal/telemetry"
)

// The defaults of the streams' budget: the numbers are internal/config's.
const (
	// DefaultMaxStreams caps the operations running over WebSockets and
	// server-sent events on one server (GRAPHQL_MAX_STREAMS): with what
	// each holds besides its document (streamOverhead, and the connection
	// it runs on), they stay within about 100 MB.
	DefaultMaxStreams = config.DefaultGraphQLMaxStreams
	// DefaultStreamMemoryBytes is the memory they may hold
	// (GRAPHQL_STREAM_MEMORY_BYTES).
	DefaultStreamMemoryBytes = config.DefaultGraphQLStreamMemoryBytes
)

// streamOverhead is what a running streamed operation holds besides its
// document and variables: the goroutines, contexts and channels of
// gqlgen's transport, of the resolver and of the live hub's subscriber,
// measured (TestSubscriptionsWithLargeDocumentsHoldLittle logs it).
const streamOverhead = 16 << 10

// streamedKey marks the context of a request served by a streaming
// transport (a WebSocket, whose operations share its upgrade request's
// context, or an SSE request).
type streamedKey struct{}

func withStreamed(ctx context.Context) context.Context {
	return context.WithValue(ctx, streamedKey{}, true)
}

// StreamBudget is what the operations that run over WebSockets and
// server-sent events may hold, on one server: a subscription runs for as
// long as its client wants, outside MAX_IN_FLIGHT and the request
// deadline. Each running operation (a subscription, or a query or
// mutation sent over a socket or as SSE) takes one of maxOpen places and
// is charged the memory it holds (heldBytes) for as long as it runs; an
// operation that finds either full is not run, and gets a coded error
// (SERVICE_UNAVAILABLE: try again later, or elsewhere). The live hub
// charges the points waiting for subscribers to the same memory
// (live.Budget).
type StreamBudget struct {
	maxOpen int
	budget  int64

	mu                          sync.Mutex
	open                        int
	bytes                       int64
	countRefused, memoryRefused int64
}

// acquire takes a place charged bytes; release gives it back.
func (b *StreamBudget) acquire(bytes int64) (release func(), refusal *gqlerror.Error) {
	return b.take(bytes, 1)
}

// prepareFactor is the memory a large message takes while it is decoded
// and compacted, for each of its bytes: the decoder's buffer, the decoded
// query text and, for a WebSocket, the message itself.
const prepareFactor = 3

// prepare charges the memory of a message of size bytes being prepared
// (decoded and compacted) for a streamed operation, without a place: a
// flood of large messages at once is refused once they would take the
// budget (what each holds while it runs is small).
func (b *StreamBudget) prepare(size int64) (release func(), refusal *gqlerror.Error) {
	return b.take(prepareFactor*size, 0)
}

func (b *StreamBudget) take(bytes int64, places int) (release func(), refusal *gqlerror.Error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.open+places > b.maxOpen:
		b.countRefused++
		e := codedError(CodeUnavailable, fmt.Sprintf(
			"The server runs %d streamed operations (subscriptions, and operations over WebSockets and server-sent events), its limit; try again later.", b.maxOpen))
		return nil, e
	case b.bytes+bytes > b.budget:
		b.memoryRefused++
		e := codedError(CodeUnavailable, fmt.Sprintf(
			"The streamed operations of this server hold their memory budget of %d bytes; try again later, or with a smaller document.", b.budget))
		return nil, e
	}
	b.open += places
	b.bytes += bytes
	var once sync.Once
	return func() {
		once.Do(func() {
			b.mu.Lock()
			b.open -= places
			b.bytes -= bytes
			b.mu.Unlock()
		})
	}, nil
}

var _ live.Budget = (*StreamBudget)(nil)

// NewStreamBudget returns the budget of opts (MaxStreams and
// StreamMemoryBytes, or their defaults), to share between NewHandler
// (Options.Streams) and the live hub.
func NewStreamBudget(opts Options) *StreamBudget {
	opts = opts.withDefaults()
	return &StreamBudget{maxOpen: opts.MaxStreams, budget: opts.StreamMemoryBytes}
}

// Charge implements live.Budget: n bytes of points waiting for
// subscribers, charged whether they fit or not.
func (b *StreamBudget) Charge(n int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.bytes += n
	return b.bytes <= b.budget
}

// Release implements live.Budget.
func (b *StreamBudget) Release(n int64) {
	b.mu.Lock()
	b.bytes -= n
	b.mu.Unlock()
}

func (b *StreamBudget) stats() telemetry.StreamStats {
	b.mu.Lock()
	defer b.mu.Unlock()
	return telemetry.StreamStats{Open: b.open, MaxOpen: b.maxOpen, Bytes: b.bytes, Budget: b.budget,
		CountRefused: b.countRefused, MemoryRefused: b.memoryRefused}
}

// streamLimits puts the operations of streaming transports under their
// budget: each takes its place when it starts and gives it back when its
// last answer is given or its context ends (the client completed it, or
// went away).
type streamLimits struct {
	budget *StreamBudget
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationInterceptor
} = streamLimits{}

func (streamLimits) ExtensionName() string                   { return "StreamLimits" }
func (streamLimits) Validate(graphql.ExecutableSchema) error { return nil }

func (s streamLimits) InterceptOperation(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	if ctx.Value(streamedKey{}) == nil {
		return next(ctx)
	}
	release, refusal := s.budget.acquire(heldBytes(graphql.GetOperationContext(ctx)))
	if refusal != nil {
		return graphql.OneShot(&graphql.Response{Errors: gqlerror.List{refusal}})
	}
	stop := context.AfterFunc(ctx, release)
	handler := next(ctx)
	return func(ctx context.Context) *graphql.Response {
		resp := handler(ctx)
		if resp == nil {
			stop()
			release()
		}
		return resp
	}
}

// heldBytes is what a running streamed operation holds: streamOverhead,
// its document (shared with the query cache, which may drop it while the
// operation keeps it), its text again (the transport keeps the message it
// came in), and its variables, decoded and as sent.
func heldBytes(oc *graphql.OperationContext) int64 {
	n := int64(streamOverhead) + documentBytes(oc.Doc) + int64(len(oc.RawQuery))
	if len(oc.Variables) > 0 {
		n += 2 * valueBytes(oc.Variables)
	}
	return n
}

// valueBytes estimates the heap a decoded JSON value holds.
func valueBytes(v any) int64 {
	switch x := v.(type) {
	case map[string]any:
		n := int64(48)
		for k, e := range x {
			n += 32 + int64(len(k)) + valueBytes(e)
		}
		return n
	case []any:
		n := int64(24)
		for _, e := range x {
			n += 16 + valueBytes(e)
		}
		return n
	case string:
		return 16 + int64(len(x))
	case json.Number:
		return 16 + int64(len(x))
	}
	return 16
}
