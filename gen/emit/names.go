package emit

import (
	"fmt"
	"go/token"
	"regexp"
	"strings"
	"unicode"

	"github.com/cnngen/cnngen/gen/ir"
)

// Identifiers from layer names.
//
// Every layer gets an id, unique in the graph, that is a valid unexported Go identifier. The ids
// are used only where they cannot meet the template's identifiers:
//   - as field names of the graph part's own structs (cfg: kernel settings, weights);
//   - with one of the suffixes below, at package level (arena regions: idOff, idLen) and as
//     methods of Net (idLayer).
//
// No suffix is a suffix of another, so distinct ids give distinct names, and no identifier of the
// template ends in one (TestTemplateIdentifiers), so no layer name can collide with the API.
const (
	offSuffix   = "Off"
	lenSuffix   = "Len"
	layerSuffix = "Layer"
)

var nonIdent = regexp.MustCompile(`[^A-Za-z0-9_]+`)

// layerIDs gives every node an id derived from its name.
func layerIDs(g *ir.Graph) map[*ir.Node]string {
	ids := make(map[*ir.Node]string, len(g.Nodes))
	used := map[string]bool{}
	for _, n := range g.Nodes {
		base := identifier(n.Name)
		id := base
		for k := 2; used[id]; k++ {
			id = fmt.Sprintf("%s_%d", base, k)
		}
		used[id] = true
		ids[n] = id
	}
	return ids
}

// identifier makes a name an unexported identifier that may be a struct field: runs of other
// characters become one underscore, a leading upper-case letter is lowered, and a name that is
// then empty, starts with a digit or is a keyword gets a prefix.
func identifier(name string) string {
	id := strings.Trim(nonIdent.ReplaceAllString(name, "_"), "_")
	if id == "" {
		return "layer"
	}
	if r := rune(id[0]); unicode.IsUpper(r) {
		id = string(unicode.ToLower(r)) + id[1:]
	}
	if unicode.IsDigit(rune(id[0])) || token.IsKeyword(id) {
		id = "l_" + id
	}
	return id
}
