package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/sprocketapi/sprocket/internal/testdb"
)

// exchange is one recorded request/answer of the legacy service.
type exchange struct {
	Name            string            `json:"name"`
	Case            string            `json:"case"`
	CheckKind       string            `json:"check_kind"`
	Method          string            `json:"method"`
	Path            string            `json:"path"`
	RequestHeaders  map[string]string `json:"request_headers"`
	Body            json.RawMessage   `json:"body"`
	BodyIsRawText   bool              `json:"body_is_raw_text"`
	NoBody          bool              `json:"no_body"`
	Status          int               `json:"status"`
	ContentType     string            `json:"content_type"`
	Response        json.RawMessage   `json:"response"`
	ResponseIsText  bool              `json:"response_is_text"`
	ResponseHeaders map[string]string `json:"response_headers"`
}

func loadExchanges(t *testing.T) []exchange {
	t.Helper()
	b, err := os.ReadFile("testdata/reference_exchanges.json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Exchanges []exchange `json:"exchanges"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Exchanges) != 191 {
		t.Fatalf("want the 191 recorded exchanges, got %d", len(f.Exchanges))
	}
	return f.Exchanges
}

// requestBody is what the recording sent: nothing, raw text, or the JSON
// of the recorded value.
func (e exchange) requestBody() *string {
	if e.NoBody {
		return nil
	}
	if e.BodyIsRawText {
		var s string
		if err := json.Unmarshal(e.Body, &s); err != nil {
			panic(err)
		}
		return &s
	}
	if string(e.Body) == "null" || len(e.Body) == 0 {
		return nil
	}
	s := string(e.Body)
	return &s
}

var idPath = regexp.MustCompile(`^/v1/(sprockets|factories)/([0-9]+)$`)

// replay follows the legacy ids through our answers. The legacy service
// and this one assign different ids once either refuses a create the other
// accepts (we refuse what the rules let us refuse; PostgreSQL burned
// sequence values on the legacy service's crashes). The recording shows
// each created row's legacy id in the listing that follows the create; our
// 201 answers carry our id. Expected answers are translated through that
// map, and rows we refused are expected to be absent.
type replay struct {
	t       *testing.T
	srv     *testServer
	known   map[string]map[int]bool // legacy ids seen in recorded answers
	pending map[string][]int        // creates awaiting their legacy id: our id, or 0 if refused
	idMap   map[string]map[int]int  // legacy id -> our id
	absent  map[string]map[int]bool // legacy ids of rows we refused to create
	refused map[string]bool         // cases whose main request we refused
	// observe, when set, sees each exchange with the path we sent (gone:
	// the row is one we refused to create) and our answer
	// (TestOpenAPIDescribesEveryLegacyExchange).
	observe func(e exchange, path string, gone bool, got response)
}

func newReplay(t *testing.T, srv *testServer) *replay {
	r := &replay{t: t, srv: srv, pending: map[string][]int{}, refused: map[string]bool{}}
	r.known = map[string]map[int]bool{"sprockets": {}, "factories": {}}
	r.idMap = map[string]map[int]int{"sprockets": {}, "factories": {}}
	r.absent = map[string]map[int]bool{"sprockets": {}, "factories": {}}
	return r
}

func kindOf(path string) string {
	switch {
	case strings.HasPrefix(path, "/v1/sprockets"):
		return "sprockets"
	case strings.HasPrefix(path, "/v1/factories"):
		return "factories"
	}
	return ""
}

// ourPath maps a recorded /v1/<kind>/<legacy id> to ours; a row we refused
// maps to an id that exists nowhere.
func (r *replay) ourPath(path string) (string, bool) {
	m := idPath.FindStringSubmatch(path)
	if m == nil {
		return path, false
	}
	id, err := strconv.Atoi(m[2])
	if err != nil || strconv.Itoa(id) != m[2] {
		return path, false
	}
	if r.absent[m[1]][id] {
		return fmt.Sprintf("/v1/%s/%d", m[1], 987654321), true
	}
	if our, ok := r.idMap[m[1]][id]; ok {
		return fmt.Sprintf("/v1/%s/%d", m[1], our), false
	}
	return path, false
}

