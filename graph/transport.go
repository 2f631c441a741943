package graph

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/ast"
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
//   - a POST that is not application/json answers 415 (gqlgen: 400
//     "transport not supported").

// The response media types.
const (
	mediaJSON            = "application/json"
	mediaGraphQLResponse = "application/graphql-response+json"
)

// negotiate picks the response media type from the Accept header:
// application/graphql-response+json when the client ranks it at least as
// high as application/json, application/json when it ranks that higher,
// sends no Accept, or accepts only wildcards (so curl and older clients get
// the legacy behaviour). ok is false when Accept names neither type nor a
// wildcard that covers them.
func negotiate(r *http.Request) (media string, ok bool) {
	accept := r.Header.Values("Accept")
	if len(accept) == 0 {
		return mediaJSON, true
	}
	// q of each type by its most specific matching range (RFC 9110 12.5.1);
	// -1 when no range matches.
	type rank struct{ q, specificity float64 }
	gr, js := rank{-1, -1}, rank{-1, -1}
	consider := func(r *rank, q, specificity float64) {
		if specificity > r.specificity {
			*r = rank{q, specificity}
		}
	}
	for _, header := range accept {
		for part := range strings.SplitSeq(header, ",") {
			if strings.TrimSpace(part) == "" {
				continue
			}
			mt, params, err := mime.ParseMediaType(part)
			if err != nil {
				continue
			}
			q := 1.0
			if v, ok := params["q"]; ok {
				if f, err := strconv.ParseFloat(v, 64); err == nil && f >= 0 && f <= 1 {
					q = f
				}
			}
			switch mt {
			case mediaGraphQLResponse:
				consider(&gr, q, 2)
			case mediaJSON:
				consider(&js, q, 2)
			case "application/*":
				consider(&gr, q, 1)
				consider(&js, q, 1)
			case "*/*":
				consider(&gr, q, 0)
				consider(&js, q, 0)
			}
		}
	}
	switch {
	case gr.q > 0 && gr.specificity == 2 && gr.q >= js.q:
		return mediaGraphQLResponse, true
	case js.q > 0:
		return mediaJSON, true
	case gr.q > 0:
		return mediaGraphQLResponse, true
	}
	return "", false
}

// postTransport runs application/json POST requests. It claims every POST
// that is not a WebSocket upgrade (SSE comes first in the list), so that
// other content types get a 415 rather than gqlgen's 400.
type postTransport struct {
	maxBody int64
}

var _ graphql.Transport = postTransport{}

func (postTransport) Supports(r *http.Request) bool {
	return r.Method == http.MethodPost && r.Header.Get("Upgrade") == ""
}

func (t postTransport) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	media, ok := negotiate(r)
	if !ok {
		writeNotAcceptable(w)
		return
	}
	if !isJSON(r) {
		writeRequestError(w, http.StatusUnsupportedMediaType, media, CodeUnsupportedMediaType,
			"A GraphQL POST request must have Content-Type: application/json.")
		return
	}
	start := graphql.Now()
	params, _, status, gqlErr := readBody(w, r, t.maxBody)
	if gqlErr != nil {
		writeErrors(w, status, media, gqlerror.List{gqlErr})
		return
	}
	params.ReadTime = graphql.TraceTiming{Start: start, End: graphql.Now()}
	execute(w, r, exec, params, media, false)
}

// getTransport runs queries sent as GET with URL parameters.
type getTransport struct{}

var _ graphql.Transport = getTransport{}

func (getTransport) Supports(r *http.Request) bool {
	return r.Method == http.MethodGet && r.Header.Get("Upgrade") == ""
}

func (getTransport) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	media, ok := negotiate(r)
	if !ok {
		writeNotAcceptable(w)
		return
	}
	start := graphql.Now()
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		writeRequestError(w, http.StatusBadRequest, media, CodeBadRequest, "The URL query string is malformed.")
		return
	}
	params := &graphql.RawParams{Query: q.Get("query"), OperationName: q.Get("operationName")}
	for name, dst := range map[string]*map[string]any{"variables": &params.Variables, "extensions": &params.Extensions} {
		if v := q.Get(name); v != "" {
			if err := decodeStrict(strings.NewReader(v), dst); err != nil {
				writeRequestError(w, http.StatusBadRequest, media, CodeBadRequest,
					fmt.Sprintf("The %s parameter must be a JSON object.", name))
				return
			}
		}
	}
	params.ReadTime = graphql.TraceTiming{Start: start, End: graphql.Now()}
	execute(w, r, exec, params, media, true)
}

// sseTransport is gqlgen's SSE transport behind our body checks: its own
// decoding copies the raw body into the answer and the log.
type sseTransport struct {
	transport.SSE
	maxBody int64
}

func (t sseTransport) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	_, body, status, gqlErr := readBody(w, r, t.maxBody)
	if gqlErr != nil {
		writeErrors(w, status, mediaJSON, gqlerror.List{gqlErr})
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	t.SSE.Do(w, r, exec)
}

func isJSON(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == mediaJSON
}

// readBody reads and decodes a POST body of at most limit bytes. On failure
// it returns the status and error to answer with; neither repeats the body.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) (*graphql.RawParams, []byte, int, *gqlerror.Error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		if tooLarge, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return nil, nil, http.StatusRequestEntityTooLarge, codedError(CodePayloadTooLarge,
				fmt.Sprintf("The request body is larger than the limit of %d bytes.", tooLarge.Limit))
		}
		return nil, nil, http.StatusBadRequest, codedError(CodeBadRequest, "The request body could not be read.")
	}
	params := &graphql.RawParams{}
	if err := decodeStrict(bytes.NewReader(body), params); err != nil {
		return nil, nil, http.StatusBadRequest, codedError(CodeBadRequest, malformedBody(err))
	}
	return params, body, 0, nil
}

// decodeStrict decodes one JSON value into v, as gqlgen does (numbers stay
// json.Number), and refuses trailing data.
func decodeStrict(r io.Reader, v any) error {
	dec := json.NewDecoder(r)
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errTrailingData
	}
	return nil
}

var errTrailingData = errors.New("trailing data after the JSON value")

// malformedBody describes a JSON decoding error by position and JSON kind
// only: never with the body's text.
func malformedBody(err error) string {
	const prefix = "The request body is not a GraphQL request: "
	if e, ok := errors.AsType[*json.SyntaxError](err); ok {
		return fmt.Sprintf("%smalformed JSON at byte %d.", prefix, e.Offset)
	}
	if e, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
		if e.Field == "" {
			return prefix + "it must be a JSON object."
		}
		return fmt.Sprintf("%s%q must not be a JSON %s.", prefix, e.Field, e.Value)
	}
	if errors.Is(err, errTrailingData) {
		return prefix + "there is data after the JSON object."
	}
	return prefix + "malformed JSON (the body ends early)."
}

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
	writeJSON(w, http.StatusOK, media, resp)
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
