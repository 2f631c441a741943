package entgen

import (
	"encoding/json"
	"fmt"
	"strings"

	"entgo.io/ent/entc/gen"
	entschema "entgo.io/ent/schema"
	"github.com/vektah/gqlparser/v2/ast"
)

// opDescriptions say what each where-input predicate of a field matches;
// %s is the field's GraphQL name.
var opDescriptions = map[gen.Op]string{
	gen.EQ:           "%s equals the value.",
	gen.NEQ:          "%s differs from the value.",
	gen.GT:           "%s is greater than the value.",
	gen.GTE:          "%s is greater than or equal to the value.",
	gen.LT:           "%s is less than the value.",
	gen.LTE:          "%s is less than or equal to the value.",
	gen.IsNil:        "%s is null.",
	gen.NotNil:       "%s is not null.",
	gen.In:           "%s is one of the values.",
	gen.NotIn:        "%s is none of the values.",
	gen.EqualFold:    "%s equals the value, ignoring case.",
	gen.Contains:     "%s contains the value.",
	gen.ContainsFold: "%s contains the value, ignoring case.",
	gen.HasPrefix:    "%s starts with the value.",
	gen.HasSuffix:    "%s ends with the value.",
}

// timeDescription describes the Time scalar, which graph/model.Time
// implements (entgql declares it with a placeholder text).
const timeDescription = `An instant of the time domain, -271821-04-20T00:00:00Z to
+275760-09-13T00:00:00Z (what a JavaScript Date holds). Written in UTC with Z:
RFC 3339 for years 0001 to 9999 ("2021-01-21T02:06:58Z"), a sign and six year
digits otherwise ("+053026-09-25T04:06:40Z"). Read in either form, with a time
zone; a point's time must be a whole second.`

// DescribeGraphQL is an entgql schema hook (entgql.WithSchemaHook) that
// gives every element entgql generates a description, from the ent
// schema where it says one (a type's schema.Comment, a field's Comment)
// and from the one rule of each generated shape otherwise (a where input's
// predicates, an order field's values), so that the published SDL has no
// undescribed element (api's TestEveryElementOfTheSchemaIsDescribed).
func DescribeGraphQL(g *gen.Graph, s *ast.Schema) error {
	if t := s.Types["Time"]; t != nil {
		t.Description = timeDescription
	}
	// entgql declares Query; graph/schema.graphqls only extends it, and
	// an extension carries no description.
	if q := s.Types["Query"]; q != nil && q.Description == "" {
		q.Description = "Reads. Factories and sprockets have opaque global ids (node(id:)) and their /v1 ids (rowId)."
	}
	for _, n := range g.Nodes {
		def := s.Types[n.Name]
		if def == nil {
			continue
		}
		if def.Description == "" {
			def.Description = typeComment(n)
		}
		if def.Description == "" {
			return fmt.Errorf("entgen: GraphQL type %s has no description: give ent/schema's %s a schema.Comment annotation", n.Name, n.Name)
		}
		fields := append([]*gen.Field{n.ID}, n.Fields...)
		if order := s.Types[n.Name+"OrderField"]; order != nil {
			describeOrderValues(order, fields)
		}
		if where := s.Types[n.Name+"WhereInput"]; where != nil {
			describeWhereInput(where, n.Name, fields)
		}
	}
	return nil
}

// typeComment is the text of the node's schema.Comment annotation.
func typeComment(n *gen.Type) string {
	c := &entschema.CommentAnnotation{}
	raw, ok := n.Annotations[c.Name()]
	if !ok {
		return ""
	}
	b, err := json.Marshal(raw)
	if err != nil || json.Unmarshal(b, c) != nil {
		return ""
	}
	return c.Text
}

func describeOrderValues(order *ast.Definition, fields []*gen.Field) {
	for _, v := range order.EnumValues {
		if v.Description != "" {
			continue
		}
		for _, f := range fields {
			if strings.EqualFold(strings.ReplaceAll(f.Name, "_", ""), strings.ReplaceAll(v.Name, "_", "")) {
				v.Description = fmt.Sprintf("By %s.", gqlName(f.Name))
			}
		}
	}
}

func describeWhereInput(where *ast.Definition, typeName string, fields []*gen.Field) {
	where.Description = fmt.Sprintf("Filters %s objects: all the conditions given must hold.", typeName)
	byName := map[string]string{
		"not": "Matches what the filter does not match.",
		"and": "Matches what every filter of the list matches.",
		"or":  "Matches what any filter of the list matches.",
	}
	for _, f := range fields {
		for _, op := range f.Ops() {
			name := gqlName(f.Name + "_" + op.Name())
			if op == gen.EQ {
				name = gqlName(f.Name)
			}
			if text, ok := opDescriptions[op]; ok {
				byName[name] = fmt.Sprintf(text, gqlName(f.Name))
			}
		}
	}
	for _, fd := range where.Fields {
		if text, ok := byName[fd.Name]; ok {
			fd.Description = text
		}
	}
}

// gqlName is entgql's GraphQL name of an ent field (or of a field and an
// operator): lower camel case of the snake-case parts, an all-capital
// part (NEQ, GTE) kept as it is.
func gqlName(snake string) string {
	parts := strings.Split(snake, "_")
	var b strings.Builder
	for i, p := range parts {
		if p == "" {
			continue
		}
		if i == 0 {
			b.WriteString(strings.ToLower(p[:1]) + p[1:])
			continue
		}
		b.WriteString(strings.ToUpper(p[:1]) + p[1:])
	}
	return b.String()
}
