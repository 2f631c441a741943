package server

import (
	"context"
	"log/slog"
	"maps"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/sprocketapi/sprocket/internal/apperr"
	"github.com/sprocketapi/sprocket/internal/secure"
	"github.com/sprocketapi/sprocket/internal/telemetry"
)

// requestID takes a sane X-Request-ID from the client or makes one, puts
// it in the context (and so on every log line) and returns it.
func requestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-ID")
		if !telemetry.SaneRequestID(id) {
			id = telemetry.NewRequestID()
		}
		w.Header().Set("X-Request-ID", id)
		next.ServeHTTP(w, r.WithContext(telemetry.WithRequestID(r.Context(), id)))
	})
}

// observe writes one access log line per request and the request metrics,
// labelled by route pattern (never the raw path, which is unbounded).
func observe(log *slog.Logger, m *telemetry.Metrics) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
			defer func() {
				status := ww.Status()
				if status == 0 {
					status = http.StatusOK
				}
				route := "unmatched"
				if rc := chi.RouteContext(r.Context()); rc != nil && rc.RoutePattern() != "" {
					route = rc.RoutePattern()
				}
				d := time.Since(start)
				if m != nil {
					m.Requests.WithLabelValues(route, r.Method, strconv.Itoa(status)).Inc()
					m.Duration.WithLabelValues(route, r.Method).Observe(d.Seconds())
				}
				if log != nil {
					level := slog.LevelInfo
					if status >= 500 {
						level = slog.LevelError
					}
					log.LogAttrs(r.Context(), level, "request",
						slog.String("method", r.Method),
						slog.String("route", route),
						slog.String("path", r.URL.Path),
						slog.Int("status", status),
						slog.Int("bytes", ww.BytesWritten()),
						slog.Duration("duration", d),
						slog.String("remote", r.RemoteAddr),
					)
				}
			}()
			next.ServeHTTP(ww, r)
		})
	}
}

// securityHeaders sets the headers every answer carries. Pages that need
// more (the playground, the dashboard) add their own Content-Security-Policy.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		secure.Headers(w.Header())
		next.ServeHTTP(w, r)
	})
}

// isSubscription reports requests that may open a GraphQL subscription,
// a long-lived stream: a WebSocket upgrade or server-sent events on
// /graphql. Nothing else escapes the request deadline: the same headers on
// any other route change nothing, and a GraphQL query sent over SSE or a
// WebSocket gets the deadline from the GraphQL handler (see graph's
// operation deadline).
func isSubscription(r *http.Request) bool {
	return isGraphQLWebSocket(r) ||
		(r.URL.Path == "/graphql" && strings.Contains(r.Header.Get("Accept"), "text/event-stream"))
}

// deadlineGrace is how long past its deadline a request's handler may
// take to answer by itself (with its own error) before deadline answers
// for it.
const deadlineGrace = 100 * time.Millisecond

const msgDeadline = "The request did not finish within its deadline; try again shortly."

