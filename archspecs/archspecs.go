// Package archspecs holds the built-in architecture specs, embedded so the cnngen binary needs no
// files beside it. Each NAME.yaml is a spec in the language of docs/spec.md.
package archspecs

import (
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"unicode"
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

// Source returns the spec text of a built-in architecture and the path to report in errors. The
// name may be spelled as Canonical allows.
func Source(name string) ([]byte, string, error) {
	c := Canonical(name)
	if c == "" {
		return nil, "", fmt.Errorf("no built-in architecture %q (built-in: %s; any other CNN: a spec file, or an ONNX export with -onnx)", name, strings.Join(Names(), ", "))
	}
	path := c + ".yaml"
	b, err := files.ReadFile(path)
	if err != nil {
		return nil, "", err
	}
	return b, "archspecs/" + path, nil
}

// Canonical returns the built-in architecture name means, or "" if none: its own name, or that
// name in other case and with '-' or '_' between its parts as papers and libraries write them
// ("ResNet-50", "resnet_50", "EfficientNet-B0", "LeNet-5", "VGG16").
func Canonical(name string) string {
	fold := func(s string) string {
		return strings.Map(func(r rune) rune {
			if r == '-' || r == '_' {
				return -1
			}
			return unicode.ToLower(r)
		}, s)
	}
	for _, n := range Names() {
		if n == name || fold(n) == fold(name) {
			return n
		}
	}
	return ""
}
