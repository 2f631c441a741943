package rest

import (
	"bytes"
	"encoding/json"
	"math"
	"net/http"
	"strconv"

	"github.com/sprocketapi/sprocket/ent"
)

// The /v1 wire format is the legacy service's, byte for byte: compact JSON,
// keys in alphabetical order, a newline at the end, and the three sprocket
// dimensions always written with a decimal point (5.0, never 5). These
// appenders write it directly; encoding/json would sort nothing and drop
// the ".0".

// appendPyFloat appends f as Python's repr writes a float: the shortest
// digits that round-trip, with ".0" on whole numbers and an exponent below
// 1e-4 and from 1e16 on.
func appendPyFloat(b []byte, f float64) []byte {
	if f == 0 {
		if math.Signbit(f) {
			return append(b, "-0.0"...)
		}
		return append(b, "0.0"...)
	}
	// The exponent of the shortest round-tripping digits decides the form.
	e := strconv.AppendFloat(nil, f, 'e', -1, 64)
	exp, _ := strconv.Atoi(string(e[bytes.IndexByte(e, 'e')+1:]))
	if exp < -4 || exp >= 16 {
		return strconv.AppendFloat(b, f, 'e', -1, 64)
	}
	start := len(b)
	b = strconv.AppendFloat(b, f, 'f', -1, 64)
	for _, c := range b[start:] {
		if c == '.' {
			return b
		}
	}
	return append(b, ".0"...)
}

func appendSprocket(b []byte, s *ent.Sprocket) []byte {
	b = append(b, `{"id":`...)
	b = strconv.AppendInt(b, int64(s.ID), 10)
	b = append(b, `,"outside_diameter":`...)
	b = appendPyFloat(b, s.OutsideDiameter)
	b = append(b, `,"pitch":`...)
	b = appendPyFloat(b, s.Pitch)
	b = append(b, `,"pitch_diameter":`...)
	b = appendPyFloat(b, s.PitchDiameter)
	b = append(b, `,"teeth":`...)
	b = strconv.AppendInt(b, int64(s.Teeth), 10)
	return append(b, '}')
}

// appendString appends s as a JSON string.
func appendString(b []byte, s string) []byte {
	q, _ := json.Marshal(s) // a string always marshals
	return append(b, q...)
}

// writeRaw sends a complete JSON body.
func writeRaw(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
