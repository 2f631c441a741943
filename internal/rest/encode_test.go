package rest

import (
	"math"
	"testing"
)

func TestSprocketFloatsAreWrittenAsPythonWroteThem(t *testing.T) {
	for f, want := range map[float64]string{
		5:             "5.0",
		0:             "0.0",
		-2.5:          "-2.5",
		0.1:           "0.1",
		123456.789:    "123456.789",
		1e308:         "1e+308",
		1e16:          "1e+16",
		1e15:          "1000000000000000.0",
		0.0001:        "0.0001",
		0.00001:       "1e-05",
		2.5e-7:        "2.5e-07",
		math.MaxInt32: "2147483647.0",
	} {
		if got := string(appendPyFloat(nil, f)); got != want {
			t.Errorf("appendPyFloat(%v) = %q, want %q", f, got, want)
		}
	}
}

func TestDigitValueReadsDigitsOfEveryScript(t *testing.T) {
	for r, want := range map[rune]int{'0': 0, '7': 7, '١': 1, '٩': 9, '७': 7, '𝟘': 0, '𝟡': 9, '𝟬': 0, '𝟵': 9} {
		got, ok := digitValue(r)
		if !ok || got != want {
			t.Errorf("digitValue(%q) = %d, %v; want %d", r, got, ok, want)
		}
	}
	for _, r := range []rune{'a', '-', '.', '½', 'Ⅻ'} {
		if _, ok := digitValue(r); ok {
			t.Errorf("digitValue(%q) accepted a non-digit", r)
		}
	}
}
