package gqlhttp

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

	"github.com/sprocketapi/sprocket/internal/apperr"
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
		if !isJSON(r) {
			writeRequestError(w, http.StatusUnsupportedMediaType, media, CodeUnsupportedMediaType,
				"A GraphQL POST request must have Content-Type: application/json.")
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
				if err := decodeStrict(strings.NewReader(v), p.dst); err != nil {
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

func isJSON(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == mediaJSON
}

func tooManyValues(what string, limit int) string {
	return fmt.Sprintf("The request %s holds more than %d JSON values (numbers, strings, objects, lists…); "+
		"send fewer points a call.", what, limit)
}

// countJSONValues counts the values of the JSON text b, stopping once it
// is over stop (0: never); see valueScanner.
func countJSONValues(b []byte, stop int) int {
	var sc valueScanner
	sc.scan(b, stop)
	return sc.finish()
}

// valueScanner counts the values of a JSON text fed to it in pieces: each
// object, array, string that is not a member name, number, true, false
// and null. It allocates nothing and checks no syntax (the decoder does).
type valueScanner struct {
	n                                      int
	inString, escaped, afterString, inWord bool
	strLen                                 int // bytes of the string being read
	maxString                              int // 0: no bound
	tooLong                                bool
}

// DefaultMaxStringBytes is the longest JSON string a request may hold
// (Options.MaxStringBytes): the decoder holds a string whole (twice, while
// its buffer grows), and no query or variable of this API comes near it.
const DefaultMaxStringBytes = 1 << 20

// scan feeds b and returns how many of its bytes it took: all of them,
// unless the count went over stop (0: never) first.
func (sc *valueScanner) scan(b []byte, stop int) int {
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case sc.inString:
			if sc.strLen++; sc.maxString > 0 && sc.strLen > sc.maxString+1 {
				sc.tooLong = true
				return i + 1
			}
			switch {
			case sc.escaped:
				sc.escaped = false
			case c == '\\':
				sc.escaped = true
			case c == '"':
				sc.inString, sc.afterString = false, true
			}
			continue
		case sc.afterString:
			if c == ' ' || c == '\t' || c == '\n' || c == '\r' {
				continue
			}
			sc.afterString = false
			if c == ':' { // it was a member name
				continue
			}
			sc.n++
		case sc.inWord:
			if isScalarByte(c) {
				continue
			}
			sc.inWord = false
		}
		switch c {
		case '"':
			sc.inString, sc.strLen = true, 0
		case '{', '[':
			sc.n++
		case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 't', 'f', 'n':
			sc.n++
			sc.inWord = true
		}
		if stop > 0 && sc.n > stop {
			return i + 1
		}
	}
	return len(b)
}

// finish counts a string that ended the text.
func (sc *valueScanner) finish() int {
	if sc.afterString {
		sc.afterString = false
		sc.n++
	}
	return sc.n
}

func isScalarByte(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '.' || c == '-' || c == '+'
}

// errTooManyValues and errStringTooLong end the reading of a body with
// too many values or too long a string.
var (
	errTooManyValues = errors.New("graphql: too many JSON values")
	errStringTooLong = errors.New("graphql: a JSON string is too long")
)

// countingReader counts the values of the JSON text read through it and
// fails once there are more than limit.
type countingReader struct {
	r     io.Reader
	limit int
	sc    valueScanner
	err   error // sticky: the decoder reads again after an error
}

func (c *countingReader) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.r.Read(p)
	if took := c.sc.scan(p[:n], c.limit); c.sc.tooLong {
		c.err = errStringTooLong
		return took, c.err
	} else if c.limit > 0 {
		if c.sc.n > c.limit {
			c.err = errTooManyValues
			return took, c.err
		}
		if err == io.EOF && c.sc.finish() > c.limit {
			c.err = errTooManyValues
			return n, c.err
		}
	}
	return n, err
}

