package gqlhttp

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	coderws "github.com/coder/websocket"
	"golang.org/x/sync/semaphore"

	"github.com/sprocketapi/sprocket/internal/auth"
	"github.com/sprocketapi/sprocket/internal/config"
	"github.com/sprocketapi/sprocket/internal/origin"
	"github.com/sprocketapi/sprocket/internal/replica"
	"github.com/sprocketapi/sprocket/internal/telemetry"
)

// The defaults of Options: the numbers are internal/config's (one owner);
// the reasons for them are here.
const (
	// DefaultComplexityLimit bounds what an operation can return (see
	// costLimit): the dashboard's query (100 factories with a series of up
	// to 1,997 values each) and GraphiQL's introspection query pass;
	// hundreds of aliases of a large page or of __schema do not (TestCosts;
	// the costs are in docs/performance.md, "The GraphQL limits").
	DefaultComplexityLimit = config.DefaultGraphQLComplexityLimit
	// DefaultMaxResponseBytes is the answer budget of one operation, and
	// DefaultResponsePoolBytes that of all operations at once (see
	// answerBudget).
	DefaultMaxResponseBytes  = config.DefaultGraphQLMaxResponseBytes
	DefaultResponsePoolBytes = config.DefaultGraphQLResponsePoolBytes
	// DefaultCostInFlight is the cost of the operations that run at once
	// (see costShare): four of the costliest the limit allows.
	DefaultCostInFlight = config.DefaultGraphQLCostInFlight
	// DefaultMaxVariableValues bounds the JSON values of a request body:
	// a recordProduction or createFactory of 10,000 points (4 values
	// each) and room for the rest, so that a few large calls at once fit
	// the memory a server is given (docs/performance.md, "Targets"). The
	// core takes up to core.MaxRecordBatch points a call from REST.
	DefaultMaxVariableValues = config.DefaultGraphQLMaxVariableValues
	// DefaultDepthLimit fits the deepest useful query today,
	// node → points → edges → node → field (5), with room to spare.
	DefaultDepthLimit = config.DefaultGraphQLDepthLimit
	// DefaultTokenLimit is many times the tokens of the introspection
	// query: room for large documents, not for megabytes of them.
	DefaultTokenLimit = config.DefaultGraphQLTokenLimit
	// DefaultQueryCacheBytes holds thousands of the documents clients
	// send, the dashboard's among them; DefaultAPQCacheBytes as many query
	// texts, which are smaller.
	DefaultQueryCacheBytes = config.DefaultGraphQLQueryCacheBytes
	DefaultAPQCacheBytes   = config.DefaultGraphQLAPQCacheBytes
	DefaultMaxBodyBytes    = config.DefaultMaxBody
)

// keepAlive is how often an idle WebSocket or SSE stream gets a message, so
// that proxies do not close it.
const keepAlive = 10 * time.Second

