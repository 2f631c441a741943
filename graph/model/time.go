package model

import (
	"errors"
	"io"
	"strconv"
	"time"

	"github.com/99designs/gqlgen/graphql"
)

// The Time scalar: an RFC 3339 instant within years 0001 to 9999 UTC, the
// service's time domain (core.MinTime to core.MaxTime). gqlgen's own Time
// scalar is not used because it takes "" as 0001-01-01T00:00:00Z, takes
// offsets that move an instant out of the domain (9999-12-31T23:59:59-01:00
// is year 10000 in UTC), and answers null for 0001-01-01T00:00:00Z, which
// is a valid time here.

// The bounds of the Time scalar, as epoch seconds (core.MinTime and
// core.MaxTime; this package cannot import core).
const (
	minTimeEpoch = -62135596800 // 0001-01-01T00:00:00Z
	maxTimeEpoch = 253402300799 // 9999-12-31T23:59:59Z
)

var errTimeRange = errors.New("Time must be from 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z (UTC)")

// MarshalTime writes t in RFC 3339 UTC, with fractional seconds when it
// has them.
func MarshalTime(t time.Time) graphql.Marshaler {
	return graphql.WriterFunc(func(w io.Writer) {
		_, _ = io.WriteString(w, strconv.Quote(t.UTC().Format(time.RFC3339Nano)))
	})
}

// UnmarshalTime reads an RFC 3339 string (with a time zone) whose instant
// lies in years 0001 to 9999 UTC.
func UnmarshalTime(v any) (time.Time, error) {
	s, ok := v.(string)
	if !ok {
		return time.Time{}, errors.New("Time must be an RFC 3339 string such as \"2024-05-01T12:00:00Z\"")
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, errors.New("Time must be an RFC 3339 string such as \"2024-05-01T12:00:00Z\", with a time zone")
	}
	if sec := t.Unix(); sec < minTimeEpoch || sec > maxTimeEpoch {
		return time.Time{}, errTimeRange
	}
	return t.UTC(), nil
}
