package auth

import (
	"net/http/httptest"
	"strings"
	"testing"
)

func TestTokensAreCheckedByHash(t *testing.T) {
	plain := "correct-horse-battery-staple"
	other := "another-long-enough-token"
	tk, err := NewTokens([]string{plain}, []string{Hash(other)})
	if err != nil {
		t.Fatal(err)
	}
	for token, want := range map[string]bool{plain: true, other: true, "": false, "correct-horse-battery-stapl": false, plain + " ": false} {
		if got := tk.Valid(token); got != want {
			t.Errorf("Valid(%q) = %v, want %v", token, got, want)
		}
	}
	if _, err := NewTokens([]string{"short"}, nil); err == nil {
		t.Error("a short token was accepted")
	}
	if _, err := NewTokens(nil, []string{"md5:abc"}); err == nil {
		t.Error("a malformed hash was accepted")
	}
}

func TestAuthenticateReadsTheBearerHeader(t *testing.T) {
	tk, _ := NewTokens([]string{"correct-horse-battery-staple"}, nil)
	cases := map[string]State{
		"":                                    Anonymous,
		"Bearer correct-horse-battery-staple": Authenticated,
		"bearer correct-horse-battery-staple": Authenticated,
		"Bearer wrong-token-but-long-enough":  Invalid,
		"Basic dXNlcjpwYXNz":                  Invalid,
	}
	for h, want := range cases {
		r := httptest.NewRequest("POST", "/", nil)
		if h != "" {
			r.Header.Set("Authorization", h)
		}
		if got := tk.Authenticate(r); got != want {
			t.Errorf("%q: %v, want %v", h, got, want)
		}
	}
	var none *Tokens
	if none.Authenticate(httptest.NewRequest("POST", "/", nil)) != Open {
		t.Error("without tokens writes must be open")
	}
}

func TestReadHashesSkipsCommentsAndBlankLines(t *testing.T) {
	got, err := ReadHashes(strings.NewReader("# ops team\n\n" + Hash("x") + "\n  " + Hash("y") + "  \n"))
	if err != nil || len(got) != 2 {
		t.Fatalf("%v %v", got, err)
	}
}
