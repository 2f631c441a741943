package rest

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/sprocketapi/sprocket/internal/apperr"
)

// statusOf is the one table from application error codes to HTTP statuses.
var statusOf = map[apperr.Code]int{
	apperr.Invalid:         http.StatusBadRequest,
	apperr.NotFound:        http.StatusNotFound,
	apperr.Conflict:        http.StatusConflict,
	apperr.Unauthenticated: http.StatusUnauthorized,
	apperr.TooLarge:        http.StatusRequestEntityTooLarge,
	apperr.Unavailable:     http.StatusServiceUnavailable,
	// Stored values that cannot be aggregated: the request was fine, the
	// data is not, and repeating it will not help.
	apperr.DataOutOfRange: http.StatusUnprocessableEntity,
	apperr.Internal:       http.StatusInternalServerError,
}

// WriteMessage sends {"message": msg} with status, the shape of every /v1
// answer that is not data.
func WriteMessage(w http.ResponseWriter, status int, msg string) {
	b := append([]byte(`{"message":`), appendString(nil, msg)...)
	writeRaw(w, status, append(b, "}\n"...))
}

// WriteError sends err as a /v1 JSON message with the status of its code.
// Internal errors are logged here, once, and answered with a generic text.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	code := apperr.CodeOf(err)
	status, ok := statusOf[code]
	if !ok {
		status = http.StatusInternalServerError
	}
	switch {
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		// The client went away; nobody is listening for an answer.
		return
	case status == http.StatusServiceUnavailable:
		slog.WarnContext(r.Context(), "database unavailable", "method", r.Method, "path", r.URL.Path, "err", err)
	case code == apperr.DataOutOfRange:
		// The stored data needs repair: the operator must hear of it, as
		// on GraphQL (the client's message says nothing of the cause).
		slog.WarnContext(r.Context(), "stored data out of range", "method", r.Method, "path", r.URL.Path, "err", err)
	case status >= 500:
		slog.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "5")
	}
	msg := apperr.MessageOf(err)
	if e, ok := apperr.As(err); ok && e.Code != apperr.Internal && e.Field != "" {
		msg = e.Renamed(fieldName(e.Field)).Message
	}
	WriteMessage(w, status, msg)
}

// fieldName is /v1's name of an input field that the core names field:
// a factory's points are the columns of its chart_data
// ("points[3].time" → "factory.chart_data.time[3]", "points[3].actual" →
// "factory.chart_data.sprocket_production_actual[3]") and its name is
// "factory.name"; a sprocket's fields have the same names in both.
func fieldName(field string) string {
	if field == "name" {
		return "factory.name"
	}
	rest, ok := strings.CutPrefix(field, "points[")
	if !ok {
		return field
	}
	index, member, ok := strings.Cut(rest, "].")
	column := map[string]string{"time": colTime, "actual": colActual, "goal": colGoal}[member]
	if !ok || column == "" {
		return field
	}
	return "factory.chart_data." + column + "[" + index + "]"
}
