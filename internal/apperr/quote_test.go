package apperr

import (
	"strings"
	"testing"
)

func TestQuote(t *testing.T) {
	cases := []struct{ in, want string }{
		{"", `""`},
		{"abc", `"abc"`},
		{"a\x00b", `"a\x00b"`},
		{"a\xffb", `"a\xffb"`},
		{`say "hi"`, `"say \"hi\""`},
		{strings.Repeat("é", QuoteLimit), `"` + strings.Repeat("é", QuoteLimit) + `"`},
		{strings.Repeat("é", QuoteLimit+1), `"` + strings.Repeat("é", QuoteLimit) + `"…`},
		{strings.Repeat("x", 10<<20), `"` + strings.Repeat("x", QuoteLimit) + `"…`},
	}
	for _, c := range cases {
		if got := Quote(c.in); got != c.want {
			short := c.in
			if len(short) > 20 {
				short = short[:20]
			}
			t.Errorf("Quote(%q…) = %q, want %q", short, got, c.want)
		}
	}
}

func TestQuoteRuns(t *testing.T) {
	long := strings.Repeat("x", 900_000)
	cases := []struct{ in, want string }{
		{`Cannot query field "a" on type "Query".`, `Cannot query field "a" on type "Query".`},
		{`Cannot query field "` + long + `" on type "Query".`,
			`Cannot query field "` + strings.Repeat("x", QuoteLimit) + `"… on type "Query".`},
		{`Unexpected "` + strings.Repeat(`\"`, 150) + `"`, `Unexpected "` + strings.Repeat(`\"`, QuoteLimit) + `"…`},
		{`two "` + long + `" and "` + long + `"`, `two "` + long[:QuoteLimit] + `"… and "` + long[:QuoteLimit] + `"…`},
		{`unterminated "` + long, `unterminated "` + long},
		{`"` + strings.Repeat("é", QuoteLimit) + `" exactly`, `"` + strings.Repeat("é", QuoteLimit) + `" exactly`},
	}
	for i, c := range cases {
		if got := QuoteRuns(c.in); got != c.want {
			t.Errorf("case %d: got %.200q…", i, got)
		}
	}
}

// TestRenamedNamesTheFieldInTheMessageToo: the field, and the message
// that starts with it, take the new name; a message that does not start
// with the field, or names a longer one, keeps its words.
func TestRenamedNamesTheFieldInTheMessageToo(t *testing.T) {
	for _, c := range []struct{ field, message, name, wantMessage string }{
		{"points[3].time", "points[3].time must be from 0.", "factory.chart_data.time[3]", "factory.chart_data.time[3] must be from 0."},
		{"points[3].time", "Time values must be unique: 5 appears at positions 1 and 3.", "factory.chart_data.time[3]", "Time values must be unique: 5 appears at positions 1 and 3."},
		{"to", "to must be after from.", "window.to", "window.to must be after from."},
		{"name", "names must be …", "factory.name", "names must be …"},
	} {
		e := InvalidField(c.field, "%s", c.message)
		got := e.Renamed(c.name)
		if got.Field != c.name || got.Message != c.wantMessage || e.Field != c.field || e.Message != c.message {
			t.Errorf("%q %q renamed %q: %q %q (the original now %q %q)", c.field, c.message, c.name, got.Field, got.Message, e.Field, e.Message)
		}
	}
}
