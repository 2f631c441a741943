// Package ent holds the generated data layer; only schema/, entc.go and
// this file are written by hand.
package ent

// ent first (it writes graph/ent.graphqls), then gqlgen, which reads it,
// then the published SDL from the executable schema gqlgen wrote.
//go:generate go run -mod=mod entc.go
//go:generate sh -c "cd .. && go tool gqlgen generate --config gqlgen.yml"
//go:generate sh -c "cd .. && go run ./graph/sdlgen -o api/schema.graphql"
