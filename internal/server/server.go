// Package server assembles the HTTP surface of sprocketd: the /v1 REST
// routes, GraphQL, health endpoints and the middleware every route shares.
package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sync/singleflight"

	"github.com/sprocketapi/sprocket/api"
	"github.com/sprocketapi/sprocket/internal/apperr"
	"github.com/sprocketapi/sprocket/internal/auth"
	"github.com/sprocketapi/sprocket/internal/config"
	"github.com/sprocketapi/sprocket/internal/core"
	"github.com/sprocketapi/sprocket/internal/database"
	"github.com/sprocketapi/sprocket/internal/origin"
	"github.com/sprocketapi/sprocket/internal/replica"
	"github.com/sprocketapi/sprocket/internal/rest"
	"github.com/sprocketapi/sprocket/internal/telemetry"
	"github.com/sprocketapi/sprocket/internal/web/dashboard"
	"github.com/sprocketapi/sprocket/internal/web/graphiql"
)

// Deps is what the server is built from.
type Deps struct {
	Config  config.Config
	Service *core.Service
	// GraphQL serves /graphql; nil leaves the route out.
	GraphQL http.Handler
	// Ping checks that the database answers, for /readyz; an error that
	// is database.ErrNotWritable says it answers but takes no writes.
	Ping func(ctx context.Context) error
	// Primary names the server writes go to, for /readyz; nil (SQLite)
	// names none.
	Primary interface {
		State() (node string, writable bool, since time.Time)
	}
	// Logger writes the access log; nil writes none.
	Logger *slog.Logger
	// Metrics are recorded and served at /metrics; nil leaves both out.
	Metrics *telemetry.Metrics
	// Tokens guard writes when any is configured; nil leaves writes open.
	Tokens *auth.Tokens
	// ProtectReads makes reads and subscriptions need a token too.
	ProtectReads bool
	// Replicas are the hot standbys that read-only requests read from;
	// nil: the primary serves every read.
	Replicas *replica.Set
	// RequestTimeout bounds every request that is not a subscription or a
	// download, and so every database call made for it; 0 means
	// Config.DBTimeout.
	RequestTimeout time.Duration
}

// methods that routes may answer, in the order Allow lists them.
var methods = []string{http.MethodDelete, http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPatch, http.MethodPost, http.MethodPut}

// New returns the root handler.
func New(d Deps) http.Handler {
	r := chi.NewRouter()
	r.Use(requestID)
	r.Use(observe(d.Logger, d.Metrics))
	r.Use(recoverer)
	r.Use(securityHeaders)
	timeout := d.RequestTimeout
	if timeout == 0 {
		timeout = d.Config.DBTimeout
	}
	// cors comes before the refusals below, so that a browser can read
	// them (a 503 and its Retry-After) instead of seeing a CORS failure.
	r.Use(cors(d.Config.CORSOrigins))
	r.Use(inFlight(d.Config.MaxInFlight))
	r.Use(deadline(requestDeadline(timeout, d.Config.DownloadTimeout)))
	r.Use(limitBody(d.Config.MaxBody))
	r.Use(authenticate(d.Tokens, d.ProtectReads))
	r.Use(readRouting(d.Replicas))
	r.Use(options(r))

	downloads := rest.DownloadOptions{BufferBytes: d.Config.DownloadBufferBytes,
		MemoryBytes: d.Config.DownloadMemoryBytes, MinRate: d.Config.DownloadMinRate}
	r.Mount("/v1", rest.Routes(d.Service, rest.Options{SeriesCacheBytes: d.Config.SeriesCacheBytes, Downloads: downloads,
		Metrics: d.Metrics}))
	if d.GraphQL != nil {
		// GET and POST only, so that OPTIONS and 405 answers list them.
		r.Get("/graphql", d.GraphQL.ServeHTTP)
		r.Post("/graphql", d.GraphQL.ServeHTTP)
		// The schema as one SDL document, also when introspection is off.
		sdl := api.SchemaHandler()
		r.Get("/graphql/schema.graphql", sdl.ServeHTTP)
		r.Head("/graphql/schema.graphql", sdl.ServeHTTP)
		r.Mount("/graphiql", graphiql.Handler(graphiql.Options{
			Endpoint:             "/graphql",
			SubscriptionEndpoint: "/graphql",
			Title:                "Sprocket API · GraphiQL",
			Tabs:                 graphiql.DefaultTabs,
		}))
		// The dashboard: the page at the root, its bundle under /assets/.
		dash := dashboard.Handler(dashboard.Options{Endpoint: "/graphql", Playground: "/graphiql"})
		for _, p := range []string{"/", "/assets/*"} {
			r.Get(p, dash.ServeHTTP)
			r.Head(p, dash.ServeHTTP)
		}
	}
	if d.Metrics != nil {
		r.Handle("/metrics", promhttp.HandlerFor(d.Metrics.Registry, promhttp.HandlerOpts{}))
	}
	r.Get("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		rest.WriteMessage(w, http.StatusOK, "ok")
	})
	ping := readiness(d.Ping)
	r.Get("/readyz", func(w http.ResponseWriter, r *http.Request) {
		if err := ping(r.Context()); err != nil {
			w.Header().Set("Retry-After", "5")
			msg := "The database is not reachable."
			if errors.Is(err, database.ErrNotWritable) {
				msg = "The database takes no writes (a failover in progress?)."
			}
			rest.WriteMessage(w, http.StatusServiceUnavailable, msg)
			return
		}
		writeReady(w, d.Primary)
	})

	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		rest.WriteMessage(w, http.StatusNotFound, "Not found: no route for "+apperr.Quote(r.URL.Path))
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Allow", strings.Join(allowed(r, req.URL.Path), ", "))
		rest.WriteMessage(w, http.StatusMethodNotAllowed, fmt.Sprintf("Method %s is not allowed for %s.", apperr.Quote(req.Method), apperr.Quote(req.URL.Path)))
	})
	return r
}

