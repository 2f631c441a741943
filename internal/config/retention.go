package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Retention is how long chart data is kept (RETENTION): a number of
// calendar months, or a length of time. The zero value keeps every point.
type Retention struct {
	Months int
	Length time.Duration
}

// Enabled reports whether points are ever dropped.
func (r Retention) Enabled() bool { return r.Months > 0 || r.Length > 0 }

// Bound is the instant before which points are dropped, seen at now.
func (r Retention) Bound(now time.Time) time.Time {
	if r.Months > 0 {
		return now.AddDate(0, -r.Months, 0)
	}
	return now.Add(-r.Length)
}

// String is the retention as RETENTION would spell it.
func (r Retention) String() string {
	switch {
	case r.Months > 0:
		return fmt.Sprintf("%dmo", r.Months)
	case r.Length > 0:
		return r.Length.String()
	}
	return "0"
}

// ParseRetention reads RETENTION: 0 (keep forever), a Go duration such as
// 8760h, whole days such as 90d, or whole calendar months such as 12mo.
// Points are dropped a month at a time, so a retention shorter than 31 days
// would drop the month being written: it is refused.
func ParseRetention(s string) (Retention, error) {
	s = strings.TrimSpace(strings.ToLower(s))
	if s == "" || s == "0" {
		return Retention{}, nil
	}
	var r Retention
	whole := func(num string) (int, bool) {
		n, err := strconv.Atoi(num)
		return n, err == nil && n > 0 && n <= 1200
	}
	switch {
	case strings.HasSuffix(s, "mo"):
		n, ok := whole(strings.TrimSuffix(s, "mo"))
		if !ok {
			return r, fmt.Errorf("must be whole months from 1 to 1200 such as 12mo, not %q", s)
		}
		r.Months = n
		return r, nil
	case strings.HasSuffix(s, "d"):
		n, ok := whole(strings.TrimSuffix(s, "d"))
		if !ok {
			return r, fmt.Errorf("must be whole days such as 90d, not %q", s)
		}
		r.Length = time.Duration(n) * 24 * time.Hour
	default:
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			return r, fmt.Errorf("must be 0, a duration such as 8760h, days such as 90d or months such as 12mo, not %q", s)
		}
		r.Length = d
	}
	if r.Length < 31*24*time.Hour {
		return Retention{}, fmt.Errorf("must keep at least 31 days (points are dropped a whole month at a time), not %q", s)
	}
	return r, nil
}
