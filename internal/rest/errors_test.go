package rest

import (
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sprocketapi/sprocket/internal/core"
	"github.com/sprocketapi/sprocket/internal/testlog"
)

// TestStoredDataOutOfRangeIs422AndLogged: stored data that cannot be
// aggregated is answered 422 with the core's message (no Retry-After:
// retrying does not help), and logged at WARN with its cause, as GraphQL
// logs it.
func TestStoredDataOutOfRangeIs422AndLogged(t *testing.T) {
	logs := testlog.Capture(t, slog.LevelInfo)
	err := core.DataOutOfRangeError(errors.New("pq: value out of range: overflow"))
	rec := httptest.NewRecorder()
	WriteError(rec, httptest.NewRequest(http.MethodGet, "/v1/factories/2", nil), err)
	if rec.Code != http.StatusUnprocessableEntity || rec.Header().Get("Retry-After") != "" ||
		!strings.Contains(rec.Body.String(), err.Message) || strings.Contains(rec.Body.String(), "overflow") {
		t.Errorf("got %d %v %s", rec.Code, rec.Header(), rec.Body)
	}
	if out := logs.String(); !strings.Contains(out, "level=WARN") || !strings.Contains(out, "overflow") {
		t.Errorf("not logged at WARN with its cause: %q", out)
	}
}
