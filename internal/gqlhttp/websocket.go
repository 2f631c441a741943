package gqlhttp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/sprocketapi/sprocket/internal/config"
	"github.com/sprocketapi/sprocket/internal/jsonbody"
)

// The WebSocket budgets' defaults: the numbers are internal/config's.
const (
	// DefaultWSInitTimeout is how long a new WebSocket has to send an
	// accepted connection_init (WS_INIT_TIMEOUT).
	DefaultWSInitTimeout = config.DefaultWSInitTimeout
	// DefaultWSMaxConnections caps the open WebSockets of one server
	// (WS_MAX_CONNECTIONS).
	DefaultWSMaxConnections = config.DefaultWSMaxConnections
	// DefaultWSMaxSubscriptions caps the operations one WebSocket runs at
	// a time (WS_MAX_SUBSCRIPTIONS).
	DefaultWSMaxSubscriptions = config.DefaultWSMaxSubscriptions
)

// The close codes of graphql-transport-ws used here
// (https://github.com/enisdenjo/graphql-ws/blob/master/PROTOCOL.md).
const (
	closeUnauthorized = 4401 // a subscribe before connection_ack
	closeForbidden    = 4403 // "Forbidden"
	closeInitTimeout  = 4408 // "Connection initialisation timeout"
	closeDuplicateID  = 4409 // "Subscriber for <id> already exists"
	closeTooManyInits = 4429 // a second connection_init
)

// transportWS is the subprotocol whose close codes wsConn enforces; the
// older graphql-ws keeps gqlgen's behaviour.
const transportWS = "graphql-transport-ws"

// CodeTooManySubscriptions is the code of the error a subscribe message
// gets when its WebSocket already runs WS_MAX_SUBSCRIPTIONS operations.
const CodeTooManySubscriptions = "TOO_MANY_SUBSCRIPTIONS"

// wsRetryAfter is the Retry-After of a refused upgrade, in seconds.
const wsRetryAfter = 10

// wsSlots counts the open WebSockets of one server against a limit.
type wsSlots struct {
	limit int64
	open  atomic.Int64
}

func (s *wsSlots) acquire() bool {
	if s.open.Add(1) > s.limit {
		s.open.Add(-1)
		return false
	}
	return true
}

func (s *wsSlots) release() { s.open.Add(-1) }

// refuseUpgrade answers an upgrade when every WebSocket slot is taken.
func refuseUpgrade(w http.ResponseWriter, limit int64) {
	w.Header().Set("Retry-After", strconv.Itoa(wsRetryAfter))
	writeRequestError(w, http.StatusServiceUnavailable, mediaJSON, CodeUnavailable,
		fmt.Sprintf("The server has %d WebSockets open, its limit; retry in %d seconds.", limit, wsRetryAfter))
}

// wsImplementation accepts WebSockets with gqlgen's coder/websocket
// adapter and puts the budgets of one connection around each: a deadline
// for connection_init, and a cap on the operations it runs at a time.
type wsImplementation struct {
	transport.WebsocketImplementation
	initTimeout time.Duration
	maxOps      int
	compactor   compactor
	budget      *StreamBudget
}

// Accept implements transport.WebsocketImplementation.
func (i wsImplementation) Accept(w http.ResponseWriter, r *http.Request, o transport.WebsocketAcceptOptions) (transport.WebsocketConn, error) {
	conn, err := i.WebsocketImplementation.Accept(w, r, o)
	if err != nil {
		return nil, err
	}
	c := &wsConn{WebsocketConn: conn, maxOps: i.maxOps, active: map[string]bool{}, compactor: i.compactor,
		budget: i.budget, strict: conn.Subprotocol() == transportWS}
	c.timer = time.AfterFunc(i.initTimeout, c.initExpired)
	return c, nil
}