// Options configure the GraphQL server around the schema. NewHandler uses
// the default for a limit or size left at zero; DefaultOptions returns all
// the defaults, with introspection on.
type Options struct {
	// Introspection answers __schema and __type (GraphiQL needs it).
	// The zero value leaves it off.
	Introspection bool
	// ComplexityLimit caps the cost of an operation (costLimit).
	ComplexityLimit int
	// MaxResponseBytes is the answer budget of an operation
	// (GRAPHQL_MAX_RESPONSE_BYTES; answerBudget).
	MaxResponseBytes int64
	// ResponsePoolBytes is the answer budget of all operations at once
	// (GRAPHQL_RESPONSE_POOL_BYTES).
	ResponsePoolBytes int64
	// CostInFlight bounds the cost of the operations that run at once
	// (GRAPHQL_COST_IN_FLIGHT; costShare).
	CostInFlight int64
	// MaxVariableValues caps the JSON values of a request body or of the
	// variables of a GET (GRAPHQL_MAX_VARIABLE_VALUES).
	MaxVariableValues int
	// MaxStringBytes caps each string of a POST body
	// (DefaultMaxStringBytes).
	MaxStringBytes int
	// DepthLimit caps how deep fields nest; introspection is exempt.
	DepthLimit int
	// TokenLimit caps the lexical tokens of a query document; the parser
	// stops at the limit.
	TokenLimit int
	// QueryCacheBytes is the memory for parsed and validated documents
	// (GRAPHQL_QUERY_CACHE_BYTES; see documentCache).
	QueryCacheBytes int64
	// APQCacheBytes is the memory for automatic persisted queries
	// (GRAPHQL_APQ_CACHE_BYTES; see persistedQueries).
	APQCacheBytes int64
	// MaxBodyBytes caps a POST body (MAX_BODY_BYTES).
	MaxBodyBytes int64
	// AllowedOrigins may open WebSockets besides the same origin
	// (CORS_ORIGINS); "*" allows any.
	AllowedOrigins []string
	// Tokens authenticate WebSocket connections (their connection_init
	// payload carries "Authorization": "Bearer <token>"); nil: none.
	Tokens *auth.Tokens
	// ProtectReads refuses WebSocket connections without a valid token.
	ProtectReads bool
	// Metrics count operations by name and outcome; nil counts nothing.
	Metrics *telemetry.Metrics
	// OperationTimeout bounds each query and mutation that comes without
	// a deadline of its own: those sent over a WebSocket or server-sent
	// events, which the HTTP request deadline does not cover (DB_TIMEOUT).
	// Subscriptions are not bounded. 0: no bound.
	OperationTimeout time.Duration
	// OperationConns is how many of a query's resolvers may use the
	// database at once (DB_OPERATION_CONNS); 0: no bound.
	OperationConns int
	// MetricOperations are operation names counted under their own name in
	// the metrics besides KnownOperations (GRAPHQL_METRIC_OPERATIONS);
	// any other name is counted as "other".
	MetricOperations []string
	// WSInitTimeout is how long a WebSocket may take to send an accepted
	// connection_init before it is closed with 4408 (WS_INIT_TIMEOUT).
	WSInitTimeout time.Duration
	// WSMaxConnections caps the open WebSockets; an upgrade beyond it is
	// refused with 503 (WS_MAX_CONNECTIONS).
	WSMaxConnections int
	// WSMaxSubscriptions caps the operations one WebSocket runs at a
	// time; a subscribe beyond it gets an error message
	// (WS_MAX_SUBSCRIPTIONS).
	WSMaxSubscriptions int
	// MaxStreams caps the operations running over WebSockets and
	// server-sent events on the server (GRAPHQL_MAX_STREAMS), and
	// StreamMemoryBytes what they hold (GRAPHQL_STREAM_MEMORY_BYTES); see
	// streamBudget.
	MaxStreams        int
	StreamMemoryBytes int64
	// Streams is that budget when it is shared with the live hub
	// (NewStreamBudget); nil: NewHandler makes its own.
	Streams *StreamBudget
	// Replicas are the hot standbys that query operations read from
	// (DATABASE_READ_URL); nil: the primary serves every read.
	Replicas *replica.Set

	// What is particular to the schema served, from its package.
	//
	// Pricing sizes its lists and scalars for the cost limit and the
	// answer budget (graph.Pricing); nil: every field counts once.
	Pricing Pricing
	// Extensions are its own extensions (graph.Extensions), used after
	// the transport's: innermost, next to the resolvers.
	Extensions []graphql.HandlerExtension
	// Transactions runs each mutation in one transaction (the core's
	// service); nil: a mutation's calls are not grouped.
	Transactions Transactor
}

