package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/cnngen/cnngen/gen/frontend"
	"github.com/cnngen/cnngen/gen/ir"
	"github.com/cnngen/cnngen/gen/weights"
	"github.com/cnngen/cnngen/internal/benchrun"
	"github.com/cnngen/cnngen/internal/seedweights"
	"github.com/cnngen/cnngen/runtime"
)

// benchCmd times a network's generated code. A built-in network runs in this process (its
// package is compiled into cnngen, internal/zoo), so that its numbers stay comparable from run to
// run with no build; any other network (a spec file, an ONNX model) is generated into a temporary
// module with a benchmark program around it, which is built with the go command and run. Both
// time Forward with internal/benchrun.
func benchCmd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("cnngen bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	arch := fs.String("arch", "", "built-in architecture name or path to a YAML spec")
	onnxPath := fs.String("onnx", "", "an ONNX model instead of -arch (timed with its own weights unless -weights)")
	wpath := fs.String("weights", "", "weights to load: safetensors or a PyTorch checkpoint (.pth) (default: seeded weights, or the ONNX model's)")
	keep := fs.String("keep", "", "build the benchmark module in this folder and keep it, even for a built-in network (default: a temporary folder, removed)")
	var o benchrun.Options
	o.AddFlags(fs)
	lf := addLimitFlags(fs)
	layout := addLayoutFlag(fs)
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	if *arch == "" && *onnxPath == "" || fs.NArg() > 0 {
		return usageError{"bench needs -arch NAME|spec.yaml or -onnx model.onnx\n" + usage}
	}
	if err := o.Validate(); err != nil {
		return usageError{err.Error()}
	}
	g, onnxWeights, err := loadGraph(*arch, *onnxPath, lf)
	if err != nil {
		return err
	}
	if *wpath != "" {
		w, err := weights.Open(*wpath, g) // a file that does not fit fails now, not after a build
		if err != nil {
			return err
		}
		w.Close()
	}
	var r benchrun.Result
	m, inProcess := benchrun.Model{}, false
	if *onnxPath == "" && !frontend.IsPath(*arch) && *keep == "" && layout.l == defaultLayout {
		m, inProcess = zooModel(g)
	}
	if inProcess {
		r, err = benchInProcess(m, g, *wpath, o)
	} else {
		r, err = benchModule(benchJob{g: g, onnx: onnxWeights, weights: *wpath, keep: *keep, opts: o, args: args, layout: layout.l}, stderr)
	}
	if err != nil {
		return err
	}
	return benchrun.Write(stdout, r, o.JSON)
}

// benchInProcess times a package compiled into cnngen, on wpath or on g's seeded weights.
func benchInProcess(m benchrun.Model, g *ir.Graph, wpath string, o benchrun.Options) (benchrun.Result, error) {
	if wpath == "" {
		path, err := seededWeightsFile(g)
		if err != nil {
			return benchrun.Result{}, err
		}
		defer os.Remove(path)
		wpath = path
	}
	return benchrun.Run(m, wpath, o)
}

// seededWeightsFile writes g's seeded weights (the goldens' rule) to a temporary safetensors file.
func seededWeightsFile(g *ir.Graph) (string, error) {
	f, err := os.CreateTemp("", "cnngen-bench-*.safetensors")
	if err != nil {
		return "", err
	}
	f.Close()
	if err := writeTensors(f.Name(), seedweights.Tensors(g, "")); err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

// writeTensors writes a safetensors file, streamed: a network's weights can be hundreds of MB.
func writeTensors(path string, ts []runtime.Tensor) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	err = runtime.WriteSafetensors(f, ts, nil)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing the weights to %s: %w", path, err)
	}
	return nil
}
