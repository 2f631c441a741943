package server_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"github.com/sprocketapi/sprocket/internal/testdb"
)

// TestGraphQLTransportWSClosesWithTheProtocolsCodes, through the router: a
// second connection_init closes the socket with 4429 (Too many
// initialisation requests), a subscribe before connection_ack with 4401
// (Unauthorized), as graphql-transport-ws specifies (gqlgen closed both
// with 1002).
func TestGraphQLTransportWSClosesWithTheProtocolsCodes(t *testing.T) {
	s := newLiveServer(t, testdb.Dialects[0], nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	subscribe := wsMsg{ID: "1", Type: "subscribe", Payload: json.RawMessage(`{"query":"{ __typename }"}`)}
	send := func(c *websocket.Conn, ms ...wsMsg) {
		t.Helper()
		for _, m := range ms {
			if err := wsjson.Write(ctx, c, m); err != nil {
				t.Fatal(err)
			}
		}
	}
	closed := func(c *websocket.Conn) websocket.StatusCode {
		t.Helper()
		for {
			if _, _, err := c.Read(ctx); err != nil {
				if ctx.Err() != nil {
					t.Fatal("the socket stayed open")
				}
				return websocket.CloseStatus(err)
			}
		}
	}

	t.Run("a second connection_init", func(t *testing.T) {
		c := s.dialInitialised(ctx)
		send(c, wsMsg{Type: "connection_init"})
		if code := closed(c); code != 4429 {
			t.Errorf("close code %d, want 4429", code)
		}
	})
	t.Run("a subscribe before connection_init", func(t *testing.T) {
		c := s.dial(ctx)
		send(c, subscribe)
		if code := closed(c); code != 4401 {
			t.Errorf("close code %d, want 4401", code)
		}
	})
	t.Run("a subscribe sent right after connection_init", func(t *testing.T) {
		// The server answers connection_init before it reads on, so the
		// subscribe comes after the acknowledgement and runs.
		c := s.dial(ctx)
		send(c, wsMsg{Type: "connection_init"}, subscribe)
		if m := s.nextMessage(ctx, c); m.Type != "connection_ack" {
			t.Fatalf("after connection_init: %+v", m)
		}
		if m := s.nextMessage(ctx, c); m.Type != "next" || !strings.Contains(string(m.Payload), "Query") {
			t.Errorf("the subscribe got %+v", m)
		}
	})
}