// allowed lists the methods that path answers (OPTIONS whenever any).
func allowed(mux *chi.Mux, path string) []string {
	var out []string
	for _, m := range methods {
		if m == http.MethodOptions || !mux.Match(chi.NewRouteContext(), m, path) {
			continue
		}
		out = append(out, m)
	}
	if len(out) > 0 {
		out = append(out, http.MethodOptions)
		sort.Strings(out)
	}
	return out
}

// options answers OPTIONS for every route, preflight or not, with Allow
// (the legacy service did the same); cors has already added the CORS
// headers. A path with no route is left to the 404 handler.
func options(mux *chi.Mux) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodOptions {
				next.ServeHTTP(w, r)
				return
			}
			allow := allowed(mux, r.URL.Path)
			if len(allow) == 0 {
				next.ServeHTTP(w, r)
				return
			}
			w.Header().Set("Allow", strings.Join(allow, ", "))
			if r.Header.Get("Origin") != "" && w.Header().Get("Access-Control-Allow-Origin") != "" &&
				r.Header.Get("Access-Control-Request-Method") != "" {
				w.Header().Set("Access-Control-Allow-Methods", strings.Join(allow, ", "))
				if h := r.Header.Get("Access-Control-Request-Headers"); h != "" {
					w.Header().Set("Access-Control-Allow-Headers", h)
				}
				w.Header().Set("Access-Control-Max-Age", "600")
			}
			w.Header().Set("Content-Length", "0")
			w.WriteHeader(http.StatusOK)
		})
	}
}

// cors answers browsers from the configured origins. A request without an
// Origin header gets the first configured origin, as the legacy service
// (flask-cors) sent it; browsers always send Origin, so this only keeps
// the bytes the same for other clients.
func cors(origins []string) func(http.Handler) http.Handler {
	policy := origin.NewPolicy(origins)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h := w.Header()
			o := r.Header.Get("Origin")
			switch {
			case policy.Any():
				h.Set("Access-Control-Allow-Origin", "*")
			case o == "" && policy.First() != "":
				h.Set("Access-Control-Allow-Origin", policy.First())
				h.Add("Vary", "Origin")
			case o != "" && policy.Allows(o):
				h.Set("Access-Control-Allow-Origin", o)
				h.Add("Vary", "Origin")
			default:
				h.Add("Vary", "Origin")
			}
			if h.Get("Access-Control-Allow-Origin") != "" {
				h.Set("Access-Control-Expose-Headers", "Location, X-Request-ID, Retry-After, "+replica.Header)
			}
			next.ServeHTTP(w, r)
		})
	}
}

