package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/sprocketapi/sprocket/internal/testdb"
)

const goodSprocket = `{"teeth": 20, "pitch_diameter": 10.0, "outside_diameter": 11.0, "pitch": 2.0}`

func factoryBody(actual, goal, times string) string {
	return fmt.Sprintf(`{"factory": {"chart_data": {"sprocket_production_actual": %s, "sprocket_production_goal": %s, "time": %s}}}`, actual, goal, times)
}

// TestBadInputIsRefusedWithAClearMessageAndChangesNothing covers inputs
// beyond the recorded scenario: each gets a JSON message with its 4xx and
// leaves the database as it was.
func TestBadInputIsRefusedWithAClearMessageAndChangesNothing(t *testing.T) {
	big := `{"teeth": 1, "pitch_diameter": 1, "outside_diameter": 1, "pitch": 1, "pad": "` + strings.Repeat("x", 5000) + `"}`
	cases := []struct {
		name, method, path, ctype, body string
		status                          int
		message                         string // a part of the message
	}{
		{"NaN in a sprocket", "POST", "/v1/sprockets", "application/json", `{"teeth": 1, "pitch_diameter": NaN, "outside_diameter": 1, "pitch": 1}`, 400, "not valid JSON"},
		{"Infinity in a sprocket", "POST", "/v1/sprockets", "application/json", `{"teeth": 1, "pitch_diameter": Infinity, "outside_diameter": 1, "pitch": 1}`, 400, "not valid JSON"},
		{"a number beyond float64", "POST", "/v1/sprockets", "application/json", `{"teeth": 1, "pitch_diameter": 1e400, "outside_diameter": 1, "pitch": 1}`, 400, "pitch_diameter must be a finite number greater than 0"},
		{"the string NaN", "POST", "/v1/sprockets", "application/json", `{"teeth": 1, "pitch_diameter": "NaN", "outside_diameter": 1, "pitch": 1}`, 400, "pitch_diameter must be a number"},
		{"teeth beyond int32", "POST", "/v1/sprockets", "application/json", `{"teeth": 2147483648, "pitch_diameter": 1, "outside_diameter": 1, "pitch": 1}`, 400, "teeth must be a whole number from 1 to 2147483647"},
		{"fractional teeth", "POST", "/v1/sprockets", "application/json", `{"teeth": 20.5, "pitch_diameter": 1, "outside_diameter": 1, "pitch": 1}`, 400, "teeth must be a whole number"},
		{"a boolean for teeth", "POST", "/v1/sprockets", "application/json", `{"teeth": true, "pitch_diameter": 1, "outside_diameter": 1, "pitch": 1}`, 400, "teeth must be a number, not a boolean"},
		{"a negative pitch", "POST", "/v1/sprockets", "application/json", `{"teeth": 1, "pitch_diameter": 1, "outside_diameter": 1, "pitch": -1}`, 400, "pitch must be a finite number greater than 0"},
		{"an unknown field on create", "POST", "/v1/sprockets", "application/json", `{"teeth": 1, "pitch_diameter": 1, "outside_diameter": 1, "pitch": 1, "color": "red"}`, 400, `Unknown field: "color"`},
		{"an id on create", "POST", "/v1/sprockets", "application/json", `{"teeth": 1, "pitch_diameter": 1, "outside_diameter": 1, "pitch": 1, "id": 9}`, 400, "id cannot be set"},
		{"trailing data", "POST", "/v1/sprockets", "application/json", goodSprocket + ` {}`, 400, "unexpected data after the JSON value"},
		{"an empty body", "POST", "/v1/sprockets", "application/json", ``, 400, "Request body is empty"},
		{"text/plain", "POST", "/v1/sprockets", "text/plain", goodSprocket, 415, "Content-Type must be application/json"},
		{"a form", "POST", "/v1/factories", "application/x-www-form-urlencoded", "a=1", 415, "Content-Type must be application/json"},
		{"a body over the limit", "POST", "/v1/sprockets", "application/json", big, 413, "larger than the limit of 4096 bytes"},
		{"a PUT changing the id", "PUT", "/v1/sprockets/1", "application/json", `{"teeth": 1, "pitch_diameter": 1, "outside_diameter": 1, "pitch": 1, "id": 2}`, 400, "cannot be changed"},
		{"a PUT with a string id", "PUT", "/v1/sprockets/1", "application/json", `{"teeth": 1, "pitch_diameter": 1, "outside_diameter": 1, "pitch": 1, "id": "x"}`, 400, "cannot be changed"},
		{"a PUT with text/plain", "PUT", "/v1/sprockets/1", "text/plain", goodSprocket, 415, "Content-Type"},
		{"a PUT with zero teeth", "PUT", "/v1/sprockets/1", "application/json", `{"teeth": 0, "pitch_diameter": 1, "outside_diameter": 1, "pitch": 1}`, 400, "teeth must be a whole number from 1"},
		{"a repeated time", "POST", "/v1/factories", "application/json", factoryBody("[1,2,3]", "[1,2,3]", "[10,20,10]"), 400, "Time values must be unique: 10 appears at positions 0 and 2"},
		{"a fractional time", "POST", "/v1/factories", "application/json", factoryBody("[1]", "[1]", "[1.5]"), 400, "time[0] must be a whole number"},
		{"a time beyond int64", "POST", "/v1/factories", "application/json", factoryBody("[1]", "[1]", "[9223372036854775808]"), 400, "factory.chart_data.time[0] must be from -8640000000000 (-271821-04-20T00:00:00Z) to 8640000000000 (+275760-09-13T00:00:00Z)"},
		{"a string in a column", "POST", "/v1/factories", "application/json", factoryBody(`["5"]`, "[1]", "[1]"), 400, "sprocket_production_actual[0] must be a number, not a string"},
		{"null in a column", "POST", "/v1/factories", "application/json", factoryBody(`[1]`, "[null]", "[1]"), 400, "sprocket_production_goal[0] must be a number, not null"},
		{"a huge value in a column", "POST", "/v1/factories", "application/json", factoryBody(`[1e999]`, "[1]", "[1]"), 400, "factory.chart_data.sprocket_production_actual[0] must be a finite number."},
		{"a column that is not an array", "POST", "/v1/factories", "application/json", factoryBody(`"abc"`, `"def"`, `"ghi"`), 400, "must be an array"},
		{"a name that is not a string", "POST", "/v1/factories", "application/json", `{"factory": {"name": 5, "chart_data": {"sprocket_production_actual": [], "sprocket_production_goal": [], "time": []}}}`, 400, "factory.name must be a string"},
		{"a name too long", "POST", "/v1/factories", "application/json", `{"factory": {"name": "` + strings.Repeat("n", 201) + `", "chart_data": {"sprocket_production_actual": [], "sprocket_production_goal": [], "time": []}}}`, 400, "at most 200 characters"},
	}
	testdb.Each(t, func(t *testing.T, d string) {
		srv := newTestServer(t, d, map[string]string{"MAX_BODY_BYTES": "4096"})
		if got := srv.do("POST", "/v1/sprockets", jsonHeaders(), ptr(goodSprocket)); got.status != 201 {
			t.Fatalf("setup: %d %s", got.status, got.body)
		}
		if got := srv.do("POST", "/v1/factories", jsonHeaders(), ptr(factoryBody("[1]", "[2]", "[3]"))); got.status != 201 {
			t.Fatalf("setup: %d %s", got.status, got.body)
		}
		state := func() string {
			return srv.do("GET", "/v1/sprockets", nil, nil).body + srv.do("GET", "/v1/factories", nil, nil).body
		}
		before := state()
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				got := srv.do(c.method, c.path, map[string]string{"Content-Type": c.ctype}, ptr(c.body))
				if got.status != c.status {
					t.Fatalf("status %d, want %d: %s", got.status, c.status, got.body)
				}
				var m struct{ Message string }
				if err := json.Unmarshal([]byte(got.body), &m); err != nil || got.header.Get("Content-Type") != "application/json" {
					t.Fatalf("not a JSON message: %q (%v)", got.body, err)
				}
				if !strings.Contains(m.Message, c.message) {
					t.Errorf("message %q does not say %q", m.Message, c.message)
				}
				if after := state(); after != before {
					t.Errorf("the refused request changed the state")
				}
			})
		}
	})
}