// deadline puts a deadline on every request that is not a subscription
// (limit chooses it: downloads have their own), so that every database
// call made for it ends in bounded time, and answers 503 (with Retry-After) at that deadline for a handler
// that has not begun its answer: a driver blocked on a black-holed
// database (lib/pq ignores the context of a blocked read) cannot hold a
// client past its deadline. The handler goes on in the background until
// its call gives up (the pool's stall limit) and its writes are dropped.
// A subscription has its write deadline lifted instead.
func deadline(limit func(r *http.Request) time.Duration) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if isSubscription(r) {
				_ = http.NewResponseController(w).SetWriteDeadline(time.Time{})
				next.ServeHTTP(w, r)
				return
			}
			d := limit(r)
			if d <= 0 {
				next.ServeHTTP(w, r)
				return
			}
			ctx, cancel := context.WithTimeout(r.Context(), d)
			defer cancel()
			tw := &timeoutWriter{w: w, h: w.Header().Clone()}
			// The handler may outlive this request after a takeover, and
			// the router pools its routing context once ServeHTTP returns:
			// the handler routes on a copy of its own, whose route is
			// handed back when it finishes in time (observe labels by it).
			req := r.WithContext(ctx)
			rc := chi.RouteContext(r.Context())
			var routed *chi.Context
			if rc != nil {
				routed = rc.Clone()
				req = req.WithContext(context.WithValue(req.Context(), chi.RouteCtxKey, routed))
			}
			done := make(chan struct{})
			var panicked any
			go func() {
				defer close(done)
				defer func() {
					if v := recover(); v != nil {
						panicked = v
						if v != http.ErrAbortHandler {
							panicked = handlerPanic{value: v, stack: debug.Stack()}
						}
					}
				}()
				next.ServeHTTP(tw, req)
			}()
			select {
			case <-done:
			case <-ctx.Done():
				grace := time.NewTimer(deadlineGrace)
				defer grace.Stop()
				select {
				case <-done:
				case <-grace.C:
					if tw.takeOver() {
						// As the handlers answer a database that does not
						// answer in time: 503 on REST; on GraphQL an
						// operation's error, which is 200.
						status := http.StatusServiceUnavailable
						if r.URL.Path == "/graphql" {
							status = http.StatusOK
						}
						w.Header().Set("Retry-After", "5")
						refuse(w, r, status, msgDeadline, apperr.Unavailable)
						return
					}
					<-done // the answer has begun: let it end
				}
			}
			if routed != nil {
				rc.RoutePatterns = routed.RoutePatterns
			}
			if panicked != nil {
				panic(panicked) // for recoverer, in the request's goroutine
			}
		})
	}
}

// handlerPanic is a panic of a handler that deadline ran in a goroutine of
// its own, raised again in the request's goroutine with the stack of the
// handler's, which recoverer logs instead of its own (deadline's).
// http.ErrAbortHandler is raised again as it is.
type handlerPanic struct {
	value any
	stack []byte
}

// timeoutWriter passes a handler's answer through until deadline takes
// the request over; from then on the handler's writes are dropped. The
// handler works on a copy of the headers set so far, which replaces them
// when it begins its answer, so a takeover does not send half of them.
type timeoutWriter struct {
	w        http.ResponseWriter
	h        http.Header
	mu       sync.Mutex
	begun    bool // the handler has sent its status
	timedOut bool // deadline answered instead
}

func (tw *timeoutWriter) Header() http.Header { return tw.h }

// begin sends the handler's headers; tw.mu is held.
func (tw *timeoutWriter) begin() {
	if !tw.begun {
		tw.begun = true
		dst := tw.w.Header()
		clear(dst)
		maps.Copy(dst, tw.h)
	}
}

func (tw *timeoutWriter) WriteHeader(code int) {
	tw.mu.Lock()
	defer tw.mu.Unlock()
	if tw.timedOut || tw.begun {
		return
	}
	tw.begin()
	tw.w.WriteHeader(code)
}

func (tw *timeoutWriter) Write(b []byte) (int, error) {
	tw.mu.Lock()
	defer tw.mu.Unlock()
	if tw.timedOut {
		return 0, http.ErrHandlerTimeout
	}
	tw.begin()
	return tw.w.Write(b)
}

func (tw *timeoutWriter) Flush() {
	tw.mu.Lock()
	defer tw.mu.Unlock()
	if tw.timedOut {
		return
	}
	tw.begin()
	_ = http.NewResponseController(tw.w).Flush()
}

// Unwrap serves http.ResponseController.
func (tw *timeoutWriter) Unwrap() http.ResponseWriter { return tw.w }

// takeOver marks the request answered by deadline, unless the handler has
// begun its own answer.
func (tw *timeoutWriter) takeOver() bool {
	tw.mu.Lock()
	defer tw.mu.Unlock()
	if tw.begun {
		return false
	}
	tw.timedOut = true
	return true
}
