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
	"github.com/cnngen/cnngen/internal/files"
	"github.com/cnngen/cnngen/runtime"
)

// maxLabelsBytes bounds a -labels file: ImageNet's 1,000 labels are 31 KB.
const maxLabelsBytes = 16 << 20

type genFlags struct {
	out, pkg, weights, labels, weightsOut string
	embed                                 bool
	classes                               int
	layout                                ir.Layout
	onnx                                  map[string]onnx.Tensor // an ONNX model's weights
}

// safetensors is an ONNX model's weights as a safetensors file, under the keys its graph reads.
func safetensors(w map[string]onnx.Tensor) ([]byte, error) {
	var buf bytes.Buffer
	err := runtime.WriteSafetensors(&buf, onnx.Tensors(w), nil)
	return buf.Bytes(), err
}

// writeWeights saves an ONNX model's weights as safetensors.
func writeWeights(path string, w map[string]onnx.Tensor) error {
	data, err := safetensors(w)
	if err != nil {
		return err
	}
	return files.Write(path, data)
}

// checkGoFile refuses an -o that the go command would not build: not a .go file, or one it
// ignores (a name starting with . or _) or treats as a test.
func checkGoFile(out string) error {
	base := filepath.Base(out)
	switch {
	case !strings.HasSuffix(base, ".go") || base == ".go":
		return usageError{fmt.Sprintf("-o %s: want a .go file path (DIR/FILE.go)", out)}
	case strings.HasPrefix(base, ".") || strings.HasPrefix(base, "_"):
		return usageError{fmt.Sprintf("-o %s: the go command ignores files whose names start with . or _", out)}
	case strings.HasSuffix(base, "_test.go"):
		return usageError{fmt.Sprintf("-o %s: a _test.go file is not part of the package", out)}
	}
	return nil
}

// output is a file generate writes, once everything it depends on has been checked.
type output struct {
	path string
	data []byte // or, when nil, the file to copy (embedded weights)
	from string
}

// generate writes the Go package for g to f.out, with embedded data files beside it. Everything
// is checked and generated before anything is written; then each file is written atomically,
// and if one fails, the files and folders written so far are removed.
func generate(g *ir.Graph, f genFlags, args []string, stderr io.Writer) error {
	if err := checkGoFile(f.out); err != nil {
		return err
	}
	dir := filepath.Dir(f.out)
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
	opts := emit.Options{Package: pkg, Command: "cnngen " + strings.Join(args, " "), Layout: f.layout}
	var outs []output
	if f.labels != "" {
		text, err := files.Read(f.labels, maxLabelsBytes)
		if err != nil {
			return err
		}
		if n := len(runtime.SplitLabels(string(text))); n != g.Classes {
			return fmt.Errorf("-labels %s has %d labels, the network has %d classes", f.labels, n, g.Classes)
		}
		opts.Labels = "labels.txt"
		outs = append(outs, output{path: filepath.Join(dir, opts.Labels), data: text})
	}
	switch {
	case f.embed && f.weights == "" && f.onnx == nil:
		return usageError{"-embed needs -weights FILE"}
	case f.embed && f.weights == "":
		data, err := safetensors(f.onnx)
		if err != nil {
			return err
		}
		opts.Embed = pkg + ".safetensors"
		outs = append(outs, output{path: filepath.Join(dir, opts.Embed), data: data})
	}
	if f.weights != "" {
		w, err := weights.Open(f.weights, g) // fail now, not in the user's program
		if err != nil {
			return err
		}
		w.Close()
		if f.embed {
			opts.Embed = filepath.Base(f.weights)
			if dst := filepath.Join(dir, opts.Embed); !files.Same(f.weights, dst) {
				outs = append(outs, output{path: dst, from: f.weights})
			}
		}
	}
	res, err := pipeline.Generate(g, opts)
	if err != nil {
		return err
	}
	outs = append(outs, output{path: f.out, data: res.Code})
	if err := writeAll(dir, outs); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "cnngen: wrote %s (package %s, arena %.2f MB per image)\n", f.out, pkg, float64(res.ArenaBytes)/1e6)
	return nil
}

// writeAll creates dir if needed and writes the outputs; on failure it removes what it wrote
// (files that were not there before, and the folders it made).
func writeAll(dir string, outs []output) (err error) {
	var made []string // created paths, deepest last
	for d := dir; ; d = filepath.Dir(d) {
		if _, statErr := os.Stat(d); statErr == nil || d == filepath.Dir(d) {
			break
		}
		made = append([]string{d}, made...)
	}
	defer func() {
		if err != nil {
			for i := len(made) - 1; i >= 0; i-- {
				os.Remove(made[i]) // folders only if empty, files we created
			}
		}
	}()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, o := range outs {
		_, statErr := os.Stat(o.path)
		if o.data != nil {
			err = files.Write(o.path, o.data)
		} else {
			err = copyFile(o.path, o.from)
		}
		if err != nil {
			return err
		}
		if statErr != nil {
			made = append(made, o.path)
		}
	}
	return nil
}

// copyFile copies a regular file (embedded weights can be hundreds of MB: streamed).
func copyFile(dst, src string) error {
	f, _, err := files.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	return files.WriteFrom(dst, f)
}
