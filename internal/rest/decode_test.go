package rest

import (
	"testing"

	"github.com/sprocketapi/sprocket/internal/apperr"
)

// TestAMalformedBodyIsDescribedWithoutItsText: the message says where and
// what kind the fault is (jsonbody.Malformed, as GraphQL says it), and
// echoes nothing of the body.
func TestAMalformedBodyIsDescribedWithoutItsText(t *testing.T) {
	for body, want := range map[string]string{
		`{"teeth": x1}`:                "Request body is not valid JSON: malformed at byte 11.",
		`{"teeth": 1,`:                 "Request body is not valid JSON: it ends too early.",
		`{"teeth": 1} x`:               "Request body is not valid JSON: unexpected data after the JSON value.",
		`{"pitch_diameter": Infinity}`: "Request body is not valid JSON: malformed at byte 20.",
	} {
		_, err := parseJSON([]byte(body))
		if e, ok := apperr.As(err); !ok || e.Code != apperr.Invalid || e.Message != want {
			t.Errorf("%s: %v, want %q", body, err, want)
		}
	}
}
