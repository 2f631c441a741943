package gqlhttp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strconv"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/sprocketapi/sprocket/internal/apperr"
	"github.com/sprocketapi/sprocket/internal/core"
)

// The extensions.code values this package sets. Every error the API
// returns has a code; the one list of them, with their HTTP statuses and
// meaning, is docs/graphql.md#errors (the codes of the core are
// apperr.Code values, passed through).
const (
	CodeParseFailed          = errcode.ParseFailed      // GRAPHQL_PARSE_FAILED
	CodeValidationFailed     = errcode.ValidationFailed // GRAPHQL_VALIDATION_FAILED
	CodeBadUserInput         = string(apperr.Invalid)
	CodeDepthLimit           = "DEPTH_LIMIT_EXCEEDED"
	CodeComplexityLimit      = "COMPLEXITY_LIMIT_EXCEEDED"
	CodePersistedNotFound    = "PERSISTED_QUERY_NOT_FOUND" // set by gqlgen's extension
	CodeBadRequest           = "BAD_REQUEST"
	CodeMethodNotAllowed     = "METHOD_NOT_ALLOWED"
	CodeNotAcceptable        = "NOT_ACCEPTABLE"
	CodePayloadTooLarge      = string(apperr.TooLarge)
	CodeUnsupportedMediaType = "UNSUPPORTED_MEDIA_TYPE"
	CodeForbidden            = "FORBIDDEN"
	CodeUnavailable          = string(apperr.Unavailable)
	CodeInternal             = string(apperr.Internal)
)

// internalMessage is all a client learns of an internal error.
const internalMessage = "internal server error"

// errRecovered marks a panic that recoverPanic has already logged.
var errRecovered = errors.New("graphql: recovered from a panic")

func codedError(code, message string) *gqlerror.Error {
	return &gqlerror.Error{Message: message, Extensions: map[string]any{"code": code}}
}

// internalError is the client's view of an internal error at path.
func internalError(path ast.Path) *gqlerror.Error {
	e := codedError(CodeInternal, internalMessage)
	e.Path = path
	return e
}

// presentApplicationError presents ae, the application error in err's
// chain: its code, its client-safe message, and its input field.
func (p presenter) presentApplicationError(ctx context.Context, err error, ae *apperr.Error, path ast.Path, locations []gqlerror.Location) *gqlerror.Error {
	if ae.Code == apperr.Internal {
		return logInternal(ctx, err, path, locations)
	}
	switch ae.Code {
	case apperr.Unavailable:
		slog.WarnContext(ctx, "graphql: database unavailable", "path", path.String(), "error", err.Error())
	case core.DataOutOfRange:
		// Stored data to repair: the operator needs the cause.
		slog.WarnContext(ctx, "graphql: stored data out of range", "path", path.String(), "error", err.Error())
	}
	e := codedError(string(ae.Code), capMessage(ae.Message))
	e.Path, e.Locations = path, locations
	e.Err = err // never shown (json:"-"); the transactioner reads it
	if ae.Field != "" {
		e.Extensions["field"] = p.argumentField(ctx, ae.Field)
	}
	return e
}

// presenter is the one error presenter: every error a client sees
// passes here (except the transports' own, which are coded already) and
// leaves with an extensions.code.
//
//   - an *apperr.Error (or an error wrapping one) shows its client-safe
//     message, its code, and its input field as extensions.field;
//   - gqlgen's and our extensions' coded errors keep their code, except
//     variable coercion errors, which become BAD_USER_INPUT;
//   - an argument that its scalar refused is BAD_USER_INPUT;
//   - an uncoded *gqlerror.Error without a cause keeps its message (it was
//     written for clients): BAD_REQUEST before execution, BAD_USER_INPUT
//     during it;
//   - anything else is logged once and shown as an internal error.
//
// schema is the schema served, whose input types name the fields of
// arguments (argumentField).
type presenter struct{ schema *ast.Schema }

// present presents err (see presenter).
func (p presenter) present(ctx context.Context, err error) *gqlerror.Error {
	if err == nil {
		return nil
	}
	gqlErr, isGQL := errors.AsType[*gqlerror.Error](err)
	path := graphql.GetPath(ctx)
	var locations []gqlerror.Location
	if isGQL {
		path, locations = gqlErr.Path, gqlErr.Locations
	}

	if errors.Is(err, errOverBudget) {
		// Fields resolved after the answer's budget ran out: one shared
		// error each (the answer is replaced by one error anyway), so
		// that they cost no memory of their own.
		return overBudgetPresented
	}
	if errors.Is(err, errRecovered) {
		e := internalError(path)
		e.Locations = locations
		return e
	}
	if ae, cause, ok := applicationError(ctx, err, gqlErr); ok {
		return p.presentApplicationError(ctx, cause, ae, path, locations)
	}
	if isGQL && isArgumentError(ctx, gqlErr) {
		fieldPath := graphql.GetPath(ctx)
		argPath := gqlErr.Path[len(fieldPath):]
		message := coercionMessage(gqlErr)
		if isCursorArgument(ctx, argPath) {
			// entgql's decoding error names its encoding (msgpack) and
			// its internals: say what the client can act on.
			message = "Invalid cursor: pass a cursor this connection returned (edges.cursor, pageInfo.startCursor or pageInfo.endCursor)."
		}
		e := codedError(CodeBadUserInput, message)
		e.Path, e.Locations = gqlErr.Path, locations
		e.Extensions["field"] = fieldName(argPath)
		if pos := graphql.GetFieldContext(ctx).Field.Position; len(e.Locations) == 0 && pos != nil {
			e.Locations = []gqlerror.Location{{Line: pos.Line, Column: pos.Column}}
		}
		return e
	}
	if !isGQL {
		return logInternal(ctx, err, path, locations)
	}
	// gqlparser's messages quote a client's names and literals whole.
	gqlErr.Message = capMessage(apperr.QuoteRuns(gqlErr.Message))
	if code, ok := gqlErr.Extensions["code"].(string); ok && code != "" {
		if code == CodeValidationFailed && len(gqlErr.Path) > 0 && gqlErr.Path[0] == ast.PathName("variable") {
			gqlErr.Extensions["code"] = CodeBadUserInput
			gqlErr.Message = variableMessage(gqlErr)
		}
		return gqlErr
	}
	if gqlErr.Err == nil {
		// A message written for clients, with no cause behind it: APQ's
		// "provided APQ hash does not match query" before execution, ent's
		// "Passing both `first` and `last` ..." during it. (Errors with a
		// cause in their text but not in Err come as a graphql.Response,
		// past the presenter: errorGuard handles those.)
		code := CodeBadUserInput
		if graphql.GetFieldContext(ctx) == nil {
			code = CodeBadRequest
		}
		gqlErr.Extensions = map[string]any{"code": code}
		return gqlErr
	}
	return logInternal(ctx, err, path, locations)
}

