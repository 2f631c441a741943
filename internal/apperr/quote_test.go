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
