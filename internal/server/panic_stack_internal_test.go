package server

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sprocketapi/sprocket/internal/testlog"
)

func panickingHandler(http.ResponseWriter, *http.Request) { panic("boom in the handler") }

// TestAPanicIsLoggedWithTheHandlersStack: deadline runs the handler in a
// goroutine of its own and raises its panic again in the request's; the
// recoverer logs the panic's value and the handler's stack, not only the
// middleware's.
func TestAPanicIsLoggedWithTheHandlersStack(t *testing.T) {
	logs := testlog.Capture(t, slog.LevelInfo)
	h := recoverer(deadline(fixed(time.Second))(http.HandlerFunc(panickingHandler)))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/sprockets/1", nil))
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("got %d %s", rec.Code, rec.Body)
	}
	if out := logs.String(); !strings.Contains(out, "boom in the handler") || !strings.Contains(out, "panickingHandler") {
		t.Errorf("the log does not carry the panic and the handler's stack:\n%s", out)
	}
}
