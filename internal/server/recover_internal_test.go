package server

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sprocketapi/sprocket/internal/telemetry"
)

// TestAPanicIsAnsweredWith500JSONAndLogged: a panicking handler gets a
// 500 JSON that says nothing internal, and the panic is logged with its
// stack and request ID.
func TestAPanicIsAnsweredWith500JSONAndLogged(t *testing.T) {
	var logs bytes.Buffer
	prev := slog.Default()
	slog.SetDefault(telemetry.NewLogger(&logs, "text", slog.LevelInfo))
	defer slog.SetDefault(prev)
	h := requestID(recoverer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic("secret detail: password=hunter2")
	})))
	req := httptest.NewRequest("GET", "/v1/sprockets", nil)
	req.Header.Set("X-Request-ID", "req-42")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 500 || rec.Header().Get("Content-Type") != "application/json" || rec.Body.String() != "{\"message\":\"Internal server error.\"}\n" {
		t.Errorf("answer: %d %q %q", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
	}
	for _, want := range []string{"panic serving request", "request_id=req-42", "secret detail", "goroutine"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}
}

func TestEveryAnswerCarriesTheSecurityHeaders(t *testing.T) {
	h := securityHeaders(http.NotFoundHandler())
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/anything", nil))
	for k, v := range map[string]string{
		"X-Content-Type-Options":     "nosniff",
		"X-Frame-Options":            "DENY",
		"Referrer-Policy":            "no-referrer",
		"Cross-Origin-Opener-Policy": "same-origin",
	} {
		if got := rec.Header().Get(k); got != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
}
