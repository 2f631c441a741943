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
