package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sprocketapi/sprocket/internal/replica"
)

// client talks to one base URL. Every request carries the bearer token
// when one is given, so a server with API_TOKENS (or PROTECT_READS) takes
// the harness's writes and reads alike.
type client struct {
	base  string // without a trailing slash
	token string
	http  *http.Client
	// lsn is the newest Sprocket-LSN a write answered (a server with read
	// replicas): the requests made through this client send it back, so
	// that the harness reads its own writes (the sprockets it just
	// created, say) from a standby as any careful client does.
	lsn replica.Newest
}

// do sends req with the newest position the client has seen, and keeps
// the one the answer names.
func (c *client) do(req *http.Request) (*http.Response, error) {
	if l := c.lsn.Load(); l != 0 {
		req.Header.Set(replica.Header, l.String())
	}
	res, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	if l, err := replica.ParseLSN(res.Header.Get(replica.Header)); err == nil {
		c.lsn.Raise(l)
	}
	return res, nil
}

// newHTTPClient keeps a connection alive per concurrent client: without
// MaxIdleConnsPerHost = conns, Go keeps only two idle connections a host
// and the rest are torn down and redialled after each request, which
// measures TCP set-up instead of the server. Compression is off so that
// bytes/s are the bytes the server really writes.
func newHTTPClient(conns int, timeout time.Duration) *http.Client {
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        0, // no overall cap; the per-host one applies
			MaxIdleConnsPerHost: max(conns, 2),
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
		},
	}
}

func newClient(base, token string, hc *http.Client) *client {
	return &client{base: normalizeURL(base), token: token, http: hc}
}

func normalizeURL(u string) string { return strings.TrimRight(strings.TrimSpace(u), "/") }

// httpError is a non-2xx answer.
type httpError struct {
	method, path string
	status       int
	body         string
}

func (e *httpError) Error() string {
	return fmt.Sprintf("%s %s: HTTP %d: %s", e.method, e.path, e.status, e.body)
}

// statusOf returns the HTTP status of err, or 0 when err is not an
// httpError.
func statusOf(err error) int {
	var h *httpError
	if errors.As(err, &h) {
		return h.status
	}
	return 0
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

func (c *client) newRequest(ctx context.Context, method, path string, body []byte, contentType string) (*http.Request, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, r)
	if err != nil {
		return nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	return req, nil
}

// discard sends a request and counts the answer's bytes without keeping
// them: the hot path of the REST workloads.
func (c *client) discard(ctx context.Context, method, path string, body []byte, contentType string) (int64, error) {
	req, err := c.newRequest(ctx, method, path, body, contentType)
	if err != nil {
		return 0, err
	}
	res, err := c.do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	if res.StatusCode < 200 || res.StatusCode > 299 {
		b, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
		n, _ := io.Copy(io.Discard, res.Body)
		return int64(len(b)) + n, &httpError{method, path, res.StatusCode, snippet(b)}
	}
	n, err := io.Copy(io.Discard, res.Body)
	return n, err
}

// fetch sends a request and reads the answer into buf (reset first). A
// non-2xx answer is an error that quotes the start of the body.
func (c *client) fetch(ctx context.Context, method, path string, body []byte, contentType string, buf *bytes.Buffer) (*http.Response, error) {
	req, err := c.newRequest(ctx, method, path, body, contentType)
	if err != nil {
		return nil, err
	}
	if path == "/graphql" {
		req.Header.Set("Accept", "application/graphql-response+json, application/json;q=0.9")
	}
	res, err := c.do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	buf.Reset()
	if _, err := buf.ReadFrom(res.Body); err != nil {
		return res, err
	}
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return res, &httpError{method, path, res.StatusCode, snippet(buf.Bytes())}
	}
	return res, nil
}

// gqlErrors are a GraphQL answer's errors.
type gqlErrors []struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path,omitempty"`
	Extensions map[string]any `json:"extensions,omitempty"`
}

func (e gqlErrors) Error() string {
	msgs := make([]string, 0, len(e))
	for _, x := range e {
		m := x.Message
		if code, ok := x.Extensions["code"].(string); ok {
			m += " (" + code + ")"
		}
		msgs = append(msgs, m)
	}
	return "GraphQL: " + strings.Join(msgs, "; ")
}

