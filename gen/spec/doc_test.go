package spec

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/cnngen/cnngen/gen/ir"
)

// TestDocListsEveryOp keeps the layer reference of docs/spec.md true to the op table: each op
// (but input) has a row, which names each of its attributes as `name` (default), or
// `name` (required) for the required ones. A new op's row is the one doc edit it needs.
func TestDocListsEveryOp(t *testing.T) {
	src, err := os.ReadFile("../../docs/spec.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(src)
	start := strings.Index(doc, "### Operations")
	if start < 0 {
		t.Fatal("docs/spec.md has no ### Operations section")
	}
	section := doc[start:]
	if end := strings.Index(section[1:], "\n#"); end >= 0 {
		section = section[:end+1]
	}
	rows := map[string]string{} // op spelling -> its table row
	for _, l := range strings.Split(section, "\n") {
		cells := strings.Split(l, "|")
		if len(cells) < 4 {
			continue
		}
		for _, m := range regexp.MustCompile("`([a-z0-9_]+)`").FindAllStringSubmatch(cells[1], -1) {
			rows[m[1]] = l
		}
	}
	for _, d := range ir.Ops() {
		if d.Op == ir.OpInput {
			continue
		}
		row, ok := rows[string(d.Op)]
		if !ok {
			t.Errorf("docs/spec.md, Operations: no row for op %s (%s)", d.Op, d.Doc)
			continue
		}
		attrs := strings.Split(row, "|")[2]
		for _, f := range ir.Fields(newAttrs(d)) {
			m := regexp.MustCompile("`" + f.Name + "` \\(([^)]*)\\)").FindStringSubmatch(attrs)
			switch {
			case m == nil:
				t.Errorf("docs/spec.md, Operations: the row of %s lacks `%s` (default)", d.Op, f.Name)
			case (m[1] == "required") != f.Required:
				t.Errorf("docs/spec.md, Operations: %s's `%s` is (%s), but required is %v", d.Op, f.Name, m[1], f.Required)
			}
		}
	}
	for alias, op := range aliases {
		if rows[alias] != rows[string(op)] {
			t.Errorf("docs/spec.md, Operations: alias %s is not in the row of %s", alias, op)
		}
	}
}
