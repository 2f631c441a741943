package rest

import (
	"math"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/sprocketapi/sprocket/internal/apperr"
	"github.com/sprocketapi/sprocket/internal/core"
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
	// What the client gets: a 4xx, never a 500, with a message that quotes
	// no more than a bounded part of the input.
	rec := httptest.NewRecorder()
	WriteError(rec, httptest.NewRequest("POST", "/v1/x", nil), err)
	if rec.Code < 400 || rec.Code >= 500 {
		t.Fatalf("refusal answered %d: %s", rec.Code, rec.Body)
	}
	if len(e.Message) > 1000 {
		t.Fatalf("refusal message is %d bytes long", len(e.Message))
	}
}

// extremes are bodies at and beyond the edges of the value domain, huge
// integer literals and names with control characters or invalid UTF-8.
var extremeFactories = []string{
	`{"factory": {"chart_data": {"sprocket_production_actual": [1e308, 1e308], "sprocket_production_goal": [1, 1], "time": [3600, 3601]}}}`,
	`{"factory": {"chart_data": {"sprocket_production_actual": [9007199254740992, -9007199254740992], "sprocket_production_goal": [-9007199254740992, 9007199254740991], "time": [-8640000000000, 8640000000000]}}}`,
	`{"factory": {"chart_data": {"sprocket_production_actual": [1], "sprocket_production_goal": [9007199254740994], "time": [0]}}}`,
	`{"factory": {"chart_data": {"sprocket_production_actual": [1, 2], "sprocket_production_goal": [1, 2], "time": [9223372036854775807, -9223372036854775808]}}}`,
	`{"factory": {"chart_data": {"sprocket_production_actual": [1], "sprocket_production_goal": [1], "time": [8640000000001]}}}`,
	`{"factory": {"chart_data": {"sprocket_production_actual": [1], "sprocket_production_goal": [1], "time": [-8640000000001]}}}`,
	`{"factory": {"chart_data": {"sprocket_production_actual": [1], "sprocket_production_goal": [1], "time": [1e308]}}}`,
	`{"factory": {"chart_data": {"sprocket_production_actual": [1], "sprocket_production_goal": [1], "time": [-1e308]}}}`,
	`{"factory": {"chart_data": {"sprocket_production_actual": [1], "sprocket_production_goal": [1], "time": [123456789012345678901234567890123456789]}}}`,
	`{"factory": {"chart_data": {"sprocket_production_actual": [-0], "sprocket_production_goal": [4.9e-324], "time": [1.5e3]}}}`,
	`{"factory": {"name": "a\u0000b", "chart_data": {"sprocket_production_actual": [], "sprocket_production_goal": [], "time": []}}}`,
	`{"factory": {"name": "tab\there\u001f\u007f\u0085", "chart_data": {"sprocket_production_actual": [], "sprocket_production_goal": [], "time": []}}}`,
	"{\"factory\": {\"name\": \"bad \xff\xfe utf-8\", \"chart_data\": {\"sprocket_production_actual\": [], \"sprocket_production_goal\": [], \"time\": []}}}",
	`{"factory": {"name": "\ud800", "chart_data": {"sprocket_production_actual": [], "sprocket_production_goal": [], "time": []}}}`,
	`{"factory": {"name": "` + strings.Repeat("é", 200) + `", "chart_data": {"sprocket_production_actual": [], "sprocket_production_goal": [], "time": []}}}`,
	`{"factory": {"name": "` + strings.Repeat("é", 201) + `", "chart_data": {"sprocket_production_actual": [], "sprocket_production_goal": [], "time": []}}}`,
	`{"factory": {"chart_data": {"sprocket_production_actual": [2147483648, 1e15], "sprocket_production_goal": [9007199254740991, -1e15], "time": [253402300800, -62135596801]}}}`,
	`{"factory": {"chart_data": {"sprocket_production_actual": [-9007199254740994], "sprocket_production_goal": [1], "time": [1611194818000]}}}`,
	`{"factory": {"chart_data": {"sprocket_production_actual": [1], "sprocket_production_goal": [1], "time": [8.64e12, 8.640000000001e12]}}}`,
}

