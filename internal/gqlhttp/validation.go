package gqlhttp

import (
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/validator/core"
	"github.com/vektah/gqlparser/v2/validator/rules"

	"github.com/sprocketapi/sprocket/internal/apperr"
)

// validationRules are gqlparser's default rules with its
// SingleFieldSubscriptions rule replaced by singleRootField: gqlparser's
// counts distinct field names, so `{ a: productionRecorded(…) b:
// productionRecorded(…) }` passed validation and then failed in gqlgen's
// generated code with an uncoded error (an INTERNAL_SERVER_ERROR).
func validationRules() *rules.Rules {
	r := rules.NewDefaultRules()
	r.RemoveRule(rules.SingleFieldSubscriptionsRule.Name)
	r.AddRule(singleRootField.Name, singleRootField.RuleFunc)
	return r
}

// singleRootField is the specification's "Single root field" rule
// (https://spec.graphql.org/October2021/#sec-Single-root-field): the
// grouped field set of a subscription's root, keyed by response name
// (alias or name) with fragments expanded, has exactly one entry, and it
// is not an introspection field. Its errors are request errors with the
// code GRAPHQL_VALIDATION_FAILED, over every transport.
var singleRootField = core.Rule{
	Name: "SingleRootFieldSubscriptions",
	RuleFunc: func(observers *core.Events, addError core.AddErrFunc) {
		observers.OnOperation(func(walker *core.Walker, op *ast.OperationDefinition) {
			if op.Operation != ast.Subscription {
				return
			}
			name := "Anonymous Subscription"
			if op.Name != "" {
				name = "Subscription " + apperr.Quote(op.Name)
			}
			keys := map[string]bool{}
			for f := range rootFields(walker.Document, op.SelectionSet) {
				key := f.Alias
				if key == "" {
					key = f.Name
				}
				if strings.HasPrefix(f.Name, "__") {
					addError(core.Message("%s must not select an introspection top level field.", name), core.At(f.Position))
				}
				if !keys[key] {
					keys[key] = true
					if len(keys) == 2 {
						addError(core.Message("%s must select only one top level field.", name), core.At(f.Position))
					}
				}
			}
		})
	},
}
