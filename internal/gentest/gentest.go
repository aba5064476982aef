// Package gentest compiles and runs generated code inside tests: it emits a graph's package into
// a scratch folder of this module, builds a small program around it and returns its logits, so
// any graph (a hand-built one, an imported ONNX model) can be checked against the interpreter.
package gentest

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"

	"github.com/cnngen/cnngen/gen/emit"
	"github.com/cnngen/cnngen/gen/ir"
	"github.com/cnngen/cnngen/gen/pipeline"
	"github.com/cnngen/cnngen/runtime"
)

const program = `package main

import (
	"encoding/binary"
	"math"
	"os"

	net "github.com/cnngen/cnngen/internal/gentest/%s/net"
)

func main() {
	n, err := net.Load(os.Args[1])
	if err != nil {
		panic(err)
	}
	raw, _ := os.ReadFile(os.Args[2])
	in := make([]float32, len(raw)/4)
	for i := range in {
		in[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	out := make([]float32, len(in)/(net.InputChannels*net.InputHeight*net.InputWidth)*net.NumClasses)
	if err := n.Forward(in, out); err != nil {
		panic(err)
	}
	buf := make([]byte, 4*len(out))
	for i, v := range out {
		binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
	}
	os.WriteFile(os.Args[3], buf, 0o644)
}
`

// Run generates g's package (in the generator's default layout, NCHW16c), builds it with a driver, and runs Forward on in. weights holds every
// tensor g reads. The scratch folder is removed afterwards.
func Run(g *ir.Graph, weights map[string][]float32, in []float32) ([]float32, error) {
	return RunLayout(g, weights, in, ir.NCHW16c)
}

// RunLayout is Run with the feature maps in layout l where their ops can run it.
func RunLayout(g *ir.Graph, weights map[string][]float32, in []float32, l ir.Layout) ([]float32, error) {
	_, self, _, _ := goruntime.Caller(0)
	dir, err := os.MkdirTemp(filepath.Dir(self), "tmp")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	res, err := pipeline.Generate(g, emit.Options{Package: "net", Layout: l})
	if err != nil {
		return nil, err
	}
	os.MkdirAll(filepath.Join(dir, "net"), 0o755)
	os.MkdirAll(filepath.Join(dir, "main"), 0o755)
	if err := os.WriteFile(filepath.Join(dir, "net", "net.go"), res.Code, 0o644); err != nil {
		return nil, err
	}
	os.WriteFile(filepath.Join(dir, "main", "main.go"), []byte(fmt.Sprintf(program, filepath.Base(dir))), 0o644)
	var ts []runtime.Tensor
	for _, p := range g.AllParams() {
		w, ok := weights[p.Key]
		if !ok {
			return nil, fmt.Errorf("no weights for %s", p.Key)
		}
		ts = append(ts, runtime.Tensor{Name: p.Key, Shape: p.Shape, Data: w})
	}
	var wb bytes.Buffer
	if err := runtime.WriteSafetensors(&wb, ts, nil); err != nil {
		return nil, err
	}
	wpath, inPath, outPath := filepath.Join(dir, "w.safetensors"), filepath.Join(dir, "in.f32"), filepath.Join(dir, "out.f32")
	os.WriteFile(wpath, wb.Bytes(), 0o644)
	raw := make([]byte, 4*len(in))
	for i, v := range in {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	os.WriteFile(inPath, raw, 0o644)
	cmd := exec.Command("go", "run", "./"+filepath.Base(dir)+"/main", wpath, inPath, outPath)
	cmd.Dir = filepath.Dir(self)
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("generated code: %v\n%s", err, out)
	}
	b, err := os.ReadFile(outPath)
	if err != nil {
		return nil, err
	}
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out, nil
}
