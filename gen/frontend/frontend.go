// Package frontend turns what a user names on the command line (a built-in architecture, a spec
// file or an ONNX model) into a graph. It is the one place that knows where graphs come from, and
// every graph it returns has passed Graph.Check under the caller's limits.
package frontend

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/cnngen/cnngen/archspecs"
	"github.com/cnngen/cnngen/gen/ir"
	"github.com/cnngen/cnngen/gen/onnx"
	"github.com/cnngen/cnngen/gen/spec"
	"github.com/cnngen/cnngen/internal/files"
)

// IsPath reports whether arch names a file rather than a built-in architecture.
func IsPath(arch string) bool {
	return strings.HasSuffix(arch, ".yaml") || strings.HasSuffix(arch, ".yml") || strings.ContainsRune(arch, os.PathSeparator) || strings.Contains(arch, "/")
}

// Load is LoadLimits under ir.DefaultLimits.
func Load(arch string) (*ir.Graph, error) { return LoadLimits(arch, ir.DefaultLimits) }

// LoadLimits reads a built-in architecture by name or a spec file by path, within l (see
// spec.ParseLimits). A spec file must be a regular file of at most spec.MaxBytes(l).
func LoadLimits(arch string, l ir.Limits) (*ir.Graph, error) {
	if arch == "" {
		return nil, fmt.Errorf("no architecture given (-arch NAME or -arch path/to/spec.yaml; `cnngen -list` shows the built-in ones)")
	}
	var g *ir.Graph
	if IsPath(arch) {
		src, err := ReadSpec(arch, spec.MaxBytes(l))
		if err != nil {
			return nil, err
		}
		if g, err = spec.ParseLimits(src, arch, l); err != nil {
			return nil, err
		}
	} else {
		if len(arch) > maxNameBytes {
			return nil, fmt.Errorf("no built-in architecture %.32q... (a name of %d bytes; `cnngen -list` shows the built-in ones)", arch, len(arch))
		}
		src, path, err := archspecs.Source(arch)
		if err != nil {
			return nil, err
		}
		if g, err = spec.ParseLimits(src, path, l); err != nil {
			return nil, err
		}
	}
	return checked(g, arch, l)
}

// maxNameBytes bounds a built-in architecture's name, so that a hostile one is not echoed whole.
const maxNameBytes = 64

// ReadSpec reads a spec file of at most max bytes (see files.Read: anything but a regular file
// is refused before it is opened).
func ReadSpec(path string, max int64) ([]byte, error) {
	src, err := files.Read(path, max)
	var tl *files.TooLargeError
	if errors.As(err, &tl) {
		return nil, spec.TooLargeError(path, tl.Size, max)
	}
	return src, err
}

// ONNX is ONNXLimits under ir.DefaultLimits.
func ONNX(path string) (*ir.Graph, map[string]onnx.Tensor, error) {
	return ONNXLimits(path, ir.DefaultLimits)
}

// ONNXLimits reads an ONNX model within l: its graph and its weights, keyed as the graph's
// Params name them (the model's initializer names).
func ONNXLimits(path string, l ir.Limits) (*ir.Graph, map[string]onnx.Tensor, error) {
	return ONNXShaped(path, l, nil)
}

// ONNXShaped is ONNXLimits with one image's input shape for the dimensions the model leaves
// dynamic (see onnx.Model.InputShape; nil: every dimension but the batch must be static).
func ONNXShaped(path string, l ir.Limits, inputShape []int) (*ir.Graph, map[string]onnx.Tensor, error) {
	m, err := onnx.Load(path)
	if err != nil {
		return nil, nil, err
	}
	m.Limits = &l
	m.InputShape = inputShape
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
	g, w, err := m.Graph(name)
	if err != nil {
		return nil, nil, err
	}
	if g, err = checked(g, path, l); err != nil {
		return nil, nil, err
	}
	return g, w, nil
}

// checked is g once it has passed Graph.Check under l, whatever its front end checked already.
func checked(g *ir.Graph, source string, l ir.Limits) (*ir.Graph, error) {
	if err := g.Check(l); err != nil {
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	return g, nil
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
