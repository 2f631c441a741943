package rest

import (
	"math"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sprocketapi/sprocket/internal/apperr"
)

// The fuzz targets feed the /v1 decoders arbitrary bodies and content
// types. Whatever comes in, a decoder either returns an input the core
// accepts or an application error that maps to a 4xx; it never panics.
// Seeds live in testdata/fuzz; run longer locally with
//
//	go test -run '^$' -fuzz FuzzDecodeFactory -fuzztime 5m ./internal/rest

func checkRefusal(t *testing.T, err error) {
	t.Helper()
	if err == errUnsupportedMedia {
		return
	}
	e, ok := apperr.As(err)
	if !ok || (e.Code != apperr.Invalid && e.Code != apperr.TooLarge) || e.Message == "" {
		t.Fatalf("refusal is not a client error: %#v", err)
	}
}

func FuzzDecodeSprocket(f *testing.F) {
	for _, s := range []string{
		`{"teeth": 20, "pitch_diameter": 10.0, "outside_diameter": 11.0, "pitch": 2.0}`,
		`{"teeth": "7", "pitch_diameter": "4.5", "outside_diameter": "5", "pitch": "1.25"}`,
		`{"teeth": 1e2, "pitch_diameter": 1e-300, "outside_diameter": 1e308, "pitch": 0.5, "id": 3}`,
		`{"teeth": null}`, `[]`, `"abc"`, `{"teeth": 20,`, `{"teeth": 1, "pitch_diameter": NaN}`,
	} {
		f.Add(s, "application/json", 0)
		f.Add(s, "application/json", 3)
	}
	f.Add(`teeth=1`, "application/x-www-form-urlencoded", 0)
	f.Fuzz(func(t *testing.T, body, ctype string, id int) {
		if id < 0 {
			id = -id
		}
		r := httptest.NewRequest("POST", "/v1/sprockets", strings.NewReader(body))
		r.Header.Set("Content-Type", ctype)
		in, err := decodeSprocket(httptest.NewRecorder(), r, id)
		if err == nil {
			err = in.Validate() // the core's ranges
		}
		if err != nil {
			checkRefusal(t, err)
			return
		}
		if in.Teeth < 1 || in.Teeth > math.MaxInt32 {
			t.Fatalf("decoded teeth %d out of range from %q", in.Teeth, body)
		}
		for _, v := range []float64{in.PitchDiameter, in.OutsideDiameter, in.Pitch} {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("decoded a non-finite value from %q", body)
			}
		}
	})
}

func FuzzDecodeFactory(f *testing.F) {
	for _, s := range []string{
		`{"factory": {"chart_data": {"sprocket_production_actual": [32, 29], "sprocket_production_goal": [32, 30], "time": [1611194818, 1611194878]}}}`,
		`{"factory": {"name": "Plant 9", "chart_data": {"sprocket_production_actual": [1.5, 2.0, 3], "sprocket_production_goal": [2, 2.5, 3.0], "time": [1611194818000, 1611194878000, 1611194938000]}}}`,
		`{"factory": {"chart_data": {"sprocket_production_actual": [0, -1, 2147483648], "sprocket_production_goal": [-5, 0, 9007199254740991], "time": [-1, 0, 1]}}}`,
		`{"factory": {"chart_data": {"sprocket_production_actual": ["a", null], "sprocket_production_goal": [1, {"x": 1}], "time": [[1], true]}}}`,
		`{"factory": {"chart_data": {"sprocket_production_actual": [1e999], "sprocket_production_goal": [1], "time": [9223372036854775808]}}}`,
		`{"factory": null}`, `{}`, `null`, `{"factory": {"chart_data": [1, 2, 3]}}`,
	} {
		f.Add(s, "application/json")
	}
	f.Fuzz(func(t *testing.T, body, ctype string) {
		r := httptest.NewRequest("POST", "/v1/factories", strings.NewReader(body))
		r.Header.Set("Content-Type", ctype)
		in, err := decodeFactory(httptest.NewRecorder(), r)
		if err != nil {
			checkRefusal(t, err)
			return
		}
		for _, p := range in.Points {
			if math.IsNaN(p.Actual) || math.IsInf(p.Actual, 0) || math.IsNaN(p.Goal) || math.IsInf(p.Goal, 0) {
				t.Fatalf("decoded a non-finite value from %q", body)
			}
		}
	})
}

func FuzzParseID(f *testing.F) {
	for _, s := range []string{"1", "01", "١", "-1", "1.5", "abc", "99999999999999999999", "𝟗", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, ok := parseIDString(s)
		if ok && (id < 0 || s == "") {
			t.Fatalf("parseID(%q) = %d", s, id)
		}
	})
}
