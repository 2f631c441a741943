package database

import (
	"errors"
	"net"
	"os"
	"testing"
	"time"
)

// TestAStalledReadEnds: a connection whose peer never answers gives up on
// a read after the stall limit, instead of waiting for TCP.
func TestAStalledReadEnds(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			defer c.Close()
			time.Sleep(5 * time.Second) // a peer that accepts and says nothing
		}
	}()
	c, err := stallDialer{stall: 200 * time.Millisecond}.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	_, err = c.Read(make([]byte, 1))
	if !errors.Is(err, os.ErrDeadlineExceeded) || time.Since(start) > 2*time.Second {
		t.Errorf("read returned %v after %v", err, time.Since(start))
	}
}
