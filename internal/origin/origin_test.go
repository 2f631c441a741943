package origin

import (
	"net/http/httptest"
	"testing"
)

func TestOriginsCompareAsSerialisedAndCaseInsensitively(t *testing.T) {
	p := NewPolicy([]string{"http://127.0.0.1:3000", "https://Dash.Example.com/"})
	for o, want := range map[string]bool{
		"http://127.0.0.1:3000":     true,
		"HTTP://127.0.0.1:3000":     true,
		"https://dash.example.com":  true,
		"https://dash.example.com/": true,
		"http://dash.example.com":   false,
		"http://127.0.0.1:3001":     false,
		"":                          false,
	} {
		if got := p.Allows(o); got != want {
			t.Errorf("Allows(%q) = %v, want %v", o, got, want)
		}
	}
	if p.First() != "http://127.0.0.1:3000" || p.Any() {
		t.Errorf("first %q, any %v", p.First(), p.Any())
	}
	if !NewPolicy([]string{"*"}).Allows("https://anything.test") {
		t.Error("* does not allow any origin")
	}
	r := httptest.NewRequest("GET", "http://api.example.com/graphql", nil)
	for o, want := range map[string]bool{"": true, "http://API.example.com": true, "http://127.0.0.1:3000": true, "http://evil.test": false, "not a url": false} {
		r.Header.Set("Origin", o)
		if got := p.AllowsRequest(r); got != want {
			t.Errorf("AllowsRequest with Origin %q = %v, want %v", o, got, want)
		}
	}
}