// OptionsFromConfig returns the settings the configuration gives; tokens,
// metrics, replicas and the schema's parts are set by the caller.
func OptionsFromConfig(c config.Config) Options {
	return Options{
		Introspection:   c.GraphQLIntrospection,
		ComplexityLimit: c.GraphQLComplexityLimit,
		DepthLimit:      c.GraphQLDepthLimit,
		TokenLimit:      c.GraphQLTokenLimit,
		MaxBodyBytes:    c.MaxBody,
		AllowedOrigins:  c.CORSOrigins,
		ProtectReads:    c.ProtectReads,

		OperationTimeout: c.DBTimeout,
		OperationConns:   c.DBOperationConns,

		MetricOperations:   c.GraphQLMetricOperations,
		WSInitTimeout:      c.WSInitTimeout,
		WSMaxConnections:   c.WSMaxConnections,
		WSMaxSubscriptions: c.WSMaxSubscriptions,
		MaxStreams:         c.GraphQLMaxStreams,
		StreamMemoryBytes:  c.GraphQLStreamMemoryBytes,
		QueryCacheBytes:    c.GraphQLQueryCacheBytes,
		APQCacheBytes:      c.GraphQLAPQCacheBytes,

		MaxResponseBytes:  c.GraphQLMaxResponseBytes,
		ResponsePoolBytes: c.GraphQLResponsePoolBytes,
		CostInFlight:      c.GraphQLCostInFlight,
		MaxVariableValues: c.GraphQLMaxVariableValues,
	}
}

// DefaultOptions returns the defaults: introspection on and the Default*
// limits and sizes.
func DefaultOptions() Options {
	return Options{
		Introspection:   true,
		ComplexityLimit: DefaultComplexityLimit,
		DepthLimit:      DefaultDepthLimit,
		TokenLimit:      DefaultTokenLimit,
		QueryCacheBytes: DefaultQueryCacheBytes,
		APQCacheBytes:   DefaultAPQCacheBytes,
		MaxBodyBytes:    DefaultMaxBodyBytes,

		WSInitTimeout:      DefaultWSInitTimeout,
		WSMaxConnections:   DefaultWSMaxConnections,
		WSMaxSubscriptions: DefaultWSMaxSubscriptions,
		MaxStreams:         DefaultMaxStreams,
		StreamMemoryBytes:  DefaultStreamMemoryBytes,

		MaxResponseBytes:  DefaultMaxResponseBytes,
		ResponsePoolBytes: DefaultResponsePoolBytes,
		CostInFlight:      DefaultCostInFlight,
		MaxVariableValues: DefaultMaxVariableValues,
		MaxStringBytes:    DefaultMaxStringBytes,
	}
}

func (o Options) withDefaults() Options {
	d := DefaultOptions()
	orDefault(&o.ComplexityLimit, d.ComplexityLimit)
	orDefault(&o.DepthLimit, d.DepthLimit)
	orDefault(&o.MaxResponseBytes, d.MaxResponseBytes)
	if o.ResponsePoolBytes <= 0 {
		o.ResponsePoolBytes = max(d.ResponsePoolBytes, o.MaxResponseBytes)
	}
	if o.CostInFlight <= 0 {
		o.CostInFlight = max(d.CostInFlight, int64(o.ComplexityLimit))
	}
	orDefault(&o.MaxVariableValues, d.MaxVariableValues)
	orDefault(&o.MaxStringBytes, d.MaxStringBytes)
	orDefault(&o.TokenLimit, d.TokenLimit)
	orDefault(&o.QueryCacheBytes, d.QueryCacheBytes)
	orDefault(&o.APQCacheBytes, d.APQCacheBytes)
	orDefault(&o.MaxStreams, d.MaxStreams)
	orDefault(&o.StreamMemoryBytes, d.StreamMemoryBytes)
	orDefault(&o.MaxBodyBytes, d.MaxBodyBytes)
	orDefault(&o.WSInitTimeout, d.WSInitTimeout)
	orDefault(&o.WSMaxConnections, d.WSMaxConnections)
	orDefault(&o.WSMaxSubscriptions, d.WSMaxSubscriptions)
	return o
}

// orDefault sets *v to d when it is not positive (left at zero).
func orDefault[T int | int64 | time.Duration](v *T, d T) {
	if *v <= 0 {
		*v = d
	}
}

