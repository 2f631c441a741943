package main

import (
	"strings"
	"testing"

	atlas "ariga.io/atlas/sql/migrate"
)

// TestTheGeneratorWritesForwardFilesOnly: a plan with reverse statements
// becomes one .up.sql file, without its reverse.
func TestTheGeneratorWritesForwardFilesOnly(t *testing.T) {
	files, err := forwardOnly{}.Format(&atlas.Plan{Name: "add_something", Changes: []*atlas.Change{
		{Cmd: `ALTER TABLE "factories" ADD COLUMN "x" bigint`, Reverse: `ALTER TABLE "factories" DROP COLUMN "x"`},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 1 || !strings.HasSuffix(files[0].Name(), "_add_something.up.sql") ||
		!strings.Contains(string(files[0].Bytes()), `ADD COLUMN "x"`) || strings.Contains(string(files[0].Bytes()), "DROP") {
		for _, f := range files {
			t.Logf("%s:\n%s", f.Name(), f.Bytes())
		}
		t.Errorf("%d files, want the forward one", len(files))
	}
}
