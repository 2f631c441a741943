package server

import (
	"context"
	"net/http"

	"github.com/sprocketapi/sprocket/internal/apperr"
	"github.com/sprocketapi/sprocket/internal/replica"
)

// readRouting sends the reads of read-only REST requests to a standby of
// set (GraphQL routes per operation: gqlhttp), and has a successful write
// name the primary's log position after it in replica.Header, for the
// client's next reads. Subscriptions, probes and pages are left alone.
// nil set: no standbys, nothing to do.
func readRouting(set *replica.Set) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		if set == nil {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if isProbe(r.URL.Path) || isPage(r.URL.Path) {
				next.ServeHTTP(w, r)
				return
			}
			graphql := r.URL.Path == "/graphql"
			read := r.Method == http.MethodGet || r.Method == http.MethodHead
			write := !read && r.Method != http.MethodOptions && !graphql
			ctx, err := set.Begin(r.Context(), r.Header.Get(replica.Header), write)
			if err != nil {
				refuse(w, r, http.StatusBadRequest, replica.Header+": "+err.Error(), apperr.Invalid)
				return
			}
			if read && !graphql {
				ctx = set.RouteRead(ctx)
			}
			if (!write && !graphql) || isSubscription(r) {
				next.ServeHTTP(w, r.WithContext(ctx))
				return
			}
			next.ServeHTTP(&positionWriter{ResponseWriter: w, set: set, ctx: ctx}, r.WithContext(ctx))
		})
	}
}

// positionWriter adds the log position to a successful answer's headers
// as it begins.
type positionWriter struct {
	http.ResponseWriter
	set   *replica.Set
	ctx   context.Context
	begun bool
}

func (p *positionWriter) WriteHeader(code int) {
	if !p.begun {
		p.begun = true
		if code < http.StatusMultipleChoices {
			if l := p.set.Reported(p.ctx); l != 0 {
				p.Header().Set(replica.Header, l.String())
			}
		}
	}
	p.ResponseWriter.WriteHeader(code)
}

func (p *positionWriter) Write(b []byte) (int, error) {
	if !p.begun {
		p.WriteHeader(http.StatusOK)
	}
	return p.ResponseWriter.Write(b)
}

func (p *positionWriter) Flush() {
	if f, ok := p.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (p *positionWriter) Unwrap() http.ResponseWriter { return p.ResponseWriter }
