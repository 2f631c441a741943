package rest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/sprocketapi/sprocket/internal/apperr"
	"github.com/sprocketapi/sprocket/internal/jsonbody"
)

// errUnsupportedMedia is answered 415.
var errUnsupportedMedia = errors.New("unsupported media type")

// readJSON checks the content type and reads and parses the whole body as
// one JSON value; numbers stay json.Number so that nothing is rounded
// before validation.
func readJSON(w http.ResponseWriter, r *http.Request) (any, error) {
	if !jsonbody.IsJSON(r.Header.Get("Content-Type")) {
		return nil, errUnsupportedMedia
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, apperr.Errorf(apperr.TooLarge, "Request body is larger than the limit of %d bytes.", tooBig.Limit)
		}
		return nil, apperr.Errorf(apperr.Invalid, "Could not read the request body.")
	}
	return parseJSON(body)
}

// parseJSON parses exactly one JSON value. NaN and Infinity are not JSON
// and are refused here, as is anything after the value.
func parseJSON(body []byte) (any, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, apperr.Errorf(apperr.Invalid, "Request body is empty; send a JSON object.")
	}
	// JSON text is UTF-8 (RFC 8259); encoding/json would quietly turn
	// invalid bytes into U+FFFD and store something the client never sent.
	if !utf8.Valid(body) {
		at := 0
		for at < len(body) {
			r, size := utf8.DecodeRune(body[at:])
			if r == utf8.RuneError && size <= 1 {
				break
			}
			at += size
		}
		return nil, apperr.Errorf(apperr.Invalid, "Request body is not valid UTF-8 (at byte %d).", at)
	}
	var v any
	if err := jsonbody.Decode(bytes.NewReader(body), &v); err != nil {
		if d, ok := jsonbody.Malformed(err); ok {
			return nil, apperr.Errorf(apperr.Invalid, "Request body is not valid JSON: %s.", d)
		}
		return nil, apperr.Errorf(apperr.Invalid, "Request body is not valid JSON.")
	}
	return v, nil
}

// numberFrom reads a JSON number or, when allowString, a string holding one
// (the legacy service took "4.5" for a sprocket's 4.5, so clients may send
// it). It refuses everything else. A number beyond float64 (1e400) comes
// back infinite, with no error: whether a value must be finite, and the
// message that says so, is the core's (core.ValidatePoints,
// SprocketInput.Validate).
func numberFrom(v any, name string, allowString bool) (float64, error) {
	var text string
	switch x := v.(type) {
	case json.Number:
		text = string(x)
	case string:
		if !allowString {
			return 0, apperr.InvalidField(name, "%s must be a number, not a string.", name)
		}
		text = strings.TrimSpace(x)
		if !looksNumeric(text) {
			return 0, apperr.InvalidField(name, "%s must be a number.", name)
		}
	default:
		return 0, apperr.InvalidField(name, "%s must be a number, not %s.", name, kindOf(v))
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return 0, apperr.InvalidField(name, "%s must be a number.", name)
	}
	return f, nil
}

// wholeFrom reads a whole number: a JSON integer, an integral number such
// as 20.0 or 1e20, or a string holding one. A whole number beyond int64
// comes back as math.MinInt64 or math.MaxInt64, with no error: the range
// of each field is the core's to check and to state (a teeth of 1e308 is
// "from 1 to 2147483647", not the int64 range).
func wholeFrom(v any, name string, allowString bool) (int64, error) {
	f, err := numberFrom(v, name, allowString)
	if err != nil {
		if e, ok := apperr.As(err); ok && strings.HasSuffix(e.Message, "must be a number.") {
			e.Message = name + " must be a whole number."
		}
		return 0, err
	}
	text := ""
	switch x := v.(type) {
	case json.Number:
		text = string(x)
	case string:
		text = strings.TrimSpace(x)
	}
	if n, err := strconv.ParseInt(text, 10, 64); err == nil {
		return n, nil
	}
	if f != math.Trunc(f) {
		return 0, apperr.InvalidField(name, "%s must be a whole number.", name)
	}
	// float64(math.MaxInt64) is 2^63, one past the range.
	switch {
	case f >= float64(math.MaxInt64):
		return math.MaxInt64, nil
	case f < float64(math.MinInt64):
		return math.MinInt64, nil
	}
	return int64(f), nil
}

// looksNumeric accepts the decimal forms JSON allows (with an optional
// leading +), so that strconv's extras (inf, nan, hex, underscores) are
// not taken from a string.
func looksNumeric(s string) bool {
	s = strings.TrimPrefix(s, "+")
	if s == "" {
		return false
	}
	return json.Valid([]byte(s)) && (s[0] == '-' || (s[0] >= '0' && s[0] <= '9'))
}

func kindOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}
