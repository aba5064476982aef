// Package archspecs holds the built-in architecture specs, embedded so the cnngen binary needs no
// files beside it. Each NAME.yaml is a spec in the language of docs/spec.md.
package archspecs

import (
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strings"
)

//go:embed *.yaml
var files embed.FS

// Names lists the built-in architectures, sorted.
func Names() []string {
	entries, _ := fs.ReadDir(files, ".")
	var names []string
	for _, e := range entries {
		if n, ok := strings.CutSuffix(e.Name(), ".yaml"); ok {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}

// Source returns the spec text of a built-in architecture and the path to report in errors.
func Source(name string) ([]byte, string, error) {
	path := name + ".yaml"
	b, err := files.ReadFile(path)
	if err != nil {
		return nil, "", fmt.Errorf("no built-in architecture %q (built-in: %s)", name, strings.Join(Names(), ", "))
	}
	return b, "archspecs/" + path, nil
}
