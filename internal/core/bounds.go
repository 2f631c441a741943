package core

import (
	"fmt"
	"math"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/sprocketapi/sprocket/internal/apperr"
)

// The value domain. Every point, window and bucket interval the service
// takes, on any interface, lies inside it, so that no sum, average or
// bucket computation can overflow on either database, and every time the
// service holds can be drawn by the dashboard (a JavaScript Date) and is
// a GraphQL Time its own input accepts:
//
//   - |actual| and |goal| are at most MaxValue, 2^53: every integer up to
//     it is exact in a float64 (the legacy service kept 9007199254740991
//     verbatim), and a sum of even 2^63 points stays below 2^116, far from
//     float64's 1.8e308;
//   - times are whole epoch seconds from MinTime to MaxTime, the instants
//     a JavaScript Date can hold (±8.64e15 ms: years -271821 to 275760),
//     below 2^43 in magnitude;
//   - a bucket interval is from 1 second to MaxInterval, the span of the
//     whole time domain (below 2^44).
//
// So every integer the bucket arithmetic computes on either database
// (time - ((time % iv) + iv) % iv, floor(from / iv) * iv, off + k * iv,
// to - off + iv - 1 with to one past MaxTime) is below 2^46 in magnitude,
// far inside int64.
const (
	MaxValue    = 1 << 53                   // 9007199254740992
	MinTime     = int64(-8_640_000_000_000) // -271821-04-20T00:00:00Z
	MaxTime     = int64(8_640_000_000_000)  // +275760-09-13T00:00:00Z
	MaxInterval = MaxTime - MinTime + 1
	// MinTimeText and MaxTimeText are MinTime and MaxTime as GraphQL
	// Times, for messages.
	MinTimeText = "-271821-04-20T00:00:00Z"
	MaxTimeText = "+275760-09-13T00:00:00Z"
	// MaxNameLength is the most characters (not bytes) a name has.
	MaxNameLength = 200
)

// checkValue refuses a number outside [-MaxValue, MaxValue] (or NaN).
func checkValue(field string, v float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return apperr.InvalidField(field, "%s must be a finite number.", field)
	}
	if v < -MaxValue || v > MaxValue {
		return apperr.InvalidField(field, "%s must be from -9007199254740992 to 9007199254740992, ±2^53 (got %g).", field, v)
	}
	return nil
}

// CheckTime refuses an epoch second outside the time domain [MinTime,
// MaxTime]; field names the input in the error.
func CheckTime(field string, t int64) error {
	if t < MinTime || t > MaxTime {
		return apperr.InvalidField(field,
			"%s must be from %d (%s) to %d (%s) epoch seconds.",
			field, MinTime, MinTimeText, MaxTime, MaxTimeText)
	}
	return nil
}

// ValidatePoints checks that every value and time lies in the value
// domain and that no time repeats; field paths are prefix[i].time and the
// like.
func ValidatePoints(prefix string, points []Point) error {
	seen := make(map[int64]int, len(points))
	for i, p := range points {
		if err := CheckTime(fmt.Sprintf("%s[%d].time", prefix, i), p.Time); err != nil {
			return err
		}
		if err := checkValue(fmt.Sprintf("%s[%d].actual", prefix, i), p.Actual); err != nil {
			return err
		}
		if err := checkValue(fmt.Sprintf("%s[%d].goal", prefix, i), p.Goal); err != nil {
			return err
		}
		if j, dup := seen[p.Time]; dup {
			return apperr.InvalidField(fmt.Sprintf("%s[%d].time", prefix, i),
				"Time values must be unique: %d appears at positions %d and %d.", p.Time, j, i)
		}
		seen[p.Time] = i
	}
	return nil
}

// validateName checks a factory name: valid UTF-8, at most MaxNameLength
// characters, no control characters, not blank. Empty means "no name".
func validateName(name string) error {
	if !utf8.ValidString(name) {
		return apperr.InvalidField("name", "name must be valid UTF-8.")
	}
	if utf8.RuneCountInString(name) > MaxNameLength {
		return apperr.InvalidField("name", "name must be at most %d characters.", MaxNameLength)
	}
	for i, r := range name {
		if unicode.IsControl(r) {
			return apperr.InvalidField("name", "name must not contain control characters (found %U at byte %d).", r, i)
		}
	}
	if name != "" && strings.TrimSpace(name) == "" {
		return apperr.InvalidField("name", "name must not be blank.")
	}
	return nil
}

// Validate checks a new factory's name and points (see validateName and
// ValidatePoints); CreateFactory calls it first.
func (in FactoryInput) Validate() error {
	if err := validateName(in.Name); err != nil {
		return err
	}
	return ValidatePoints("points", in.Points)
}
