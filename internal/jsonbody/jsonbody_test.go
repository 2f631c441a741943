package jsonbody_test

import (
	"strings"
	"testing"

	"github.com/sprocketapi/sprocket/internal/jsonbody"
)

// TestJSONMediaTypes: application/json and the +json family, whatever
// their parameters; nothing else.
func TestJSONMediaTypes(t *testing.T) {
	for header, want := range map[string]bool{
		"application/json":                  true,
		"application/json; charset=utf-8":   true,
		"Application/JSON":                  true,
		"application/vnd.api+json":          true,
		"application/graphql+json":          true,
		"application/graphql-response+json": true,
		"":                                  false,
		"text/plain":                        false,
		"text/json":                         false,
		"application/jsonx":                 false,
		"application/x-www-form-urlencoded": false,
		"application/graphql":               false,
		"application/json;;":                false,
	} {
		if got := jsonbody.IsJSON(header); got != want {
			t.Errorf("IsJSON(%q) = %v, want %v", header, got, want)
		}
	}
}

// TestMalformedTextsAreDescribedWithoutTheirText: a fault is told by its
// position and kind; no part of the client's text comes back.
func TestMalformedTextsAreDescribedWithoutTheirText(t *testing.T) {
	const secret = "s3cr3t"
	for body, want := range map[string]string{
		`{"a": ` + secret + `}`: "malformed at byte 7",
		`{"a": 1,`:              "it ends too early",
		`{"a": "` + secret:      "it ends too early",
		`{"a": 1} ` + secret:    "unexpected data after the JSON value",
		`{"a": 1} {"b": 2}`:     "unexpected data after the JSON value",
		`{'` + secret + `': 1}`: "malformed at byte 2",
		`[1, 2, NaN]`:           "malformed at byte 8",
	} {
		var v any
		err := jsonbody.Decode(strings.NewReader(body), &v)
		got, ok := jsonbody.Malformed(err)
		if !ok || got != want {
			t.Errorf("%s: %q %v (error %v), want %q", body, got, ok, err, want)
		}
		if strings.Contains(got, secret) {
			t.Errorf("%s: the description shows the text: %q", body, got)
		}
	}
	var v any
	if err := jsonbody.Decode(strings.NewReader(`{"a": [1, 2.50]} `), &v); err != nil {
		t.Errorf("a valid text with trailing space: %v", err)
	}
}