// NewHandler returns the /graphql handler of schema: GET (queries only),
// POST (application/json), SSE and WebSocket (graphql-transport-ws, and
// the older graphql-ws) over one executor with the limits, caches and
// error presentation of opts. Each mutation runs in one transaction of
// opts.Transactions, which the resolvers find in the context.
func NewHandler(schema graphql.ExecutableSchema, opts Options) http.Handler {
	srv := newServer(schema, opts)
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodGet && req.Method != http.MethodPost {
			w.Header().Set("Allow", "GET, POST")
			writeRequestError(w, http.StatusMethodNotAllowed, mediaJSON, CodeMethodNotAllowed,
				"GraphQL answers GET (queries) and POST.")
			return
		}
		srv.ServeHTTP(w, req)
	})
}

// newServer is the gqlgen server behind NewHandler.
func newServer(es graphql.ExecutableSchema, opts Options) *handler.Server {
	opts = opts.withDefaults()
	srv := handler.New(es)
	present := presenter{schema: es.Schema()}.present
	compact := compactor{schema: es.Schema(), tokenLimit: opts.TokenLimit}
	streams := opts.Streams
	if streams == nil {
		streams = NewStreamBudget(opts)
	}
	opts.Metrics.ObserveStreams(streams.stats)

	// The first transport that supports a request serves it: Upgrade
	// requests are WebSockets, POSTs that accept text/event-stream are SSE,
	// and every other POST is ours (a wrong Content-Type gets 415).
	srv.AddTransport(websocketTransport{
		Websocket: transport.Websocket{
			// Origins are checked by websocketTransport, against the same
			// list as CORS, before the upgrade. wsImplementation adds the
			// connection_init deadline (gqlgen's InitTimeout closes with
			// 1002, not graphql-transport-ws's 4408) and the cap on
			// operations per socket.
			Implementation: wsImplementation{
				WebsocketImplementation: transport.CoderWebsocketImplementation{
					AcceptOptions: coderws.AcceptOptions{InsecureSkipVerify: true},
				},
				initTimeout: opts.WSInitTimeout,
				maxOps:      opts.WSMaxSubscriptions,
				compactor:   compact,
				budget:      streams,
			},
			InitFunc:              websocketInit(opts.Tokens, opts.ProtectReads),
			KeepAlivePingInterval: keepAlive, // graphql-ws "ka"
			// graphql-transport-ws: a "ping" every keepAlive, which
			// clients answer with "pong"; a socket that answers none
			// within two intervals (a peer gone without closing) is
			// closed, and frees its slot.
			PingPongInterval: keepAlive,
			ErrorFunc: func(ctx context.Context, err error) {
				slog.DebugContext(ctx, "graphql: websocket", "error", err.Error())
			},
		},
		origins: origin.NewPolicy(opts.AllowedOrigins),
		slots:   &wsSlots{limit: int64(opts.WSMaxConnections)},
	})
	srv.AddTransport(sseTransport{SSE: transport.SSE{KeepAlivePingInterval: keepAlive}, maxBody: opts.MaxBodyBytes,
		maxValues: opts.MaxVariableValues, maxString: opts.MaxStringBytes, compactor: compact, budget: streams})
	srv.AddTransport(getTransport{maxValues: opts.MaxVariableValues})
	srv.AddTransport(postTransport{maxBody: opts.MaxBodyBytes, maxValues: opts.MaxVariableValues, maxString: opts.MaxStringBytes})

	srv.SetErrorPresenter(present)
	srv.SetRecoverFunc(recoverPanic)
	documents, persisted := newDocumentCache(opts.QueryCacheBytes), newPersistedQueries(opts.APQCacheBytes)
	opts.Metrics.ObserveCache("query", documents.lru.Stats)
	opts.Metrics.ObserveCache("apq", persisted.lru.Stats)
	srv.SetQueryCache(documents)
	srv.SetParserTokenLimit(opts.TokenLimit)
	srv.SetValidationRulesFn(validationRules)

	if opts.Introspection {
		srv.Use(extension.Introspection{})
	} else {
		srv.Use(noIntrospection{})
	}
	srv.Use(extension.AutomaticPersistedQuery{Cache: persisted})
	// numberLiterals must come before the complexity limit, whose
	// calculation would panic on the literals it rewrites.
	srv.Use(numberLiterals{})
	srv.Use(depthLimit{limit: opts.DepthLimit})
	srv.Use(&costLimit{limit: opts.ComplexityLimit, pricing: opts.Pricing})
	// errorGuard must come before the extensions whose answers it checks.
	srv.Use(errorGuard{})
	// First of the operation interceptors: a refused operation does no
	// work.
	srv.Use(streamLimits{budget: streams})
	srv.Use(answerBudget{limit: opts.MaxResponseBytes, pool: &answerPool{limit: opts.ResponsePoolBytes}, pricing: opts.Pricing})
	srv.Use(WriteGuard{})
	srv.Use(operations{metrics: opts.Metrics, names: metricNames(opts.MetricOperations)})
	srv.Use(operationDeadline{timeout: opts.OperationTimeout})
	// After the deadline, which bounds the wait for a turn.
	srv.Use(costShare{sem: semaphore.NewWeighted(opts.CostInFlight), capacity: opts.CostInFlight})
	srv.Use(operationShare{conns: opts.OperationConns})
	if opts.Replicas != nil {
		// After the deadline and the shares, which bound its wait; before
		// the transactioner, so that a mutation's position follows its
		// commit.
		srv.Use(readRouter{set: opts.Replicas})
	}
	if opts.Transactions != nil {
		srv.Use(transactioner{tx: opts.Transactions, present: present})
	}
	for _, ext := range opts.Extensions {
		srv.Use(ext)
	}
	return srv
}