// wsConn watches the messages of one WebSocket. gqlgen's transport
// reads and writes through it:
//   - until the server writes connection_ack, a timer runs; when it fires
//     the socket is closed with 4408, as graphql-transport-ws specifies
//     (gqlgen's own InitTimeout closes with 1002 and leaves a reader
//     goroutine behind). Without an accepted connection_init, as with
//     PROTECT_READS and no valid token, no socket outlives the deadline.
//   - each subscribe (graphql-ws: start) message takes an operation slot
//     until the server answers its id with complete or error; a subscribe
//     beyond maxOps gets an error message coded TOO_MANY_SUBSCRIPTIONS and
//     does not reach the executor, and one reusing the id of a running
//     operation closes the socket with 4409.
//   - graphql-transport-ws (strict): a second connection_init closes the
//     socket with 4429, a subscribe before connection_ack with 4401, as the
//     protocol asks (gqlgen closes both with 1002).
//   - a subscribe larger than compactAbove is handed on in its compact
//     form (see compactor), so that gqlgen's transport, which keeps the
//     message while the operation runs, keeps only that; while it is
//     compacted it is charged to the streams' memory budget, and refused
//     with an error message (SERVICE_UNAVAILABLE) when that is full.
type wsConn struct {
	transport.WebsocketConn
	maxOps    int
	timer     *time.Timer
	compactor compactor
	budget    *StreamBudget
	strict    bool

	mu       sync.Mutex
	inited   bool
	acked    bool
	timedOut bool
	active   map[string]bool
}

var (
	_ transport.WebsocketReadLimiter   = (*wsConn)(nil)
	_ transport.WebsocketReadDeadliner = (*wsConn)(nil)
)

// errInitTimedOut refuses a write after the init deadline closed the
// socket.
var errInitTimedOut = errors.New("connection initialisation timeout")

func (c *wsConn) initExpired() {
	c.mu.Lock()
	if c.acked {
		c.mu.Unlock()
		return
	}
	c.timedOut = true
	c.mu.Unlock()
	_ = c.WebsocketConn.WriteClose(closeInitTimeout, "Connection initialisation timeout")
}

// wsEnvelope is what wsConn reads of a message.
type wsEnvelope struct {
	ID   string `json:"id"`
	Type string `json:"type"`
}

// NextReader implements transport.WebsocketConn.
func (c *wsConn) NextReader() (int, io.Reader, error) {
	for {
		typ, r, err := c.WebsocketConn.NextReader()
		if err != nil {
			return typ, r, err
		}
		data, err := io.ReadAll(r)
		if err != nil {
			return typ, nil, err
		}
		var m wsEnvelope
		if json.Unmarshal(data, &m) != nil {
			return typ, bytes.NewReader(data), nil // gqlgen answers it
		}
		if c.strict {
			if code, reason := c.protocolViolation(m.Type); code != 0 {
				_ = c.WebsocketConn.WriteClose(code, reason)
				return typ, nil, transport.ErrWebsocketClosed
			}
		}
		if m.Type == "subscribe" || m.Type == "start" {
			c.mu.Lock()
			duplicate, full := c.active[m.ID], len(c.active) >= c.maxOps
			if !duplicate && !full {
				c.active[m.ID] = true
			}
			c.mu.Unlock()
			switch {
			case duplicate:
				_ = c.WebsocketConn.WriteClose(closeDuplicateID, duplicateReason(m.ID))
				return typ, nil, transport.ErrWebsocketClosed
			case full:
				if err := c.refuseOperation(m.ID, tooManyOperations(c.maxOps)); err != nil {
					return typ, nil, err
				}
				continue
			}
			if len(data) > compactAbove {
				release, refusal := c.budget.prepare(int64(len(data)))
				if refusal != nil {
					c.mu.Lock()
					delete(c.active, m.ID)
					c.mu.Unlock()
					if err := c.refuseOperation(m.ID, refusal); err != nil {
						return typ, nil, err
					}
					continue
				}
				data = c.compactMessage(data)
				release()
			}
		}
		return typ, bytes.NewReader(data), nil
	}
}