// TestRoutingErrorsAreJSON: unknown routes, wrong methods (with Allow) and
// malformed ids answer JSON, never an HTML page.
func TestRoutingErrorsAreJSON(t *testing.T) {
	srv := newTestServer(t, testdb.Dialects[0], nil)
	cases := []struct {
		method, path string
		status       int
		allow        string
	}{
		{"GET", "/v1/unknown", 404, ""},
		{"GET", "/V1/sprockets", 404, ""},
		{"GET", "/v1/sprockets/abc", 404, ""},
		{"GET", "/v1/sprockets/-1", 404, ""},
		{"GET", "/v1/sprockets/1.5", 404, ""},
		{"GET", "/v1/factories/99999999999999999999999", 404, ""},
		{"DELETE", "/v1/sprockets/1", 405, "GET, HEAD, OPTIONS, PUT"},
		{"PATCH", "/v1/sprockets", 405, "GET, HEAD, OPTIONS, POST"},
		{"PUT", "/v1/factories/1", 405, "GET, HEAD, OPTIONS"},
		{"OPTIONS", "/v1/nowhere", 404, ""},
	}
	for _, c := range cases {
		got := srv.do(c.method, c.path, nil, nil)
		if got.status != c.status || got.header.Get("Content-Type") != "application/json" || !json.Valid([]byte(got.body)) {
			t.Errorf("%s %s: %d %q %q, want %d JSON", c.method, c.path, got.status, got.header.Get("Content-Type"), got.body, c.status)
		}
		if got.header.Get("Allow") != c.allow {
			t.Errorf("%s %s: Allow %q, want %q", c.method, c.path, got.header.Get("Allow"), c.allow)
		}
	}
}

