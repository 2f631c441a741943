package gid

import "testing"

func TestRoundTrip(t *testing.T) {
	for _, id := range []ID{New(Factory, 1), New(Sprocket, 4242), New(Factory, 1<<40)} {
		got, err := Parse(id.String())
		if err != nil || got != id {
			t.Errorf("%v: got %v, %v", id, got, err)
		}
	}
}

func TestParseRefusesWhatIsNotAnID(t *testing.T) {
	for _, s := range []string{"", "1", "Rm9v", New(Factory, 1).String() + "!", "RmFjdG9yeTow" /* Factory:0 */, "RmFjdG9yeTowMQ" /* Factory:01 */, "VXNlcjox" /* User:1 */} {
		if _, err := Parse(s); err == nil {
			t.Errorf("%q was accepted", s)
		}
	}
}
