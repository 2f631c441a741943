package gqlhttp

import "testing"

func TestCountJSONValues(t *testing.T) {
	for _, c := range []struct {
		text string
		want int
	}{
		{`{}`, 1},
		{`"x"`, 1},
		{` 12.5e3 `, 1},
		{`{"a": [1, "x", {"b": null}], "c" : true, "d": false}`, 8},
		{`{"a\"": "b\\", "c": "d\":e"}`, 3},
		{`[[],[{}],-1,"",""]`, 7},
	} {
		if got := countJSONValues([]byte(c.text), 0); got != c.want {
			t.Errorf("%s: %d values, want %d", c.text, got, c.want)
		}
		// In pieces, as a body arrives.
		var sc valueScanner
		for i := range len(c.text) {
			sc.scan([]byte(c.text[i:i+1]), 0)
		}
		if got := sc.finish(); got != c.want {
			t.Errorf("%s byte by byte: %d values, want %d", c.text, got, c.want)
		}
	}
}
