package gqlhttp

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/sprocketapi/sprocket/internal/jsonbody"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// The HTTP transports follow the GraphQL-over-HTTP draft
// (https://graphql.github.io/graphql-over-http/draft/). They do what
// gqlgen's transport.GET and transport.POST (v0.17.98) do, on the same
// executor, with these differences, which are why they are ours:
//
//   - request errors (parse, validation, limits, APQ) answer 200 with
//     application/json and 400 with application/graphql-response+json;
//     gqlgen answers 422 for application/json, and 200 for request errors
//     whose code it does not know (our limits, APQ) whatever the media type;
//   - a request error's body has no "data" entry (gqlgen writes "data":null);
//   - Accept is negotiated with its q-values (gqlgen takes the first listed);
//   - a mutation or subscription over GET answers 405 with Allow: POST
//     (gqlgen: 406);
//   - a POST body is read through http.MaxBytesReader and answers 413 when
//     it is too large; a malformed body answers 400 without echoing it
//     (gqlgen copies the raw body into the error message);
//   - a POST that is not JSON (jsonbody.IsJSON) answers 415 (gqlgen: 400
//     "transport not supported").

// postTransport runs POST requests of JSON. It claims every POST
// that is not a WebSocket upgrade (SSE comes first in the list), so that
// other content types get a 415 rather than gqlgen's 400.
type postTransport struct {
	maxBody   int64
	maxValues int
	maxString int
}

var _ graphql.Transport = postTransport{}

func (postTransport) Supports(r *http.Request) bool {
	return r.Method == http.MethodPost && r.Header.Get("Upgrade") == ""
}

func (t postTransport) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	serve(w, r, exec, false, func(media string) *graphql.RawParams {
		if !jsonbody.IsJSON(r.Header.Get("Content-Type")) {
			writeRequestError(w, http.StatusUnsupportedMediaType, media, CodeUnsupportedMediaType,
				"A GraphQL POST request must have Content-Type: application/json (or another JSON type, application/*+json).")
			return nil
		}
		params, status, gqlErr := streamBody(w, r, t.maxBody, t.maxValues, t.maxString)
		if gqlErr != nil {
			writeErrors(w, status, media, gqlerror.List{gqlErr})
			return nil
		}
		return params
	})
}

// serve is the POST and GET transports' common part: it negotiates the
// answer's media type, reads the operation with read (which writes its
// own refusal and returns nil), times the reading and executes it.
func serve(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor, queryOnly bool, read func(media string) *graphql.RawParams) {
	media, ok := negotiate(r)
	if !ok {
		writeNotAcceptable(w)
		return
	}
	start := graphql.Now()
	params := read(media)
	if params == nil {
		return
	}
	params.ReadTime = graphql.TraceTiming{Start: start, End: graphql.Now()}
	execute(w, r, exec, params, media, queryOnly)
}

// getTransport runs queries sent as GET with URL parameters.
type getTransport struct {
	maxValues int
}

var _ graphql.Transport = getTransport{}

func (getTransport) Supports(r *http.Request) bool {
	return r.Method == http.MethodGet && r.Header.Get("Upgrade") == ""
}

func (t getTransport) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	serve(w, r, exec, true, func(media string) *graphql.RawParams {
		q, err := url.ParseQuery(r.URL.RawQuery)
		if err != nil {
			writeRequestError(w, http.StatusBadRequest, media, CodeBadRequest, "The URL query string is malformed.")
			return nil
		}
		params := &graphql.RawParams{Query: q.Get("query"), OperationName: q.Get("operationName")}
		for _, p := range [...]struct {
			name string
			dst  *map[string]any
		}{{"variables", &params.Variables}, {"extensions", &params.Extensions}} {
			if name, v := p.name, q.Get(p.name); v != "" {
				if n := countJSONValues([]byte(v), t.maxValues); t.maxValues > 0 && n > t.maxValues {
					writeRequestError(w, http.StatusRequestEntityTooLarge, media, CodePayloadTooLarge, tooManyValues(name, t.maxValues))
					return nil
				}
				if err := jsonbody.Decode(strings.NewReader(v), p.dst); err != nil {
					writeRequestError(w, http.StatusBadRequest, media, CodeBadRequest,
						fmt.Sprintf("The %s parameter must be a JSON object.", name))
					return nil
				}
			}
		}
		return params
	})
}

// sseTransport is gqlgen's SSE transport behind the POST transport's body
// checks (streamBody): its own decoding copies the raw body into the
// answer and the log. The request read through the checks is handed on
// re-encoded, in compact form when the body was large (see compactor):
// the stream keeps its request for as long as it runs.
type sseTransport struct {
	transport.SSE
	maxBody   int64
	maxValues int
	maxString int
	compactor compactor
	budget    *StreamBudget
}

// Supports claims the POSTs of JSON (jsonbody.IsJSON, as the POST
// transport reads it) that accept text/event-stream.
func (sseTransport) Supports(r *http.Request) bool {
	return r.Method == http.MethodPost && strings.Contains(r.Header.Get("Accept"), "text/event-stream") &&
		jsonbody.IsJSON(r.Header.Get("Content-Type"))
}

func (t sseTransport) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	body, ok := t.prepare(w, r)
	if !ok {
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	t.SSE.Do(w, r.WithContext(withStreamed(r.Context())), exec)
}

// prepare reads the request, compacts it when it is large and returns it
// encoded, or answers the request itself and reports false. A large body
// is charged to the streams' memory budget while it is read (its length,
// or a large string's when it is not told), and refused with 503 when
// that is full.
func (t sseTransport) prepare(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	if size := r.ContentLength; size < 0 || size > compactAbove {
		if size < 0 {
			size = int64(min(t.maxString, DefaultMaxStringBytes))
		}
		release, refusal := t.budget.prepare(min(size, t.maxBody))
		if refusal != nil {
			// Read the body away (without keeping it), or the client,
			// still sending, sees a broken connection instead of the
			// answer.
			_, _ = io.Copy(io.Discard, http.MaxBytesReader(w, r.Body, t.maxBody))
			w.Header().Set("Retry-After", "5")
			writeErrors(w, http.StatusServiceUnavailable, mediaJSON, gqlerror.List{refusal})
			return nil, false
		}
		defer release()
	}
	counted := &countedBody{ReadCloser: r.Body}
	r.Body = counted
	params, status, gqlErr := streamBody(w, r, t.maxBody, t.maxValues, t.maxString)
	if gqlErr != nil {
		writeErrors(w, status, mediaJSON, gqlerror.List{gqlErr})
		return nil, false
	}
	if counted.n > compactAbove {
		t.compactor.compact(params)
	}
	body, err := json.Marshal(params)
	if err != nil {
		writeRequestError(w, http.StatusBadRequest, mediaJSON, CodeBadRequest, "The request body is not a GraphQL request.")
		return nil, false
	}
	return body, true
}

// countedBody counts the bytes read from a request body.
type countedBody struct {
	io.ReadCloser
	n int
}

func (c *countedBody) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.n += n
	return n, err
}

func tooManyValues(what string, limit int) string {
	return fmt.Sprintf("The request %s holds more than %d JSON values (numbers, strings, objects, lists…); "+
		"send fewer points a call.", what, limit)
}