// websocketInit authenticates a WebSocket from its connection_init
// payload, since browsers cannot set headers on a WebSocket: a valid
// "Authorization": "Bearer <token>" lets the connection's mutations
// through; without one, the connection is refused when reads are
// protected, and its mutations are refused when tokens are configured.
func websocketInit(tokens *auth.Tokens, protectReads bool) transport.WebsocketInitFunc {
	return func(ctx context.Context, p transport.InitPayload) (context.Context, *transport.InitPayload, error) {
		if !tokens.Enabled() {
			return ctx, nil, nil
		}
		h := p.Authorization()
		if h == "" {
			h, _ = p["authorization"].(string)
		}
		state := tokens.AuthenticateHeader(h)
		if state == auth.Invalid || (protectReads && state != auth.Authenticated) {
			// graphql-transport-ws closes with 4403 Forbidden.
			ctx = transport.WithWebsocketCloseCode(ctx, closeForbidden)
			ctx = transport.AppendCloseReason(ctx, "Forbidden")
			return ctx, nil, errors.New("a valid API token is required")
		}
		return auth.WithState(ctx, state), nil, nil
	}
}

// websocketTransport is gqlgen's WebSocket transport behind an origin
// check: browsers send Origin on a WebSocket, and a page of another site
// must not ride on a user's network position or cookies. Connections
// without Origin (non-browser clients) and from the same origin are let
// through, as are the configured CORS origins.
type websocketTransport struct {
	transport.Websocket
	origins origin.Policy
	slots   *wsSlots
}

// Do implements graphql.Transport.
func (t websocketTransport) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	if !t.origins.AllowsRequest(r) {
		writeRequestError(w, http.StatusForbidden, mediaJSON, CodeForbidden,
			"WebSocket connections from this origin are not allowed.")
		return
	}
	if !t.slots.acquire() {
		refuseUpgrade(w, t.slots.limit)
		return
	}
	defer t.slots.release()
	t.Websocket.Do(w, r.WithContext(withStreamed(r.Context())), exec)
}
