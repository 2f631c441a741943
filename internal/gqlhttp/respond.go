package gqlhttp

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// execute runs params and writes the answer. Request errors (nothing was
// executed) answer 200 with application/json and 400 with
// application/graphql-response+json, as the specification asks; executed
// operations answer 200 whatever their field errors. queryOnly (GET)
// refuses mutations and subscriptions with 405; over POST a subscription
// is refused with 400, as it needs a streaming transport.
func execute(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor, params *graphql.RawParams, media string, queryOnly bool) {
	ctx := r.Context()
	params.Headers = r.Header
	if params.Query == "" && params.Extensions["persistedQuery"] == nil {
		writeRequestError(w, http.StatusBadRequest, media, CodeBadRequest, "The request has no query.")
		return
	}
	opCtx, errs := exec.CreateOperationContext(ctx, params)
	if errs != nil {
		status := http.StatusOK
		if media == mediaGraphQLResponse {
			status = http.StatusBadRequest
		}
		resp := exec.DispatchError(graphql.WithOperationContext(ctx, opCtx), errs)
		writeErrors(w, status, media, resp.Errors)
		return
	}
	switch op := opCtx.Operation.Operation; {
	case queryOnly && op != ast.Query:
		w.Header().Set("Allow", http.MethodPost)
		writeRequestError(w, http.StatusMethodNotAllowed, media, CodeMethodNotAllowed,
			fmt.Sprintf("A %s cannot be sent with GET; use POST.", op))
		return
	case op == ast.Subscription:
		// A plain POST would hold the connection for one event only.
		writeRequestError(w, http.StatusBadRequest, media, CodeBadRequest,
			"A subscription needs a WebSocket (graphql-transport-ws) or server-sent events (Accept: text/event-stream).")
		return
	}
	responses, ctx := exec.DispatchOperation(ctx, opCtx)
	resp := responses(ctx)
	if resp != nil && hasCode(resp.Errors, CodeUnavailable) {
		// As the REST answers do: tell clients when to try again.
		w.Header().Set("Retry-After", "5")
	}
	writeResponse(w, media, resp)
}

// writeResponse writes an executed operation's answer (200) without
// copying its data: json.Marshal of a graphql.Response would validate and
// copy the raw data into a second buffer as large as the first. The other
// members are small and marshalled as graphql.Response does.
func writeResponse(w http.ResponseWriter, media string, resp *graphql.Response) {
	if resp == nil || resp.Label != "" || resp.Path != nil || resp.HasNext != nil {
		writeJSON(w, http.StatusOK, media, resp)
		return
	}
	var errs, exts []byte
	var err error
	if len(resp.Errors) > 0 {
		if errs, err = json.Marshal(resp.Errors); err != nil {
			writeJSON(w, http.StatusOK, media, resp)
			return
		}
	}
	if len(resp.Extensions) > 0 {
		if exts, err = json.Marshal(resp.Extensions); err != nil {
			writeJSON(w, http.StatusOK, media, resp)
			return
		}
	}
	data := []byte(resp.Data)
	if len(data) == 0 {
		data = []byte("null")
	}
	w.Header().Set("Content-Type", media+"; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	head := make([]byte, 0, len(errs)+32)
	head = append(head, '{')
	if errs != nil {
		head = append(append(append(head, `"errors":`...), errs...), ',')
	}
	head = append(head, `"data":`...)
	_, _ = w.Write(head)
	_, _ = w.Write(data)
	if exts != nil {
		_, _ = w.Write(append(append([]byte(`,"extensions":`), exts...), '}'))
		return
	}
	_, _ = w.Write([]byte{'}'})
}

func hasCode(errs gqlerror.List, code string) bool {
	for _, e := range errs {
		if e != nil && e.Extensions["code"] == code {
			return true
		}
	}
	return false
}

// requestErrors is the body of a request error: unlike graphql.Response it
// has no data entry, as the GraphQL specification asks.
type requestErrors struct {
	Errors gqlerror.List `json:"errors"`
}

func writeErrors(w http.ResponseWriter, status int, media string, errs gqlerror.List) {
	writeJSON(w, status, media, requestErrors{Errors: errs})
}

func writeRequestError(w http.ResponseWriter, status int, media, code, message string) {
	writeErrors(w, status, media, gqlerror.List{codedError(code, message)})
}

// WriteRequestError answers a request refused before it reached the
// GraphQL server (by the router: auth, the in-flight limit, a deadline) in
// the shape of a GraphQL request error: {"errors":[{message, extensions:
// {code}}]}, as application/json. It is the one writer of that shape.
func WriteRequestError(w http.ResponseWriter, status int, code, message string) {
	writeRequestError(w, status, mediaJSON, code, message)
}

func writeNotAcceptable(w http.ResponseWriter) {
	writeRequestError(w, http.StatusNotAcceptable, mediaJSON, CodeNotAcceptable,
		"Accept must allow application/graphql-response+json or application/json.")
}

func writeJSON(w http.ResponseWriter, status int, media string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		slog.Error("graphql: encoding the response", "error", err.Error())
		status, media = http.StatusInternalServerError, mediaJSON
		b, _ = json.Marshal(requestErrors{Errors: gqlerror.List{internalError(nil)}})
	}
	w.Header().Set("Content-Type", media+"; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
