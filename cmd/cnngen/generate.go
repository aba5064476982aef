package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/cnngen/cnngen/gen/emit"
	"github.com/cnngen/cnngen/gen/ir"
	"github.com/cnngen/cnngen/gen/onnx"
	"github.com/cnngen/cnngen/gen/pipeline"
	"github.com/cnngen/cnngen/gen/weights"
	"github.com/cnngen/cnngen/runtime"
)

type genFlags struct {
	out, pkg, weights, labels, weightsOut string
	embed                                 bool
	classes                               int
	onnx                                  map[string]onnx.Tensor // an ONNX model's weights
}

// writeWeights saves an ONNX model's weights as safetensors, under the keys its graph reads.
func writeWeights(path string, w map[string]onnx.Tensor) error {
	var buf bytes.Buffer
	if err := runtime.WriteSafetensors(&buf, onnx.Tensors(w), nil); err != nil {
		return err
	}
	return writeIfChanged(path, buf.Bytes())
}

// generate writes the Go package for g to f.out, copying embedded data files beside it.
func generate(g *ir.Graph, f genFlags, args []string, stderr io.Writer) error {
	dir := filepath.Dir(f.out)
	if !strings.HasSuffix(f.out, ".go") {
		return usageError{fmt.Sprintf("-o %s: want a .go file path (DIR/FILE.go)", f.out)}
	}
	pkg := f.pkg
	if pkg == "" {
		pkg = strings.ReplaceAll(g.Name, "_", "")
	}
	if err := emit.CheckPackage(pkg); err != nil {
		if f.pkg == "" {
			return fmt.Errorf("%w: name the package with -pkg", err)
		}
		return usageError{"-pkg: " + err.Error()}
	}
	opts := emit.Options{Package: pkg, Command: "cnngen " + strings.Join(args, " ")}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if f.labels != "" {
		text, err := os.ReadFile(f.labels)
		if err != nil {
			return err
		}
		if n := len(runtime.SplitLabels(string(text))); n != g.Classes {
			return fmt.Errorf("-labels %s has %d labels, the network has %d classes", f.labels, n, g.Classes)
		}
		if err := writeIfChanged(filepath.Join(dir, "labels.txt"), text); err != nil {
			return err
		}
		opts.Labels = "labels.txt"
	}
	if f.embed && f.weights == "" && f.onnx != nil {
		name := pkg + ".safetensors"
		if err := writeWeights(filepath.Join(dir, name), f.onnx); err != nil {
			return err
		}
		opts.Embed = name
	}
	if f.embed && f.weights == "" && f.onnx == nil {
		return usageError{"-embed needs -weights FILE"}
	}
	if f.weights != "" {
		w, err := weights.Open(f.weights, g) // fail now, not in the user's program
		if err != nil {
			return err
		}
		w.Close()
		if f.embed {
			name := filepath.Base(f.weights)
			if !sameFile(f.weights, filepath.Join(dir, name)) {
				data, err := os.ReadFile(f.weights)
				if err != nil {
					return err
				}
				if err := writeIfChanged(filepath.Join(dir, name), data); err != nil {
					return err
				}
			}
			opts.Embed = name
		}
	}
	res, err := pipeline.Generate(g, opts)
	if err != nil {
		return err
	}
	if err := writeIfChanged(f.out, res.Code); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "cnngen: wrote %s (package %s, arena %.2f MB per image)\n", f.out, pkg, float64(res.ArenaBytes)/1e6)
	return nil
}

func sameFile(a, b string) bool {
	sa, err1 := os.Stat(a)
	sb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(sa, sb)
}

// writeIfChanged keeps go generate idempotent and cheap: an unchanged file is not rewritten.
func writeIfChanged(path string, data []byte) error {
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		return nil
	}
	return os.WriteFile(path, data, 0o644)
}