// learn records the legacy ids that a recorded answer reveals and hands
// new ones, smallest first, to the creates waiting for theirs.
func (r *replay) learn(e exchange) {
	kind := kindOf(e.Path)
	if kind == "" || e.Method != http.MethodGet || e.Status != http.StatusOK || e.ResponseIsText {
		return
	}
	var ids []int
	var v any
	if err := json.Unmarshal(e.Response, &v); err != nil {
		return
	}
	if obj, ok := v.(map[string]any); ok {
		if list, ok := obj[kind].([]any); ok {
			for _, it := range list {
				ids = append(ids, int(it.(map[string]any)["id"].(float64)))
			}
		} else if id, ok := obj["id"].(float64); ok {
			ids = append(ids, int(id))
		}
	}
	var fresh []int
	for _, id := range ids {
		if !r.known[kind][id] {
			r.known[kind][id] = true
			fresh = append(fresh, id)
		}
	}
	sort.Ints(fresh)
	for _, legacy := range fresh {
		if len(r.pending[kind]) == 0 {
			return
		}
		ours := r.pending[kind][0]
		r.pending[kind] = r.pending[kind][1:]
		if ours == 0 {
			r.absent[kind][legacy] = true
		} else {
			r.idMap[kind][legacy] = ours
		}
	}
}

// translate rewrites a recorded JSON answer into what we must answer: ids
// mapped, rows we refused dropped.
func (r *replay) translate(kind string, v any) any {
	obj, ok := v.(map[string]any)
	if !ok {
		return v
	}
	if list, ok := obj[kind].([]any); ok {
		var out []any
		for _, it := range list {
			row := it.(map[string]any)
			id := int(row["id"].(float64))
			if r.absent[kind][id] {
				continue
			}
			out = append(out, r.translate(kind, row))
		}
		if out == nil {
			out = []any{}
		}
		return map[string]any{kind: out}
	}
	if id, ok := obj["id"].(float64); ok {
		if our, ok := r.idMap[kind][int(id)]; ok {
			cp := map[string]any{}
			for k, v := range obj {
				cp[k] = v
			}
			cp["id"] = float64(our)
			return cp
		}
	}
	return obj
}

// snapshot is the whole observable state, for "a refused write changes
// nothing".
func (r *replay) snapshot() string {
	a := r.srv.do(http.MethodGet, "/v1/sprockets", nil, nil)
	b := r.srv.do(http.MethodGet, "/v1/factories", nil, nil)
	return a.body + b.body
}

func isWrite(method string) bool {
	return method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch || method == http.MethodDelete
}

// TestLegacyReferenceExchanges replays the legacy service's 191 recorded
// exchanges, in order from an empty database, through the real router on
// SQLite and on PostgreSQL, and checks each answer against its rule.
func TestLegacyReferenceExchanges(t *testing.T) {
	exchanges := loadExchanges(t)
	testdb.Each(t, func(t *testing.T, d string) {
		srv := newTestServer(t, d, nil)
		r := newReplay(t, srv)
		counts := map[string]int{}
		for i, e := range exchanges {
			label := fmt.Sprintf("#%d %s (%s %s %s)", i, e.Name, e.CheckKind, e.Method, e.Path)
			r.check(label, e)
			counts[e.CheckKind]++
		}
		t.Logf("replayed %v; refused where the rules allow: %v", counts, sortedKeys(r.refused))
	})
}

