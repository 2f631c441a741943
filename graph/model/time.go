package model

import (
	"errors"
	"io"
	"strconv"
	"time"

	"github.com/99designs/gqlgen/graphql"
)

// The Time scalar: an instant of the service's time domain (core.MinTime
// to core.MaxTime, what a JavaScript Date can hold: years -271821 to
// 275760), written in one of two forms:
//
//   - RFC 3339, "2021-01-21T02:06:58Z", for years 0000 to 9999 (output uses
//     it for years 0001 to 9999 only);
//   - the expanded-year form of ISO 8601 and of ECMAScript's Date Time
//     String Format, "+053025-06-14T08:53:20Z" or "-000001-12-31T23:59:59Z":
//     a sign and six year digits, for any year (output uses it for year 0
//     and earlier, and for years after 9999). Year 0 is "+000000";
//     "-000000" is refused, as ECMAScript refuses it.
//
// The grammar (both forms; no spaces, letters in upper case):
//
//	time     = year "-" month "-" day "T" hour ":" minute ":" second [fraction] zone
//	year     = 4DIGIT / ("+" / "-") 6DIGIT
//	fraction = "." 1*DIGIT      ; beyond nanoseconds, digits are dropped
//	zone     = "Z" / ("+" / "-") hour ":" minute
//
// with month 01-12, day 01 to the month's last day (proleptic Gregorian
// calendar), hour 00-23, minute and second 00-59 (an offset's hour 00-23
// and minute 00-59 too). Input is accepted when its instant, rounded down
// to the second, lies in the domain; output is always UTC with "Z", and has
// a fraction only when the instant has one (the service's own times are
// whole seconds).
//
// Go's time package can neither format nor parse the expanded form, so
// both directions are written here; gqlgen's own Time scalar is not used
// because it takes "" as 0001-01-01T00:00:00Z and answers null for
// 0001-01-01T00:00:00Z, a valid time here.

// The bounds of the Time scalar, as epoch seconds (core.MinTime and
// core.MaxTime; this package cannot import core).
const (
	minTimeEpoch = -8_640_000_000_000 // -271821-04-20T00:00:00Z
	maxTimeEpoch = 8_640_000_000_000  // +275760-09-13T00:00:00Z
)

// The messages are what a client reads: whole sentences, about the Time type.
var (
	//lint:ignore ST1005 a client-facing message that names the GraphQL type
	errTimeSyntax = errors.New(`Time must be an RFC 3339 string such as "2024-05-01T12:00:00Z", with a time zone, or one with a signed six-digit year such as "+053025-06-14T08:53:20Z"`)
	//lint:ignore ST1005 a client-facing message that names the GraphQL type
	errTimeRange = errors.New("Time must be from -271821-04-20T00:00:00Z to +275760-09-13T00:00:00Z (UTC)")
)

// MarshalTime writes t as a Time (see FormatTime).
func MarshalTime(t time.Time) graphql.Marshaler {
	return graphql.WriterFunc(func(w io.Writer) {
		_, _ = io.WriteString(w, strconv.Quote(FormatTime(t)))
	})
}

// UnmarshalTime reads a Time string (see ParseTime).
func UnmarshalTime(v any) (time.Time, error) {
	s, ok := v.(string)
	if !ok {
		return time.Time{}, errTimeSyntax
	}
	return ParseTime(s)
}

// FormatTime writes t in UTC: RFC 3339 for years 0001 to 9999, the
// expanded-year form otherwise, with fractional seconds (no trailing
// zeros) when t has them.
func FormatTime(t time.Time) string {
	return string(AppendTime(make([]byte, 0, 32), t))
}

// AppendTime appends FormatTime(t) to b.
func AppendTime(b []byte, t time.Time) []byte {
	t = t.UTC()
	year, month, day := t.Date()
	hour, minute, second := t.Clock()
	switch {
	case year >= 1 && year <= 9999:
		b = appendDigits(b, int64(year), 4)
	case year < 0:
		b = append(b, '-')
		b = appendDigits(b, -int64(year), 6)
	default: // year 0 or after 9999
		b = append(b, '+')
		b = appendDigits(b, int64(year), 6)
	}
	b = append(b, '-')
	b = appendDigits(b, int64(month), 2)
	b = append(b, '-')
	b = appendDigits(b, int64(day), 2)
	b = append(b, 'T')
	b = appendDigits(b, int64(hour), 2)
	b = append(b, ':')
	b = appendDigits(b, int64(minute), 2)
	b = append(b, ':')
	b = appendDigits(b, int64(second), 2)
	if ns := t.Nanosecond(); ns != 0 {
		b = append(b, '.')
		digits := 9
		for ns%10 == 0 {
			ns /= 10
			digits--
		}
		b = appendDigits(b, int64(ns), digits)
	}
	return append(b, 'Z')
}

