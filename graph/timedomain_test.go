package graph

import (
	"testing"

	"github.com/sprocketapi/sprocket/graph/model"
	"github.com/sprocketapi/sprocket/internal/core"
)

// TestTheTimeScalarIsTheCoresTimeDomain: every second of the core's time
// domain is a Time the scalar writes and reads back, and the seconds just
// outside it are refused, so that every Time the API serves is one its
// input accepts and no Time it accepts is refused by the core.
func TestTheTimeScalarIsTheCoresTimeDomain(t *testing.T) {
	for _, sec := range []int64{core.MinTime, core.MinTime + 1, -62167219201, -62167219200, -62135596801, -62135596800,
		0, 253402300799, 253402300800, 1611194818000, core.MaxTime - 1, core.MaxTime} {
		text := model.FormatTime(epochTime(sec))
		back, err := model.UnmarshalTime(text)
		if err != nil || back.Unix() != sec {
			t.Errorf("%d is served as %q, which reads back as %d, %v", sec, text, back.Unix(), err)
		}
		if err := core.CheckTime("time", back.Unix()); err != nil {
			t.Errorf("%q: %v", text, err)
		}
	}
	if got := model.FormatTime(epochTime(core.MinTime)); got != core.MinTimeText {
		t.Errorf("MinTime is served as %q, the core says %q", got, core.MinTimeText)
	}
	if got := model.FormatTime(epochTime(core.MaxTime)); got != core.MaxTimeText {
		t.Errorf("MaxTime is served as %q, the core says %q", got, core.MaxTimeText)
	}
	for _, sec := range []int64{core.MinTime - 1, core.MaxTime + 1} {
		text := model.FormatTime(epochTime(sec))
		if _, err := model.UnmarshalTime(text); err == nil {
			t.Errorf("%q (%d, outside the core's domain) is accepted", text, sec)
		}
	}
	// A window to the end of the domain: `to` rounds up to one past
	// MaxTime, which the core takes as the exclusive end.
	from, err := model.UnmarshalTime(core.MinTimeText)
	if err != nil {
		t.Fatal(err)
	}
	to, err := model.UnmarshalTime("+275760-09-13T00:00:00.5Z")
	if err != nil {
		t.Fatal(err)
	}
	w := window(&from, &to)
	if *w.From != core.MinTime || *w.To != core.MaxTime+1 {
		t.Errorf("window [%d, %d)", *w.From, *w.To)
	}
	if _, err := core.SeriesArgs(w, nil, ptr(core.MaxInterval), core.AggSum); err != nil {
		t.Errorf("the widest series is refused: %v", err)
	}
}

func ptr[T any](v T) *T { return &v }