func (r *replay) check(label string, e exchange) {
	t := r.t
	t.Helper()
	kind := kindOf(e.Path)
	// A recorded answer can reveal the legacy id of the row its case just
	// created: learn it before translating.
	r.learn(e)
	path, gone := r.ourPath(e.Path)
	followUp := strings.Contains(e.Name, "[")
	var before string
	if isWrite(e.Method) {
		before = r.snapshot()
	}
	got := r.srv.do(e.Method, path, e.RequestHeaders, e.requestBody())
	if r.observe != nil {
		r.observe(e, path, gone, got)
	}

	// Never an HTML page, never a 5xx, and every body we send is JSON.
	if got.status >= 500 {
		t.Errorf("%s: status %d: %s", label, got.status, got.body)
	}
	if got.body != "" {
		if ct := got.header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s: Content-Type %q, want application/json", label, ct)
		}
		if !json.Valid([]byte(got.body)) {
			t.Errorf("%s: body is not JSON: %q", label, got.body)
		}
	}
	// Our refusals of writes change nothing.
	if isWrite(e.Method) && got.status >= 400 {
		if after := r.snapshot(); after != before {
			t.Errorf("%s: refused with %d but the state changed", label, got.status)
		}
	}

	recordedJSON := !e.ResponseIsText
	legacyOK := e.Status < 300
	weRefused := got.status >= 400 && e.Status < 400
	switch {
	case followUp && r.refused[e.Case]:
		// The main request of this case was refused; what the legacy
		// service showed afterwards does not apply. The state check
		// above already proved the refusal changed nothing.
		if got.status != http.StatusOK && got.status != http.StatusNotFound {
			t.Errorf("%s: follow-up of a refused request answered %d", label, got.status)
		}
	case gone:
		// The row exists in the recording but we refused to create it.
		wantMessage(t, label, got, http.StatusNotFound)
	case e.CheckKind == "contract":
		r.contract(label, e, kind, got)
	case e.CheckKind == "loose400":
		wantMessage(t, label, got, http.StatusBadRequest)
	case e.CheckKind == "clean-error":
		switch {
		case e.Status >= 400 && e.Status < 500:
			wantMessage(t, label, got, e.Status)
		case legacyOK && e.Method == http.MethodGet:
			// "still valid JSON": checked above for every answer.
			if got.status != http.StatusOK {
				t.Errorf("%s: status %d, want 200", label, got.status)
			}
		default:
			// The legacy service crashed or stored garbage: a 4xx,
			// normally 400, with a message.
			if got.status < 400 || got.status >= 500 {
				t.Errorf("%s: status %d, want a 4xx (legacy: %d): %s", label, got.status, e.Status, got.body)
			} else {
				wantMessage(t, label, got, got.status)
			}
		}
	case e.CheckKind == "tolerant":
		if weRefused && isWrite(e.Method) {
			if got.status != http.StatusBadRequest && got.status != http.StatusUnprocessableEntity {
				t.Errorf("%s: refused with %d, want 400 or 422", label, got.status)
			}
			wantMessage(t, label, got, got.status)
			r.refused[e.Case] = true
		} else if recordedJSON {
			r.contract(label, e, kind, got)
		}
	default:
		t.Fatalf("%s: unknown check kind %q", label, e.CheckKind)
	}

	// Follow the ids of rows the legacy service created.
	if e.Method == http.MethodPost && e.Status == http.StatusCreated && kind != "" {
		our := 0
		if got.status == http.StatusCreated {
			var created struct {
				ID      int    `json:"id"`
				Message string `json:"message"`
			}
			if err := json.Unmarshal([]byte(got.body), &created); err != nil || created.ID == 0 {
				t.Errorf("%s: 201 without the new id: %q", label, got.body)
			}
			if loc := got.header.Get("Location"); loc != fmt.Sprintf("/v1/%s/%d", kind, created.ID) {
				t.Errorf("%s: Location %q, want /v1/%s/%d", label, loc, kind, created.ID)
			}
			our = created.ID
		}
		r.pending[kind] = append(r.pending[kind], our)
	}
}

