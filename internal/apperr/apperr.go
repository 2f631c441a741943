// Package apperr is the application's one error type: a code that says what
// kind of failure it is and a message that is safe to show to a client.
// Transports map codes to their own vocabulary in one place each (REST to
// HTTP statuses, GraphQL to extensions.code); anything that is not an
// *Error is internal and is logged, never shown.
package apperr

import (
	"errors"
	"fmt"
	"strings"
)

// Code classifies an application error.
type Code string

// The codes. Their string values are what GraphQL clients see in
// extensions.code.
const (
	Invalid         Code = "BAD_USER_INPUT"
	NotFound        Code = "NOT_FOUND"
	Conflict        Code = "CONFLICT"
	Unauthenticated Code = "UNAUTHENTICATED"
	TooLarge        Code = "PAYLOAD_TOO_LARGE"
	Unavailable     Code = "SERVICE_UNAVAILABLE"
	// DataOutOfRange: a read failed on stored values, not on its request
	// (an aggregate of values stored by an earlier version beyond today's
	// bounds overflows). Retrying does not help.
	DataOutOfRange Code = "DATA_OUT_OF_RANGE"
	Internal       Code = "INTERNAL_SERVER_ERROR"
)

// Error is an error whose message can be shown to clients.
type Error struct {
	Code    Code
	Message string
	// Field is the path of the offending input field, dotted, with list
	// indexes in brackets ("points[3].time"), when there is one.
	Field string
	// Err is the underlying cause, for logs only.
	Err error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the code and a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Renamed returns a copy of e with its field named name: in Field, and in
// the message, which names its field first when it names it at all
// ("points[3].time must be …"). The core names fields as /v1 names a
// sprocket's ("pitch_diameter") and its own inputs ("points[3].time"); each
// interface that names them otherwise renames them with this, from one
// function of its own.
func (e *Error) Renamed(name string) *Error {
	out := *e
	if e.Field == "" || name == e.Field {
		return &out
	}
	if rest, ok := strings.CutPrefix(e.Message, e.Field); ok && (rest == "" || rest[0] == ' ') {
		out.Message = name + rest
	}
	out.Field = name
	return &out
}

// InvalidField returns an Invalid error about one input field.
func InvalidField(field, format string, args ...any) *Error {
	return &Error{Code: Invalid, Field: field, Message: fmt.Sprintf(format, args...)}
}

// CodeOf returns the code of err: its own when it is (or wraps) an *Error,
// Internal otherwise, and "" for nil.
func CodeOf(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}

// MessageOf returns the client-safe message of err; internal errors get a
// generic text so that nothing of their cause leaks.
func MessageOf(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Code != Internal {
		return e.Message
	}
	return "Internal server error."
}

// As returns err as an *Error when it is one.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}
