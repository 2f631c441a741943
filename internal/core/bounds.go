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
// bucket computation can overflow on either database:
//
//   - |actual| and |goal| are at most MaxValue: a sum of even a billion
//     points stays below 1e24, far from float64's 1.8e308;
//   - times are epoch seconds within RFC 3339's years 0001 to 9999
//     (MinTime to MaxTime), below 2^38 in magnitude, so that time ± interval,
//     time % interval + interval and bucket * interval stay far inside int64;
//   - a bucket interval is from 1 second to MaxInterval, the span of the
//     whole time domain.
const (
	MaxValue    = 1e15
	MinTime     = int64(-62135596800) // 0001-01-01T00:00:00Z
	MaxTime     = int64(253402300799) // 9999-12-31T23:59:59Z
	MaxInterval = MaxTime - MinTime + 1
	// MaxNameLength is the most characters (not bytes) a name has.
	MaxNameLength = 200
)

// checkValue refuses a number outside [-MaxValue, MaxValue] (or NaN).
func checkValue(field string, v float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return apperr.InvalidField(field, "%s must be a finite number.", field)
	}
	if v < -MaxValue || v > MaxValue {
		return apperr.InvalidField(field, "%s must be from -1e15 to 1e15 (got %g).", field, v)
	}
	return nil
}

// CheckTime refuses an epoch second outside the time domain [MinTime,
// MaxTime]; field names the input in the error.
func CheckTime(field string, t int64) error {
	if t < MinTime || t > MaxTime {
		return apperr.InvalidField(field,
			"%s must be from %d (0001-01-01T00:00:00Z) to %d (9999-12-31T23:59:59Z) epoch seconds.",
			field, MinTime, MaxTime)
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
