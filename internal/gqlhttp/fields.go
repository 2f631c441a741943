package gqlhttp

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// extensions.field names the input an error is about, always in one form:
// the path of an argument of the field that failed, as GraphQL names it —
// the argument's name, then input field names after dots and list indexes
// in brackets: "rowId", "after", "points[3].time" (recordProduction's
// points argument), "input.teeth", "input.points[1].time" (inside the input
// argument of createSprocket and createFactory).
//
// The core and the resolvers report fields relative to the core's inputs,
// in /v1's names ("teeth", "pitch_diameter", "points[1].time", "name");
// argumentField turns them into argument paths here, in one place, from
// the schema. Errors of scalar
// coercion come with gqlgen's path, which fieldName writes in the same form.

// argumentField returns field, a path relative to the inputs of the field
// being resolved in ctx, as a path from one of its arguments: unchanged
// when it starts with an argument's name, prefixed with the name of the
// first input-object argument whose type (in p's schema) has a field of
// that name otherwise ("teeth" → "input.teeth"), and unchanged when
// neither fits.
func (p presenter) argumentField(ctx context.Context, field string) string {
	fc := graphql.GetFieldContext(ctx)
	if field == "" || fc == nil || fc.Field.Field == nil || fc.Field.Definition == nil {
		return field
	}
	field = camelNames(field)
	head := field
	if i := strings.IndexAny(field, ".["); i >= 0 {
		head = field[:i]
	}
	args := fc.Field.Definition.Arguments
	if args.ForName(head) != nil {
		return field
	}
	if p.schema == nil {
		return field
	}
	for _, arg := range args {
		def := p.schema.Types[arg.Type.Name()]
		if def != nil && def.Kind == ast.InputObject && def.Fields.ForName(head) != nil {
			return arg.Name + "." + field
		}
	}
	return field
}

// camelNames writes the snake_case names of a core field path (the core
// names fields as /v1 does: "pitch_diameter") as GraphQL names them
// ("pitchDiameter").
func camelNames(field string) string {
	if !strings.Contains(field, "_") {
		return field
	}
	var b strings.Builder
	upper := false
	for _, r := range field {
		switch {
		case r == '_':
			upper = true
			continue
		case upper && r >= 'a' && r <= 'z':
			r -= 'a' - 'A'
		}
		upper = false
		b.WriteRune(r)
	}
	return b.String()
}

// fieldName writes the part of an error's path below its field (an
// argument and the input fields and indexes inside it) as extensions.field
// does.
func fieldName(p ast.Path) string {
	var b strings.Builder
	for _, el := range p {
		switch el := el.(type) {
		case ast.PathName:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(string(el))
		case ast.PathIndex:
			b.WriteString("[" + strconv.Itoa(int(el)) + "]")
		}
	}
	return b.String()
}

// isCursorArgument reports whether argPath names an argument of type
// Cursor of the field in ctx.
func isCursorArgument(ctx context.Context, argPath ast.Path) bool {
	fc := graphql.GetFieldContext(ctx)
	if len(argPath) == 0 || fc == nil || fc.Field.Field == nil || fc.Field.Definition == nil {
		return false
	}
	name, ok := argPath[0].(ast.PathName)
	if !ok {
		return false
	}
	arg := fc.Field.Definition.Arguments.ForName(string(name))
	return arg != nil && arg.Type.Name() == "Cursor"
}

// maxMessage caps the characters of a presented message. Messages written
// here quote client values with apperr.Quote; gqlparser's validation
// messages repeat a name or literal whole ("Expected value of type …,
// found …"), and a document may hold one of megabytes: the presenter
// shortens their quoted runs (apperr.QuoteRuns), and caps the rest.
const maxMessage = 500

func capMessage(m string) string {
	n := 0
	for i := range m {
		if n == maxMessage {
			return m[:i] + "…"
		}
		n++
	}
	return m
}

// variableMessage rewrites gqlparser's messages about a variable's value
// that mislead or name Go internals: a JSON number out of Int's or
// Float's range is reported with a clamped value ("cannot use value
// 9223372036854775807 as Int"), and a default value that does not parse
// with strconv's error.
func variableMessage(err *gqlerror.Error) string {
	if _, ok := errors.AsType[*strconv.NumError](err); ok {
		return coercionMessage(err)
	}
	m := err.Message
	if strings.HasPrefix(m, "cannot use value ") {
		switch {
		case strings.HasSuffix(m, " as Int"):
			return "The value is not an Int: a whole number from -2147483648 to 2147483647."
		case strings.HasSuffix(m, " as Float"):
			return "The value is not a Float: a finite number."
		}
	}
	return m
}
