// Package frontend turns what a user names on the command line (a built-in architecture or a spec
// file) into a graph. It is the one place that knows where graphs come from.
package frontend

import (
	"fmt"
	"os"
	"strings"

	"github.com/cnngen/cnngen/archspecs"
	"github.com/cnngen/cnngen/gen/ir"
	"github.com/cnngen/cnngen/gen/spec"
)

// IsPath reports whether arch names a file rather than a built-in architecture.
func IsPath(arch string) bool {
	return strings.HasSuffix(arch, ".yaml") || strings.HasSuffix(arch, ".yml") || strings.ContainsRune(arch, os.PathSeparator) || strings.Contains(arch, "/")
}

// Load reads a built-in architecture by name or a spec file by path.
func Load(arch string) (*ir.Graph, error) {
	if arch == "" {
		return nil, fmt.Errorf("no architecture given (-arch NAME or -arch path/to/spec.yaml; `cnngen -list` shows the built-in ones)")
	}
	if IsPath(arch) {
		src, err := os.ReadFile(arch)
		if err != nil {
			return nil, err
		}
		return spec.Parse(src, arch)
	}
	src, path, err := archspecs.Source(arch)
	if err != nil {
		return nil, err
	}
	return spec.Parse(src, path)
}