// streamBody decodes a POST body of at most limit bytes and maxValues JSON
// values (0: no bound), none of them a string longer than maxString,
// as it arrives: the body is never held whole, and
// its values are counted before the decoder sees them, so a body of
// millions of small values is refused after maxValues of them, and the
// decoder's buffer only ever holds one string or number. Members other
// than query, operationName, variables and extensions are skipped, as
// encoding/json would.
func streamBody(w http.ResponseWriter, r *http.Request, limit int64, maxValues, maxString int) (*graphql.RawParams, int, *gqlerror.Error) {
	dec := json.NewDecoder(&countingReader{r: http.MaxBytesReader(w, r.Body, limit), limit: maxValues,
		sc: valueScanner{maxString: maxString}})
	dec.UseNumber()
	params := &graphql.RawParams{}
	err := decodeParams(dec, params)
	if err == nil {
		if _, err = dec.Token(); err == io.EOF {
			return params, 0, nil
		} else if err == nil {
			err = errTrailingData
		}
	}
	if tooLarge, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return nil, http.StatusRequestEntityTooLarge, codedError(CodePayloadTooLarge,
			fmt.Sprintf("The request body is larger than the limit of %d bytes.", tooLarge.Limit))
	}
	if errors.Is(err, errTooManyValues) {
		return nil, http.StatusRequestEntityTooLarge, codedError(CodePayloadTooLarge, tooManyValues("body", maxValues))
	}
	if errors.Is(err, errStringTooLong) {
		return nil, http.StatusRequestEntityTooLarge, codedError(CodePayloadTooLarge,
			fmt.Sprintf("The request body holds a string longer than %d bytes.", maxString))
	}
	if e, ok := errors.AsType[*paramsError](err); ok {
		return nil, http.StatusBadRequest, codedError(CodeBadRequest, "The request body is not a GraphQL request: "+e.msg)
	}
	var netErr interface{ Timeout() bool }
	if errors.As(err, &netErr) || errors.Is(err, io.ErrUnexpectedEOF) && r.Context().Err() != nil {
		return nil, http.StatusBadRequest, codedError(CodeBadRequest, "The request body could not be read.")
	}
	return nil, http.StatusBadRequest, codedError(CodeBadRequest, malformedBody(err))
}

// paramsError is a body that is JSON but not a GraphQL request.
type paramsError struct{ msg string }

func (e *paramsError) Error() string { return e.msg }

// maxInputDepth bounds how deep the JSON of a request nests.
const maxInputDepth = 64

// decodeParams reads a GraphQL request object with dec's tokens.
func decodeParams(dec *json.Decoder, p *graphql.RawParams) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok != json.Delim('{') {
		return &paramsError{"it must be a JSON object."}
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key, _ := tok.(string)
		v, err := readJSON(dec, 1)
		if err != nil {
			return err
		}
		// Member names match as encoding/json matches them: the last of
		// the same name wins, whatever the case.
		switch {
		case strings.EqualFold(key, "query"), strings.EqualFold(key, "operationName"):
			s, ok := v.(string)
			if !ok && v != nil {
				return &paramsError{fmt.Sprintf("%s must not be a JSON %s.", apperr.Quote(key), jsonKind(v))}
			}
			if strings.EqualFold(key, "query") {
				p.Query = s
			} else {
				p.OperationName = s
			}
		case strings.EqualFold(key, "variables"), strings.EqualFold(key, "extensions"):
			m, ok := v.(map[string]any)
			if !ok && v != nil {
				return &paramsError{fmt.Sprintf("%s must not be a JSON %s.", apperr.Quote(key), jsonKind(v))}
			}
			if strings.EqualFold(key, "variables") {
				p.Variables = m
			} else {
				p.Extensions = m
			}
		}
	}
	_, err = dec.Token() // the closing brace
	return err
}

// readJSON reads one value with dec's tokens: objects as map[string]any,
// arrays as []any, numbers as json.Number.
func readJSON(dec *json.Decoder, depth int) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return tok, nil
	}
	if depth > maxInputDepth {
		return nil, &paramsError{fmt.Sprintf("it nests deeper than %d.", maxInputDepth)}
	}
	switch d {
	case '{':
		m := map[string]any{}
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return nil, err
			}
			key, _ := tok.(string)
			v, err := readJSON(dec, depth+1)
			if err != nil {
				return nil, err
			}
			m[key] = v
		}
		_, err = dec.Token()
		return m, err
	case '[':
		var list []any
		for dec.More() {
			v, err := readJSON(dec, depth+1)
			if err != nil {
				return nil, err
			}
			list = append(list, v)
		}
		if list == nil {
			list = []any{}
		}
		_, err = dec.Token()
		return list, err
	}
	return nil, &json.SyntaxError{}
}

func jsonKind(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case json.Number:
		return "number"
	case bool:
		return "bool"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return "value"
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
		return fmt.Sprintf("%s%s must not be a JSON %s.", prefix, apperr.Quote(e.Field), e.Value)
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
