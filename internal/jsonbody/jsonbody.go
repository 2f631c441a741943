// Package jsonbody holds the rules that the REST and GraphQL transports
// share about a JSON request body: which media types are JSON, how one
// JSON value is decoded, and how a malformed one is described to the
// client.
package jsonbody

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"strings"
)

// IsJSON reports whether the Content-Type header names JSON:
// application/json, or a type of the application/*+json family (RFC 6839:
// application/vnd.api+json, application/graphql+json), with any
// parameters. The legacy /v1 service took the family (its recorded
// exchanges send application/vnd.api+json), and GraphQL takes what REST
// takes.
func IsJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	return mt == "application/json" || (strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"))
}

// ErrTrailingData is Decode's error for a text with more after its value.
var ErrTrailingData = errors.New("unexpected data after the JSON value")

// Decode decodes the one JSON value that r holds into v, numbers as
// json.Number (nothing is rounded before it is validated), and refuses
// anything after the value with ErrTrailingData.
func Decode(r io.Reader, v any) error {
	dec := json.NewDecoder(r)
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return ErrTrailingData
	}
	return nil
}

// Malformed describes err, the error of decoding a JSON text, by the
// position and the kind of the fault only, never with the text (the
// client has it; a log or a proxy that keeps answers need not):
// "malformed at byte 12", "it ends too early", "unexpected data after the
// JSON value". ok is false when err is no fault of the JSON syntax (a read
// error, a limit, a value of the wrong type).
func Malformed(err error) (description string, ok bool) {
	if e, ok := errors.AsType[*json.SyntaxError](err); ok {
		return fmt.Sprintf("malformed at byte %d", e.Offset), true
	}
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "it ends too early", true
	case errors.Is(err, ErrTrailingData):
		return ErrTrailingData.Error(), true
	}
	return "", false
}
