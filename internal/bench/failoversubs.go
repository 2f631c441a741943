package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// subscription is a productionRecorded subscription over server-sent
// events.
type subscription struct {
	mu     sync.Mutex
	epochs []int64
	ended  bool
	code   string // of the error it ended with
	change chan struct{}
}

// subscribe opens a subscription to factory id and waits until the
// server has registered it.
func (r *failoverRun) subscribe(ctx context.Context, id string) (*subscription, error) {
	body, _ := json.Marshal(gqlRequest{Query: `subscription($f: ID!) { productionRecorded(factoryId: $f) { epoch } }`, Variables: map[string]any{"f": id}})
	req, err := r.c.newRequest(ctx, http.MethodPost, "/graphql", body, "application/json")
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/event-stream")
	// Not the writers' client: its deadline would end the stream.
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("subscribing: %w", err)
	}
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		return nil, fmt.Errorf("subscribing: HTTP %d: %s", res.StatusCode, snippet(b))
	}
	s := &subscription{change: make(chan struct{}, 1)}
	go s.read(res.Body)
	if err := r.awaitSubscribed(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// awaitSubscribed waits until the server counts an open subscription (a
// stream opens before its subscription is registered).
func (r *failoverRun) awaitSubscribed(ctx context.Context) error {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		var buf bytes.Buffer
		if _, err := r.c.fetch(ctx, http.MethodGet, "/metrics", nil, "", &buf); err == nil &&
			!bytes.Contains(buf.Bytes(), []byte("\nsprocket_graphql_subscriptions_active 0\n")) &&
			bytes.Contains(buf.Bytes(), []byte("\nsprocket_graphql_subscriptions_active ")) {
			return nil
		}
		if !sleep(ctx, 10*time.Millisecond) {
			return ctx.Err()
		}
	}
	return errors.New("the subscription was not registered within 10 s")
}

func (s *subscription) read(body io.ReadCloser) {
	defer body.Close()
	sc := bufio.NewScanner(body)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		var ev struct {
			Data struct {
				ProductionRecorded *struct{ Epoch int64 }
			}
			Errors gqlErrors
		}
		if json.Unmarshal([]byte(data), &ev) != nil {
			continue
		}
		s.mu.Lock()
		if p := ev.Data.ProductionRecorded; p != nil {
			s.epochs = append(s.epochs, p.Epoch)
		}
		if len(ev.Errors) > 0 {
			s.code, _ = ev.Errors[0].Extensions["code"].(string)
		}
		s.mu.Unlock()
		s.signal()
	}
	s.mu.Lock()
	s.ended = true
	s.mu.Unlock()
	s.signal()
}

func (s *subscription) signal() {
	select {
	case s.change <- struct{}{}:
	default:
	}
}

// outcome waits up to within for the subscription to deliver a point at
// or after time t, or to end.
func (s *subscription) outcome(t int64, within time.Duration) string {
	timer := time.NewTimer(within)
	defer timer.Stop()
	for {
		s.mu.Lock()
		got := t >= 0 && slices.ContainsFunc(s.epochs, func(e int64) bool { return e >= t })
		ended, code := s.ended, s.code
		s.mu.Unlock()
		switch {
		case got:
			return "received"
		case code != "":
			return "ended " + code
		case ended:
			return "ended"
		}
		select {
		case <-s.change:
		case <-timer.C:
			return "silent"
		}
	}
}
