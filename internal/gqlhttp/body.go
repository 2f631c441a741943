package gqlhttp

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/sprocketapi/sprocket/internal/apperr"
	"github.com/sprocketapi/sprocket/internal/jsonbody"
)

// streamBody decodes a POST body of at most limit bytes and maxValues JSON
// values (0: no bound), none of them a string longer than maxString,
// as it arrives: the body is never held whole, and
// its values are counted before the decoder sees them, so a body of
// millions of small values is refused after maxValues of them, and the
// decoder's buffer only ever holds one string or number. Members other
// than query, operationName, variables and extensions are skipped, as
// encoding/json would.
func streamBody(w http.ResponseWriter, r *http.Request, limit int64, maxValues, maxString int) (*graphql.RawParams, int, *gqlerror.Error) {
	dec := json.NewDecoder(&countingReader{r: http.MaxBytesReader(w, r.Body, limit), limit: maxValues,
		sc: valueScanner{maxString: maxString}})
	dec.UseNumber()
	params := &graphql.RawParams{}
	err := decodeParams(dec, params)
	if err == nil {
		if _, err = dec.Token(); err == io.EOF {
			return params, 0, nil
		} else if err == nil {
			err = jsonbody.ErrTrailingData
		}
	}
	if tooLarge, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return nil, http.StatusRequestEntityTooLarge, codedError(CodePayloadTooLarge,
			fmt.Sprintf("The request body is larger than the limit of %d bytes.", tooLarge.Limit))
	}
	if errors.Is(err, errTooManyValues) {
		return nil, http.StatusRequestEntityTooLarge, codedError(CodePayloadTooLarge, tooManyValues("body", maxValues))
	}
	if errors.Is(err, errStringTooLong) {
		return nil, http.StatusRequestEntityTooLarge, codedError(CodePayloadTooLarge,
			fmt.Sprintf("The request body holds a string longer than %d bytes.", maxString))
	}
	if e, ok := errors.AsType[*paramsError](err); ok {
		return nil, http.StatusBadRequest, codedError(CodeBadRequest, "The request body is not a GraphQL request: "+e.msg)
	}
	var netErr interface{ Timeout() bool }
	if errors.As(err, &netErr) || errors.Is(err, io.ErrUnexpectedEOF) && r.Context().Err() != nil {
		return nil, http.StatusBadRequest, codedError(CodeBadRequest, "The request body could not be read.")
	}
	return nil, http.StatusBadRequest, codedError(CodeBadRequest, malformedBody(err))
}

// paramsError is a body that is JSON but not a GraphQL request.
type paramsError struct{ msg string }

func (e *paramsError) Error() string { return e.msg }

// maxInputDepth bounds how deep the JSON of a request nests.
const maxInputDepth = 64

// decodeParams reads a GraphQL request object with dec's tokens.
func decodeParams(dec *json.Decoder, p *graphql.RawParams) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok != json.Delim('{') {
		return &paramsError{"it must be a JSON object."}
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key, _ := tok.(string)
		v, err := readJSON(dec, 1)
		if err != nil {
			return err
		}
		// Member names match as encoding/json matches them: the last of
		// the same name wins, whatever the case.
		switch {
		case strings.EqualFold(key, "query"), strings.EqualFold(key, "operationName"):
			s, ok := v.(string)
			if !ok && v != nil {
				return &paramsError{fmt.Sprintf("%s must not be a JSON %s.", apperr.Quote(key), jsonKind(v))}
			}
			if strings.EqualFold(key, "query") {
				p.Query = s
			} else {
				p.OperationName = s
			}
		case strings.EqualFold(key, "variables"), strings.EqualFold(key, "extensions"):
			m, ok := v.(map[string]any)
			if !ok && v != nil {
				return &paramsError{fmt.Sprintf("%s must not be a JSON %s.", apperr.Quote(key), jsonKind(v))}
			}
			if strings.EqualFold(key, "variables") {
				p.Variables = m
			} else {
				p.Extensions = m
			}
		}
	}
	_, err = dec.Token() // the closing brace
	return err
}

// readJSON reads one value with dec's tokens: objects as map[string]any,
// arrays as []any, numbers as json.Number.
func readJSON(dec *json.Decoder, depth int) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return tok, nil
	}
	if depth > maxInputDepth {
		return nil, &paramsError{fmt.Sprintf("it nests deeper than %d.", maxInputDepth)}
	}
	switch d {
	case '{':
		m := map[string]any{}
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return nil, err
			}
			key, _ := tok.(string)
			v, err := readJSON(dec, depth+1)
			if err != nil {
				return nil, err
			}
			m[key] = v
		}
		_, err = dec.Token()
		return m, err
	case '[':
		var list []any
		for dec.More() {
			v, err := readJSON(dec, depth+1)
			if err != nil {
				return nil, err
			}
			list = append(list, v)
		}
		if list == nil {
			list = []any{}
		}
		_, err = dec.Token()
		return list, err
	}
	return nil, &json.SyntaxError{}
}

func jsonKind(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case json.Number:
		return "number"
	case bool:
		return "bool"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return "value"
}

// malformedBody describes a JSON decoding error by position and JSON kind
// only: never with the body's text.
func malformedBody(err error) string {
	if d, ok := jsonbody.Malformed(err); ok {
		return "The request body is not valid JSON: " + d + "."
	}
	return "The request body is not valid JSON."
}