// limitBody caps every request body; readers then see *http.MaxBytesError
// and answer 413.
func limitBody(limit int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.ContentLength > limit {
				refuse(w, r, http.StatusRequestEntityTooLarge,
					fmt.Sprintf("Request body is larger than the limit of %d bytes.", limit), apperr.TooLarge)
				return
			}
			r.Body = http.MaxBytesReader(w, r.Body, limit)
			next.ServeHTTP(w, r)
		})
	}
}

// recoverer turns a panic into a 500 JSON answer that says nothing
// internal, and logs it with its stack.
func recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				stack := debug.Stack()
				if p, ok := v.(handlerPanic); ok {
					v, stack = p.value, p.stack
				}
				slog.ErrorContext(r.Context(), "panic serving request", "method", r.Method, "path", r.URL.Path,
					"panic", fmt.Sprint(v), "stack", string(stack))
				rest.WriteMessage(w, http.StatusInternalServerError, "Internal server error.")
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// writeReady answers a ready /readyz: {"message":"ready"}, with the
// primary's node and since when it has taken writes when there is one to
// name (PostgreSQL): after a failover, the new primary and when writing
// resumed.
func writeReady(w http.ResponseWriter, primary interface {
	State() (string, bool, time.Time)
}) {
	if primary == nil {
		rest.WriteMessage(w, http.StatusOK, "ready")
		return
	}
	node, writable, since := primary.State()
	if !writable {
		rest.WriteMessage(w, http.StatusOK, "ready")
		return
	}
	b, _ := json.Marshal(struct {
		Message      string    `json:"message"`
		Primary      string    `json:"primary"`
		PrimarySince time.Time `json:"primary_since"`
	}{"ready", node, since.UTC()})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(append(b, '\n'))
}

// readyTimeout is how long /readyz waits for the database.
const readyTimeout = 2 * time.Second

// readiness wraps ping for /readyz: the answer comes within readyTimeout
// even when the database black-holes (a driver blocked on a read may not
// return before its stall limit), and however often /readyz is asked, at
// most one ping is in flight: callers meanwhile share its outcome.
func readiness(ping func(context.Context) error) func(context.Context) error {
	if ping == nil {
		return func(context.Context) error { return nil }
	}
	var pings singleflight.Group
	return func(ctx context.Context) error {
		done := pings.DoChan("ping", func() (any, error) {
			pctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
			defer cancel()
			return nil, ping(pctx)
		})
		timer := time.NewTimer(readyTimeout)
		defer timer.Stop()
		select {
		case res := <-done:
			return res.Err
		case <-timer.C:
			return errors.New("the database did not answer within the readiness timeout")
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// inFlight serves at most limit requests at once and answers the rest 503
// with Retry-After at once, instead of queueing them without bound. Health
// checks, metrics and subscriptions are not counted: an operator must see
// a saturated server, and a subscription is long-lived by design (its own
// limits are the WebSocket ones). limit <= 0: no limit.
func inFlight(limit int) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		if limit <= 0 {
			return next
		}
		slots := make(chan struct{}, limit)
		msg := fmt.Sprintf("The server is serving its limit of %d requests at once; try again shortly.", limit)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if isProbe(r.URL.Path) || isSubscription(r) {
				next.ServeHTTP(w, r)
				return
			}
			select {
			case slots <- struct{}{}:
			default:
				w.Header().Set("Retry-After", "1")
				refuse(w, r, http.StatusServiceUnavailable, msg, apperr.Unavailable)
				return
			}
			defer func() { <-slots }()
			next.ServeHTTP(w, r)
		})
	}
}

// requestDeadline is the deadline of a request: download for the legacy
// downloads (never shorter than timeout), timeout for the rest.
func requestDeadline(timeout, download time.Duration) func(*http.Request) time.Duration {
	download = max(download, timeout)
	return func(r *http.Request) time.Duration {
		if isDownload(r) {
			return download
		}
		return timeout
	}
}

// isDownload reports the legacy downloads: GET (or HEAD) of every
// factory's series or of one, streamed and as large as the data. They
// get DOWNLOAD_TIMEOUT instead of DB_TIMEOUT.
func isDownload(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	tail, ok := strings.CutPrefix(r.URL.Path, "/v1/factories")
	return ok && (tail == "" || tail == "/" || (strings.HasPrefix(tail, "/") && !strings.Contains(tail[1:], "/")))
}