var errorsKey = []byte(`"errors"`)

// checkGraphQL reports the errors of a GraphQL answer. Answers are only
// decoded when they mention "errors" at all, so that large successful
// answers cost the harness a byte search, not a JSON parse.
func checkGraphQL(body []byte) error {
	if !bytes.Contains(body, errorsKey) {
		return nil
	}
	var r struct {
		Errors gqlErrors `json:"errors"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return fmt.Errorf("GraphQL answer is not JSON: %v: %s", err, snippet(body))
	}
	if len(r.Errors) > 0 {
		return r.Errors
	}
	return nil
}

// gqlRequest is a GraphQL-over-HTTP POST body.
type gqlRequest struct {
	Query     string `json:"query"`
	Variables any    `json:"variables,omitempty"`
}

// graphql runs one operation for the harness's own bookkeeping (set-up,
// checks), decoding data into out.
func (c *client) graphql(ctx context.Context, query string, vars, out any) error {
	body, err := json.Marshal(gqlRequest{Query: query, Variables: vars})
	if err != nil {
		return err
	}
	return c.graphqlRaw(ctx, body, out)
}

func (c *client) graphqlRaw(ctx context.Context, body []byte, out any) error {
	var buf bytes.Buffer
	_, err := c.fetch(ctx, http.MethodPost, "/graphql", body, "application/json", &buf)
	if err != nil {
		// A GraphQL-over-HTTP server answers 4xx with errors in the body:
		// show those rather than the raw status when there are any.
		if gerr := checkGraphQL(buf.Bytes()); gerr != nil {
			return gerr
		}
		return err
	}
	var r struct {
		Data   json.RawMessage `json:"data"`
		Errors gqlErrors       `json:"errors"`
	}
	if err := json.Unmarshal(buf.Bytes(), &r); err != nil {
		return fmt.Errorf("GraphQL answer is not JSON: %v: %s", err, snippet(buf.Bytes()))
	}
	if len(r.Errors) > 0 {
		return r.Errors
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(r.Data, out); err != nil {
		return fmt.Errorf("GraphQL data: %v: %s", err, snippet(r.Data))
	}
	return nil
}

// getJSON GETs path and decodes the answer into out.
func (c *client) getJSON(ctx context.Context, path string, out any) error {
	var buf bytes.Buffer
	if _, err := c.fetch(ctx, http.MethodGet, path, nil, "", &buf); err != nil {
		return err
	}
	if err := json.Unmarshal(buf.Bytes(), out); err != nil {
		return fmt.Errorf("GET %s: %v: %s", path, err, snippet(buf.Bytes()))
	}
	return nil
}

// postJSON POSTs body to path and returns the answer.
func (c *client) postJSON(ctx context.Context, path string, body []byte) (*http.Response, []byte, error) {
	var buf bytes.Buffer
	res, err := c.fetch(ctx, http.MethodPost, path, body, "application/json", &buf)
	return res, buf.Bytes(), err
}

// hasGraphQL says whether the target serves GraphQL at /graphql: a legacy
// /v1-only service answers 404 (or an HTML page) there.
func (c *client) hasGraphQL(ctx context.Context) (bool, error) {
	var out struct {
		Typename string `json:"__typename"`
	}
	err := c.graphql(ctx, "{ __typename }", nil, &out)
	switch {
	case err == nil:
		return out.Typename == "Query", nil
	case statusOf(err) == http.StatusNotFound || statusOf(err) == http.StatusMethodNotAllowed:
		return false, nil
	case statusOf(err) == http.StatusUnauthorized || statusOf(err) == http.StatusForbidden:
		return false, fmt.Errorf("%s/graphql refuses the harness (%v): give --token", c.base, err)
	}
	// A transport failure is an error; any other answer (404, an HTML
	// page, JSON that is not GraphQL) means there is no GraphQL there.
	var uerr *url.Error
	if errors.As(err, &uerr) {
		return false, err
	}
	return false, nil
}
