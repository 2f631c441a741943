package core

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sprocketapi/sprocket/internal/apperr"
	"github.com/sprocketapi/sprocket/internal/testdb"
)

// TestTheBulkLaneKeepsConnectionsForLightWork: with a lane of one, a
// write transaction holding its turn makes a chart read wait, and give
// up at its deadline as SERVICE_UNAVAILABLE; light reads (a sprocket, a
// factory) go on meanwhile, and a chart read inside the holder's own
// transaction does not wait for itself.
func TestTheBulkLaneKeepsConnectionsForLightWork(t *testing.T) {
	testdb.Each(t, func(t *testing.T, d string) {
		s := newService(t, d)
		ctx := context.Background()
		f, err := s.CreateFactory(ctx, FactoryInput{Points: []Point{{Time: 1, Actual: 1, Goal: 1}}})
		if err != nil {
			t.Fatal(err)
		}
		sp, err := s.CreateSprocket(ctx, SprocketInput{Teeth: 5, PitchDiameter: 5, OutsideDiameter: 6, Pitch: 1})
		if err != nil {
			t.Fatal(err)
		}
		s.SetBulkLane(1)
		holding, release := make(chan struct{}), make(chan struct{})
		held := make(chan error, 1)
		go func() {
			held <- s.InTx(ctx, func(ctx context.Context) error {
				// A chart read inside the transaction that holds the
				// turn: it must not wait for itself.
				if _, err := s.Summaries(ctx, []int{f.ID}, Window{}); err != nil {
					return err
				}
				close(holding)
				<-release
				return nil
			})
		}()
		select {
		case <-holding:
		case err := <-held:
			t.Fatalf("the holder failed: %v", err)
		case <-time.After(5 * time.Second):
			t.Fatal("a chart read inside the holder's transaction waited for the lane")
		}
		if used, size := s.lane.held(), cap(s.lane.turns); used != 1 || size != 1 {
			t.Fatalf("lane %d/%d, want 1/1", used, size)
		}
		wait, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		_, err = s.Series(wait, []int{f.ID}, SeriesQuery{Interval: 3600, Aggregate: AggAvg})
		cancel()
		if e, ok := apperr.As(err); !ok || e.Code != apperr.Unavailable || !strings.Contains(e.Message, "busy") {
			t.Fatalf("a chart read while the lane is full: %v, want SERVICE_UNAVAILABLE (busy)", err)
		}
		light, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		if _, err := s.GetSprocket(light, sp.ID); err != nil {
			t.Fatalf("a light read waited for the lane: %v", err)
		}
		if _, err := s.GetFactory(light, f.ID); err != nil {
			t.Fatalf("a light read waited for the lane: %v", err)
		}
		close(release)
		if err := <-held; err != nil {
			t.Fatal(err)
		}
		if _, err := s.Series(ctx, []int{f.ID}, SeriesQuery{Interval: 3600, Aggregate: AggAvg}); err != nil {
			t.Fatalf("after the turn ended: %v", err)
		}
		if used := s.lane.held(); used != 0 {
			t.Fatalf("%d turns still held", used)
		}
	})
}
