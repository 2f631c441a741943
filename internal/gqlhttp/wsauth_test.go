package gqlhttp_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket/wsjson"

	"github.com/sprocketapi/sprocket/internal/auth"
	"github.com/sprocketapi/sprocket/internal/gqlhttp"
	"github.com/sprocketapi/sprocket/internal/testdb"
)

// TestWebSocketsAuthenticateInConnectionInit: browsers cannot put a header
// on a WebSocket, so the token travels in connection_init. With protected
// reads a connection without a valid one is refused; with a valid one it
// may run mutations.
func TestWebSocketsAuthenticateInConnectionInit(t *testing.T) {
	const token = "a-long-enough-ws-token"
	tokens, _ := auth.NewTokens([]string{token}, nil)
	opts := gqlhttp.DefaultOptions()
	opts.Tokens, opts.ProtectReads = tokens, true
	e := newEndpoint(t, testdb.Dialects[0], opts)
	init := func(payload string) string {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		conn, _ := dialWS(t, e, "")
		msg := wsMessage{Type: "connection_init"}
		if payload != "" {
			msg.Payload = json.RawMessage(payload)
		}
		if err := wsjson.Write(ctx, conn, msg); err != nil {
			t.Fatal(err)
		}
		var m wsMessage
		if err := wsjson.Read(ctx, conn, &m); err != nil {
			return "closed: " + err.Error()
		}
		if m.Type != "connection_ack" {
			return m.Type
		}
		if err := wsjson.Write(ctx, conn, wsMessage{ID: "1", Type: "subscribe",
			Payload: json.RawMessage(`{"query":"mutation { createSprocket(input: {teeth: 3, pitchDiameter: 1, outsideDiameter: 2, pitch: 1}) { rowId } }"}`)}); err != nil {
			t.Fatal(err)
		}
		m = next(ctx, t, conn)
		return "ack " + m.Type + " " + string(m.Payload)
	}
	if got := init(""); strings.HasPrefix(got, "ack") {
		t.Errorf("a connection without a token was accepted: %s", got)
	}
	if got := init(`{"Authorization": "Bearer wrong-token-but-long"}`); strings.HasPrefix(got, "ack") {
		t.Errorf("a connection with a wrong token was accepted: %s", got)
	}
	if got := init(`{"Authorization": "Bearer ` + token + `"}`); !strings.Contains(got, `"rowId":1`) {
		t.Errorf("with the token: %s", got)
	}
}
