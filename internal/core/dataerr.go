package core

import (
	"math"

	"github.com/sprocketapi/sprocket/internal/apperr"
)

// DataOutOfRange is the code of a read that failed on stored values, not
// on its request: an aggregate of values that an earlier version accepted
// beyond today's bounds overflows (PostgreSQL refuses the statement with
// SQLSTATE 22003, "value out of range"), or comes back infinite (SQLite
// sums to ±Inf, as PostgreSQL does over stored infinities). Retrying does
// not help; other factories are not affected.
const DataOutOfRange = apperr.DataOutOfRange

// msgDataOutOfRange is what a client is told.
const msgDataOutOfRange = "The stored data cannot be aggregated: a value is out of range. Narrow the window or repair the data."

// IsDataOutOfRange reports whether err (or an error it wraps) is a
// statement that failed because a value computed from stored data is out
// of its type's range: SQLSTATE 22003 (numeric_value_out_of_range), or
// an error already classified as DataOutOfRange. Like the other
// classifiers it looks at the SQLSTATE, never at the text.
func IsDataOutOfRange(err error) bool {
	if err == nil {
		return false
	}
	if ae, ok := apperr.As(err); ok && ae.Code == DataOutOfRange {
		return true
	}
	return sqlState(err) == "22003"
}

// DataOutOfRangeError returns the application error for a read whose
// stored data is out of range; err is the cause, for logs.
func DataOutOfRangeError(err error) *apperr.Error {
	return &apperr.Error{Code: DataOutOfRange, Message: msgDataOutOfRange, Err: err}
}

// finite reports whether every value is a finite number: aggregates of
// stored values beyond today's bounds can come back infinite (SQLite sums
// to ±Inf where PostgreSQL fails), and JSON has no number for them.
func finite(values ...float64) bool {
	for _, v := range values {
		if math.IsInf(v, 0) || math.IsNaN(v) {
			return false
		}
	}
	return true
}

// finitePtrs is finite for the non-nil values.
func finitePtrs(ps ...*float64) bool {
	for _, p := range ps {
		if p != nil && !finite(*p) {
			return false
		}
	}
	return true
}