func tooManyOperations(limit int) *gqlerror.Error {
	return codedError(CodeTooManySubscriptions, fmt.Sprintf(
		"This WebSocket already runs %d operations, its limit: complete one first, or open another connection.", limit))
}

// protocolViolation is the close code and reason of a graphql-transport-ws
// message of type typ that the protocol does not allow at this point, or 0.
func (c *wsConn) protocolViolation(typ string) (int, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch typ {
	case "connection_init":
		if c.inited {
			return closeTooManyInits, "Too many initialisation requests"
		}
		c.inited = true
	case "subscribe":
		if !c.acked {
			return closeUnauthorized, "Unauthorized"
		}
	}
	return 0, ""
}

// compactMessage is the subscribe (or start) message data with its
// operation in compact form; data itself when it cannot be compacted.
func (c *wsConn) compactMessage(data []byte) []byte {
	var m struct {
		ID      string             `json:"id"`
		Type    string             `json:"type"`
		Payload *graphql.RawParams `json:"payload"`
	}
	if jsonbody.Decode(bytes.NewReader(data), &m) != nil || m.Payload == nil || !c.compactor.compact(m.Payload) {
		return data
	}
	out, err := json.Marshal(m)
	if err != nil {
		return data
	}
	return out
}

// refuseOperation answers a subscribe with an error message (both
// protocols name it "error"); the operation never starts.
func (c *wsConn) refuseOperation(id string, e *gqlerror.Error) error {
	payload, err := json.Marshal(gqlerror.List{e})
	if err != nil {
		return err
	}
	return c.WebsocketConn.WriteJSON(struct {
		ID      string          `json:"id"`
		Type    string          `json:"type"`
		Payload json.RawMessage `json:"payload"`
	}{id, "error", payload})
}

// WriteJSON implements transport.WebsocketConn.
func (c *wsConn) WriteJSON(v any) error {
	c.mu.Lock()
	watch := !c.acked || len(c.active) > 0
	c.mu.Unlock()
	if !watch {
		return c.WebsocketConn.WriteJSON(v)
	}
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	// Results, the bulk of the traffic, end with their type: skip them.
	if bytes.HasSuffix(data, []byte(`"type":"next"}`)) || bytes.HasSuffix(data, []byte(`"type":"data"}`)) {
		return c.WebsocketConn.WriteJSON(json.RawMessage(data))
	}
	var m wsEnvelope
	if json.Unmarshal(data, &m) == nil {
		c.mu.Lock()
		switch m.Type {
		case "connection_ack":
			if c.timedOut {
				c.mu.Unlock()
				return errInitTimedOut
			}
			c.acked = true
			c.timer.Stop()
		case "complete", "error":
			delete(c.active, m.ID)
		}
		c.mu.Unlock()
	}
	return c.WebsocketConn.WriteJSON(json.RawMessage(data))
}

// Close implements transport.WebsocketConn.
func (c *wsConn) Close() error {
	c.timer.Stop()
	return c.WebsocketConn.Close()
}

// SetReadLimit implements transport.WebsocketReadLimiter.
func (c *wsConn) SetReadLimit(limit int64) {
	if l, ok := c.WebsocketConn.(transport.WebsocketReadLimiter); ok {
		l.SetReadLimit(limit)
	}
}

// SetReadDeadline implements transport.WebsocketReadDeadliner.
func (c *wsConn) SetReadDeadline(t time.Time) error {
	if d, ok := c.WebsocketConn.(transport.WebsocketReadDeadliner); ok {
		return d.SetReadDeadline(t)
	}
	return nil
}

// duplicateReason is the close reason for a reused id, within the 123
// bytes a close frame allows.
func duplicateReason(id string) string {
	reason := "Subscriber for " + id + " already exists"
	if len(reason) > 123 || !utf8.ValidString(reason) {
		return "Subscriber for this id already exists"
	}
	return reason
}
