// Package gid implements the opaque Relay global IDs of the GraphQL API:
// base64url("Type:rowId"). Clients treat them as strings; rowId fields
// carry the /v1 ids.
package gid

import (
	"encoding/base64"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/sprocketapi/sprocket/internal/apperr"
)

// The node types.
const (
	Factory  = "Factory"
	Sprocket = "Sprocket"
)

// ID is a global ID: the type of a node and its row id.
type ID struct {
	Type  string
	RowID int
}

// New returns the global ID of row id of type typ.
func New(typ string, id int) ID { return ID{Type: typ, RowID: id} }

// String returns the encoded form.
func (id ID) String() string {
	return base64.RawURLEncoding.EncodeToString([]byte(id.Type + ":" + strconv.Itoa(id.RowID)))
}

// maxEncoded is the longest encoded ID Parse decodes (with padding).
const maxEncoded = 64

// Parse decodes an encoded global ID of a known type.
func Parse(s string) (ID, error) {
	// "Sprocket:" and the largest int come to 40 characters; a longer
	// string is not decoded (a megabyte of id would be, for each field
	// that takes it).
	if len(s) > maxEncoded {
		return ID{}, fmt.Errorf("%s is not a valid ID", apperr.Quote(s))
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	if err != nil {
		return ID{}, fmt.Errorf("%s is not a valid ID", apperr.Quote(s))
	}
	typ, num, ok := strings.Cut(string(raw), ":")
	if !ok || (typ != Factory && typ != Sprocket) {
		return ID{}, fmt.Errorf("%s is not a valid ID", apperr.Quote(s))
	}
	n, err := strconv.Atoi(num)
	if err != nil || n < 1 || strconv.Itoa(n) != num {
		return ID{}, fmt.Errorf("%s is not a valid ID", apperr.Quote(s))
	}
	return ID{Type: typ, RowID: n}, nil
}

// Of returns the row id when id is of type typ.
func (id ID) Of(typ string) (int, error) {
	if id.Type != typ {
		return 0, fmt.Errorf("ID %s is a %s, not a %s", id, id.Type, typ)
	}
	return id.RowID, nil
}

// MarshalGQL writes the ID as a GraphQL string.
func (id ID) MarshalGQL(w io.Writer) {
	_, _ = io.WriteString(w, strconv.Quote(id.String()))
}

// UnmarshalGQL reads an ID from a GraphQL input.
func (id *ID) UnmarshalGQL(v any) error {
	s, ok := v.(string)
	if !ok {
		return fmt.Errorf("an ID must be a string, not %T", v)
	}
	parsed, err := Parse(s)
	if err != nil {
		return err
	}
	*id = parsed
	return nil
}
