package gqlhttp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sprocketapi/sprocket/graph"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/sprocketapi/sprocket/internal/apperr"
	"github.com/sprocketapi/sprocket/internal/core"
	"github.com/sprocketapi/sprocket/internal/testdb"
	"github.com/sprocketapi/sprocket/internal/testlog"
)

// TestTheErrorPresenterShowsCodesAndHidesCauses: every presented error has
// a code; application errors keep their message and field; anything else
// becomes "internal server error", logged once with its cause.
func TestTheErrorPresenterShowsCodesAndHidesCauses(t *testing.T) {
	driver := errors.New(`pq: relation "sprockets" does not exist`)
	variable := gqlerror.ErrorPathf(ast.Path{ast.PathName("variable"), ast.PathName("n")}, "cannot use string as Int")
	variable.Extensions = map[string]any{"code": CodeValidationFailed}
	complexity := gqlerror.Errorf("operation has complexity 13, which exceeds the limit of 12")
	complexity.Extensions = map[string]any{"code": CodeComplexityLimit}
	cases := []struct {
		name          string
		err           error
		code, message string
		field         string
		logged        bool
	}{
		{"an invalid input field", apperr.InvalidField("input.teeth", "teeth must be at least 1."), "BAD_USER_INPUT", "teeth must be at least 1.", "input.teeth", false},
		{"a wrapped application error", fmt.Errorf("loading: %w", apperr.Errorf(apperr.NotFound, "No such factory.")), "NOT_FOUND", "No such factory.", "", false},
		{"an unavailable database", &apperr.Error{Code: apperr.Unavailable, Message: "The database is not reachable.", Err: driver}, "SERVICE_UNAVAILABLE", "The database is not reachable.", "", true},
		{"an internal application error", &apperr.Error{Code: apperr.Internal, Message: "secret detail", Err: driver}, "INTERNAL_SERVER_ERROR", internalMessage, "", true},
		{"a driver error", fmt.Errorf("core: %w", driver), "INTERNAL_SERVER_ERROR", internalMessage, "", true},
		{"an uncoded GraphQL error with a cause", gqlerror.WrapPath(ast.Path{ast.PathName("sprockets")}, driver), "INTERNAL_SERVER_ERROR", internalMessage, "", true},
		{"a limit's error", complexity, "COMPLEXITY_LIMIT_EXCEEDED", complexity.Message, "", false},
		{"a variable that does not coerce", variable, "BAD_USER_INPUT", "cannot use string as Int", "", false},
		{"an uncoded error before execution", gqlerror.Errorf("provided APQ hash does not match query"), "BAD_REQUEST", "provided APQ hash does not match query", "", false},
		{"a recovered panic", errRecovered, "INTERNAL_SERVER_ERROR", internalMessage, "", false},
		{"an uncoded error during execution", &gqlerror.Error{Message: "Passing both `first` and `last` to paginate a connection is not supported."},
			"BAD_USER_INPUT", "Passing both `first` and `last` to paginate a connection is not supported.", "", false},
	}
	for _, c := range cases {
		logs := testlog.Capture(t, slog.LevelInfo)
		ctx := context.Background()
		if strings.HasPrefix(c.name, "an uncoded error during") {
			ctx = graphql.WithFieldContext(ctx, &graphql.FieldContext{Field: graphql.CollectedField{Field: &ast.Field{Name: "sprockets", Alias: "sprockets"}}})
		}
		got := presenter{}.present(ctx, c.err)
		if got.Extensions["code"] != c.code || got.Message != c.message {
			t.Errorf("%s: got %q %v", c.name, got.Message, got.Extensions)
		}
		if f, _ := got.Extensions["field"].(string); f != c.field {
			t.Errorf("%s: field %q, want %q", c.name, f, c.field)
		}
		if strings.Contains(got.Message, "pq:") || strings.Contains(got.Message, "relation") {
			t.Errorf("%s: the cause shows: %q", c.name, got.Message)
		}
		if n := strings.Count(logs.String(), "level="); (n == 1) != c.logged || n > 1 {
			t.Errorf("%s: %d log records:\n%s", c.name, n, logs)
		}
		if c.logged && !strings.Contains(logs.String(), "does not exist") {
			t.Errorf("%s: the log lacks the cause:\n%s", c.name, logs)
		}
	}
}

// TestAPanicInAResolverBecomesAnInternalError: logged with its stack, shown
// as the generic internal error; the server keeps answering.
func TestAPanicInAResolverBecomesAnInternalError(t *testing.T) {
	db := testdb.Open(t, testdb.Dialects[0])
	client := db.Client()
	svc := core.New(client, db.SQL, db.Dialect)
	opts := DefaultOptions()
	opts.Pricing, opts.Extensions, opts.Transactions = graph.Pricing{}, graph.Extensions(), svc
	srv := newServer(graph.NewSchema(svc, nil), opts)
	srv.AroundFields(func(ctx context.Context, next graphql.Resolver) (any, error) {
		if graphql.GetFieldContext(ctx).Field.Name == "sprockets" {
			panic("boom: a secret detail")
		}
		return next(ctx)
	})
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	logs := testlog.Capture(t, slog.LevelInfo)

	post := func(q string) string {
		res, err := http.Post(hs.URL, "application/json", strings.NewReader(fmt.Sprintf(`{"query":%q}`, q)))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != http.StatusOK {
			t.Errorf("%s: status %d", q, res.StatusCode)
		}
		return string(b)
	}
	body := post("{ sprockets { totalCount } }")
	if !strings.Contains(body, `"message":"internal server error"`) || !strings.Contains(body, `"code":"INTERNAL_SERVER_ERROR"`) ||
		strings.Contains(body, "boom") || strings.Contains(body, "secret") {
		t.Errorf("answer: %s", body)
	}
	logged := logs.String()
	if strings.Count(logged, "level=ERROR") != 1 || !strings.Contains(logged, "boom: a secret detail") || !strings.Contains(logged, "goroutine") {
		t.Errorf("log:\n%s", logged)
	}
	if body := post("{ factories { totalCount } }"); !strings.Contains(body, `"totalCount":0`) {
		t.Errorf("after the panic: %s", body)
	}
}
