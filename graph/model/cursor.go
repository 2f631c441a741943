package model

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"math"

	"entgo.io/contrib/entgql"
	"github.com/99designs/gqlgen/graphql"
	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

// The Cursor scalar is entgql's cursor, base64 (unpadded) of a msgpack map
// of the row id ("i") and, when the connection is ordered by fields, the
// row's values of those fields ("v", an array). Cursors are not signed: a
// client can send any string, and what entgql's own decoding accepts goes
// into SQL as it is (a map where a time is expected is a driver error on
// PostgreSQL). So input is read strictly here: exactly that shape, "v"
// an array of the scalars order fields hold (integers, floats, strings,
// times), nothing after the map. Whether those values fit the order of the
// query is the resolver's check (graph/cursor.go), as only it knows the
// order.
//
// Output is entgql's own encoding.

// errCursor is the client's view of any cursor refused here; gqlhttp
// presents a Cursor argument's error in words of its own.
var errCursor = errors.New("invalid cursor")

// MarshalCursor writes c as entgql does.
func MarshalCursor(c entgql.Cursor[int]) graphql.Marshaler {
	return c
}

// UnmarshalCursor reads a Cursor strictly (see above). The values of "v"
// come back as int64, float64, string or time.Time.
func UnmarshalCursor(v any) (entgql.Cursor[int], error) {
	s, ok := v.(string)
	if !ok {
		return entgql.Cursor[int]{}, errCursor
	}
	b, err := base64.RawStdEncoding.DecodeString(s)
	if err != nil {
		return entgql.Cursor[int]{}, fmt.Errorf("%w: %v", errCursor, err)
	}
	// A bytes.Reader is read as it is, not through a buffer: what it has
	// left after the map is what follows the cursor.
	in := bytes.NewReader(b)
	r := cursorReader{d: msgpack.NewDecoder(in)}
	c := r.cursor()
	if r.err == nil && in.Len() > 0 {
		r.fail("bytes after the cursor")
	}
	if r.err != nil {
		return entgql.Cursor[int]{}, fmt.Errorf("%w: %v", errCursor, r.err)
	}
	return c, nil
}

// cursorReader decodes a cursor's parts, keeping the first error.
type cursorReader struct {
	d   *msgpack.Decoder
	err error
}

func (r *cursorReader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf(format, args...)
	}
}

func (r *cursorReader) peek() byte {
	if r.err != nil {
		return 0
	}
	c, err := r.d.PeekCode()
	if err != nil {
		r.err = err
	}
	return c
}

func (r *cursorReader) cursor() entgql.Cursor[int] {
	var c entgql.Cursor[int]
	n, err := r.d.DecodeMapLen()
	if err != nil || n < 1 || n > 2 {
		r.fail("not a map of one or two keys (%v)", err)
		return c
	}
	var hasID, hasValue bool
	for range n {
		if !msgpcode.IsString(r.peek()) {
			r.fail("a key that is not a string")
			return c
		}
		key, err := r.d.DecodeString()
		if err != nil {
			r.fail("%v", err)
			return c
		}
		switch {
		case key == "i" && !hasID:
			hasID = true
			c.ID = int(r.integer())
		case key == "v" && !hasValue:
			hasValue = true
			c.Value = r.values()
		default:
			r.fail("key %q", key)
		}
		if r.err != nil {
			return c
		}
	}
	if !hasID {
		r.fail("no id")
	}
	return c
}

// integer reads an integer that int64 holds.
func (r *cursorReader) integer() int64 {
	code := r.peek()
	switch {
	case r.err != nil:
		return 0
	case msgpcode.IsFixedNum(code), code == msgpcode.Int8, code == msgpcode.Int16, code == msgpcode.Int32,
		code == msgpcode.Int64, code == msgpcode.Uint8, code == msgpcode.Uint16, code == msgpcode.Uint32:
		n, err := r.d.DecodeInt64()
		if err != nil {
			r.fail("%v", err)
		}
		return n
	case code == msgpcode.Uint64:
		n, err := r.d.DecodeUint64()
		if err != nil || n > math.MaxInt64 {
			r.fail("an integer beyond int64 (%v)", err)
		}
		return int64(n)
	}
	r.fail("not an integer (code %#x)", code)
	return 0
}

// values reads "v": nil, or an array of scalars.
func (r *cursorReader) values() any {
	if r.peek() == msgpcode.Nil {
		_ = r.d.Skip()
		return nil
	}
	n, err := r.d.DecodeArrayLen()
	if err != nil || n < 0 {
		r.fail("values that are not an array (%v)", err)
		return nil
	}
	// Each value takes a byte at least: a length beyond what is left is
	// refused by the decoding, not allocated.
	vs := make([]any, 0, min(n, 16))
	for range n {
		vs = append(vs, r.scalar())
		if r.err != nil {
			return nil
		}
	}
	return vs
}

// scalar reads one value of an order field.
func (r *cursorReader) scalar() any {
	code := r.peek()
	switch {
	case r.err != nil:
		return nil
	case msgpcode.IsString(code):
		s, err := r.d.DecodeString()
		if err != nil {
			r.fail("%v", err)
		}
		return s
	case code == msgpcode.Float, code == msgpcode.Double:
		f, err := r.d.DecodeFloat64()
		if err != nil {
			r.fail("%v", err)
		}
		return f
	case msgpcode.IsExt(code):
		t, err := r.d.DecodeTime()
		if err != nil {
			r.fail("%v", err)
		}
		return t
	}
	return r.integer()
}