// contract: the same status and the same JSON (numbers by value, key order
// and list order free), ids translated; the recorded CORS and Allow
// headers.
func (r *replay) contract(label string, e exchange, kind string, got response) {
	t := r.t
	t.Helper()
	if got.status != e.Status {
		t.Errorf("%s: status %d, want %d: %s", label, got.status, e.Status, got.body)
		return
	}
	if e.ResponseIsText {
		var want string
		_ = json.Unmarshal(e.Response, &want)
		if got.body != want {
			t.Errorf("%s: body %q, want %q", label, got.body, want)
		}
	} else {
		var want, have any
		_ = json.Unmarshal(e.Response, &want)
		if err := json.Unmarshal([]byte(got.body), &have); err != nil {
			t.Errorf("%s: body is not JSON: %q", label, got.body)
			return
		}
		want = r.translate(kind, want)
		if e.Status == http.StatusCreated {
			// We add the new row's id to the legacy message.
			delete(have.(map[string]any), "id")
		}
		if !equalJSON(want, have) {
			t.Errorf("%s:\n got %s\nwant %s", label, got.body, mustJSON(want))
		}
		if list, ok := have.(map[string]any)[kind].([]any); ok && !idsAscending(list) {
			t.Errorf("%s: list is not ordered by id: %s", label, got.body)
		}
		if e.Method == http.MethodGet && got.body != "" && !strings.HasSuffix(got.body, "}\n") {
			t.Errorf("%s: body does not end with a newline as the legacy one did", label)
		}
	}
	for k, want := range e.ResponseHeaders {
		have := got.header.Get(k)
		switch k {
		case "Allow":
			if !sameSet(have, want) {
				t.Errorf("%s: Allow %q, want the methods %q", label, have, want)
			}
		case "Access-Control-Allow-Methods":
			if m := e.RequestHeaders["Access-Control-Request-Method"]; !strings.Contains(have, m) {
				t.Errorf("%s: %s %q does not allow %s", label, k, have, m)
			}
		case "Vary":
			if !strings.Contains(strings.Join(got.header.Values("Vary"), ","), want) {
				t.Errorf("%s: Vary %q, want it to name %s", label, got.header.Values("Vary"), want)
			}
		default:
			if have != want {
				t.Errorf("%s: header %s %q, want %q", label, k, have, want)
			}
		}
	}
	if _, ok := e.ResponseHeaders["Access-Control-Allow-Origin"]; !ok {
		if have := got.header.Get("Access-Control-Allow-Origin"); have != "" {
			t.Errorf("%s: Access-Control-Allow-Origin %q for an origin that is not allowed", label, have)
		}
	}
}

// wantMessage checks a {"message": "..."} answer with the status.
func wantMessage(t *testing.T, label string, got response, status int) {
	t.Helper()
	if got.status != status {
		t.Errorf("%s: status %d, want %d: %s", label, got.status, status, got.body)
		return
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(got.body), &m); err != nil {
		t.Errorf("%s: body is not a JSON object: %q", label, got.body)
		return
	}
	if msg, ok := m["message"].(string); !ok || msg == "" {
		t.Errorf("%s: no message in %q", label, got.body)
	}
}

// equalJSON compares decoded JSON with lists as multisets.
func equalJSON(a, b any) bool {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			if !equalJSON(v, y[k]) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		// Chart columns keep their order; lists of rows are free.
		if len(x) > 0 {
			if _, rows := x[0].(map[string]any); !rows {
				return reflect.DeepEqual(x, y)
			}
		}
		used := make([]bool, len(y))
	outer:
		for _, v := range x {
			for j, w := range y {
				if !used[j] && equalJSON(v, w) {
					used[j] = true
					continue outer
				}
			}
			return false
		}
		return true
	}
	return reflect.DeepEqual(a, b)
}

func idsAscending(list []any) bool {
	prev := -1.0
	for _, it := range list {
		id := it.(map[string]any)["id"].(float64)
		if id <= prev {
			return false
		}
		prev = id
	}
	return true
}

func sameSet(a, b string) bool {
	split := func(s string) []string {
		var out []string
		for _, p := range strings.Split(s, ",") {
			out = append(out, strings.TrimSpace(p))
		}
		sort.Strings(out)
		return out
	}
	return reflect.DeepEqual(split(a), split(b))
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func sortedKeys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
