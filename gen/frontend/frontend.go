// Package frontend turns what a user names on the command line (a built-in architecture or a spec
// file) into a graph. It is the one place that knows where graphs come from.
package frontend

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/cnngen/cnngen/archspecs"
	"github.com/cnngen/cnngen/gen/ir"
	"github.com/cnngen/cnngen/gen/onnx"
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

// ONNX reads an ONNX model: its graph and its weights, keyed as the graph's Params name them (the
// model's initializer names).
func ONNX(path string) (*ir.Graph, map[string]onnx.Tensor, error) {
	m, err := onnx.Load(path)
	if err != nil {
		return nil, nil, err
	}
	name := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	name = strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			return r
		case r >= 'A' && r <= 'Z':
			return r - 'A' + 'a'
		}
		return '_'
	}, name)
	if name == "" || name[0] < 'a' || name[0] > 'z' {
		name = "net_" + name
	}
	return m.Graph(name)
}

// Weights serves an in-memory weight map to the interpreter.
type Weights map[string]onnx.Tensor

// Float32 returns the tensor stored under key.
func (w Weights) Float32(key string) ([]float32, error) {
	t, ok := w[key]
	if !ok {
		return nil, fmt.Errorf("no tensor %q", key)
	}
	return t.Data, nil
}
