package server

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

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
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}

// isStream reports requests whose answer is a long-lived stream: WebSocket
// upgrades and server-sent events. They get neither the request deadline
// nor the server's write timeout.
func isStream(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket") ||
		strings.Contains(r.Header.Get("Accept"), "text/event-stream")
}

// deadline puts a deadline on every request that is not a stream, so that
// every database call made for it ends in bounded time even when the
// database stops answering; a stream instead has its write deadline lifted.
func deadline(d time.Duration) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if isStream(r) {
				_ = http.NewResponseController(w).SetWriteDeadline(time.Time{})
				next.ServeHTTP(w, r)
				return
			}
			if d <= 0 {
				next.ServeHTTP(w, r)
				return
			}
			ctx, cancel := context.WithTimeout(r.Context(), d)
			defer cancel()
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
}