// applicationError returns the application error of err and the error it
// is presented with (its cause, for the log): the *apperr.Error err is or
// wraps, or, for an error that did not pass the core (an ent query a
// resolver makes directly, for pagination, which gqlgen may have wrapped),
// what core.Classify makes of it when that says the database is
// unavailable. A value that a scalar refused is never one: it is the
// client's, whatever its error wraps (entgql's cursor decoding wraps
// io.EOF for an empty cursor). ok is false for anything else.
func applicationError(ctx context.Context, err error, gqlErr *gqlerror.Error) (ae *apperr.Error, cause error, ok bool) {
	if ae, ok := apperr.As(err); ok {
		return ae, err, true
	}
	if gqlErr != nil && isArgumentError(ctx, gqlErr) {
		return nil, nil, false
	}
	classified := core.Classify(err)
	if ae, ok := apperr.As(classified); ok && ae.Code == apperr.Unavailable {
		return ae, classified, true
	}
	return nil, nil, false
}

// isArgumentError reports whether err was raised while an argument or input
// field was coerced: gqlgen attaches such errors to a path that extends the
// field's own path with the argument's name (graphql.ProcessArgField),
// while a resolver's errors sit on the field's path.
func isArgumentError(ctx context.Context, err *gqlerror.Error) bool {
	fieldPath := graphql.GetPath(ctx)
	if graphql.GetFieldContext(ctx) == nil || len(err.Path) <= len(fieldPath) {
		return false
	}
	for i := range fieldPath {
		if err.Path[i] != fieldPath[i] {
			return false
		}
	}
	return true
}

// coercionMessage is a scalar's refusal in words: the scalars' own messages
// describe the client's value, but strconv's name a Go function.
func coercionMessage(err *gqlerror.Error) string {
	if ne, ok := errors.AsType[*strconv.NumError](err); ok {
		if errors.Is(ne.Err, strconv.ErrRange) {
			return fmt.Sprintf("%s is out of range.", apperr.Quote(ne.Num))
		}
		kind := "a number"
		switch ne.Func {
		case "ParseInt", "ParseUint", "Atoi":
			kind = "an integer"
		case "ParseBool":
			kind = "a boolean"
		}
		return fmt.Sprintf("%s is not %s.", apperr.Quote(ne.Num), kind)
	}
	return err.Message
}

// logInternal logs err, with its text, and returns the generic error a
// client sees in its place.
func logInternal(ctx context.Context, err error, path ast.Path, locations []gqlerror.Location) *gqlerror.Error {
	level := slog.LevelError
	if errors.Is(err, context.Canceled) {
		level = slog.LevelInfo // the client went away
	}
	attrs := []any{"path", path.String(), "error", err.Error()}
	if graphql.HasOperationContext(ctx) && graphql.GetOperationContext(ctx).OperationName != "" {
		attrs = append(attrs, "operation", graphql.GetOperationContext(ctx).OperationName)
	}
	slog.Log(ctx, level, "graphql: internal error", attrs...)
	e := internalError(path)
	e.Locations = locations
	return e
}

// recoverPanic turns a panic in a resolver into an internal error: logged
// here with its stack, shown by the presenter without detail.
func recoverPanic(ctx context.Context, v any) error {
	slog.ErrorContext(ctx, "graphql: panic", "path", graphql.GetPath(ctx).String(),
		"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
	return errRecovered
}

// errorGuard makes sure no error leaves without having passed the presenter:
// an extension may answer with a graphql.Response of its own, whose
// uncoded errors can carry a cause in their message (entgql.Transactioner's
// "cannot create transaction: <driver error>" did, before transactioner
// replaced it). It wraps every extension added after it.
type errorGuard struct{}

var _ interface {
	graphql.HandlerExtension
	graphql.ResponseInterceptor
} = errorGuard{}

func (errorGuard) ExtensionName() string                   { return "ErrorGuard" }
func (errorGuard) Validate(graphql.ExecutableSchema) error { return nil }

func (errorGuard) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	resp := next(ctx)
	if resp == nil {
		return nil
	}
	for i, e := range resp.Errors {
		if e == nil {
			continue
		}
		if code, ok := e.Extensions["code"].(string); !ok || code == "" {
			resp.Errors[i] = logInternal(ctx, e, e.Path, e.Locations)
		}
	}
	return resp
}
