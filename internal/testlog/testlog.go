// Package testlog helps tests read what the code under test logs.
package testlog

import (
	"bytes"
	"sync"
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
