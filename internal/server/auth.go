package server

import (
	"net/http"
	"strings"

	"github.com/sprocketapi/sprocket/internal/apperr"
	"github.com/sprocketapi/sprocket/internal/auth"
	"github.com/sprocketapi/sprocket/internal/gqlhttp"
	"github.com/sprocketapi/sprocket/internal/rest"
)

// authenticate records what the request proved in its context and turns
// away, with 401 and WWW-Authenticate, requests that present a wrong
// token, /v1 writes without a valid one, and (when reads are protected)
// anything but health checks without one. GraphQL mutations are checked
// by the GraphQL layer, which knows an operation's type.
func authenticate(tokens *auth.Tokens, protectReads bool) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			state := tokens.Authenticate(r)
			deny := ""
			switch {
			case r.Method == http.MethodOptions || isProbe(r.URL.Path):
			case state == auth.Invalid:
				deny = "The API token is not valid."
			case state == auth.Anonymous && protectReads && (isPage(r.URL.Path) || isGraphQLWebSocket(r)):
				// Pages hold no data, and a browser cannot put a header on
				// a WebSocket: it sends its token in connection_init, which
				// the GraphQL layer checks.
			case state == auth.Anonymous && protectReads:
				deny = "A valid API token is required: send Authorization: Bearer <token>."
			case state == auth.Anonymous && strings.HasPrefix(r.URL.Path, "/v1/") && !isRead(r.Method):
				deny = "Writes need a valid API token: send Authorization: Bearer <token>."
			}
			if deny != "" {
				w.Header().Set("WWW-Authenticate", auth.Challenge(state))
				refuse(w, r, http.StatusUnauthorized, deny, apperr.Unauthenticated)
				return
			}
			next.ServeHTTP(w, r.WithContext(auth.WithState(r.Context(), state)))
		})
	}
}

func isRead(method string) bool {
	return method == http.MethodGet || method == http.MethodHead || method == http.MethodOptions
}

// isProbe reports the endpoints that orchestrators and scrapers call
// without credentials.
func isProbe(path string) bool {
	return path == "/healthz" || path == "/readyz" || path == "/metrics"
}

// isPage reports the built-in pages and their files: the dashboard and
// GraphiQL, which hold no data of their own.
func isPage(path string) bool {
	return path == "/" || strings.HasPrefix(path, "/assets/") || path == "/graphiql" || strings.HasPrefix(path, "/graphiql/")
}

func isGraphQLWebSocket(r *http.Request) bool {
	return r.URL.Path == "/graphql" && strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}

// refuse answers a request that the router turns away before its handler,
// in the shape its clients read: a GraphQL error on /graphql (with the
// code), a {"message"} everywhere else.
func refuse(w http.ResponseWriter, r *http.Request, status int, msg string, code apperr.Code) {
	if r.URL.Path == "/graphql" {
		gqlhttp.WriteRequestError(w, status, string(code), msg)
		return
	}
	rest.WriteMessage(w, status, msg)
}