func FuzzDecodeSprocket(f *testing.F) {
	for _, s := range []string{
		`{"teeth": 20, "pitch_diameter": 10.0, "outside_diameter": 11.0, "pitch": 2.0}`,
		`{"teeth": "7", "pitch_diameter": "4.5", "outside_diameter": "5", "pitch": "1.25"}`,
		`{"teeth": 1e2, "pitch_diameter": 1e-300, "outside_diameter": 1e308, "pitch": 0.5, "id": 3}`,
		`{"teeth": null}`, `[]`, `"abc"`, `{"teeth": 20,`, `{"teeth": 1, "pitch_diameter": NaN}`,
		`{"teeth": 1e308, "pitch_diameter": 1, "outside_diameter": 1, "pitch": 1}`,
		`{"teeth": -1e308, "pitch_diameter": 1, "outside_diameter": 1, "pitch": 1}`,
		`{"teeth": 9223372036854775808, "pitch_diameter": 1, "outside_diameter": 1, "pitch": 1}`,
		`{"teeth": 123456789012345678901234567890, "pitch_diameter": 1, "outside_diameter": 1, "pitch": 1}`,
		`{"teeth": "1e308", "pitch_diameter": "1e309", "outside_diameter": 1, "pitch": 1}`,
		`{"teeth": 2147483647, "pitch_diameter": 1e308, "outside_diameter": 4.9e-324, "pitch": 1, "id": 1e308}`,
		`{"teeth": 1, "pitch_diameter": 1, "outside_diameter": 1, "pitch": 1, "` + strings.Repeat("k", 5000) + `": 1}`,
		`{"teeth": 1, "pitch_diameter": 1, "outside_diameter": 1, "pitch": 1, "a\u0000b": 1}`,
	} {
		f.Add(s, "application/json", 0)
		f.Add(s, "application/json", 3)
	}
	f.Add(`teeth=1`, "application/x-www-form-urlencoded", 0)
	f.Add(`{}`, "text/"+strings.Repeat("x", 5000), 0)
	f.Add(`{}`, "application/json\x00", 0)
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
	for _, s := range extremeFactories {
		f.Add(s, "application/json")
	}
	f.Fuzz(func(t *testing.T, body, ctype string) {
		r := httptest.NewRequest("POST", "/v1/factories", strings.NewReader(body))
		r.Header.Set("Content-Type", ctype)
		in, err := decodeFactory(httptest.NewRecorder(), r)
		if err == nil {
			err = in.Validate() // the core's domain
		}
		if err != nil {
			checkRefusal(t, err)
			return
		}
		// Accepted: everything is inside the value domain, so the write
		// and every read of it can succeed.
		for _, p := range in.Points {
			if math.IsNaN(p.Actual) || math.IsNaN(p.Goal) || math.Abs(p.Actual) > core.MaxValue || math.Abs(p.Goal) > core.MaxValue {
				t.Fatalf("accepted a value outside the domain from %q", body)
			}
			if p.Time < core.MinTime || p.Time > core.MaxTime {
				t.Fatalf("accepted time %d from %q", p.Time, body)
			}
		}
		if !utf8.ValidString(in.Name) || utf8.RuneCountInString(in.Name) > core.MaxNameLength {
			t.Fatalf("accepted name %q", in.Name)
		}
		for _, c := range in.Name {
			if unicode.IsControl(c) {
				t.Fatalf("accepted name %q with a control character", in.Name)
			}
		}
	})
}

// TestExtremeFactoriesAreDecidedByTheCore runs the extreme seeds always
// (not only under -fuzz) and checks the verdicts that matter.
func TestExtremeFactoriesAreDecidedByTheCore(t *testing.T) {
	// 13: a lone surrogate escape is valid JSON; encoding/json reads it
	// as U+FFFD, a valid character.
	accepted := map[int]bool{1: true, 9: true, 13: true, 14: true, 16: true}
	for i, body := range extremeFactories {
		r := httptest.NewRequest("POST", "/v1/factories", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		in, err := decodeFactory(httptest.NewRecorder(), r)
		if err == nil {
			err = in.Validate()
		}
		if accepted[i] {
			if err != nil {
				t.Errorf("seed %d refused: %v", i, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("seed %d accepted: %.80s", i, body)
			continue
		}
		checkRefusal(t, err)
	}
}

func FuzzParseID(f *testing.F) {
	for _, s := range []string{"1", "01", "١", "-1", "1.5", "abc", "99999999999999999999", "𝟗", "",
		"9007199254740991", "9007199254740992", "9223372036854775807", "9223372036854775808", "1e308",
		"1\x00", "a\x00b", "\xff", "٩٩٩٩٩٩٩٩٩٩٩٩٩٩٩٩٩٩٩٩", strings.Repeat("9", 10000)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, ok := parseIDString(s)
		if ok && (id < 0 || id > 1<<53-1 || s == "") {
			t.Fatalf("parseID(%q) = %d", s, id)
		}
		// A refused id is a 404, never a 500: nothing else can happen to it.
	})
}