// appendDigits appends n >= 0 in decimal, zero-padded to width digits.
func appendDigits(b []byte, n int64, width int) []byte {
	var buf [20]byte
	i := len(buf)
	for n >= 10 || width > 1 {
		i--
		buf[i] = byte('0' + n%10)
		n /= 10
		width--
	}
	i--
	buf[i] = byte('0' + n)
	return append(b, buf[i:]...)
}

// ParseTime reads a Time in either form (see the grammar above) and
// returns it in UTC. It refuses anything else, and instants whose second
// lies outside the time domain.
func ParseTime(s string) (time.Time, error) {
	p := timeParser{s: s}
	var year int64
	switch {
	case p.peek('+') || p.peek('-'):
		neg := s[0] == '-'
		p.i++
		year = p.digits(6)
		if neg {
			if year == 0 {
				return time.Time{}, errTimeSyntax // "-000000"
			}
			year = -year
		}
	default:
		year = p.digits(4)
	}
	p.expect('-')
	month := p.number(2, 1, 12)
	p.expect('-')
	day := p.number(2, 1, 31)
	p.expect('T')
	hour := p.number(2, 0, 23)
	p.expect(':')
	minute := p.number(2, 0, 59)
	p.expect(':')
	second := p.number(2, 0, 59)
	var nsec int64
	if p.peek('.') {
		p.i++
		start := p.i
		scale := int64(100_000_000)
		for p.i < len(s) && isDigit(s[p.i]) {
			nsec += int64(s[p.i]-'0') * scale
			scale /= 10
			p.i++
		}
		if p.i == start {
			p.bad = true
		}
	}
	var offset int64 // seconds east of UTC
	switch {
	case p.peek('Z'):
		p.i++
	case p.peek('+') || p.peek('-'):
		sign := int64(1)
		if s[p.i] == '-' {
			sign = -1
		}
		p.i++
		oh := p.number(2, 0, 23)
		p.expect(':')
		om := p.number(2, 0, 59)
		offset = sign * (oh*3600 + om*60)
	default:
		p.bad = true
	}
	if p.bad || p.i != len(s) || day > daysIn(year, month) {
		return time.Time{}, errTimeSyntax
	}
	// The year is at most six digits, so the date is far inside the range
	// of time.Time and the sum below far inside int64.
	sec := time.Date(int(year), time.Month(month), int(day), int(hour), int(minute), int(second), 0, time.UTC).Unix() - offset
	if sec < minTimeEpoch || sec > maxTimeEpoch {
		return time.Time{}, errTimeRange
	}
	return time.Unix(sec, nsec).UTC(), nil
}

// timeParser reads s from i on; bad records the first mismatch, after
// which every read returns zero.
type timeParser struct {
	s   string
	i   int
	bad bool
}

func (p *timeParser) peek(c byte) bool { return !p.bad && p.i < len(p.s) && p.s[p.i] == c }

func (p *timeParser) expect(c byte) {
	if !p.peek(c) {
		p.bad = true
		return
	}
	p.i++
}

// digits reads exactly n decimal digits.
func (p *timeParser) digits(n int) int64 {
	if p.bad || len(p.s)-p.i < n {
		p.bad = true
		return 0
	}
	var v int64
	for _, c := range []byte(p.s[p.i : p.i+n]) {
		if !isDigit(c) {
			p.bad = true
			return 0
		}
		v = v*10 + int64(c-'0')
	}
	p.i += n
	return v
}

// number reads exactly n digits holding a value from lo to hi.
func (p *timeParser) number(n int, lo, hi int64) int64 {
	v := p.digits(n)
	if v < lo || v > hi {
		p.bad = true
	}
	return v
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// daysIn is the number of days of month in year, in the proleptic
// Gregorian calendar (year 0 is a leap year, as are -4, -400 and so on).
func daysIn(year, month int64) int64 {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}
