// Package entgen holds the templates that ent's code generation adds to
// its own (see ent/entc.go): what ent/ needs beyond ent's generated API is
// generated there from these, never written by hand inside ent/.
package entgen
