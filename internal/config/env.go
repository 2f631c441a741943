package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// envReader reads variables through getenv and collects what is wrong with
// them, each error naming its variable. A variable that is unset or empty
// leaves its setting as it was (its default).
type envReader struct {
	getenv func(string) string
	errs   []error
}

func (e *envReader) bad(name, format string, args ...any) {
	e.errs = append(e.errs, fmt.Errorf("%s: %s", name, fmt.Sprintf(format, args...)))
}

// text is the variable's value without surrounding spaces.
func (e *envReader) text(name string) string { return strings.TrimSpace(e.getenv(name)) }

// list is the variable's comma-separated items, without surrounding
// spaces; empty items are dropped.
func (e *envReader) list(name string) []string {
	var out []string
	for _, item := range strings.Split(e.getenv(name), ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// read sets *dst from the variable name when it is set: parse returns the
// value and whether the variable takes it; when it does not, the error
// says that the variable must be want.
func read[T any](e *envReader, name string, dst *T, want string, parse func(string) (T, bool)) {
	v := e.getenv(name)
	if v == "" {
		return
	}
	x, ok := parse(v)
	if !ok {
		e.bad(name, "must be %s, not %q", want, v)
		return
	}
	*dst = x
}

func (e *envReader) boolean(name string, dst *bool) {
	read(e, name, dst, "true or false", func(v string) (bool, bool) {
		b, err := strconv.ParseBool(v)
		return b, err == nil
	})
}

// whole reads a whole number that ok takes; want describes it.
func whole[T int | int64](e *envReader, name string, dst *T, want string, ok func(T) bool) {
	read(e, name, dst, want, func(v string) (T, bool) {
		n, err := strconv.ParseInt(v, 10, 64)
		x := T(n)
		return x, err == nil && int64(x) == n && ok(x)
	})
}

// atLeast reads a whole number of at least lowest.
func atLeast[T int | int64](e *envReader, name string, dst *T, lowest T) {
	whole(e, name, dst, fmt.Sprintf("a whole number, at least %d", lowest), func(n T) bool { return n >= lowest })
}

// duration reads a duration in Go's syntax of at least lowest (positive
// when lowest is 1ns); example is one for the message.
func (e *envReader) duration(name, example string, lowest time.Duration, dst *time.Duration) {
	want := fmt.Sprintf("a duration such as %s", example)
	switch {
	case lowest == time.Nanosecond:
		want = fmt.Sprintf("a positive duration such as %s", example)
	case lowest > 0:
		want = fmt.Sprintf("a duration of at least %v such as %s", lowest, example)
	}
	read(e, name, dst, want, func(v string) (time.Duration, bool) {
		d, err := time.ParseDuration(v)
		return d, err == nil && d >= lowest
	})
}