// TestCreatedAnswersCarryTheIDAndLocation and lists come back ordered by
// id, with the dimensions always written with a decimal point.
func TestCreatedAnswersCarryTheIDAndLocation(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d string) {
		srv := newTestServer(t, d, nil)
		for i := 1; i <= 3; i++ {
			got := srv.do("POST", "/v1/sprockets", jsonHeaders(), ptr(fmt.Sprintf(`{"teeth": %d, "pitch_diameter": 5, "outside_diameter": 6, "pitch": 1e16}`, i)))
			want := fmt.Sprintf(`{"id":%d,"message":"Sprocket created"}`+"\n", i)
			if got.status != http.StatusCreated || got.body != want || got.header.Get("Location") != fmt.Sprintf("/v1/sprockets/%d", i) {
				t.Fatalf("create %d: %d %q Location %q", i, got.status, got.body, got.header.Get("Location"))
			}
		}
		got := srv.do("PUT", "/v1/sprockets/2", jsonHeaders(), ptr(`{"teeth": 9, "pitch_diameter": 0.00001, "outside_diameter": 6, "pitch": 2}`))
		if got.status != 200 {
			t.Fatalf("update: %d %s", got.status, got.body)
		}
		got = srv.do("GET", "/v1/sprockets", nil, nil)
		want := `{"sprockets":[` +
			`{"id":1,"outside_diameter":6.0,"pitch":1e+16,"pitch_diameter":5.0,"teeth":1},` +
			`{"id":2,"outside_diameter":6.0,"pitch":2.0,"pitch_diameter":1e-05,"teeth":9},` +
			`{"id":3,"outside_diameter":6.0,"pitch":1e+16,"pitch_diameter":5.0,"teeth":3}]}` + "\n"
		if got.body != want {
			t.Errorf("list:\n got %s\nwant %s", got.body, want)
		}
		got = srv.do("POST", "/v1/factories", jsonHeaders(), ptr(`{"factory": {"name": "Plant 9", "chart_data": {"sprocket_production_actual": [1.5, 2], "sprocket_production_goal": [3, 4], "time": [20, 10]}}}`))
		if got.status != 201 || got.header.Get("Location") != "/v1/factories/1" || got.body != `{"id":1,"message":"Factory created"}`+"\n" {
			t.Fatalf("create factory: %d %q %q", got.status, got.body, got.header.Get("Location"))
		}
		// Points come back ordered by time.
		got = srv.do("GET", "/v1/factories/1", nil, nil)
		if want := `{"chart_data":{"sprocket_production_actual":[2,1.5],"sprocket_production_goal":[4,3],"time":[10,20]},"id":1}` + "\n"; got.body != want {
			t.Errorf("factory:\n got %s\nwant %s", got.body, want)
		}
	})
}

// TestCORSOriginsAreConfigurable: only configured origins are answered.
func TestCORSOriginsAreConfigurable(t *testing.T) {
	srv := newTestServer(t, testdb.Dialects[0], map[string]string{"CORS_ORIGINS": "https://dash.example.com"})
	for origin, want := range map[string]string{
		"https://dash.example.com": "https://dash.example.com",
		"http://localhost:3000":    "",
		"":                         "https://dash.example.com",
	} {
		h := map[string]string{}
		if origin != "" {
			h["Origin"] = origin
		}
		got := srv.do("GET", "/v1/sprockets", h, nil)
		if got.header.Get("Access-Control-Allow-Origin") != want {
			t.Errorf("Origin %q: Access-Control-Allow-Origin %q, want %q", origin, got.header.Get("Access-Control-Allow-Origin"), want)
		}
	}
	pre := srv.do("OPTIONS", "/v1/sprockets", map[string]string{
		"Origin": "https://dash.example.com", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type, authorization",
	}, nil)
	if pre.status != 200 || pre.header.Get("Access-Control-Allow-Headers") != "content-type, authorization" ||
		!strings.Contains(pre.header.Get("Access-Control-Allow-Methods"), "POST") {
		t.Errorf("preflight: %d %v", pre.status, pre.header)
	}
}
