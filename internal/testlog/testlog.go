// Package testlog helps tests read what the code under test logs.
package testlog

import (
	"bytes"
	"log/slog"
	"sync"
	"testing"
)

// Buffer collects log output written from many goroutines at once (a
// server's handlers) and reads it back as a whole.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String is everything written so far.
func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Capture sends the default slog logger's records of level and above to a
// Buffer, as text, until the test ends.
func Capture(t testing.TB, level slog.Level) *Buffer {
	t.Helper()
	buf := &Buffer{}
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: level})))
	t.Cleanup(func() { slog.SetDefault(prev) })
	return buf
}
