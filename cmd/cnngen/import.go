package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"path/filepath"

	"github.com/cnngen/cnngen/gen/spec"
	"github.com/cnngen/cnngen/internal/files"
)

// importCmd turns an ONNX model into a spec and a weights file: the spec is the editable,
// reviewable form of the network, and generates the same code as -onnx would.
func importCmd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("cnngen import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "", "write the spec (YAML) here")
	wout := fs.String("weights-out", "", "write the model's weights (safetensors) here")
	lf := addLimitFlags(fs)
	// Accept the model before, between or after the flags: `cnngen import m.onnx -o x.yaml`.
	var model string
	for {
		if err := fs.Parse(args); err != nil {
			return usageError{err.Error()}
		}
		if fs.NArg() == 0 {
			break
		}
		if model != "" {
			return usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
		}
		model, args = fs.Arg(0), fs.Args()[1:]
	}
	if model == "" || *out == "" {
		return usageError{"import needs a model and -o spec.yaml\n" + usage}
	}
	if files.Same(*out, model) || *wout != "" && (files.Same(*wout, model) || files.Same(*wout, *out)) {
		return usageError{"-o and -weights-out must differ from the model and from each other"}
	}
	g, w, err := loadGraph("", model, lf)
	if err != nil {
		return err
	}
	l, _ := lf.limits() // valid: loadGraph checked them
	g.Source = model
	var buf bytes.Buffer
	if err := spec.Write(&buf, g); err != nil {
		return err
	}
	// The written spec must describe the same network: parse it back before anyone relies on it.
	back, err := spec.ParseLimits(buf.Bytes(), *out, l)
	if err != nil {
		return fmt.Errorf("internal error: the spec written for %s does not parse back: %w", model, err)
	}
	if err := spec.Diff(g, back); err != nil {
		return fmt.Errorf("internal error: the spec written for %s describes another network: %w", model, err)
	}
	outs := []output{{path: *out, data: buf.Bytes()}}
	if *wout != "" {
		data, err := safetensors(w)
		if err != nil {
			return err
		}
		outs = append(outs, output{path: *wout, data: data})
	}
	if err := writeAll(filepath.Dir(*out), outs); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "cnngen: %s: %d layers, %d weight tensors -> %s", model, len(g.Nodes), len(w), *out)
	if *wout != "" {
		fmt.Fprintf(stderr, ", %s", *wout)
	}
	fmt.Fprintln(stderr)
	return nil
}
